"""stek: Python bindings for libstek, over ctypes.

    import stek
    with stek.Store("team.stek") as store:
        store.create_space("STEK Bezemheide")
        rid = store.schedules.put(title="Koffie & Formulieren", site="Kantine",
                                  start="2026-03-05T13:30", rrule="FREQ=WEEKLY")
        for o in store.schedules.week(site="Kantine"):
            print(o.start, o.title)

The library is found through $STEK_LIBRARY, beside the package, in the
usual install prefixes, or by ctypes.util.find_library("stek").  Thread
rules and callbacks: see stek.store.
"""

from ._lib import DISCOVERY_PORT, INVITE_MAX_TTL_MS, PAIR_MAX_TTL_MS, REPORT_DEFAULT_K
from .errors import (BusyError, CanceledError, ClosedError, CorruptError, FutureError,
                     InvalidArgumentError, MalformedError, NetworkError,
                     NoMemoryError, NoSpaceError, NotFoundError, RefusedError,
                     RejectedError, RevokedError, SignatureError, StateError,
                     StekError, StoreIOError, SyncError, TimeoutError, TooBigError,
                     TruncatedError, VersionError, WrongKeyError, code_name,
                     strerror)
from .store import (Announcer, BundleImport, Cancel, DirectoryEntry, Occurrence,
                    Origin, Peer, Record, ScheduleEntry, Server, Signal, Space,
                    Store, SyncStats, new_id, version)

__version__ = "0.1.0"

__all__ = [
    "Announcer", "BundleImport", "BusyError", "Cancel", "CanceledError", "ClosedError",
    "CorruptError", "DISCOVERY_PORT", "DirectoryEntry", "FutureError",
    "INVITE_MAX_TTL_MS", "InvalidArgumentError", "MalformedError",
    "NetworkError", "NoMemoryError", "NoSpaceError", "NotFoundError",
    "Occurrence", "Origin", "PAIR_MAX_TTL_MS", "Peer", "REPORT_DEFAULT_K", "Record",
    "RefusedError", "RejectedError", "ScheduleEntry", "Server", "Signal", "SignatureError",
    "Space", "StateError", "StekError", "Store", "StoreIOError", "SyncError",
    "SyncStats", "TimeoutError", "TooBigError", "TruncatedError",
    "RevokedError", "VersionError", "WrongKeyError", "code_name", "new_id", "strerror",
    "version",
]
