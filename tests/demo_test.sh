#!/usr/bin/env bash
# demo_test.sh DEMO_SH STEK_BIN -- run the demo and check what it shows,
# not only that it converges (issue "Records": the demo shows a week of
# schedule, a search in the social map and a k-anonymous report):
#   - the week of 23 March: one line per occurrence with its local hours
#     and UTC offset, both sides of the DST change (+01:00, then +02:00),
#     and no Koffie & Formulieren on the cancelled Wednesday;
#   - the search for "schuld": CAW's Budgethulp first (best match);
#   - the signal report: the debt cell counted (6), the housing cell (2
#     signals) suppressed as "<5";
#   - C, revoked, is told so when it tries to sync (not "the peer closed
#     the connection");
#   - all devices converged, and A, B, D without the revoked C.
set -euo pipefail
demo=${1:?usage: demo_test.sh DEMO_SH STEK_BIN}
stek=${2:?usage: demo_test.sh DEMO_SH STEK_BIN}
out=$(bash "$demo" "$stek") || { printf '%s\n' "$out"; echo "demo_test: the demo failed"; exit 1; }
printf '%s\n' "$out"
fail=0
check() { # DESCRIPTION, then the condition as a command
  local what=$1
  shift
  if "$@"; then echo "demo_test: ok   $what"; else echo "demo_test: FAIL $what"; fail=1; fi
}
# The lines of the section that starts with "== $1" (up to the next "==").
section() { printf '%s\n' "$out" | awk -v h="== $1" 'index($0, h) == 1 {on = 1; next}
                                                    /^==/ {on = 0} on'; }
has() { grep -Eq -- "$2" <<<"$1"; }
count() { grep -Ec -- "$2" <<<"$1" || true; }

week=$(section "The week of 23 March")
occ='^  (Mon|Tue|Wed|Thu|Fri|Sat|Sun) 2026-03-(2[3-9])  [0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]  \(UTC[+-][0-9]{2}:[0-9]{2}\)  .+$'
check "a week of schedule: three occurrences with hours and UTC offsets" \
  test "$(count "$week" "$occ")" -eq 3
check "Monday's Koffie & Formulieren at 09:30 in winter time" \
  has "$week" '^  Mon 2026-03-23  09:30-11:30  \(UTC\+01:00\)  Koffie & Formulieren$'
check "Sunday 29 March after the change to summer time" \
  has "$week" '^  Sun 2026-03-29  10:00-11:30  \(UTC\+02:00\)  Buurtontbijt$'
check "no occurrence on the cancelled Wednesday 25 March" \
  test "$(count "$week" '^  Wed 2026-03-25')" -eq 0

search=$(section 'Searching the social map for "schuld"')
check "a search result, the best match first" \
  test "$(head -n 1 <<<"$search")" = "  CAW: Budgethulp en schuldbemiddeling"

report=$(section "Signal report on A")
check "the report's header" has "$report" '^  month,theme,site,signals$'
check "a counted cell (6 debt signals)" has "$report" '^  [0-9]{4}-[0-9]{2},debt,Kantine Bezemheide,6$'
check "a suppressed cell (2 housing signals, under k = 5)" \
  has "$report" '^  [0-9]{4}-[0-9]{2},housing,Kantine Bezemheide,<5$'

lost=$(section "C's tablet is lost")
check "the revoked C is told why its sync is refused" \
  has "$lost" '^  C tries to sync with A: refused \(this device was revoked from the space\)$'

check "all four devices converged" has "$out" '^converged: yes$'
check "A, B and D converged without the revoked C" has "$out" '^A, B and D converged without C: yes$'
exit $fail
