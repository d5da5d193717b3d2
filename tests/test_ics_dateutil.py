#!/usr/bin/env python3
"""The iCalendar export, checked by independent implementations.

Writes 32 varied schedule entries through the `stek` CLI, exports them with
`stek schedule ics`, then checks that:
  - the file is RFC 5545 in form: CRLF line ends, no line over 75 octets,
    and python3-icalendar parses it (one VEVENT per entry, UID = record id);
  - for every entry, python-dateutil's expansion of the exported
    DTSTART/RRULE/EXDATE over two years, read as RFC 5545 reads it (DTSTART
    is always the first instance, selected by the rule or not), equals,
    occurrence for occurrence, what `stek schedule occurrences` gives
    (local time and UTC offset);
  - DTSTART of each VEVENT is libstek's first occurrence of the entry (or,
    for a rule that selects nothing, an EXDATE), whatever start was stored.

Usage: test_ics_dateutil.py STEK_BIN
"""
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile

from dateutil import rrule as du_rrule
from dateutil import tz as du_tz
import icalendar

RULES = [
    ("2026-01-08T13:30:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", ["2026-03-19"]),
    ("2026-01-05T09:00:00", "FREQ=WEEKLY;BYDAY=MO,WE,FR", []),
    ("2026-03-02T10:00:00", "FREQ=WEEKLY;BYDAY=MO;COUNT=10", ["2026-03-16"]),
    ("2026-01-01T18:00:00", "FREQ=DAILY;INTERVAL=3", []),
    ("2026-02-01T08:15:00", "FREQ=DAILY;COUNT=20", ["2026-02-05", "2026-02-06"]),
    ("2026-01-08T14:00:00", "FREQ=MONTHLY;BYDAY=2TH", []),
    ("2026-01-30T16:00:00", "FREQ=MONTHLY;BYDAY=-1FR", ["2026-10-30"]),
    ("2026-01-31T12:00:00", "FREQ=MONTHLY;BYMONTHDAY=-1", []),
    ("2026-01-15T12:00:00", "FREQ=MONTHLY;BYMONTHDAY=15;COUNT=12", []),
    ("2026-01-01T10:00:00", "FREQ=MONTHLY;BYMONTHDAY=1,15", []),
    ("2026-03-29T02:30:00", "FREQ=WEEKLY;BYDAY=SU", []),
    ("2026-10-25T02:30:00", "FREQ=WEEKLY;BYDAY=SU;COUNT=6", []),
    ("2026-03-28T23:30:00", "FREQ=DAILY;COUNT=5", []),
    ("2026-01-06T19:00:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;WKST=SU", []),
    ("2026-01-04T19:00:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU,TU;WKST=SU", []),
    ("2026-01-04T19:00:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU,TU;WKST=MO", []),
    ("2026-05-01T11:00:00", "FREQ=YEARLY", []),
    ("2026-03-27T11:00:00", "FREQ=YEARLY;BYMONTH=3;BYDAY=-1FR", []),
    ("2026-01-12T11:00:00", "FREQ=YEARLY;BYMONTH=1,7;BYDAY=2MO", []),
    ("2026-02-03T09:30:00", "FREQ=MONTHLY;INTERVAL=2;BYDAY=1TU,3TU", []),
    ("2026-01-07T13:00:00", "FREQ=WEEKLY;BYDAY=WE;UNTIL=20260701T000000Z", []),
    ("2026-01-07T13:00:00", "FREQ=WEEKLY;BYDAY=WE;UNTIL=20260624", []),
    ("2026-04-01T10:00:00", "FREQ=MONTHLY;BYMONTHDAY=31", []),
    ("2026-01-29T10:00:00", "FREQ=MONTHLY;BYMONTHDAY=29,30", []),
    ("2026-02-02T07:45:00", "FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,TH;COUNT=15", ["2026-02-05"]),
    ("2026-01-01T00:30:00", "FREQ=DAILY;INTERVAL=10", []),
    ("2026-06-06T10:00:00", "FREQ=MONTHLY;BYDAY=1SA", ["2026-07-04", "2026-08-01"]),
    ("2026-01-09T15:00:00", "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", []),
    ("2026-01-05T08:00:00", "FREQ=YEARLY;BYMONTH=1,4,7,10;BYDAY=1MO", []),
    ("2026-02-14T10:00:00", None, []),
    ("2026-09-01T09:00:00", "FREQ=WEEKLY;BYDAY=TU,TH;BYMONTH=9,10,11", []),
    ("2026-01-01T12:00:00", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", []),
    # a start the rule does not select, with COUNT: RFC 5545 would count it
    ("2026-01-01T12:00:00", "FREQ=WEEKLY;BYDAY=MO;COUNT=3", []),
    ("2026-01-03T10:00:00", "FREQ=MONTHLY;INTERVAL=2;BYDAY=-1WE;COUNT=4", []),
    # a rule that selects no day at all
    ("2026-01-01T10:00:00", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", []),
]

FROM, TO = "2026-01-01", "2028-01-01"
ZONE = "Europe/Brussels"


def run(stek, store, *args, stdin=None):
    p = subprocess.run([stek, "--store", store, *args], input=stdin,
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("FAIL: stek %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr))
    return p.stdout


def exdates(event, tzinfo):
    ex = event.get("EXDATE")
    return [d.dt.replace(tzinfo=None).replace(tzinfo=tzinfo)
            for group in (ex if isinstance(ex, list) else [ex] if ex else [])
            for d in group.dts]


def expand(event, tzinfo, start, end):
    """The occurrences of a VEVENT whose local start falls in [start, end),
    as RFC 5545 defines them: DTSTART is always an instance (dateutil alone
    counts it only when the rule selects it, so it is added as an RDATE)."""
    dtstart = event["DTSTART"].dt.replace(tzinfo=None).replace(tzinfo=tzinfo)
    rs = du_rrule.rruleset()
    if "RRULE" in event:
        rule = event["RRULE"].to_ical().decode()
        rs.rrule(du_rrule.rrulestr(rule, dtstart=dtstart))
    rs.rdate(dtstart)
    for d in exdates(event, tzinfo):
        rs.exdate(d)
    return [o for o in rs.between(start, end, inc=True) if start <= o < end]


def main():
    stek = sys.argv[1]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        store = os.path.join(tmp, "s")
        run(stek, store, "init", "--space", "ics")
        ids = {}
        for i, (start, rule, ex) in enumerate(RULES):
            fields = {"title": "Activiteit %d; met komma, en \\ backslash" % i,
                      "site": "Buurthuis Mozaïek" if i % 2 else "Kantine Bezemheide",
                      "start": start, "tz": ZONE, "minutes": 90,
                      "notes": "Lange beschrijving " * (i % 5) + "einde"}
            if rule:
                fields["rrule"] = rule
            if ex:
                fields["exdates"] = ex
            rid = run(stek, store, "schedule", "put", "--json", json.dumps(fields)).strip()
            ids[rid] = i
        raw = run(stek, store, "schedule", "ics")
        data = raw.encode()
        # stdout was read as text: check the bytes the CLI wrote instead
        p = subprocess.run([stek, "--store", store, "schedule", "ics"], capture_output=True)
        data = p.stdout
        lines = data.split(b"\r\n")
        assert lines[-1] == b"", "file must end with CRLF"
        for n, line in enumerate(lines[:-1]):
            assert b"\n" not in line and b"\r" not in line, "bare LF/CR on line %d" % n
            assert len(line) <= 75, "line %d is %d octets" % (n, len(line))
        cal = icalendar.Calendar.from_ical(data)
        events = [c for c in cal.walk("VEVENT")]
        assert len(events) == len(RULES), "%d events for %d entries" % (len(events), len(RULES))
        assert len(cal.walk("VTIMEZONE")) == 1
        occ = {}
        for line in run(stek, store, "schedule", "occurrences", "--from", FROM, "--to", TO).splitlines():
            o = json.loads(line)
            occ.setdefault(o["id"], []).append(o["start"])
        tzinfo = du_tz.gettz(ZONE)
        start = dt.datetime(2026, 1, 1, tzinfo=tzinfo)
        end = dt.datetime(2028, 1, 1, tzinfo=tzinfo)
        checked = 0
        for ev in events:
            uid = str(ev["UID"])
            assert uid in ids, "unknown UID %s" % uid
            assert str(ev["DTSTART"].params.get("TZID")) == ZONE
            i = ids[uid]
            assert str(ev["SUMMARY"]) == "Activiteit %d; met komma, en \\ backslash" % i
            got = occ.get(uid, [])
            dtstart = ev["DTSTART"].dt.replace(tzinfo=None).replace(tzinfo=tzinfo)
            if got:
                first_ok = dtstart.isoformat() == got[0]
            else:  # no occurrence: the stored start, cancelled
                first_ok = dtstart in exdates(ev, tzinfo)
            if not first_ok:
                failures += 1
                print("FAIL rule %d %r: DTSTART %s, libstek's first occurrence %s"
                      % (i, RULES[i][1], dtstart.isoformat(), got[0] if got else None))
                continue
            want = [o.isoformat() for o in expand(ev, tzinfo, start, end)]
            if want != got:
                failures += 1
                print("FAIL rule %d %r (exdates %r):" % (i, RULES[i][1], RULES[i][2]))
                for k, (w, g) in enumerate(zip(want + [None] * len(got), got + [None] * len(want))):
                    if w != g:
                        print("  first difference at %d: dateutil %s, libstek %s" % (k, w, g))
                        break
            else:
                checked += 1
        print("%d passed, %d failed" % (checked, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
