"""Tests of the stek Python binding (unittest).

Run from the repository:
    STEK_LIBRARY=build/libstek/libstek.so PYTHONPATH=bindings/python \\
        /usr/bin/python3 -m unittest discover -s bindings/python/tests
ctest runs them as "python_binding".  Network: 127.0.0.1 only.  No test
sleeps: waits are the library's own deadlines or callbacks.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import gc
import json
import os
import queue
import re
import socket
import subprocess
import sys
import tempfile
import threading
import unittest
from typing import List, Tuple

import stek

try:
    import icalendar  # type: ignore[import-not-found]
except ImportError:  # python3-icalendar is optional here
    icalendar = None

SITE = "Kantine Bezemheide"
HERE = os.path.dirname(os.path.abspath(__file__))
WEEK_PY = os.path.normpath(os.path.join(HERE, "..", "..", "..", "examples", "python", "week.py"))
STEK_H = os.path.join(HERE, "..", "..", "..", "libstek", "include", "stek.h")
README = os.path.join(HERE, "..", "README.md")
# What stek.h has that the package does not call, each named in its README
# with the Python that does the same.
UNBOUND = {"stek_record_json", "stek_record_find", "stek_id_to_hex", "stek_id_from_hex"}
FAST_KDF = {"pwhash_opslimit": 1, "pwhash_memlimit": 8192}  # tests only
# Changes a space share writes in the sharer's space: the "stek.member"
# record of the device it shares with, which syncs like any other change.
JOIN_CHANGES = 1


def under_sanitizer() -> bool:
    """Whether an ASan runtime is loaded (its quarantine makes RSS grow)."""
    with open("/proc/self/maps") as f:
        return any("asan" in line for line in f)


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class StoreTest(unittest.TestCase):
    """Each test gets a fresh folder; self.open(name) opens a store in it."""

    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="stek-py-")
        self.dir = self._tmp.name
        self.addCleanup(self._tmp.cleanup)

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def open(self, name: str = "a.db", **kw) -> stek.Store:
        s = stek.Store(self.path(name), **kw)
        self.addCleanup(s.close)
        return s

    def pair(self) -> Tuple[stek.Store, stek.Store]:
        """Two stores holding one space (shared by sealing, no network)."""
        a, b = self.open("a.db"), self.open("b.db")
        a.create_space("STEK Bezemheide")
        self.assertTrue(b.space_accept(a.space_share(b.device_id)))
        return a, b


class TestRecords(StoreTest):
    def test_put_get_round_trip(self) -> None:
        s = self.open()
        space = s.create_space("Team")
        self.assertEqual([stek.Space(space, "Team")], s.spaces())
        rid = s.put("note", None, {"summary.nl": "Énergie"}, title="Koffie",
                    n=-42, tags=["b", "a"])
        self.assertEqual(32, len(rid))
        self.assertEqual({"id": rid, "type": "note", "n": -42, "summary.nl": "Énergie",
                          "tags": ["b", "a"], "title": "Koffie"}, s.get("note", rid))
        s.put("note", rid, title=None)  # None removes a field
        self.assertNotIn("title", s.get("note", rid))
        self.assertEqual([rid], [r["id"] for r in s.records("note")])
        self.assertEqual([], list(s.records("other")))

    def test_current_space_follows_create_use_and_open(self) -> None:
        s = self.open()
        self.assertIsNone(s.current_space)
        x = s.create_space("X")
        self.assertEqual(x, s.current_space)
        y = s.create_space("Y")
        self.assertEqual(y, s.current_space)
        s.use_space(x)
        self.assertEqual(x, s.current_space)
        with stek.Store(self.path("one.db")) as one:
            z = one.create_space("Z")
        with stek.Store(self.path("one.db")) as one:
            self.assertEqual(z, one.current_space)  # the only space: current from open on

    def test_multi_field_put_is_one_change(self) -> None:
        s = self.open()
        s.create_space()
        before = s.change_count()
        s.put("note", None, a=1, b="x", c=["y"])
        self.assertEqual(before + 1, s.change_count())

    def test_delete_and_restore(self) -> None:
        s = self.open()
        s.create_space()
        rid = s.put("note", None, title="x")
        s.delete("note", rid)
        with self.assertRaises(stek.NotFoundError):
            s.get("note", rid)
        s.restore("note", rid)
        self.assertEqual("x", s.get("note", rid)["title"])

    def test_set_fields_merge_elementwise(self) -> None:
        s = self.open()
        s.create_space()
        rid = stek.new_id()
        s.set_add("directory", rid, "tags", "wifi", "food", "advice")
        s.set_remove("directory", rid, "tags", "wifi")
        self.assertEqual(["advice", "food"], s.get("directory", rid)["tags"])

    def test_transaction_commits_at_end(self) -> None:
        s = self.open()
        s.create_space()
        before = s.change_count()
        with s.transaction():
            a = s.put("note", None, title="a")
            b = s.put("note", None, title="b")
            self.assertEqual("a", s.get("note", a)["title"])  # reads see writes
        self.assertEqual(before + 1, s.change_count())
        self.assertEqual("b", s.get("note", b)["title"])

    def test_transaction_rolls_back_on_exception(self) -> None:
        s = self.open()
        s.create_space()
        keep = s.put("note", None, title="kept")
        h = s.state_hash()
        with self.assertRaises(RuntimeError):
            with s.transaction():
                s.put("note", keep, title="changed")
                s.put("note", None, title="new")
                raise RuntimeError("abort")
        self.assertEqual("kept", s.get("note", keep)["title"])
        self.assertEqual(1, len(list(s.records())))
        self.assertEqual(h, s.state_hash())
        with s.transaction():  # usable again
            s.put("note", None, title="after")
        self.assertEqual(2, len(list(s.records())))

    def test_clock_option_dates_changes(self) -> None:
        # 2026-02-04 is in ISO week 2026-W06; a signal carries only its week.
        t = int(dt.datetime(2026, 2, 4, 12, tzinfo=dt.timezone.utc).timestamp() * 1000)
        s = self.open(clock=lambda: t)
        s.create_space()
        s.signals.record("energy", SITE, "")
        self.assertEqual(["2026-W06"], [x.week for x in s.signals.list()])


class TestBinding(unittest.TestCase):
    def test_every_function_of_stek_h_is_bound_or_named_in_the_readme(self) -> None:
        with open(STEK_H) as f:
            declared = set(re.findall(r"STEK_API\s[^;(]*?\b(stek_\w+)\s*\(", f.read()))
        self.assertGreater(len(declared), 60)  # the pattern still finds them
        # ctypes keeps each function looked up as an attribute of the library.
        bound = {n for n in vars(stek._lib.lib) if n.startswith("stek_")}
        self.assertEqual(set(), declared - bound - UNBOUND, "stek.h functions not bound")
        self.assertEqual(set(), UNBOUND & bound, "bound, yet listed as unbound")
        with open(README) as f:
            readme = f.read()
        self.assertEqual([], [n for n in sorted(UNBOUND) if f"`{n}`" not in readme])

    def test_record_dicts_are_what_stek_record_json_writes(self) -> None:
        with tempfile.TemporaryDirectory(prefix="stek-py-") as d, \
                stek.Store(os.path.join(d, "a.db")) as s:
            s.create_space()
            rid = s.put("note", None, {"summary.nl": "Énergie \"q\"\n"}, title="Koffie",
                        n=-42, tags=["b", "a"])
            f = stek._lib.lib["stek_record_json"]  # [], not ".": not kept on lib
            f.restype, f.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
            p = ctypes.c_void_p()
            with s._using() as h:
                s._check(stek._lib.lib.stek_get(h, b"note", bytes.fromhex(rid), ctypes.byref(p)))
                try:
                    text = stek._lib.take_string(f(p))
                finally:
                    stek._lib.lib.stek_record_free(p)
            self.assertEqual(json.loads(text), s.get("note", rid))


class TestErrors(StoreTest):
    def test_errors_carry_code_name_and_message(self) -> None:
        s = self.open()
        with self.assertRaises(stek.NoSpaceError) as cm:
            s.put("note", None, title="x")
        e = cm.exception
        self.assertEqual((-7, "STEK_ENOSPACE"), (e.code, e.name))
        self.assertTrue(e.message)
        self.assertIsInstance(e, stek.StekError)
        s.create_space()
        with self.assertRaises(stek.NotFoundError) as nf:
            s.get("note", stek.new_id())
        self.assertEqual(-5, nf.exception.code)
        self.assertIsInstance(nf.exception, LookupError)
        with self.assertRaises(stek.InvalidArgumentError) as inv:
            s.put("Bad Type!", None, title="x")
        self.assertEqual(-3, inv.exception.code)
        self.assertIsInstance(inv.exception, ValueError)
        self.assertIn("STEK_EINVAL", str(inv.exception))
        with self.assertRaises(stek.InvalidArgumentError):
            s.schedules.put(title="x", site=SITE, start="not a date")
        with self.assertRaises(stek.InvalidArgumentError):
            s.get("note", "nothex")
        with self.assertRaises(TypeError):
            s.put("note", None, flag=True)

    def test_rejected_bytes_raise_rejected_errors(self) -> None:
        a, b = self.pair()
        joined = list(a.changes())  # b's stek.member record, which b takes first
        self.assertEqual(JOIN_CHANGES, len(joined))
        for c in joined:
            self.assertTrue(b.ingest(c))
        a.put("note", None, title="x")
        (change,) = [c for c in a.changes() if c not in joined]
        with self.assertRaises(stek.RejectedError) as cm:
            b.ingest(change[: len(change) // 2])
        self.assertIn(cm.exception.code, (-10, -12))
        bad = bytearray(change)
        bad[-1] ^= 1  # the signature's last byte
        with self.assertRaises(stek.SignatureError) as sig:
            b.ingest(bytes(bad))
        self.assertEqual(-13, sig.exception.code)
        self.assertTrue(b.ingest(change))
        self.assertFalse(b.ingest(change))  # already held
        self.assertEqual(a.state_hash(), b.state_hash())

    def test_calls_after_close_raise(self) -> None:
        s = self.open()
        s.create_space()
        s.close()
        s.close()  # idempotent
        self.assertTrue(s.closed)
        for call in (lambda: s.spaces(), lambda: s.put("note", None, a=1),
                     lambda: s.state_hash(), lambda: s.signals.list(),
                     lambda: s.on_change(print)):
            with self.assertRaises(stek.ClosedError) as cm:
                call()
            self.assertEqual(-6, cm.exception.code)

    def test_context_manager_closes(self) -> None:
        with stek.Store(self.path("c.db")) as s:
            s.create_space()
        with self.assertRaises(stek.StekError):
            s.spaces()

    def test_callback_cannot_call_into_its_store(self) -> None:
        s = self.open()
        s.create_space()
        s.on_change(lambda *_: s.get("note", stek.new_id()))
        with self.assertRaises(stek.ClosedError):
            s.put("note", None, title="x")
        s.on_change(None)
        s.put("note", None, title="y")  # the store is still fine

    def test_close_from_inside_a_callback_is_refused(self) -> None:
        s = self.open()
        s.create_space()
        s.on_change(lambda *_: s.close())
        with self.assertRaises(stek.ClosedError) as cm:
            s.put("note", None, title="x")
        self.assertIn("inside a callback", cm.exception.message)
        self.assertFalse(s.closed)  # the handle is intact
        s.on_change(None)
        s.put("note", None, title="y")
        self.assertEqual(2, len(list(s.records())))

    def test_no_change_callback_after_close_returns(self) -> None:
        # A writer thread puts until the store is closed under it; the
        # callback never sees the store closed, and no call comes after
        # close() has returned.
        s = self.open()
        s.create_space()
        calls: List[bool] = []
        some = threading.Event()

        def listener(*_: object) -> None:
            calls.append(s.closed)
            if len(calls) >= 20:
                some.set()

        s.on_change(listener)
        ended: List[BaseException] = []

        def writer() -> None:
            try:
                while True:
                    s.put("note", None, title="w")
            except BaseException as e:  # noqa: BLE001
                ended.append(e)

        t = threading.Thread(target=writer)
        t.start()
        self.assertTrue(some.wait(30))
        s.close()
        after_close = len(calls)
        t.join(30)
        self.assertFalse(t.is_alive())
        self.assertEqual([stek.ClosedError], [type(e) for e in ended])
        self.assertEqual(after_close, len(calls))
        self.assertNotIn(True, calls)

    def test_callback_exception_reaches_the_caller(self) -> None:
        s = self.open()
        s.create_space()

        def boom(*_: object) -> None:
            raise KeyError("from the callback")

        s.on_change(boom)
        with self.assertRaises(KeyError):
            s.put("note", None, title="x")
        self.assertEqual(1, len(list(s.records())))  # the write itself stands


class TestChanges(StoreTest):
    def test_change_callback_local(self) -> None:
        s = self.open()
        s.create_space()
        seen: List[Tuple[str, str, stek.Origin]] = []
        s.on_change(lambda t, i, o: seen.append((t, i, o)))
        with s.transaction():
            a = s.put("note", None, title="a")
            b = s.put("event", None, title="b")
            self.assertEqual([], seen)  # only after the commit
        self.assertEqual(sorted([("note", a, stek.Origin.LOCAL),
                                 ("event", b, stek.Origin.LOCAL)]), sorted(seen))
        s.on_change(None)
        s.put("note", None, title="c")
        self.assertEqual(2, len(seen))


class TestSchedules(StoreTest):
    def test_weekly_occurrences_keep_local_time_across_dst(self) -> None:
        s = self.open()
        s.create_space()
        rid = s.schedules.put(title="Koffie & Formulieren", site=SITE,
                              start="2026-03-19T10:00", tz="Europe/Brussels",
                              minutes=90, rrule="FREQ=WEEKLY;BYDAY=TH")
        s.schedules.put(title="Elders", site="Elders", start="2026-03-20T09:00")
        occ = s.schedules.occurrences("2026-03-19", dt.date(2026, 4, 3), site=SITE)
        self.assertEqual(["2026-03-19T10:00:00+01:00", "2026-03-26T10:00:00+01:00",
                          "2026-04-02T10:00:00+02:00"], [o.start for o in occ])
        self.assertTrue(all(o.id == rid and o.site == SITE for o in occ))
        self.assertEqual("2026-04-02T11:30:00+02:00", occ[2].end)
        # Brussels moves to summer time on 2026-03-29: one hour less between.
        self.assertEqual((7 * 24 - 1) * 3600 * 1000, occ[2].start_ms - occ[1].start_ms)
        self.assertEqual(occ[2].start_ms, int(occ[2].start_time.timestamp() * 1000))
        self.assertEqual(90 * 60 * 1000, occ[0].end_ms - occ[0].start_ms)
        self.assertEqual(4, len(s.schedules.occurrences("2026-03-19", "2026-04-03")))

    def test_cancelled_date_is_skipped_and_reinstated(self) -> None:
        s = self.open()
        s.create_space()
        rid = s.schedules.put(title="Spreekuur", site=SITE, start="2026-03-02T13:30",
                              rrule="FREQ=DAILY;COUNT=3")
        s.schedules.cancel(rid, dt.date(2026, 3, 3))
        days = lambda: [o.start[:10] for o in s.schedules.occurrences("2026-03-01", "2026-03-10")]
        self.assertEqual(["2026-03-02", "2026-03-04"], days())
        self.assertEqual(["2026-03-03"], s.schedules.get(rid)["exdates"])
        s.schedules.reinstate(rid, "2026-03-03")
        self.assertEqual(["2026-03-02", "2026-03-03", "2026-03-04"], days())

    def test_week_is_monday_to_sunday(self) -> None:
        s = self.open()
        s.create_space()
        s.schedules.put(title="Ma", site=SITE, start="2026-03-16T09:00")
        s.schedules.put(title="Zo", site=SITE, start="2026-03-22T09:00")
        s.schedules.put(title="Volgende ma", site=SITE, start="2026-03-23T09:00")
        self.assertEqual(["Ma", "Zo"], [o.title for o in s.schedules.week(dt.date(2026, 3, 19))])

    @unittest.skipIf(icalendar is None, "python3-icalendar is not installed")
    def test_ics_parses_with_icalendar(self) -> None:
        s = self.open()
        s.create_space()
        rid = s.schedules.put(title="Koffie, thee & formulieren; welkom", site=SITE,
                              start="2026-03-19T10:00", rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=TH",
                              exdates=["2026-04-02"])
        text = s.schedules.ics(site=SITE)
        self.assertTrue(text.startswith("BEGIN:VCALENDAR\r\n"))
        cal = icalendar.Calendar.from_ical(text)
        (ev,) = [c for c in cal.walk() if c.name == "VEVENT"]
        self.assertEqual(rid, str(ev["UID"]))
        self.assertEqual("Koffie, thee & formulieren; welkom", str(ev["SUMMARY"]))
        self.assertEqual(["WEEKLY"], ev["RRULE"]["FREQ"])
        start = ev.decoded("DTSTART")
        self.assertEqual((2026, 3, 19, 10, 0), (start.year, start.month, start.day,
                                                start.hour, start.minute))
        self.assertEqual(dt.timedelta(hours=1), start.utcoffset())
        self.assertEqual("", s.schedules.ics(site="Nergens").split("BEGIN:VEVENT")[0][:0])


class TestDirectory(StoreTest):
    def test_search_ignores_case_and_diacritics(self) -> None:
        s = self.open()
        s.create_space()
        cpas = s.directory.put(org="OCMW Antwerpen", service="Énergiepremie",
                               category="energy", languages=["nl", "fr"],
                               summary={"nl": "Hulp bij de energiefactuur",
                                        "fr": "Aide pour la facture d'énergie"})
        s.directory.put(org="Huurdersbond", service="Huuradvies", category="housing",
                        summary={"nl": "Advies over de huur"})
        hits = s.directory.search("energie")
        self.assertEqual([cpas], [h["id"] for h in hits])
        self.assertEqual("Aide pour la facture d'énergie", hits[0]["summary.fr"])
        self.assertEqual([], s.directory.search("energie", category="housing"))
        self.assertEqual(1, len(s.directory.search("advies", lang="nl")))
        self.assertEqual([], s.directory.search("advies", lang="fr"))
        with self.assertRaises(stek.InvalidArgumentError):
            s.directory.search("  ")
        with self.assertRaises(stek.InvalidArgumentError):
            s.directory.put(org="X", category="no such category")
        self.assertEqual(2, len(s.directory.list()))


class TestSignals(StoreTest):
    def test_report_suppresses_small_cells(self) -> None:
        s = self.open()
        s.create_space()
        receipts = [s.signals.record("energy", SITE, f"koud {i}") for i in range(6)]
        s.signals.record("housing", SITE, "vocht")
        self.assertEqual(7, len(s.signals.list()))
        s.signals.withdraw(receipts[0].lower().replace("-", " "))
        with self.assertRaises(stek.NotFoundError):
            s.signals.withdraw(receipts[0])
        rows = s.signals.report(k=5).strip().splitlines()
        self.assertEqual("month,theme,site,signals", rows[0])
        cells = {tuple(r.split(",")[1:3]): r.split(",")[3] for r in rows[1:]}
        self.assertEqual("5", cells[("energy", SITE)])
        self.assertEqual("<5", cells[("housing", SITE)])
        self.assertIn("<svg", s.signals.report(format="svg"))
        with self.assertRaises(stek.InvalidArgumentError):
            s.signals.report(format="pdf")
        with self.assertRaises(stek.InvalidArgumentError):
            s.signals.record("no theme", SITE, "")

    def test_week_is_that_of_the_local_date_in_local_tz(self) -> None:
        # Sunday 2026-01-04 23:30 UTC is already Monday of week 2 in Brussels.
        sunday_night = int(dt.datetime(2026, 1, 4, 23, 30,
                                       tzinfo=dt.timezone.utc).timestamp() * 1000)
        for name, tz, week in (("bxl.db", None, "2026-W02"),
                               ("utc.db", "UTC", "2026-W01")):
            s = self.open(name, clock=lambda: sunday_night, local_tz=tz)
            s.create_space()
            s.signals.record("debt", SITE, "")
            self.assertEqual([week], [x.week for x in s.signals.list()], tz)
        with self.assertRaises(stek.InvalidArgumentError):
            self.open("bad.db", local_tz="../etc/passwd")


class TestBundles(StoreTest):
    def test_bundle_round_trip_between_two_stores(self) -> None:
        a, b = self.pair()
        a.put("note", None, title="from a")
        a.schedules.put(title="Koffie", site=SITE, start="2026-03-19T10:00")
        a.signals.record("debt", SITE, "")
        bundle = self.path("stick.bundle")
        n = a.change_count()
        self.assertEqual(n, a.bundle_export(bundle))
        self.assertEqual(stek.BundleImport(n, 0), b.bundle_import(bundle))
        self.assertEqual(stek.BundleImport(0, n), b.bundle_import(bundle))
        self.assertEqual(a.state_hash(), b.state_hash())
        self.assertEqual(1, len(b.signals.list()))

    def test_damaged_bundle_stores_nothing(self) -> None:
        a, b = self.pair()
        a.put("note", None, title="from a")
        bundle = self.path("stick.bundle")
        a.bundle_export(bundle)
        with open(bundle, "rb") as f:
            data = f.read()
        h = b.state_hash()
        with open(bundle, "wb") as f:
            f.write(data[:-7])
        with self.assertRaises(stek.TruncatedError):
            b.bundle_import(bundle)
        damaged = bytearray(data)
        damaged[len(data) // 2] ^= 0x40
        with open(bundle, "wb") as f:
            f.write(damaged)
        with self.assertRaises(stek.RejectedError):
            b.bundle_import(bundle)
        with self.assertRaises(stek.StoreIOError):
            b.bundle_import(self.path("missing.bundle"))
        self.assertEqual(h, b.state_hash())
        other = self.open("c.db")
        other.create_space()
        with open(bundle, "wb") as f:
            f.write(data)
        with self.assertRaises(stek.NoSpaceError):
            other.bundle_import(bundle)


class TestMembers(StoreTest):
    def test_revoked_device_cannot_read_a_later_bundle(self) -> None:
        a, b = self.pair()
        c = self.open("c.db")
        self.assertTrue(c.space_accept(a.space_share(c.device_id)))
        self.assertEqual(a.devices(), {a.device_id: False, b.device_id: False,
                                       c.device_id: False})
        a.revoke_device(c.device_id)
        self.assertTrue(a.devices()[c.device_id])
        with self.assertRaises(stek.StateError):
            a.revoke_device(c.device_id)  # revoked already
        with self.assertRaises(stek.InvalidArgumentError):
            a.revoke_device(a.device_id)
        with self.assertRaises(stek.InvalidArgumentError):
            a.put("stek.member", stek.new_id(), {"device": "x"})  # the library's own
        a.put("note", stek.new_id(), {"text": "after"})
        a.bundle_export(self.path("after.bundle"))
        self.assertGreater(b.bundle_import(self.path("after.bundle")).ingested, 0)
        with self.assertRaises(stek.NoSpaceError):
            c.bundle_import(self.path("after.bundle"))
        self.assertEqual(a.state_hash(), b.state_hash())


class TestSync(StoreTest):
    def serve(self, name: str) -> stek.Server:
        srv = stek.Server(self.path(name))
        self.addCleanup(srv.stop)
        self.assertGreater(srv.port, 0)
        return srv

    def test_loopback_sync_through_server(self) -> None:
        a, b = self.pair()
        for i in range(20):
            a.put("note", None, title=f"a{i}")
        b.put("note", None, title="from b")
        srv = self.serve("a.db")
        stats = b.sync("127.0.0.1", srv.port)
        self.assertEqual(20 + JOIN_CHANGES, stats.ops_received)
        self.assertGreaterEqual(stats.ops_sent, 1)
        self.assertGreater(stats.bytes_sent, 0)
        self.assertEqual(a.state_hash(), b.state_hash())
        self.assertEqual(21, len(list(a.records("note"))))
        again = b.sync("127.0.0.1", srv.port)
        self.assertEqual((0, 0), (again.ops_sent, again.ops_received))
        # The server counts a session as it closes, which may be just after
        # the client has returned: only the failures are certain here.
        self.assertEqual(0, srv.counts()[1])

    def test_revoked_device_sync_raises_revoked_error(self) -> None:
        a, b = self.pair()
        c = self.open("c.db")
        self.assertTrue(c.space_accept(a.space_share(c.device_id)))
        a.revoke_device(c.device_id)
        srv = self.serve("a.db")
        with self.assertRaises(stek.RevokedError) as e:
            c.sync("127.0.0.1", srv.port)
        self.assertIn("this device was revoked", str(e.exception))
        b.sync("127.0.0.1", srv.port)  # a member's sync is unaffected
        self.assertEqual(a.state_hash(), b.state_hash())

    def test_remote_changes_fire_change_callback(self) -> None:
        a, b = self.pair()
        rid = a.put("note", None, title="from a")
        srv = self.serve("a.db")
        seen: List[Tuple[str, str, stek.Origin]] = []
        b.on_change(lambda t, i, o: seen.append((t, i, o)))
        b.sync("127.0.0.1", srv.port)
        self.assertIn(("note", rid, stek.Origin.REMOTE), seen)

    def test_progress_callback_reports_counters(self) -> None:
        a, b = self.pair()
        for i in range(50):
            a.put("note", None, title=f"n{i}")
        srv = self.serve("a.db")
        calls: List[stek.SyncStats] = []
        threads = set()

        def progress(st: stek.SyncStats) -> None:
            calls.append(st)
            threads.add(threading.get_ident())

        final = b.sync("127.0.0.1", srv.port, progress=progress)
        self.assertTrue(calls)
        self.assertEqual({threading.get_ident()}, threads)  # the calling thread
        self.assertEqual(50 + JOIN_CHANGES, calls[-1].ops_received)
        self.assertEqual(50 + JOIN_CHANGES, final.ops_received)
        self.assertTrue(all(x.bytes_received <= y.bytes_received
                            for x, y in zip(calls, calls[1:])))
        # The totals: never below what moved, and exactly that at the end.
        self.assertTrue(all(x.ops_sent + x.ops_received <= x.ops_total and
                            x.bytes_sent + x.bytes_received <= x.bytes_total
                            for x in calls))
        self.assertEqual(final.ops_sent + final.ops_received, final.ops_total)
        self.assertEqual(final.bytes_sent + final.bytes_received, final.bytes_total)
        self.assertEqual(final, calls[-1])

    def test_cancel_from_progress_callback(self) -> None:
        a, b = self.pair()
        a.put("note", None, title="x")
        srv = self.serve("a.db")
        with stek.Cancel() as cancel:
            def progress(_st: stek.SyncStats) -> None:
                cancel.trigger()
            with self.assertRaises(stek.CanceledError) as cm:
                b.sync("127.0.0.1", srv.port, progress=progress, cancel=cancel)
            self.assertEqual(-17, cm.exception.code)
            self.assertIsInstance(cm.exception.stats, stek.SyncStats)
            self.assertTrue(cancel.triggered)
        b.sync("127.0.0.1", srv.port)  # a fresh sync completes
        self.assertEqual(a.state_hash(), b.state_hash())

    def test_cancel_from_another_thread(self) -> None:
        _a, b = self.pair()
        # A listener that accepts and never answers: the sync waits until
        # cancelled (the flag stays set, so the order of events is free).
        quiet = socket.socket()
        self.addCleanup(quiet.close)
        quiet.bind(("127.0.0.1", 0))
        quiet.listen(1)
        cancel = stek.Cancel()
        errors: List[BaseException] = []

        def run() -> None:
            try:
                b.sync("127.0.0.1", quiet.getsockname()[1], cancel=cancel, timeout_ms=60000)
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        t = threading.Thread(target=run)
        t.start()
        cancel.trigger()
        t.join(30)
        self.assertFalse(t.is_alive())
        self.assertEqual([stek.CanceledError], [type(e) for e in errors])
        cancel.close()

    def test_progress_exception_cancels_and_propagates(self) -> None:
        a, b = self.pair()
        a.put("note", None, title="x")
        srv = self.serve("a.db")

        def progress(_st: stek.SyncStats) -> None:
            raise ZeroDivisionError("stop")

        with self.assertRaises(ZeroDivisionError):
            b.sync("127.0.0.1", srv.port, progress=progress)

    def test_sync_errors(self) -> None:
        _a, b = self.pair()
        free = socket.socket()
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
        free.close()  # nothing listens there now
        with self.assertRaises(stek.NetworkError) as cm:
            b.sync("127.0.0.1", port, timeout_ms=5000)
        self.assertEqual(-18, cm.exception.code)
        quiet = socket.socket()
        self.addCleanup(quiet.close)
        quiet.bind(("127.0.0.1", 0))
        quiet.listen(1)
        with self.assertRaises(stek.TimeoutError) as to:
            b.sync("127.0.0.1", quiet.getsockname()[1], timeout_ms=200)
        self.assertIsInstance(to.exception, TimeoutError)  # the builtin too
        self.assertEqual(-16, to.exception.code)
        with self.assertRaises(stek.InvalidArgumentError) as bad:
            b.sync("127.0.0.1", quiet.getsockname()[1], session_ms=-1)
        self.assertIn("session_ms", str(bad.exception))
        with self.assertRaises(stek.TimeoutError) as cut:  # idle never, cut in all
            b.sync("127.0.0.1", quiet.getsockname()[1], timeout_ms=60000, session_ms=200)
        self.assertIn("session_ms", str(cut.exception))

    def test_server_of_another_space_is_refused(self) -> None:
        a = self.open("a.db")
        a.create_space("A")
        c = self.open("c.db")
        c.create_space("C")
        srv = self.serve("a.db")
        with self.assertRaises(stek.SyncError):
            c.sync("127.0.0.1", srv.port, timeout_ms=5000)

    def test_invitation_join_then_sync(self) -> None:
        a = self.open("a.db")
        space = a.create_space("STEK Bezemheide")
        a.put("note", None, title="welcome")
        token = a.invite_create(ttl_s=600)
        self.assertTrue(token.startswith("STEK-"))
        srv = self.serve("a.db")
        d = self.open("d.db")
        d.invite_accept(token, "127.0.0.1", srv.port)
        self.assertEqual([space], [x.id for x in d.spaces()])
        d.sync("127.0.0.1", srv.port)
        self.assertEqual(a.state_hash(), d.state_hash())
        e = self.open("e.db")
        with self.assertRaises(stek.StekError):  # the token works once
            e.invite_accept(token, "127.0.0.1", srv.port, timeout_ms=5000)
        self.assertEqual([], e.spaces())

    def test_discover_finds_an_announcer_on_loopback(self) -> None:
        a, b = self.pair()
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        udp = probe.getsockname()[1]
        probe.close()
        with stek.Announcer(self.path("a.db"), serve_port=4242, address="127.0.0.1",
                            port=udp, period_ms=20):
            peers = b.discover(timeout_ms=10000, address="127.0.0.1", port=udp,
                               until=lambda p: True)
        self.assertEqual([(b.spaces()[0].id, "127.0.0.1", 4242)],
                         [(p.space, p.host, p.port) for p in peers])


class TestServerOptions(StoreTest):
    """Server(max_peers=, idle_ms=, session_ms=, on_session_end=)."""

    def serve(self, **options) -> Tuple[stek.Server, "queue.Queue[object]"]:
        """A server on a.db; each session's end (None or its error) goes to
        the queue, from the server's thread."""
        ended: "queue.Queue[object]" = queue.Queue()
        srv = stek.Server(self.path("a.db"), on_session_end=ended.put, **options)
        self.addCleanup(srv.stop)
        return srv, ended

    def quiet_peer(self, port: int) -> socket.socket:
        """A connection that sends nothing (it holds a session)."""
        c = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.addCleanup(c.close)
        return c

    def test_a_connection_beyond_max_peers_is_refused_busy(self) -> None:
        a, b = self.pair()
        srv, ended = self.serve(max_peers=1)
        hold = self.quiet_peer(srv.port)  # accepted first: the one session
        with self.assertRaises(stek.NetworkError):  # closed during the handshake
            b.sync("127.0.0.1", srv.port, timeout_ms=10000)
        busy = ended.get(timeout=30)
        self.assertIsInstance(busy, stek.BusyError)
        self.assertEqual(-22, busy.code)  # type: ignore[attr-defined]
        self.assertIn("max_peers", busy.message)  # type: ignore[attr-defined]
        hold.close()
        self.assertIsInstance(ended.get(timeout=30), stek.StekError)  # the slot is free
        b.sync("127.0.0.1", srv.port, timeout_ms=10000)
        self.assertIsNone(ended.get(timeout=30))  # a session that succeeded
        self.assertEqual(a.state_hash(), b.state_hash())

    def test_idle_ms_cuts_a_quiet_session(self) -> None:
        self.pair()
        srv, ended = self.serve(idle_ms=50)
        quiet = self.quiet_peer(srv.port)
        cut = ended.get(timeout=30)
        self.assertIsInstance(cut, stek.TimeoutError)
        self.assertIn("idle_ms", cut.message)  # type: ignore[attr-defined]
        self.assertEqual(b"", quiet.recv(1))  # the server closed it

    def test_session_ms_cuts_a_session_however_long_its_idle_limit(self) -> None:
        self.pair()
        srv, ended = self.serve(idle_ms=600000, session_ms=50)
        self.quiet_peer(srv.port)
        cut = ended.get(timeout=30)
        self.assertIsInstance(cut, stek.TimeoutError)
        self.assertIn("session_ms", cut.message)  # type: ignore[attr-defined]
        self.assertEqual((0, 1), srv.counts())

    def test_options_out_of_range_are_invalid(self) -> None:
        self.pair()
        for bad in ({"max_peers": 0}, {"idle_ms": 0}, {"session_ms": -1}):
            with self.subTest(**bad):
                with self.assertRaises(stek.InvalidArgumentError):
                    stek.Server(self.path("a.db"), **bad)

    def test_on_session_end_exception_is_raised_by_stop(self) -> None:
        a, b = self.pair()
        seen: "queue.Queue[object]" = queue.Queue()

        def ended(err: object) -> None:
            seen.put(err)
            raise KeyError("from on_session_end")

        srv = stek.Server(self.path("a.db"), on_session_end=ended)
        b.sync("127.0.0.1", srv.port, timeout_ms=10000)  # the server goes on serving
        self.assertIsNone(seen.get(timeout=30))
        with self.assertRaises(KeyError):
            srv.stop()


class TestPairing(StoreTest):
    """Pairing by six digits: a member's Server with pair_confirm and an
    offer (Store.pair_offer()), a new device's Store.pair_join()."""

    def member(self, answer: object,
               name: str = "a.db") -> Tuple[stek.Store, str, stek.Server, List[str]]:
        """A store with a space, a note and an open offer, served by a
        Server whose user answers answer; the digits it is shown go to the
        list returned, from the server's thread."""
        a = self.open(name)
        space = a.create_space("STEK Bezemheide")
        a.put("note", None, title="welcome")
        a.pair_offer(ttl_s=60)
        shown: List[str] = []
        caller = threading.get_ident()

        def confirm(sas: str) -> object:
            self.assertNotEqual(caller, threading.get_ident())  # the server's thread
            shown.append(sas)
            return answer

        srv = stek.Server(self.path(name), pair_confirm=confirm)
        self.addCleanup(srv.stop)
        return a, space, srv, shown

    def join(self, srv: stek.Server, answer: object,
             name: str = "d.db") -> Tuple[stek.Store, List[str], object]:
        """A new device pairs with srv, its user answering answer: the
        store, the digits it showed, and the space id or the exception."""
        d = self.open(name)
        shown: List[str] = []

        def confirm(sas: str) -> object:
            shown.append(sas)
            return answer

        try:
            result: object = d.pair_join("127.0.0.1", srv.port, confirm, timeout_ms=30000)
        except stek.StekError as e:
            result = e
        return d, shown, result

    def test_both_users_confirm_the_same_digits_then_the_device_syncs(self) -> None:
        a, space, srv, member_saw = self.member(True)
        d, device_saw, result = self.join(srv, True)
        self.assertEqual(space, result)
        self.assertEqual(space, d.current_space)
        self.assertEqual([space], [x.id for x in d.spaces()])
        self.assertEqual(1, len(device_saw))
        self.assertRegex(device_saw[0], r"^[0-9]{6}$")
        self.assertEqual(device_saw, member_saw)
        d.put("note", None, title="from the new device")
        d.sync("127.0.0.1", srv.port)
        self.assertEqual(a.state_hash(), d.state_hash())
        self.assertEqual(2, len(list(a.records("note"))))
        srv.stop()  # no callback raised

    def test_member_refuses_then_both_sides_are_refused(self) -> None:
        _a, _space, srv, member_saw = self.member(False)
        d, device_saw, result = self.join(srv, True)
        self.assertIsInstance(result, stek.RefusedError)
        self.assertEqual(-21, result.code)  # type: ignore[union-attr]
        self.assertEqual(device_saw, member_saw)  # it was asked the same digits
        self.assertEqual([], d.spaces())

    def test_device_refuses_and_only_true_confirms(self) -> None:
        for i, answer in enumerate((False, "yes", 1)):
            with self.subTest(answer=answer):
                _a, _space, srv, _member_saw = self.member(True, f"a{i}.db")
                d, device_saw, result = self.join(srv, answer, f"d{i}.db")
                self.assertIsInstance(result, stek.RefusedError)
                self.assertEqual(1, len(device_saw))
                self.assertEqual([], d.spaces())
                srv.stop()

    def test_an_offer_takes_one_attempt_and_none_is_refused(self) -> None:
        a, _space, srv, _member_saw = self.member(True)
        _d, _shown, first = self.join(srv, False)
        self.assertIsInstance(first, stek.RefusedError)
        e = self.open("e.db")
        with self.assertRaises(stek.RefusedError):  # the offer is spent
            e.pair_join("127.0.0.1", srv.port, lambda _sas: True, timeout_ms=30000)
        self.assertEqual([], e.spaces())
        with self.assertRaises(stek.InvalidArgumentError):
            a.pair_offer(ttl_s=2 * 3600)  # an hour at most
        with self.assertRaises(TypeError):
            e.pair_join("127.0.0.1", srv.port, None)  # type: ignore[arg-type]

    def test_server_without_pair_confirm_refuses(self) -> None:
        a = self.open("a.db")
        a.create_space()
        a.pair_offer(ttl_s=60)
        srv = stek.Server(self.path("a.db"))
        self.addCleanup(srv.stop)
        d = self.open("d.db")
        with self.assertRaises(stek.RefusedError):
            d.pair_join("127.0.0.1", srv.port, lambda _sas: True, timeout_ms=30000)

    def test_confirm_exceptions_refuse_and_are_raised(self) -> None:
        def boom(_sas: str) -> bool:
            raise KeyError("from confirm")

        _a, _space, srv, _member_saw = self.member(True)
        d = self.open("d.db")
        with self.assertRaises(KeyError):  # the device's confirm, re-raised
            d.pair_join("127.0.0.1", srv.port, boom, timeout_ms=30000)
        self.assertEqual([], d.spaces())

        m = self.open("m.db")
        m.create_space()
        m.pair_offer(ttl_s=60)
        msrv = stek.Server(self.path("m.db"), pair_confirm=boom)
        with self.assertRaises(stek.RefusedError):
            d.pair_join("127.0.0.1", msrv.port, lambda _sas: True, timeout_ms=30000)
        with self.assertRaises(KeyError):  # the member's confirm, raised by stop()
            msrv.stop()
        msrv.stop()  # raised once


class TestProcesses(StoreTest):
    def test_sync_between_processes_with_python_m_stek(self) -> None:
        a, b = self.pair()
        rid = a.put("note", None, title="over two processes")
        b.put("note", None, title="from b")
        a.close()
        b.close()
        server = subprocess.Popen([sys.executable, "-m", "stek", self.path("a.db"), "serve"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            port = json.loads(server.stdout.readline())["port"]
            out = subprocess.run([sys.executable, "-m", "stek", self.path("b.db"), "sync",
                                  "127.0.0.1", str(port)], capture_output=True, text=True,
                                 check=True).stdout
            self.assertEqual(1 + JOIN_CHANGES, json.loads(out)["ops_received"])
        finally:
            server.stdin.close()
            self.assertEqual(0, server.wait(30))
            server.stdout.close()
        with stek.Store(self.path("a.db")) as a2, stek.Store(self.path("b.db")) as b2:
            self.assertEqual(a2.state_hash(), b2.state_hash())
            self.assertEqual("over two processes", b2.get("note", rid)["title"])


@unittest.skipIf(stek.store._lib.rekey is None, "this libstek has no encryption at rest")
class TestPassphrase(StoreTest):
    def test_wrong_passphrase_is_wrong_key_error(self) -> None:
        with stek.Store(self.path("enc.db"), passphrase="juist", **FAST_KDF) as s:
            s.create_space()
            rid = s.put("note", None, title="geheim")
        with self.assertRaises(stek.WrongKeyError) as cm:
            stek.Store(self.path("enc.db"), passphrase="fout", **FAST_KDF)
        self.assertEqual(-19, cm.exception.code)
        with self.assertRaises(stek.WrongKeyError):
            stek.Store(self.path("enc.db"))
        with stek.Store(self.path("enc.db"), passphrase=b"juist", **FAST_KDF) as s:
            self.assertEqual("geheim", s.get("note", rid)["title"])
            s.rekey("nieuw")
        with stek.Store(self.path("enc.db"), passphrase="nieuw", **FAST_KDF) as s:
            self.assertEqual("geheim", s.get("note", rid)["title"])


class TestExample(StoreTest):
    def test_week_py_prints_schedule_and_report(self) -> None:
        # The example is part of the deliverable: missing is a failure.
        self.assertTrue(os.path.isfile(WEEK_PY), f"{WEEK_PY} is missing")
        with stek.Store(self.path("stek.db")) as s:
            s.create_space("STEK Bezemheide")
            s.schedules.put(title="Koffie & Formulieren", site=SITE,
                            start="2026-03-19T13:30", rrule="FREQ=WEEKLY;BYDAY=TH")
            s.schedules.put(title="Elders", site="Bib", start="2026-03-18T10:00")
            for _ in range(5):
                s.signals.record("energy", SITE, "")
        out = subprocess.run([sys.executable, WEEK_PY, self.dir, "--site", SITE,
                              "--date", "2026-03-20"], capture_output=True, text=True,
                             check=True, env=os.environ).stdout
        self.assertIn("week 2026-W12", out)
        self.assertIn("Thu 19 Mar  13:30-14:30  Koffie & Formulieren", out)
        self.assertNotIn("Elders", out)
        self.assertRegex(out, r"energy +5  " + SITE)


class TestMemory(StoreTest):
    def cycle(self, i: int) -> None:
        with stek.Store(self.path(f"leak{i % 2}.db")) as s:
            if not s.spaces():
                s.create_space("leak")
            rid = s.put("note", None, title=f"t{i}", tags=["a", "b"])
            s.get("note", rid)
            s.on_change(lambda *_: None)
            list(s.records())

    def test_open_put_get_close_does_not_grow(self) -> None:
        # Under ASan (the sanitizer build's ctest) the cycles run for
        # LeakSanitizer, which checks them at exit; RSS means nothing there,
        # as ASan keeps freed memory in quarantine.
        for i in range(30):  # warm up SQLite, libsodium, the allocator
            self.cycle(i)
        gc.collect()
        before = rss_bytes()
        for i in range(200):
            self.cycle(i)
        gc.collect()
        growth = rss_bytes() - before
        if not under_sanitizer():
            self.assertLess(growth, 4 << 20, f"RSS grew {growth} bytes over 200 cycles")


if __name__ == "__main__":
    unittest.main()
