"""Loading libstek and declaring its C interface for ctypes.

This module mirrors libstek/include/stek.h: the structs, the callback
types and the prototype of every function the package calls.  Nothing
here is public; the Pythonic surface is in store.py.

Where the library is looked for, in order:
  1. $STEK_LIBRARY, a path to libstek.so (what the tests use);
  2. beside the package (a libstek.so* copied into stek/ or its parent);
  3. the usual install prefixes (/usr/local/lib, /usr/lib and their
     multiarch folders);
  4. ctypes.util.find_library("stek").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_int,
                    c_int64, c_size_t, c_uint8, c_uint16, c_uint64,
                    c_ulonglong, c_void_p)
from typing import List, Optional, Type, TypeVar

# ---- constants (stek.h) -----------------------------------------------------

ID_BYTES = 16
DEVICE_ID_BYTES = 32
HASH_BYTES = 32
INVITE_BYTES = 38
RECEIPT_BYTES = 15
DISCOVERY_PORT = 47115
DISCOVERY_PERIOD_MS = 2000
SERVER_MAX_PEERS = 64
SERVER_IDLE_MS = 30000
SERVER_SESSION_MS = 900000
PAIR_MAX_TTL_MS = 60 * 60 * 1000
INVITE_MAX_TTL_MS = 30 * 24 * 3600 * 1000
REPORT_CSV = 1
REPORT_SVG = 2
REPORT_DEFAULT_K = 5

VALUE_NONE, VALUE_INT, VALUE_STR, VALUE_LIST = 0, 1, 2, 3

OK = 0
DUPLICATE = 1

# The option structs carry no size or version field: a *_init() of a newer
# library may fill fields this module does not know.  Each struct is
# therefore allocated with this much slack behind it.
_SLACK = 256


# ---- structs ----------------------------------------------------------------

ClockFn = CFUNCTYPE(c_int64, c_void_p)
# The digits are a char[7]: six digits and a NUL.
PairConfirmFn = CFUNCTYPE(c_int, c_void_p, c_char_p)


class Config(Structure):
    _fields_ = [
        ("max_clock_skew_ms", c_int64),
        ("clock", ClockFn),
        ("clock_ctx", c_void_p),
        ("zoneinfo_dir", c_char_p),
        ("identity_seed", POINTER(c_uint8)),
        ("passphrase", c_char_p),
        ("passphrase_len", c_size_t),
        ("pwhash_opslimit", c_ulonglong),
        ("pwhash_memlimit", c_size_t),
        ("pair_confirm", PairConfirmFn),
        ("pair_confirm_ctx", c_void_p),
        ("local_tz", c_char_p),
    ]


class Value(Structure):
    _fields_ = [
        ("kind", c_int),
        ("i", c_int64),
        ("str", c_char_p),
        ("list", POINTER(c_char_p)),
        ("list_len", c_size_t),
    ]


class Field(Structure):
    _fields_ = [("name", c_char_p), ("value", Value)]


class SyncStats(Structure):
    _fields_ = [
        ("ops_sent", c_uint64),
        ("ops_received", c_uint64),
        ("ops_total", c_uint64),
        ("bytes_sent", c_uint64),
        ("bytes_received", c_uint64),
        ("round_trips", c_uint64),
        ("bytes_total", c_uint64),  # stek.h adds members at the end only
    ]


ProgressFn = CFUNCTYPE(None, c_void_p, POINTER(SyncStats))


class SyncOptions(Structure):
    _fields_ = [
        ("timeout_ms", c_int),
        ("progress", ProgressFn),
        ("progress_ctx", c_void_p),
        ("cancel", c_void_p),
        ("relay", c_int),
        ("session_ms", c_int64),
    ]


SessionEndFn = CFUNCTYPE(None, c_void_p, c_int, c_char_p)


class ServerOptions(Structure):
    _fields_ = [
        ("max_peers", c_int),
        ("idle_ms", c_int64),
        ("session_ms", c_int64),
        ("on_session_end", SessionEndFn),
        ("on_session_end_ctx", c_void_p),
    ]


class Peer(Structure):
    _fields_ = [
        ("space", c_uint8 * ID_BYTES),
        ("host", c_char * 46),
        ("port", c_uint16),
    ]


class DiscoverOptions(Structure):
    _fields_ = [
        ("timeout_ms", c_int64),
        ("address", c_char_p),
        ("port", c_uint16),
    ]


class AnnounceOptions(Structure):
    _fields_ = [
        ("serve_port", c_uint16),
        ("period_ms", c_int64),
        ("address", c_char_p),
        ("port", c_uint16),
    ]


class Occurrence(Structure):
    _fields_ = [
        ("id", c_uint8 * ID_BYTES),
        ("start", c_char * 32),
        ("end", c_char * 32),
        ("start_ms", c_int64),
        ("end_ms", c_int64),
        ("title", c_char_p),
        ("site", c_char_p),
    ]


class Signal(Structure):
    _fields_ = [
        ("id", c_uint8 * ID_BYTES),
        ("week", c_char_p),
        ("theme", c_char_p),
        ("site", c_char_p),
        ("text", c_char_p),
    ]


_S = TypeVar("_S", bound=Structure)


def padded(struct_type: Type[_S]) -> _S:
    """A zeroed instance of struct_type with _SLACK spare bytes behind it."""
    buf = (c_uint8 * (ctypes.sizeof(struct_type) + _SLACK))()
    obj = struct_type.from_buffer(buf)
    obj._stek_buffer = buf  # keep the storage alive as long as the struct
    return obj


# ---- callback types -----------------------------------------------------------

# Pointers the library hands to callbacks are declared c_void_p and read
# with string_at() or from_address(): nothing a callback sees outlives it.
RecordFn = CFUNCTYPE(c_int, c_void_p, c_void_p)
ChangeFn = CFUNCTYPE(None, c_void_p, c_char_p, c_void_p, c_int)
BytesFn = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t)
PeerFn = CFUNCTYPE(c_int, c_void_p, POINTER(Peer))
OccurrenceFn = CFUNCTYPE(c_int, c_void_p, POINTER(Occurrence))
SignalFn = CFUNCTYPE(c_int, c_void_p, POINTER(Signal))
DeviceFn = CFUNCTYPE(c_int, c_void_p, c_void_p, c_int)


# ---- finding the library ------------------------------------------------------

def _candidates() -> List[str]:
    here = os.path.dirname(os.path.abspath(__file__))
    out: List[str] = []
    for d in (here, os.path.dirname(here)):
        out += sorted(glob.glob(os.path.join(d, "libstek.so*")))
        out += sorted(glob.glob(os.path.join(d, "libstek*.dylib")))
    for d in ("/usr/local/lib", "/usr/local/lib64", "/usr/lib", "/usr/lib64"):
        out += sorted(glob.glob(os.path.join(d, "libstek.so*")))
        out += sorted(glob.glob(os.path.join(d, "*-linux-gnu*", "libstek.so*")))
    return out


def _load() -> ctypes.CDLL:
    env = os.environ.get("STEK_LIBRARY")
    if env:
        return ctypes.CDLL(env)  # an explicit choice: fail loudly if it is wrong
    tried = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path}: {e}")
    name = ctypes.util.find_library("stek")
    if name:
        return ctypes.CDLL(name)
    raise ImportError("libstek not found: set STEK_LIBRARY to the path of "
                      "libstek.so, or install the library"
                      + ("".join("\n  " + t for t in tried)))


lib = _load()


def _proto(name: str, restype, *argtypes) -> None:
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)


_proto("stek_version", c_char_p)
_proto("stek_version_number", c_int)
_proto("stek_strerror", c_char_p, c_int)
_proto("stek_config_init", None, c_void_p)
_proto("stek_open", c_int, POINTER(c_void_p), c_char_p, c_void_p)
_proto("stek_close", None, c_void_p)
_proto("stek_errmsg", c_char_p, c_void_p)
_proto("stek_device_id", None, c_void_p, c_void_p)
_proto("stek_space_create", c_int, c_void_p, c_char_p, c_void_p)
_proto("stek_space_count", c_int, c_void_p, POINTER(c_size_t))
_proto("stek_space_get", c_int, c_void_p, c_size_t, c_void_p, POINTER(c_char_p))
_proto("stek_space_current", c_int, c_void_p, c_void_p)
_proto("stek_space_use", c_int, c_void_p, c_void_p)
_proto("stek_space_share", c_int, c_void_p, c_void_p, POINTER(c_void_p), POINTER(c_size_t))
_proto("stek_space_accept", c_int, c_void_p, c_char_p, c_size_t)
_proto("stek_device_list", c_int, c_void_p, DeviceFn, c_void_p)
_proto("stek_device_revoke", c_int, c_void_p, c_void_p)
_proto("stek_id_new", None, c_void_p)
_proto("stek_put", c_int, c_void_p, c_char_p, c_void_p, c_char_p, POINTER(Value))
_proto("stek_delete", c_int, c_void_p, c_char_p, c_void_p)
_proto("stek_restore", c_int, c_void_p, c_char_p, c_void_p)
_proto("stek_set_add", c_int, c_void_p, c_char_p, c_void_p, c_char_p, c_char_p)
_proto("stek_set_remove", c_int, c_void_p, c_char_p, c_void_p, c_char_p, c_char_p)
_proto("stek_begin", c_int, c_void_p)
_proto("stek_commit", c_int, c_void_p)
_proto("stek_rollback", c_int, c_void_p)
_proto("stek_get", c_int, c_void_p, c_char_p, c_void_p, POINTER(c_void_p))
_proto("stek_record_free", None, c_void_p)
_proto("stek_record_type", c_char_p, c_void_p)
_proto("stek_record_id", c_void_p, c_void_p)
_proto("stek_record_field_count", c_size_t, c_void_p)
_proto("stek_record_field", c_int, c_void_p, c_size_t, POINTER(c_char_p), POINTER(Value))
_proto("stek_free", None, c_void_p)
_proto("stek_list", c_int, c_void_p, c_char_p, RecordFn, c_void_p)
_proto("stek_set_change_callback", None, c_void_p, ChangeFn, c_void_p)
_proto("stek_ingest", c_int, c_void_p, c_char_p, c_size_t)
_proto("stek_changes", c_int, c_void_p, BytesFn, c_void_p)
_proto("stek_change_count", c_int, c_void_p, POINTER(c_uint64))
_proto("stek_state_hash", c_int, c_void_p, c_void_p)
_proto("stek_cancel_new", c_int, POINTER(c_void_p))
_proto("stek_cancel_trigger", None, c_void_p)
_proto("stek_cancel_triggered", c_int, c_void_p)
_proto("stek_cancel_free", None, c_void_p)
_proto("stek_sync_options_init", None, c_void_p)
_proto("stek_sync", c_int, c_void_p, c_char_p, c_int, c_void_p, POINTER(SyncStats))
_proto("stek_server_start", c_int, POINTER(c_void_p), c_char_p, c_void_p, c_char_p, c_int,
       c_void_p)
_proto("stek_server_options_init", None, c_void_p)
_proto("stek_server_port", c_int, c_void_p)
_proto("stek_server_errmsg", c_char_p, c_void_p)
_proto("stek_server_counts", None, c_void_p, POINTER(c_uint64), POINTER(c_uint64))
_proto("stek_server_stop", None, c_void_p)
_proto("stek_discover_options_init", None, c_void_p)
_proto("stek_discover", c_int, c_void_p, c_void_p, PeerFn, c_void_p)
_proto("stek_announce_options_init", None, c_void_p)
_proto("stek_announcer_start", c_int, POINTER(c_void_p), c_char_p, c_void_p, c_void_p)
_proto("stek_announcer_stop", None, c_void_p)
_proto("stek_announcer_errmsg", c_char_p, c_void_p)
_proto("stek_invite_create", c_int, c_void_p, c_int64, c_void_p)
_proto("stek_invite_accept", c_int, c_void_p, c_char_p, c_char_p, c_int, c_void_p)
_proto("stek_pair_offer", c_int, c_void_p, c_int64)
_proto("stek_pair_join", c_int, c_void_p, c_char_p, c_int, PairConfirmFn, c_void_p, c_void_p,
       c_void_p)
_proto("stek_relay_share", c_int, c_void_p, c_void_p, POINTER(c_void_p), POINTER(c_size_t))
_proto("stek_relay_accept", c_int, c_void_p, c_char_p, c_size_t)
_proto("stek_relay_count", c_int, c_void_p, POINTER(c_uint64))
_proto("stek_schedule_put", c_int, c_void_p, c_void_p, POINTER(Field), c_size_t)
_proto("stek_schedule_cancel", c_int, c_void_p, c_void_p, c_char_p, c_int)
_proto("stek_schedule_occurrences", c_int, c_void_p, c_char_p, c_char_p, c_char_p,
       OccurrenceFn, c_void_p)
_proto("stek_schedule_ics", c_int, c_void_p, c_char_p, POINTER(c_void_p))
_proto("stek_directory_put", c_int, c_void_p, c_void_p, POINTER(Field), c_size_t)
_proto("stek_directory_search", c_int, c_void_p, c_char_p, c_char_p, c_char_p,
       RecordFn, c_void_p)
_proto("stek_bundle_export", c_int, c_void_p, c_char_p, c_int64, POINTER(c_uint64))
_proto("stek_bundle_import", c_int, c_void_p, c_char_p, POINTER(c_uint64), POINTER(c_uint64))
_proto("stek_signal_record", c_int, c_void_p, c_char_p, c_char_p, c_char_p, c_void_p)
_proto("stek_signal_withdraw", c_int, c_void_p, c_char_p)
_proto("stek_signal_list", c_int, c_void_p, SignalFn, c_void_p)
_proto("stek_signal_report", c_int, c_void_p, c_int, c_int, POINTER(c_void_p))


def optional(name: str, restype, *argtypes):
    """A function of newer libraries (stek_rekey), or None if this one lacks it."""
    try:
        fn = getattr(lib, name)
    except AttributeError:
        return None
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


rekey = optional("stek_rekey", c_int, c_void_p, c_char_p, c_size_t)


def take_string(p: Optional[int]) -> str:
    """Decode a NUL-terminated string the library allocated, and free it."""
    if not p:
        return ""
    try:
        return ctypes.string_at(p).decode("utf-8")
    finally:
        lib.stek_free(p)


def take_bytes(p: Optional[int], n: int) -> bytes:
    """Copy n bytes the library allocated, and free them."""
    if not p:
        return b""
    try:
        return ctypes.string_at(p, n)
    finally:
        lib.stek_free(p)
