"""The Pythonic surface over libstek: Store, its typed views, sync.

Thread rules (those of stek.h, enforced where Python can):
  * A Store may be shared between threads: its calls are serialized by a
    lock, so one thread at a time is inside the library on it.  A call made
    while another thread syncs on the same Store waits for the sync; to stop
    a sync from elsewhere, trigger its Cancel.  Distinct Stores (even on the
    same file) run in parallel; ctypes releases the GIL during every call.
  * Callbacks (on_change, sync progress, discover's until, the clock,
    pair_join's confirm) run on the thread that made the call that fired
    them, before that call returns -- except a Server's (its clock and
    pair_confirm) and an Announcer's clock, which run on their own thread.
    A callback must not call into its Store: doing so raises ClosedError
    instead of corrupting the handle.  Cancel.trigger() is the one thing a
    progress callback may do to the sync it watches.
  * Once close() has returned no callback of the Store can run: callbacks
    only ever fire inside a call on the handle, and every call after close()
    raises ClosedError.  The ctypes callback objects are kept alive by the
    Store for as long as the library holds them.
  * An exception raised by a callback is not lost: it is re-raised by the
    call that fired it, once the library has returned (a progress callback
    that raises also cancels its sync, a confirm refuses the pairing).  A
    Server's callbacks have no such call: Server.stop() re-raises the first.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as _dt
import enum
import os
import threading
import time
import traceback
from ctypes import byref, c_char_p, c_size_t, c_uint8, c_uint64, c_void_p
from dataclasses import dataclass
from typing import (Any, Callable, Dict, Iterator, List, Mapping, Optional,
                    Sequence, Tuple, TypedDict, Union)

from . import _lib
from ._lib import lib
from .errors import (EINVAL, ENOSPACE, ESTATE, ClosedError, InvalidArgumentError,
                     StekError, error_for)

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
#: A record or space id: 32 hex digits, or its 16 bytes.
IdLike = Union[str, bytes]
#: A field value: an integer, a string, a list of strings; None removes it.
FieldValue = Union[int, str, Sequence[str], None]
DateLike = Union[str, _dt.date]

# ---- records as Python values -------------------------------------------------

#: A record as get() and records() return it: "id" and "type", then its fields.
Record = Dict[str, Union[int, str, List[str]]]


class ScheduleEntry(TypedDict, total=False):
    """A record of type "schedule" (the fields stek_schedule_put() knows)."""
    id: str
    type: str
    title: str
    site: str
    start: str
    tz: str
    minutes: int
    rrule: str
    exdates: List[str]
    orgs: List[str]
    languages: List[str]
    cost: Union[int, str]
    notes: str


class DirectoryEntry(TypedDict, total=False):
    """A record of type "directory"; summaries are "summary.<lang>" keys."""
    id: str
    type: str
    org: str
    service: str
    category: str
    tags: List[str]
    refer_how: str
    bring: str
    hours: str
    phone: str
    languages: List[str]


class Origin(enum.IntEnum):
    """Where a change came from (stek_origin)."""
    LOCAL = 1
    REMOTE = 2


@dataclass(frozen=True)
class Space:
    id: str
    name: str


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a schedule entry; start and end are local ISO 8601
    with their UTC offset, start_ms and end_ms UTC milliseconds."""
    id: str
    start: str
    end: str
    start_ms: int
    end_ms: int
    title: str
    site: str

    @property
    def start_time(self) -> _dt.datetime:
        """start as an aware datetime (fixed offset)."""
        return _dt.datetime.fromisoformat(self.start)

    @property
    def end_time(self) -> _dt.datetime:
        return _dt.datetime.fromisoformat(self.end)


@dataclass(frozen=True)
class Signal:
    id: str
    week: str
    theme: str
    site: str
    text: str


@dataclass(frozen=True)
class SyncStats:
    ops_sent: int = 0
    ops_received: int = 0
    ops_total: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    round_trips: int = 0
    bytes_total: int = 0

    @classmethod
    def _of(cls, st: _lib.SyncStats) -> "SyncStats":
        return cls(st.ops_sent, st.ops_received, st.ops_total, st.bytes_sent,
                   st.bytes_received, st.round_trips, st.bytes_total)


@dataclass(frozen=True)
class Peer:
    """A device found by discover(): a space this store holds, and where
    its sync is served."""
    space: str
    host: str
    port: int


@dataclass(frozen=True)
class BundleImport:
    ingested: int
    duplicates: int


# ---- conversions ------------------------------------------------------------------

def _text(s: str, what: str) -> bytes:
    if not isinstance(s, str):
        raise TypeError(f"{what} must be a str, not {type(s).__name__}")
    if "\0" in s:
        raise InvalidArgumentError(EINVAL, message=f"{what} contains a NUL character")
    return s.encode("utf-8")


def _opt_text(s: Optional[str], what: str) -> Optional[bytes]:
    return None if s is None else _text(s, what)


def _path(p: PathLike) -> bytes:
    b = os.fsencode(p)
    if b"\0" in b:
        raise InvalidArgumentError(EINVAL, message="path contains a NUL byte")
    return b


def _id(x: IdLike, n: int = _lib.ID_BYTES, what: str = "id") -> bytes:
    if isinstance(x, (bytes, bytearray)) and len(x) == n:
        return bytes(x)
    if isinstance(x, str) and len(x) == 2 * n:
        try:
            return bytes.fromhex(x)
        except ValueError:
            pass
    raise InvalidArgumentError(
        EINVAL, message=f"{what} must be {2 * n} hex digits or {n} bytes, not {x!r}")


def _date(d: DateLike, what: str) -> bytes:
    if isinstance(d, _dt.datetime):
        return _text(d.strftime("%Y-%m-%dT%H:%M:%S"), what)
    if isinstance(d, _dt.date):
        return _text(d.isoformat(), what)
    return _text(d, what)


def _str(p: Optional[bytes]) -> str:
    return p.decode("utf-8") if p else ""


def new_id() -> str:
    """A fresh random record id (32 hex digits)."""
    buf = (c_uint8 * _lib.ID_BYTES)()
    lib.stek_id_new(buf)
    return bytes(buf).hex()


def version() -> str:
    """The version of the libstek loaded, e.g. "0.1.0"."""
    return lib.stek_version().decode()


def _set_value(v: _lib.Value, x: FieldValue, keep: List[Any], what: str) -> None:
    if x is None:
        v.kind = _lib.VALUE_NONE
    elif isinstance(x, bool):
        raise TypeError(f"{what}: bool is not a libstek value (use an int)")
    elif isinstance(x, int):
        if not -(1 << 63) <= x < (1 << 63):
            raise InvalidArgumentError(EINVAL, message=f"{what}: {x} does not fit in 64 bits")
        v.kind, v.i = _lib.VALUE_INT, x
    elif isinstance(x, str):
        b = _text(x, what)
        keep.append(b)
        v.kind, v.str = _lib.VALUE_STR, b
    elif isinstance(x, (list, tuple)):
        items = [_text(e, what + " item") for e in x]
        arr = (c_char_p * max(len(items), 1))(*items)
        keep.append(items)
        keep.append(arr)
        v.kind = _lib.VALUE_LIST
        v.list = ctypes.cast(arr, ctypes.POINTER(c_char_p))
        v.list_len = len(items)
    else:
        raise TypeError(f"{what}: {type(x).__name__} is not a libstek value "
                        "(int, str, list of str, or None)")


def _fields(items: Sequence[Tuple[str, FieldValue]]) -> Tuple[Any, int, List[Any]]:
    """A stek_field array for the typed put functions, and what keeps it alive."""
    keep: List[Any] = []
    arr = (_lib.Field * max(len(items), 1))()
    for i, (name, value) in enumerate(items):
        nb = _text(name, "field name")
        keep.append(nb)
        arr[i].name = nb
        _set_value(arr[i].value, value, keep, name)
    return arr, len(items), keep


def _merge(fields: Optional[Mapping[str, FieldValue]],
           kw: Mapping[str, FieldValue]) -> List[Tuple[str, FieldValue]]:
    out = dict(fields or {})
    out.update(kw)
    return list(out.items())


def _record(rp: int) -> Record:
    """The record at rp (a const stek_record *) as a dict."""
    rec: Record = {
        "id": ctypes.string_at(lib.stek_record_id(rp), _lib.ID_BYTES).hex(),
        "type": _str(lib.stek_record_type(rp)),
    }
    name, v = c_char_p(), _lib.Value()
    for i in range(lib.stek_record_field_count(rp)):
        if lib.stek_record_field(rp, i, byref(name), byref(v)) != 0:
            continue
        key = _str(name.value)
        if v.kind == _lib.VALUE_INT:
            rec[key] = v.i
        elif v.kind == _lib.VALUE_STR:
            rec[key] = _str(v.str)
        elif v.kind == _lib.VALUE_LIST:
            rec[key] = [_str(v.list[j]) for j in range(v.list_len)]
    return rec


# ---- configuration ---------------------------------------------------------------

#: A pairing confirmation: called with the six digits ("042917"); return True
#: only if the user saw the same digits on the other screen and agreed.
PairConfirm = Callable[[str], bool]


def _confirmer(confirm: PairConfirm, on_error: Callable[[BaseException], None]) -> Any:
    """A stek_pair_confirm_cb over confirm(digits).  Only True confirms:
    anything else, or an exception (handed to on_error), refuses."""
    if not callable(confirm):
        raise TypeError(f"confirm must be callable, not {type(confirm).__name__}")

    def tramp(_ctx: Any, sas: Optional[bytes]) -> int:
        try:
            return 1 if confirm(_str(sas)) is True else 0
        except BaseException as e:  # noqa: BLE001 - reported, not lost
            on_error(e)
            return 0

    return _lib.PairConfirmFn(tramp)


class _Config:
    """A stek_config and the Python objects it points to."""

    def __init__(self, clock: Optional[Callable[[], int]] = None,
                 max_clock_skew_ms: Optional[int] = None,
                 zoneinfo_dir: Optional[PathLike] = None,
                 identity_seed: Optional[bytes] = None,
                 passphrase: Union[str, bytes, None] = None,
                 pwhash_opslimit: int = 0, pwhash_memlimit: int = 0,
                 pair_confirm: Optional[PairConfirm] = None,
                 on_error: Optional[Callable[[BaseException], None]] = None,
                 local_tz: Optional[str] = None) -> None:
        self.cfg = _lib.padded(_lib.Config)
        lib.stek_config_init(byref(self.cfg))
        self.keep: List[Any] = []
        if max_clock_skew_ms is not None:
            self.cfg.max_clock_skew_ms = max_clock_skew_ms
        if clock is not None:
            read_clock = clock  # (not Optional, for the closure)

            def tick(_ctx: Any) -> int:
                try:
                    return int(read_clock())
                except BaseException as e:  # noqa: BLE001 - reported, not lost
                    if on_error is not None:
                        on_error(e)
                    else:
                        traceback.print_exc()
                    return int(time.time() * 1000)
            fn = _lib.ClockFn(tick)
            self.keep.append(fn)
            self.cfg.clock = fn
        if zoneinfo_dir is not None:
            z = _path(zoneinfo_dir)
            self.keep.append(z)
            self.cfg.zoneinfo_dir = z
        if identity_seed is not None:
            if len(identity_seed) != 32:
                raise InvalidArgumentError(EINVAL, message="identity_seed must be 32 bytes")
            seed = (c_uint8 * 32).from_buffer_copy(identity_seed)
            self.keep.append(seed)
            self.cfg.identity_seed = ctypes.cast(seed, ctypes.POINTER(c_uint8))
        if passphrase is not None:
            pw = passphrase.encode("utf-8") if isinstance(passphrase, str) else bytes(passphrase)
            if not pw:
                raise InvalidArgumentError(EINVAL, message="passphrase must not be empty")
            buf = ctypes.create_string_buffer(pw, len(pw))
            self.keep.append(buf)
            self.cfg.passphrase = ctypes.cast(buf, c_char_p)
            self.cfg.passphrase_len = len(pw)
        if pwhash_opslimit:
            self.cfg.pwhash_opslimit = pwhash_opslimit
        if pwhash_memlimit:
            self.cfg.pwhash_memlimit = pwhash_memlimit
        if local_tz is not None:
            tz = local_tz.encode("utf-8")
            self.keep.append(tz)
            self.cfg.local_tz = tz
        if pair_confirm is not None:
            confirm = _confirmer(pair_confirm, on_error or (lambda _e: traceback.print_exc()))
            self.keep.append(confirm)
            self.cfg.pair_confirm = confirm

    @property
    def ref(self) -> Any:
        return byref(self.cfg)


# ---- cancellation --------------------------------------------------------------

class Cancel:
    """A cancellation flag for sync() and invite_accept().

    trigger() may be called from any thread, or from the sync's progress
    callback; the sync fails with CanceledError.  A triggered flag stays set.
    The C flag is freed by close() (or when collected), but never while a
    sync that uses it is still running: that free waits for the sync.
    """

    def __init__(self) -> None:
        p = c_void_p()
        rc = lib.stek_cancel_new(byref(p))
        if rc < 0:
            raise error_for(rc)
        self._p: Optional[int] = p.value
        self._users = 0
        self._closing = False
        self._mu = threading.Lock()

    def trigger(self) -> None:
        with self._mu:
            if self._p is None:
                raise ClosedError(ESTATE, message="the Cancel is closed")
            lib.stek_cancel_trigger(self._p)

    @property
    def triggered(self) -> bool:
        with self._mu:
            if self._p is None:
                raise ClosedError(ESTATE, message="the Cancel is closed")
            return bool(lib.stek_cancel_triggered(self._p))

    def _acquire(self) -> int:
        with self._mu:
            if self._p is None or self._closing:
                raise ClosedError(ESTATE, message="the Cancel is closed")
            self._users += 1
            return self._p

    def _release(self) -> None:
        with self._mu:
            self._users -= 1
            if self._closing and self._users == 0:
                self._free_locked()

    def _free_locked(self) -> None:
        if self._p is not None:
            lib.stek_cancel_free(self._p)
            self._p = None

    def close(self) -> None:
        with self._mu:
            self._closing = True
            if self._users == 0:
                self._free_locked()

    def __enter__(self) -> "Cancel":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


ProgressCallback = Callable[[SyncStats], None]


# ---- the store --------------------------------------------------------------------

ChangeCallback = Callable[[str, str, Origin], None]


class Store:
    """An open libstek store: Store(path, *, clock=None, ...).

    Use it as a context manager; close() releases it and every method after
    that raises ClosedError.  Options (see stek_config in stek.h):
    clock, a callable returning UTC milliseconds (tests, simulators);
    max_clock_skew_ms; zoneinfo_dir; local_tz, the device's IANA zone whose
    local date sets a signal's ISO week (default "Europe/Brussels");
    identity_seed (32 bytes, tests only); passphrase (str or bytes) with
    pwhash_opslimit / pwhash_memlimit.
    """

    def __init__(self, path: PathLike, *, clock: Optional[Callable[[], int]] = None,
                 max_clock_skew_ms: Optional[int] = None,
                 zoneinfo_dir: Optional[PathLike] = None,
                 identity_seed: Optional[bytes] = None,
                 passphrase: Union[str, bytes, None] = None,
                 pwhash_opslimit: int = 0, pwhash_memlimit: int = 0,
                 local_tz: Optional[str] = None) -> None:
        self._h: Optional[int] = None
        self._lock = threading.RLock()
        self._active = False
        self._in_tx = False
        self._pending: Optional[BaseException] = None
        self._change_fn: Any = None
        self.path = os.fsdecode(path)
        self._config = _Config(clock, max_clock_skew_ms, zoneinfo_dir, identity_seed,
                               passphrase, pwhash_opslimit, pwhash_memlimit,
                               on_error=self._defer, local_tz=local_tz)
        h = c_void_p()
        rc = lib.stek_open(byref(h), _path(path), self._config.ref)
        pending, self._pending = self._pending, None
        if rc < 0 or pending is not None:
            msg = _str(lib.stek_errmsg(h)) if h.value else None
            lib.stek_close(h)
            if pending is not None:
                raise pending
            raise error_for(rc, msg)
        self._h = h.value
        self.schedules = Schedules(self)
        self.directory = Directory(self)
        self.signals = Signals(self)

    # -- the handle, one caller at a time

    def _defer(self, e: BaseException) -> None:
        """Keep a callback's exception for the call that fired it to raise."""
        if self._pending is None:
            self._pending = e

    @contextlib.contextmanager
    def _using(self) -> Iterator[int]:
        self._lock.acquire()
        try:
            if self._h is None:
                raise ClosedError(ESTATE, message="the store is closed")
            if self._active:
                raise ClosedError(ESTATE, message="a callback must not call into "
                                  "its own store (stek.h thread rules)")
            self._active = True
            try:
                yield self._h
            finally:
                self._active = False
                self._pending = None
        finally:
            self._lock.release()

    def _check(self, rc: int) -> int:
        """Raise a callback's exception, or the error rc names; else rc."""
        pending, self._pending = self._pending, None
        if pending is not None:
            raise pending
        if rc < 0:
            raise error_for(rc, _str(lib.stek_errmsg(self._h)))
        return rc

    def close(self) -> None:
        """Close the store (an open transaction is rolled back).  Idempotent."""
        with self._lock:
            if self._active:
                raise ClosedError(ESTATE, message="close() from inside a callback")
            h, self._h = self._h, None
            if h:
                lib.stek_close(h)
            self._change_fn = None
            self._in_tx = False

    @property
    def closed(self) -> bool:
        return self._h is None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if getattr(self, "_h", None):
                self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def __repr__(self) -> str:
        return f"<stek.Store {self.path!r}{' closed' if self.closed else ''}>"

    # -- identity and spaces

    @property
    def device_id(self) -> str:
        """This device's id (its Ed25519 public key), 64 hex digits."""
        buf = (c_uint8 * _lib.DEVICE_ID_BYTES)()
        with self._using() as h:
            lib.stek_device_id(h, buf)
        return bytes(buf).hex()

    def create_space(self, name: str = "") -> str:
        """Create a space (fresh keys), make it current, return its id."""
        buf = (c_uint8 * _lib.ID_BYTES)()
        with self._using() as h:
            self._check(lib.stek_space_create(h, _text(name, "name"), buf))
        return bytes(buf).hex()

    def spaces(self) -> List[Space]:
        n = c_size_t()
        out: List[Space] = []
        with self._using() as h:
            self._check(lib.stek_space_count(h, byref(n)))
            buf, name = (c_uint8 * _lib.ID_BYTES)(), c_char_p()
            for i in range(n.value):
                self._check(lib.stek_space_get(h, i, buf, byref(name)))
                out.append(Space(bytes(buf).hex(), _str(name.value)))
        return out

    @property
    def current_space(self) -> Optional[str]:
        """The id of the current space, or None if none is chosen (a store
        holding exactly one space has it current from open on)."""
        buf = (c_uint8 * _lib.ID_BYTES)()
        with self._using() as h:
            rc = lib.stek_space_current(h, buf)
            if rc == ENOSPACE:
                return None
            self._check(rc)
        return bytes(buf).hex()

    def use_space(self, space_id: IdLike) -> None:
        sid = _id(space_id, what="space id")
        with self._using() as h:
            self._check(lib.stek_space_use(h, sid))

    def space_share(self, device_id: IdLike) -> bytes:
        """Seal the current space to another device (see space_accept())."""
        return self._share(lib.stek_space_share, device_id)

    def space_accept(self, sealed: bytes) -> bool:
        """Join a space sealed to this device; False if it was already held."""
        with self._using() as h:
            return self._check(lib.stek_space_accept(h, bytes(sealed), len(sealed))) == 0

    def devices(self) -> Dict[str, bool]:
        """The devices of the current space: device id -> revoked."""
        out: Dict[str, bool] = {}

        def cb(_ctx: Any, dev: int, revoked: int) -> int:
            out[ctypes.string_at(dev, _lib.DEVICE_ID_BYTES).hex()] = bool(revoked)
            return 0

        fn = _lib.DeviceFn(cb)
        with self._using() as h:
            self._check(lib.stek_device_list(h, fn, None))
        return out

    def revoke_device(self, device_id: IdLike) -> None:
        """Revoke a device from the current space: a new key epoch for the
        others, carried by sync (RevokedError if this device was revoked)."""
        dev = _id(device_id, _lib.DEVICE_ID_BYTES, "device id")
        with self._using() as h:
            self._check(lib.stek_device_revoke(h, dev))

    def _share(self, fn: Any, device_id: IdLike) -> bytes:
        dev = _id(device_id, _lib.DEVICE_ID_BYTES, "device id")
        p, n = c_void_p(), c_size_t()
        with self._using() as h:
            self._check(fn(h, dev, byref(p), byref(n)))
        return _lib.take_bytes(p.value, n.value)

    def rekey(self, passphrase: Union[str, bytes, None]) -> None:
        """Change the store's passphrase (None: write it in plaintext)."""
        if _lib.rekey is None:
            raise StekError(-1, message="this libstek has no stek_rekey()")
        pw = passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase
        with self._using() as h:
            self._check(_lib.rekey(h, pw, len(pw) if pw else 0))

    # -- generic records

    def put(self, type: str, id: Optional[IdLike] = None,  # noqa: A002
            fields: Optional[Mapping[str, FieldValue]] = None, /,
            **kw: FieldValue) -> str:
        """Set fields of record (type, id) in one change; None removes a field.

        id None: a fresh id.  Fields come as keywords, or as a mapping for
        names that are not identifiers.  Returns the record id."""
        rid = _id(id) if id is not None else bytes.fromhex(new_id())
        items = _merge(fields, kw)
        tb = _text(type, "type")
        with self._using() as h:
            own_tx = len(items) > 1 and not self._in_tx
            if own_tx:
                self._check(lib.stek_begin(h))
            try:
                for name, value in items:
                    keep: List[Any] = []
                    nb = _text(name, "field name")
                    if value is None:
                        self._check(lib.stek_put(h, tb, rid, nb, None))
                    else:
                        v = _lib.Value()
                        _set_value(v, value, keep, name)
                        self._check(lib.stek_put(h, tb, rid, nb, byref(v)))
                if own_tx:
                    self._check(lib.stek_commit(h))
                    own_tx = False
            finally:
                if own_tx:
                    lib.stek_rollback(h)
        return rid.hex()

    def get(self, type: str, id: IdLike) -> Record:  # noqa: A002
        """The live record (type, id) as a dict; NotFoundError if none."""
        p = c_void_p()
        with self._using() as h:
            self._check(lib.stek_get(h, _text(type, "type"), _id(id), byref(p)))
            assert p.value is not None  # stek_get() succeeded
            try:
                return _record(p.value)
            finally:
                lib.stek_record_free(p)

    def delete(self, type: str, id: IdLike) -> None:  # noqa: A002
        with self._using() as h:
            self._check(lib.stek_delete(h, _text(type, "type"), _id(id)))

    def restore(self, type: str, id: IdLike) -> None:  # noqa: A002
        """Undo deletes of the record made before this call."""
        with self._using() as h:
            self._check(lib.stek_restore(h, _text(type, "type"), _id(id)))

    def set_add(self, type: str, id: IdLike, field: str, *elements: str) -> None:  # noqa: A002
        """Add elements to a set field (concurrent adds all survive)."""
        self._set_op(lib.stek_set_add, type, id, field, elements)

    def set_remove(self, type: str, id: IdLike, field: str, *elements: str) -> None:  # noqa: A002
        self._set_op(lib.stek_set_remove, type, id, field, elements)

    def _set_op(self, fn: Any, type_: str, id_: IdLike, field: str,
                elements: Sequence[str]) -> None:
        tb, rid, fb = _text(type_, "type"), _id(id_), _text(field, "field")
        els = [_text(e, "element") for e in elements]
        with self._using() as h:
            own_tx = len(els) > 1 and not self._in_tx
            if own_tx:
                self._check(lib.stek_begin(h))
            try:
                for e in els:
                    self._check(fn(h, tb, rid, fb, e))
                if own_tx:
                    self._check(lib.stek_commit(h))
                    own_tx = False
            finally:
                if own_tx:
                    lib.stek_rollback(h)

    def _collect(self, fn_type: Any, convert: Callable[[Any], Any],
                 call: Callable[[int, Any], int]) -> List[Any]:
        """Run a listing call whose callback gathers convert(item) into a list."""
        out: List[Any] = []

        def cb(_ctx: Any, item: Any) -> int:
            try:
                out.append(convert(item))
                return 0
            except BaseException as e:  # noqa: BLE001 - re-raised by _check
                self._defer(e)
                return 1

        fn = fn_type(cb)
        with self._using() as h:
            self._check(call(h, fn))
        return out

    def records(self, type: Optional[str] = None) -> Iterator[Record]:  # noqa: A002
        """The live records of type (all types if None) in the current
        space, ordered by (type, id).  The listing is read at once (no call
        into the store can run inside it), then iterated."""
        tb = _opt_text(type, "type")
        return iter(self._collect(_lib.RecordFn, _record,
                                  lambda h, fn: lib.stek_list(h, tb, fn, None)))

    # -- transactions

    def begin(self) -> None:
        with self._using() as h:
            self._check(lib.stek_begin(h))
            self._in_tx = True

    def commit(self) -> None:
        with self._using() as h:
            self._check(lib.stek_commit(h))
            self._in_tx = False

    def rollback(self) -> None:
        with self._using() as h:
            self._in_tx = False
            self._check(lib.stek_rollback(h))

    @contextlib.contextmanager
    def transaction(self) -> Iterator["Store"]:
        """with store.transaction(): ... -- the writes inside become one
        change, committed at the end, rolled back if the block raises."""
        self.begin()
        try:
            yield self
        except BaseException:
            if not self.closed:
                self.rollback()
            raise
        self.commit()

    # -- changes

    def on_change(self, callback: Optional[ChangeCallback]) -> Optional[ChangeCallback]:
        """Call callback(type, id, origin) once per record touched by each
        committed change, local or received, after the commit, on the thread
        of the call that committed it.  None removes it.  Returns callback,
        so that it can be used as a decorator."""
        if callback is None:
            fn = _lib.ChangeFn()  # type: ignore[call-overload] # NULL: no callback
        else:
            cb = callback  # (not Optional, for the closure)

            def trampoline(_ctx: Any, type_: Optional[bytes], idp: int, origin: int) -> None:
                try:
                    cb(_str(type_), ctypes.string_at(idp, _lib.ID_BYTES).hex(),
                             Origin(origin))
                except BaseException as e:  # noqa: BLE001 - re-raised by _check
                    self._defer(e)
            fn = _lib.ChangeFn(trampoline)
        with self._using() as h:
            lib.stek_set_change_callback(h, fn, None)
            self._change_fn = fn if callback is not None else None
        return callback

    def ingest(self, change: bytes) -> bool:
        """Ingest one encoded change; False if it was already held."""
        b = bytes(change)
        with self._using() as h:
            return self._check(lib.stek_ingest(h, b, len(b))) == 0

    def changes(self) -> Iterator[bytes]:
        """Each encoded change of the current space, ordered by (HLC, id)."""
        out: List[bytes] = []

        def cb(_ctx: Any, p: int, n: int) -> int:
            out.append(ctypes.string_at(p, n))
            return 0

        fn = _lib.BytesFn(cb)
        with self._using() as h:
            self._check(lib.stek_changes(h, fn, None))
        return iter(out)

    def change_count(self) -> int:
        n = c_uint64()
        with self._using() as h:
            self._check(lib.stek_change_count(h, byref(n)))
        return n.value

    def state_hash(self) -> str:
        """The state hash of the current space, 64 hex digits."""
        buf = (c_uint8 * _lib.HASH_BYTES)()
        with self._using() as h:
            self._check(lib.stek_state_hash(h, buf))
        return bytes(buf).hex()

    # -- bundles

    def bundle_export(self, path: PathLike, since_ms: int = 0) -> int:
        """Write the current space's changes and signals dated since_ms or
        later to an encrypted bundle; returns the number of changes."""
        n = c_uint64()
        with self._using() as h:
            self._check(lib.stek_bundle_export(h, _path(path), since_ms, byref(n)))
        return n.value

    def bundle_import(self, path: PathLike) -> BundleImport:
        ing, dup = c_uint64(), c_uint64()
        with self._using() as h:
            self._check(lib.stek_bundle_import(h, _path(path), byref(ing), byref(dup)))
        return BundleImport(ing.value, dup.value)

    # -- sync

    @contextlib.contextmanager
    def _sync_options(self, timeout_ms: Optional[int], session_ms: Optional[int],
                      progress: Optional[ProgressCallback],
                      cancel: Optional[Cancel], relay: bool) -> Iterator[Any]:
        opt = _lib.padded(_lib.SyncOptions)
        lib.stek_sync_options_init(byref(opt))
        if timeout_ms is not None:
            opt.timeout_ms = timeout_ms
        if session_ms is not None:
            opt.session_ms = session_ms
        opt.relay = 1 if relay else 0
        own = None
        if progress is not None and cancel is None:
            cancel = own = Cancel()  # so that a raising callback can stop the sync
        if cancel is not None:
            opt.cancel = cancel._acquire()
        try:
            if progress is not None:
                assert cancel is not None
                report = progress  # (not Optional, for the closure)

                def tramp(_ctx: Any, sp: Any) -> None:
                    try:
                        report(SyncStats._of(sp.contents))
                    except BaseException as e:  # noqa: BLE001 - re-raised by _check
                        self._defer(e)
                        lib.stek_cancel_trigger(opt.cancel)

                fn = _lib.ProgressFn(tramp)
                opt.progress = fn
            yield opt
        finally:
            if cancel is not None:
                cancel._release()
            if own is not None:
                own.close()

    def sync(self, host: str, port: int, *, timeout_ms: Optional[int] = None,
             session_ms: Optional[int] = None,
             progress: Optional[ProgressCallback] = None,
             cancel: Optional[Cancel] = None, relay: bool = False) -> SyncStats:
        """Sync the current space once with the device serving at host:port.

        Blocks until both sides hold the same changes.  progress(stats) is
        called on this thread as ops and bytes move; cancel stops the sync
        (CanceledError).  timeout_ms (default 30 000): fail with
        TimeoutError after that long without any traffic.  session_ms
        (default 15 minutes): TimeoutError once the whole sync has lasted
        that long, however busy (a peer trickling bytes cannot hold it for
        ever).  The error raised on failure carries .stats, the counters up
        to the failure."""
        st = _lib.SyncStats()
        with self._sync_options(timeout_ms, session_ms, progress, cancel, relay) as opt:
            with self._using() as h:
                rc = lib.stek_sync(h, _text(host, "host"), port, byref(opt), byref(st))
                try:
                    self._check(rc)
                except StekError as e:
                    e.stats = SyncStats._of(st)  # type: ignore[attr-defined]
                    raise
        return SyncStats._of(st)

    def invite_create(self, ttl_s: float) -> str:
        """A one-time invitation token to the current space, valid ttl_s
        seconds (at most 30 days); it is redeemed through a Server on this
        store."""
        tok = ctypes.create_string_buffer(_lib.INVITE_BYTES)
        with self._using() as h:
            self._check(lib.stek_invite_create(h, int(ttl_s * 1000), tok))
        return tok.value.decode()

    def invite_accept(self, token: str, host: str, port: int, *,
                      timeout_ms: Optional[int] = None,
                      session_ms: Optional[int] = None,
                      progress: Optional[ProgressCallback] = None,
                      cancel: Optional[Cancel] = None) -> None:
        """Join a space with an invitation token through the member serving
        at host:port; the space is then current (sync() to fetch it).
        timeout_ms and session_ms as for sync()."""
        with self._sync_options(timeout_ms, session_ms, progress, cancel, False) as opt:
            with self._using() as h:
                self._check(lib.stek_invite_accept(h, _text(token, "token"),
                                                   _text(host, "host"), port, byref(opt)))

    def pair_offer(self, ttl_s: float = 600) -> None:
        """Open a one-shot pairing offer to the current space for ttl_s
        seconds (at most an hour), replacing any offer still open.

        A Server on this store's file started with pair_confirm then takes
        one pairing attempt: both screens show the same six digits, and the
        new device (pair_join()) gets the space if both users confirm.  The
        offer is spent by that first attempt, whatever its outcome."""
        with self._using() as h:
            self._check(lib.stek_pair_offer(h, int(ttl_s * 1000)))

    def pair_join(self, host: str, port: int, confirm: PairConfirm, *,
                  timeout_ms: Optional[int] = 300_000,
                  session_ms: Optional[int] = None,
                  progress: Optional[ProgressCallback] = None,
                  cancel: Optional[Cancel] = None) -> str:
        """Join a space by pairing with the member whose Server at host:port
        has a pairing offer open (pair_offer()); returns the space id, now
        current (sync() to fetch its content).

        confirm(digits) is called on this thread with the six digits this
        screen should show; only True confirms.  RefusedError if either user
        did not confirm, or the member had no offer open; SignatureError if
        the member's reveal did not match its commitment (an attack).
        timeout_ms (default 5 minutes): the member's user decides meanwhile;
        session_ms as for sync()."""
        fn = _confirmer(confirm, self._defer)
        space = (c_uint8 * _lib.ID_BYTES)()
        with self._sync_options(timeout_ms, session_ms, progress, cancel, False) as opt:
            with self._using() as h:
                self._check(lib.stek_pair_join(h, _text(host, "host"), port, fn, None,
                                               byref(opt), space))
        return bytes(space).hex()

    def discover(self, timeout_ms: int = 5000, address: Optional[str] = None,
                 port: int = _lib.DISCOVERY_PORT, *,
                 until: Optional[Callable[[Peer], bool]] = None) -> List[Peer]:
        """Listen for beacons of this store's spaces for timeout_ms; return
        the devices found.  until(peer) returning True stops early."""
        opt = _lib.padded(_lib.DiscoverOptions)
        lib.stek_discover_options_init(byref(opt))
        opt.timeout_ms = timeout_ms
        ab = _opt_text(address, "address")
        opt.address = ab
        opt.port = port
        found: List[Peer] = []

        def cb(_ctx: Any, pp: Any) -> int:
            try:
                p = pp.contents
                peer = Peer(bytes(p.space).hex(), p.host.decode(), p.port)
                found.append(peer)
                return 1 if until is not None and until(peer) else 0
            except BaseException as e:  # noqa: BLE001 - re-raised by _check
                self._defer(e)
                return 1

        fn = _lib.PeerFn(cb)
        with self._using() as h:
            self._check(lib.stek_discover(h, byref(opt), fn, None))
        return found

    # -- blind relays

    def relay_share(self, device_id: IdLike) -> bytes:
        return self._share(lib.stek_relay_share, device_id)

    def relay_accept(self, share: bytes) -> None:
        with self._using() as h:
            self._check(lib.stek_relay_accept(h, bytes(share), len(share)))

    def relay_count(self) -> int:
        n = c_uint64()
        with self._using() as h:
            self._check(lib.stek_relay_count(h, byref(n)))
        return n.value


# ---- typed views -------------------------------------------------------------------

class _View:
    _type = ""

    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, id: IdLike) -> Any:  # noqa: A002
        return self._store.get(self._type, id)

    def delete(self, id: IdLike) -> None:  # noqa: A002
        self._store.delete(self._type, id)

    def list(self) -> List[Any]:
        return list(self._store.records(self._type))

    def __iter__(self) -> Iterator[Any]:
        return self._store.records(self._type)

    def _typed_put(self, fn: Any, id: Optional[IdLike],  # noqa: A002
                   items: Sequence[Tuple[str, FieldValue]]) -> str:
        rid = _id(id) if id is not None else bytes.fromhex(new_id())
        arr, n, keep = _fields(items)
        s = self._store
        with s._using() as h:
            s._check(fn(h, rid, arr, n))
        del keep
        return rid.hex()


class Schedules(_View):
    """Schedule entries (records of type "schedule"): store.schedules."""
    _type = "schedule"

    def put(self, id: Optional[IdLike] = None,  # noqa: A002
            fields: Optional[Mapping[str, FieldValue]] = None, /,
            **kw: FieldValue) -> str:
        """Write a schedule entry in one change, checked (title, site,
        start, tz, minutes, rrule, exdates, orgs, languages, cost, notes).
        id None creates one; returns its id.  InvalidArgumentError if a
        value does not check out (nothing is written)."""
        return self._typed_put(lib.stek_schedule_put, id, _merge(fields, kw))

    def get(self, id: IdLike) -> ScheduleEntry:  # noqa: A002
        return self._store.get(self._type, id)  # type: ignore[return-value]

    def cancel(self, id: IdLike, date: DateLike, cancel: bool = True) -> None:  # noqa: A002
        """Cancel one date ("YYYY-MM-DD" or a local date-time) of an entry."""
        s = self._store
        with s._using() as h:
            s._check(lib.stek_schedule_cancel(h, _id(id), _date(date, "date"),
                                              1 if cancel else 0))

    def reinstate(self, id: IdLike, date: DateLike) -> None:  # noqa: A002
        self.cancel(id, date, cancel=False)

    def occurrences(self, from_: DateLike, to: DateLike,
                    site: Optional[str] = None) -> List[Occurrence]:
        """Occurrences starting on a local date in [from_, to), by start."""
        fb, tb, sb = _date(from_, "from_"), _date(to, "to"), _opt_text(site, "site")

        def conv(op: Any) -> Occurrence:
            o = op.contents
            return Occurrence(bytes(o.id).hex(), o.start.decode(), o.end.decode(),
                              o.start_ms, o.end_ms, _str(o.title), _str(o.site))

        return self._store._collect(
            _lib.OccurrenceFn, conv,
            lambda h, fn: lib.stek_schedule_occurrences(h, fb, tb, sb, fn, None))

    def week(self, day: Optional[_dt.date] = None,
             site: Optional[str] = None) -> List[Occurrence]:
        """The occurrences of the ISO week (Monday to Sunday) holding day
        (default today)."""
        day = day or _dt.date.today()
        monday = day - _dt.timedelta(days=day.weekday())
        return self.occurrences(monday, monday + _dt.timedelta(days=7), site)

    def ics(self, site: Optional[str] = None) -> str:
        """The live entries (of site, if given) as an RFC 5545 VCALENDAR."""
        p = c_void_p()
        s = self._store
        with s._using() as h:
            s._check(lib.stek_schedule_ics(h, _opt_text(site, "site"), byref(p)))
        return _lib.take_string(p.value)


class Directory(_View):
    """Directory entries, the social map: store.directory."""
    _type = "directory"

    def put(self, id: Optional[IdLike] = None,  # noqa: A002
            fields: Optional[Mapping[str, Any]] = None, /, **kw: Any) -> str:
        """Write a directory entry in one change, checked.  A dict value
        stands for dotted fields: summary={"nl": ...} is "summary.nl"."""
        items: List[Tuple[str, FieldValue]] = []
        for name, value in _merge(fields, kw):
            if isinstance(value, Mapping):
                items += [(f"{name}.{k}", v) for k, v in value.items()]
            else:
                items.append((name, value))
        return self._typed_put(lib.stek_directory_put, id, items)

    def get(self, id: IdLike) -> DirectoryEntry:  # noqa: A002
        return self._store.get(self._type, id)  # type: ignore[return-value]

    def search(self, query: str, lang: Optional[str] = None,
               category: Optional[str] = None) -> List[DirectoryEntry]:
        """Entries matching every word of query (prefixes; case and
        diacritics ignored), best match first."""
        qb = _text(query, "query")
        lb, cb = _opt_text(lang, "lang"), _opt_text(category, "category")
        return self._store._collect(
            _lib.RecordFn, _record,
            lambda h, fn: lib.stek_directory_search(h, qb, lb, cb, fn, None))


class Signals:
    """Anonymous signals: store.signals."""

    THEMES = ("income", "housing", "health", "debt", "digital", "energy", "work",
              "legal", "family", "mobility", "food", "education")

    def __init__(self, store: Store) -> None:
        self._store = store

    def record(self, theme: str, site: str, text: str = "") -> str:
        """Record a signal; returns the visitor's receipt code."""
        buf = ctypes.create_string_buffer(_lib.RECEIPT_BYTES)
        s = self._store
        with s._using() as h:
            s._check(lib.stek_signal_record(h, _text(theme, "theme"), _text(site, "site"),
                                            _text(text, "text"), buf))
        return buf.value.decode()

    def withdraw(self, receipt: str) -> None:
        """Withdraw the signal of a receipt code; NotFoundError if none."""
        s = self._store
        with s._using() as h:
            s._check(lib.stek_signal_withdraw(h, _text(receipt, "receipt")))

    def list(self) -> List[Signal]:
        """The live signals of the current space, by (week, id)."""
        def conv(sp: Any) -> Signal:
            x = sp.contents
            return Signal(bytes(x.id).hex(), _str(x.week), _str(x.theme),
                          _str(x.site), _str(x.text))

        return self._store._collect(_lib.SignalFn, conv,
                                    lambda h, fn: lib.stek_signal_list(h, fn, None))

    def __iter__(self) -> Iterator[Signal]:
        return iter(self.list())

    def report(self, k: int = _lib.REPORT_DEFAULT_K, format: str = "csv") -> str:  # noqa: A002
        """Counts by theme x site x month, cells under k suppressed; "csv"
        (RFC 4180) or "svg" (a bar chart)."""
        fmt = {"csv": _lib.REPORT_CSV, "svg": _lib.REPORT_SVG}.get(format)
        if fmt is None:
            raise InvalidArgumentError(EINVAL, message=f"format must be 'csv' or 'svg', not {format!r}")
        p = c_void_p()
        s = self._store
        with s._using() as h:
            s._check(lib.stek_signal_report(h, k, fmt, byref(p)))
        return _lib.take_string(p.value)


# ---- server and announcer ---------------------------------------------------------

#: Called as each server session ends: None after success, else its error.
SessionEndCallback = Callable[[Optional[StekError]], None]


class Server:
    """A sync server on a thread of its own, serving the store at path:
    Server(path, port=0, *, bind="127.0.0.1", pair_confirm=None,
    **store_options).

    It opens its own handle on the store, so Stores on the same file stay
    usable meanwhile.  port 0 takes a free port: read it from .port.  Use it
    as a context manager; stop() closes every connection and joins the
    thread.

    Limits against hostile or broken peers (stek_server_options; None:
    the library's default): max_peers sessions at once (64), a connection
    beyond them is accepted and closed at once, ending with BusyError;
    idle_ms (30 s) without traffic and session_ms (15 min) in all cut a
    session with TimeoutError.  on_session_end(error) is called as each
    session ends, a refused connection too, with None after success or the
    StekError it failed with; it must not block or call into the server.

    pair_confirm(digits) -> bool answers a pairing attempt on an offer
    opened with Store.pair_offer(): only True confirms; without it every
    pairing is refused.  These callbacks and a clock given here run on the
    server's thread, which serves no one else meanwhile.  An exception
    they raise (a pairing it refuses) is re-raised by stop()."""

    def __init__(self, path: PathLike, port: int = 0, *, bind: str = "127.0.0.1",
                 max_peers: Optional[int] = None, idle_ms: Optional[int] = None,
                 session_ms: Optional[int] = None,
                 on_session_end: Optional[SessionEndCallback] = None,
                 pair_confirm: Optional[PairConfirm] = None, **options: Any) -> None:
        self._p: Optional[int] = None
        self._mu = threading.Lock()
        self._errors: List[BaseException] = []
        self._config = _Config(pair_confirm=pair_confirm, on_error=self._errors.append,
                               **options)
        self._opt = _lib.padded(_lib.ServerOptions)
        lib.stek_server_options_init(byref(self._opt))
        if max_peers is not None:
            self._opt.max_peers = max_peers
        if idle_ms is not None:
            self._opt.idle_ms = idle_ms
        if session_ms is not None:
            self._opt.session_ms = session_ms
        if on_session_end is not None:
            errors = self._errors  # not self: no cycle keeps a lost Server alive
            tell = on_session_end  # (not Optional, for the closure)

            def ended(_ctx: Any, rc: int, msg: Optional[bytes]) -> None:
                try:
                    tell(None if rc == 0 else error_for(rc, _str(msg)))
                except BaseException as e:  # noqa: BLE001 - re-raised by stop()
                    errors.append(e)

            self._on_end = _lib.SessionEndFn(ended)
            self._opt.on_session_end = self._on_end
        p = c_void_p()
        rc = lib.stek_server_start(byref(p), _path(path), self._config.ref,
                                   _text(bind, "bind"), port, byref(self._opt))
        if rc < 0:
            msg = _str(lib.stek_server_errmsg(p)) if p.value else None
            lib.stek_server_stop(p)
            raise error_for(rc, msg)
        self._p = p.value
        self.port: int = lib.stek_server_port(self._p)

    def counts(self) -> Tuple[int, int]:
        """(sessions that ended done, sessions that failed) so far."""
        done, failed = c_uint64(), c_uint64()
        with self._mu:
            if self._p is None:
                raise ClosedError(ESTATE, message="the server is stopped")
            lib.stek_server_counts(self._p, byref(done), byref(failed))
        return done.value, failed.value

    def stop(self) -> None:
        """Close every connection, join the server's thread, free it; then
        raise the first exception one of its callbacks raised, if any."""
        with self._mu:
            p, self._p = self._p, None
            if p:
                lib.stek_server_stop(p)
            errors = list(self._errors)
            del self._errors[:]
        if errors:
            raise errors[0]

    close = stop

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        try:
            self.stop()
        except BaseException:
            if exc_type is None:  # else the exception of the with block wins
                raise

    def __del__(self) -> None:
        try:
            self.stop()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


class Announcer:
    """LAN beacons for the spaces of the store at path, on a thread of its
    own: Announcer(path, serve_port, *, period_ms=2000, address=None,
    port=47115, **store_options).  A context manager; stop() ends it."""

    def __init__(self, path: PathLike, serve_port: int, *,
                 period_ms: Optional[int] = None, address: Optional[str] = None,
                 port: int = _lib.DISCOVERY_PORT, **options: Any) -> None:
        self._p: Optional[int] = None
        self._mu = threading.Lock()
        self._config = _Config(**options)
        self._opt = _lib.padded(_lib.AnnounceOptions)
        lib.stek_announce_options_init(byref(self._opt))
        self._opt.serve_port = serve_port
        if period_ms is not None:
            self._opt.period_ms = period_ms
        self._address = _opt_text(address, "address")
        self._opt.address = self._address
        self._opt.port = port
        p = c_void_p()
        rc = lib.stek_announcer_start(byref(p), _path(path), self._config.ref,
                                      byref(self._opt))
        if rc < 0:
            msg = _str(lib.stek_announcer_errmsg(p)) if p.value else None
            lib.stek_announcer_stop(p)
            raise error_for(rc, msg)
        self._p = p.value

    def stop(self) -> None:
        with self._mu:
            p, self._p = self._p, None
            if p:
                lib.stek_announcer_stop(p)

    close = stop

    def __enter__(self) -> "Announcer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __del__(self) -> None:
        try:
            self.stop()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
