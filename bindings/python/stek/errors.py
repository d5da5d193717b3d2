"""Exceptions: one class per libstek result code, grouped in families.

Every exception is a StekError carrying the libstek code (negative int),
its symbolic name ("STEK_ENOTFOUND") and the message (stek_errmsg() of
the handle, else stek_strerror() of the code).  Catch a family to handle
a kind of failure, a leaf class for one code:

    StekError
      NoMemoryError          STEK_ENOMEM        (also a MemoryError)
      InvalidArgumentError   STEK_EINVAL        (also a ValueError)
      StoreIOError           STEK_EIO
      NotFoundError          STEK_ENOTFOUND     (also a LookupError)
      StateError             STEK_ESTATE
        ClosedError            the handle is closed, or called from its callback
      NoSpaceError           STEK_ENOSPACE
      CorruptError           STEK_ECORRUPT
      WrongKeyError          STEK_EKEY
      RevokedError           STEK_EREVOKED
      BusyError              STEK_EBUSY         (a server refused: too many sessions)
      RefusedError           STEK_EREFUSED      (a pairing not confirmed, or no offer open)
      RejectedError          outside bytes refused:
        TruncatedError         STEK_ETRUNCATED
        TooBigError            STEK_ETOOBIG
        MalformedError         STEK_EMALFORMED
        SignatureError         STEK_ESIGNATURE
        FutureError            STEK_EFUTURE
        VersionError           STEK_EVERSION
      SyncError              the network:
        TimeoutError           STEK_ETIMEDOUT   (also the builtin TimeoutError)
        CanceledError          STEK_ECANCELED
        NetworkError           STEK_ENET
"""

from __future__ import annotations

import builtins
from typing import Any, Dict, Optional, Type

from . import _lib

_NAMES: Dict[int, str] = {
    -1: "STEK_ERROR", -2: "STEK_ENOMEM", -3: "STEK_EINVAL", -4: "STEK_EIO",
    -5: "STEK_ENOTFOUND", -6: "STEK_ESTATE", -7: "STEK_ENOSPACE",
    -8: "STEK_ECORRUPT", -10: "STEK_ETRUNCATED", -11: "STEK_ETOOBIG",
    -12: "STEK_EMALFORMED", -13: "STEK_ESIGNATURE", -14: "STEK_EFUTURE",
    -15: "STEK_EVERSION", -16: "STEK_ETIMEDOUT", -17: "STEK_ECANCELED",
    -18: "STEK_ENET", -19: "STEK_EKEY", -20: "STEK_EREVOKED", -21: "STEK_EREFUSED",
    -22: "STEK_EBUSY",
}

# The codes as module constants: errors.ENOTFOUND == -5, ...
ERROR, ENOMEM, EINVAL, EIO, ENOTFOUND, ESTATE, ENOSPACE, ECORRUPT = range(-1, -9, -1)
ETRUNCATED, ETOOBIG, EMALFORMED, ESIGNATURE, EFUTURE, EVERSION = range(-10, -16, -1)
ETIMEDOUT, ECANCELED, ENET, EKEY, EREVOKED, EBUSY = -16, -17, -18, -19, -20, -22
EREFUSED = -21  # pairing not confirmed by a user, or no pairing offer open


def strerror(code: int) -> str:
    """libstek's description of a result code."""
    return _lib.lib.stek_strerror(code).decode("utf-8", "replace")


def code_name(code: int) -> str:
    """The symbolic name of a result code, e.g. "STEK_ENOTFOUND"."""
    return _NAMES.get(code, f"STEK_{code}")


class StekError(Exception):
    """A libstek call failed.

    code: the libstek result code (negative); name: its symbolic name;
    message: the detail (stek_errmsg()), or the code's description.
    """

    code: int
    name: str
    message: str

    def __init__(self, code: int, name: Optional[str] = None,
                 message: Optional[str] = None) -> None:
        self.code = code
        self.name = name if name is not None else code_name(code)
        self.message = message if message else strerror(code)
        # Exception.__init__ only: the builtin bases some subclasses also
        # have (OSError for TimeoutError) would read the args their own way.
        Exception.__init__(self, self.code, self.name, self.message)

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"

    def __reduce__(self) -> Any:
        return (type(self), (self.code, self.name, self.message))


class NoMemoryError(StekError, MemoryError): pass
class InvalidArgumentError(StekError, ValueError): pass
class StoreIOError(StekError): pass
class NotFoundError(StekError, LookupError): pass
class StateError(StekError): pass
class ClosedError(StateError): pass
class NoSpaceError(StekError): pass
class CorruptError(StekError): pass
class WrongKeyError(StekError): pass
class RevokedError(StekError): pass
class BusyError(StekError): pass
class RefusedError(StekError): pass

class RejectedError(StekError): pass
class TruncatedError(RejectedError): pass
class TooBigError(RejectedError): pass
class MalformedError(RejectedError): pass
class SignatureError(RejectedError): pass
class FutureError(RejectedError): pass
class VersionError(RejectedError): pass

class SyncError(StekError): pass
class TimeoutError(SyncError, builtins.TimeoutError): pass  # noqa: A001
class CanceledError(SyncError): pass
class NetworkError(SyncError): pass


_CLASSES: Dict[int, Type[StekError]] = {
    ENOMEM: NoMemoryError, EINVAL: InvalidArgumentError, EIO: StoreIOError,
    ENOTFOUND: NotFoundError, ESTATE: StateError, ENOSPACE: NoSpaceError,
    ECORRUPT: CorruptError, EKEY: WrongKeyError, EREVOKED: RevokedError, EBUSY: BusyError,
    EREFUSED: RefusedError,
    ETRUNCATED: TruncatedError, ETOOBIG: TooBigError, EMALFORMED: MalformedError,
    ESIGNATURE: SignatureError, EFUTURE: FutureError, EVERSION: VersionError,
    ETIMEDOUT: TimeoutError, ECANCELED: CanceledError, ENET: NetworkError,
}


def error_for(code: int, message: Optional[str] = None) -> StekError:
    """The exception for a negative libstek code."""
    return _CLASSES.get(code, StekError)(code, code_name(code), message)
