#!/usr/bin/python3
"""week.py -- this week's schedule for a site, and the signal report.

    STEK_LIBRARY=build/libstek/libstek.so PYTHONPATH=bindings/python \\
        python3 examples/python/week.py STORE [--site NAME] [--date YYYY-MM-DD]
        [--space ID] [--k N] [--passphrase-file FILE]

STORE is a store file, or a folder made by the CLI (`stek --store DIR
init`; the store is DIR/stek.db).  The week is Monday to Sunday around
--date (default today); without --site every site is shown.  The report
counts signals by month, theme and site, with cells under k (5) suppressed.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import sys

import stek


def main() -> int:
    ap = argparse.ArgumentParser(description="This week's schedule and the signal report.")
    ap.add_argument("store", help="a store file, or a CLI store folder")
    ap.add_argument("--site", help="only this site")
    ap.add_argument("--date", type=dt.date.fromisoformat, default=dt.date.today(),
                    help="a day of the week to show (default today)")
    ap.add_argument("--space", help="the space id, when the store holds several")
    ap.add_argument("--k", type=int, default=stek.REPORT_DEFAULT_K,
                    help="suppress report cells under k signals (default 5)")
    ap.add_argument("--passphrase-file", help="the store's passphrase, in a file")
    args = ap.parse_args()

    path = args.store
    if os.path.isdir(path):
        path = os.path.join(path, "stek.db")
    if not os.path.exists(path):  # opening would create an empty store
        print(f"week.py: no store at {path}", file=sys.stderr)
        return 1
    passphrase = None
    if args.passphrase_file:
        with open(args.passphrase_file, "rb") as f:
            passphrase = f.read().rstrip(b"\r\n")

    try:
        with stek.Store(path, passphrase=passphrase) as store:
            spaces = store.spaces()
            if args.space:
                store.use_space(args.space)
            elif len(spaces) != 1:
                print("week.py: the store holds %d spaces; choose one with --space:\n%s"
                      % (len(spaces), "".join(f"  {s.id}  {s.name}\n" for s in spaces)),
                      file=sys.stderr, end="")
                return 2
            name = next((s.name for s in spaces if s.id == (args.space or spaces[0].id)), "")

            monday = args.date - dt.timedelta(days=args.date.weekday())
            week = store.schedules.week(args.date, site=args.site)
            iso_year, iso_week, _ = monday.isocalendar()
            print(f"{name}: week {iso_year}-W{iso_week:02d} ({monday:%d %b} - "
                  f"{monday + dt.timedelta(days=6):%d %b %Y})"
                  + (f", {args.site}" if args.site else ""))
            if not week:
                print("  nothing planned")
            for o in week:
                start, end = o.start_time, o.end_time
                where = "" if args.site else f"  [{o.site}]"
                print(f"  {start:%a %d %b  %H:%M}-{end:%H:%M}  {o.title}{where}")

            print(f"\nSignals by month, theme and site (cells under {args.k} suppressed):")
            rows = list(csv.reader(io.StringIO(store.signals.report(k=args.k))))[1:]
            if not rows:
                print("  no signals")
            for month, theme, site, count in rows:
                print(f"  {month}  {theme:<10} {count:>4}  {site}")
    except stek.StekError as e:
        print(f"week.py: {path}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
