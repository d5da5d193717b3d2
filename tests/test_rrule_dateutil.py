#!/usr/bin/env python3
"""Recurrence expansion agrees with python-dateutil (DESIGN.md §6).

Usage: test_rrule_dateutil.py PATH/TO/rrule_expand

Expands named and randomly generated (fixed seed) rules in Europe/Brussels
with libstek's model/rrule (through the rrule_expand helper) and with
dateutil.rrule.rrulestr + tz.gettz, over two years, and asserts identical
occurrence lists: local time and UTC offset, in order.  The rules cover
weekly with INTERVAL and BYDAY lists, WKST=SU where it matters, monthly by
day (also negative) and by nth weekday (also negative), yearly with
BYMONTH + BYDAY ordinals, daily with INTERVAL, COUNT / UNTIL, EXDATEs, and
DTSTARTs in and around the DST gap and overlap.

Needs Debian's python3-dateutil (and tzdata).  If the python3 first on
PATH lacks dateutil, the script re-runs itself with /usr/bin/python3.
"""
import os
import random
import subprocess
import sys

try:
    from dateutil import rrule, tz
except ImportError:  # e.g. a pyenv python3 ahead of Debian's on PATH
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    sys.exit("test_rrule_dateutil: python3-dateutil is not installed "
             "(apt-get install python3-dateutil)")

from datetime import datetime, timezone

ZONE = "Europe/Brussels"
WINDOW = ("2026-01-01T00:00:00", "2028-01-01T00:00:00")

# (DTSTART, RRULE, EXDATES, window or None)
NAMED = [
    # weekly, with INTERVAL and BYDAY lists, across both DST changes
    ("2026-03-05T13:30:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", [], None),
    ("2026-01-06T09:00:00", "FREQ=WEEKLY;BYDAY=TU", [], None),
    ("2026-01-05T10:00:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR", [], None),
    ("2026-01-07T14:00:00", "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU,TH;COUNT=20", [], None),
    ("2026-03-04T13:30:00", "FREQ=WEEKLY", [], None),
    ("2026-06-01T13:30:00", "FREQ=WEEKLY;BYDAY=MO,WE;BYMONTH=6,7,8", [], None),
    # WKST where it matters: a Sunday start, every other week
    ("2026-01-04T10:00:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU,TU;WKST=SU", [], None),
    ("2026-01-04T10:00:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU,TU;WKST=MO", [], None),
    ("2026-12-31T20:00:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH,SA;WKST=SU;COUNT=15",
     [], None),
    ("2026-01-10T11:00:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA,SU,MO;WKST=SU", [], None),
    # a DTSTART the rule does not select is not an occurrence (dateutil)
    ("2026-03-04T13:30:00", "FREQ=WEEKLY;BYDAY=TH", [], None),
    # monthly by day, also negative
    ("2026-01-31T18:00:00", "FREQ=MONTHLY;BYMONTHDAY=-1", [], None),
    ("2026-01-31T18:00:00", "FREQ=MONTHLY", [], None),
    ("2026-01-15T09:30:00", "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=1,15", [], None),
    ("2026-01-01T09:00:00", "FREQ=MONTHLY;BYMONTHDAY=29,30,31;BYSETPOS=-1", [], None),
    ("2026-01-13T19:00:00", "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", [], None),
    # monthly by nth weekday, also negative
    ("2026-01-08T13:30:00", "FREQ=MONTHLY;BYDAY=2TH", [], None),
    ("2026-01-30T10:00:00", "FREQ=MONTHLY;BYDAY=-1FR", [], None),
    ("2026-01-01T10:00:00", "FREQ=MONTHLY;BYDAY=1MO,3MO", [], None),
    ("2026-01-02T10:00:00", "FREQ=MONTHLY;INTERVAL=3;BYDAY=-2WE", [], None),
    ("2026-01-05T10:00:00", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", [], None),
    ("2026-10-25T02:30:00", "FREQ=MONTHLY;BYDAY=-1SU;COUNT=24", [], None),
    # yearly with BYMONTH + BYDAY ordinals
    ("2026-03-29T10:00:00", "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", [], None),
    ("2026-10-25T10:00:00", "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", [], None),
    ("2026-01-01T12:00:00", "FREQ=YEARLY;BYMONTH=1,7;BYDAY=1MO", [], None),
    ("2026-11-26T18:00:00", "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", [], None),
    ("2026-01-01T13:30:00", "FREQ=YEARLY;BYMONTH=3;BYDAY=2TH,-1TH", [], None),
    ("2026-01-01T08:00:00", "FREQ=YEARLY;BYDAY=20MO", [], None),
    ("2026-01-01T08:00:00", "FREQ=YEARLY;BYDAY=-1FR", [], None),
    ("2026-05-01T12:00:00", "FREQ=YEARLY", [], None),
    ("2024-02-29T12:00:00", "FREQ=YEARLY", [], ("2024-01-01", "2033-01-01")),
    # daily with INTERVAL, near DST changes (gap and overlap times)
    ("2026-03-20T07:15:00", "FREQ=DAILY;INTERVAL=3", [], None),
    ("2026-03-25T02:30:00", "FREQ=DAILY;COUNT=10", [], None),
    ("2026-10-20T02:30:00", "FREQ=DAILY;UNTIL=20261030T000000Z", [], None),
    ("2026-03-28T23:30:00", "FREQ=DAILY;COUNT=5", [], None),
    ("2026-03-29T02:30:00", "FREQ=WEEKLY;BYDAY=SU;COUNT=6", [], None),
    ("2026-01-01T00:00:00", "FREQ=DAILY;BYMONTH=3,10;BYDAY=SU", [], None),
    ("2026-01-01T10:00:00", "FREQ=DAILY;BYMONTHDAY=1,-1", [], None),
    # COUNT with EXDATE (cancelled dates use up their place in the count)
    ("2026-02-02T13:30:00", "FREQ=WEEKLY;BYDAY=MO;COUNT=10",
     ["2026-02-16T13:30:00", "2026-03-02T13:30:00"], None),
    ("2026-01-05T10:00:00", "FREQ=DAILY;INTERVAL=2;BYDAY=MO,WE,FR;COUNT=25",
     ["2026-01-09T10:00:00", "2026-02-02T10:00:00", "2026-02-03T10:00:00"], None),
    # COUNT counts from DTSTART even when the window starts later
    ("2025-11-06T13:30:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;COUNT=30",
     ["2026-04-02T13:30:00"], None),
    # UNTIL is inclusive, compared as a UTC instant (09:00+02:00 = 07:00Z)
    ("2026-01-06T09:00:00", "FREQ=WEEKLY;BYDAY=TU;UNTIL=20260630T070000Z", [], None),
    ("2026-01-06T09:00:00", "FREQ=WEEKLY;BYDAY=TU;UNTIL=20260630T065959Z", [], None),
    ("2026-03-05T13:30:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;UNTIL=20261231T230000Z",
     ["2026-03-19T13:30:00", "2026-10-29T13:30:00"], None),
]

WD = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def random_case(rng):
    """A valid rule whose every part dateutil reads as RFC 5545 does."""
    freq = rng.choice(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"])
    parts = ["FREQ=" + freq]
    if rng.random() < 0.6:
        parts.append("INTERVAL=%d" % rng.choice([1, 2, 2, 3, 4, 7]))
    if freq == "DAILY":
        if rng.random() < 0.4:
            parts.append("BYDAY=" + ",".join(rng.sample(WD, rng.randint(1, 4))))
        if rng.random() < 0.3:
            parts.append("BYMONTH=" + ",".join(str(m) for m in
                                                sorted(rng.sample(range(1, 13), 3))))
    elif freq == "WEEKLY":
        if rng.random() < 0.8:
            parts.append("BYDAY=" + ",".join(rng.sample(WD, rng.randint(1, 4))))
        if rng.random() < 0.5:
            parts.append("WKST=" + rng.choice(["SU", "MO", "WE", "SA"]))
    elif freq == "MONTHLY":
        kind = rng.choice(["mday", "nth", "nth", "setpos", "none"])
        if kind == "mday":
            days = rng.sample(list(range(1, 29)) + list(range(-28, 0)), rng.randint(1, 3))
            parts.append("BYMONTHDAY=" + ",".join(map(str, days)))
        elif kind == "nth":
            n = rng.sample([1, 2, 3, 4, -1, -2, -3], rng.randint(1, 2))
            parts.append("BYDAY=" + ",".join("%d%s" % (k, rng.choice(WD)) for k in n))
        elif kind == "setpos":
            parts.append("BYDAY=" + ",".join(rng.sample(WD, rng.randint(2, 5))))
            parts.append("BYSETPOS=" + rng.choice(["1", "-1", "2", "1,-1"]))
    else:
        months = sorted(rng.sample(range(1, 13), rng.randint(1, 3)))
        kind = rng.choice(["nth", "nth", "mday", "month", "plain"])
        if kind != "plain" or rng.random() < 0.5:
            parts.append("BYMONTH=" + ",".join(map(str, months)))
        if kind == "nth":
            n = rng.sample([1, 2, 3, 4, -1, -2], rng.randint(1, 2))
            parts.append("BYDAY=" + ",".join("%d%s" % (k, rng.choice(WD)) for k in n))
        elif kind == "mday":
            parts.append("BYMONTHDAY=%d" % rng.choice(list(range(1, 29)) + [-1, -7]))
        elif kind == "plain":
            parts.append("BYDAY=" + rng.choice(WD))
    end = rng.random()
    if end < 0.35:
        parts.append("COUNT=%d" % rng.randint(1, 60))
    elif end < 0.6:
        u = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp() + rng.randint(0, 700) * 86400
        u += rng.choice([0, 3600 * 12 + 1800, 86399])
        parts.append("UNTIL=" + datetime.fromtimestamp(u, timezone.utc)
                     .strftime("%Y%m%dT%H%M%SZ"))
    rng.shuffle(parts)
    # near the DST changes of 2026 half of the time
    if rng.random() < 0.5:
        base = datetime(2026, rng.choice([3, 10]), rng.randint(20, 31))
    else:
        base = datetime(rng.choice([2025, 2026]), rng.randint(1, 12), rng.randint(1, 28))
    hour, minute = rng.choice([(13, 30), (2, 30), (9, 0), (0, 0), (23, 15), (3, 0), (1, 59)])
    start = base.replace(hour=hour, minute=minute).strftime("%Y-%m-%dT%H:%M:%S")
    return (start, ";".join(parts), [], None)


def parse_local(s, zone):
    if len(s) == 10:
        s += "T00:00:00"
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=zone)


def dateutil_expand(zone, start, rule, exdates, window):
    dtstart = parse_local(start, zone)
    lo = parse_local(window[0], zone).astimezone(timezone.utc)
    hi = parse_local(window[1], zone).astimezone(timezone.utc)
    rs = rrule.rrulestr("RRULE:" + rule, dtstart=dtstart, forceset=True)
    for x in exdates:
        rs.exdate(parse_local(x, zone))
    out = []
    for occ in rs:
        u = occ.astimezone(timezone.utc)
        if u >= hi:
            break
        if u >= lo:
            out.append(occ.isoformat())
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    zone = tz.gettz(ZONE)
    if zone is None:
        sys.exit("test_rrule_dateutil: no zone %s (apt-get install tzdata)" % ZONE)
    seed = int(os.environ.get("STEK_RRULE_SEED", "20260305"))
    rng = random.Random(seed)
    cases = NAMED + [random_case(rng) for _ in range(200)]

    lines = []
    for start, rule, exdates, window in cases:
        w = window or WINDOW
        lines.append(";".join([start, ZONE, rule, ",".join(exdates), w[0], w[1]]))
    proc = subprocess.run([sys.argv[1]], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        sys.exit("rrule_expand failed (%d): %s" % (proc.returncode, proc.stderr))
    ours, block = [], []
    for out_line in proc.stdout.split("\n"):
        if out_line:
            block.append(out_line)
        else:
            ours.append(block)
            block = []
    ours = ours[:len(cases)]
    if len(ours) != len(cases):
        sys.exit("rrule_expand printed %d results for %d rules" % (len(ours), len(cases)))

    failed = 0
    total = 0
    for (start, rule, exdates, window), line, got in zip(cases, lines, ours):
        want = dateutil_expand(zone, start, rule, exdates, window or WINDOW)
        total += len(want)
        if got == want:
            continue
        failed += 1
        i = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]),
                 min(len(got), len(want)))
        print("MISMATCH  %s" % line)
        print("  first difference at occurrence %d: libstek %s, dateutil %s" % (
            i, got[i] if i < len(got) else "(none)", want[i] if i < len(want) else "(none)"))
        print("  libstek %d occurrences, dateutil %d" % (len(got), len(want)))
    print("%d rules (%d named, %d random with seed %d), %d occurrences compared, "
          "%d mismatches" % (len(cases), len(NAMED), len(cases) - len(NAMED), seed,
                             total, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
