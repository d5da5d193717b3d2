#!/usr/bin/env bash
# demo.sh STEK_BIN -- three devices edit offline, exchange changes, converge.
#
# Builds three device stores (A, B, C) in a temporary folder (removed on
# exit).  A creates the space "STEK Bezemheide" and seals it to B and C (each
# share opens only with the receiving device's key; no secret is ever
# written in the clear).  Each device then edits while offline, including a
# concurrent edit of the same field on A and B, and the devices pass change
# files around a ring until their state hashes agree.
#
# Exits 0 and prints "converged: yes" when all three hashes are equal,
# exits 1 otherwise.
set -euo pipefail

STEK=${1:?usage: demo.sh STEK_BIN}
work=$(mktemp -d "${TMPDIR:-/tmp}/stek-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT

# st DEVICE ARGS...: run stek on one device's store.
st() {
  local dev=$1
  shift
  "$STEK" --store "$work/$dev" "$@"
}

# send FROM TO: FROM exports all its changes, TO imports them.
send() {
  local file="$work/changes-$1-to-$2"
  st "$1" changes export "$file" >/dev/null
  printf '  %s -> %s  %s\n' "$1" "$2" "$(st "$2" changes import "$file")"
}

hashes() {
  for dev in A B C; do
    printf '  %s  %s\n' "$dev" "$(st "$dev" state-hash)"
  done
}

echo "== Three devices, one space"
for dev in A B C; do st "$dev" init; done
space=$(st A init --space "STEK Bezemheide")
for dev in B C; do
  st A space share "$(st "$dev" device id)" "$work/share-$dev"
  st "$dev" space accept "$work/share-$dev"
done
echo "  A created space $space and shared it with B and C"

echo "== A adds the Budgethulp entry; B and C receive it"
budget=$(st A record put directory --json '{
  "org": "CAW", "service": "Budgethulp", "category": "debt",
  "summary.nl": "Hulp bij schulden en geldzorgen. Gratis en vertrouwelijk.",
  "languages": ["nl", "en", "ar"], "phone": "088-123 45 67"}')
send A B >/dev/null
send A C >/dev/null
echo "  directory/$budget on all three"

echo "== Offline edits"
st A record put directory --id "$budget" --json \
  '{"summary.nl": "Hulp bij schulden. Inloop dinsdag 9-12 uur, zonder afspraak."}' >/dev/null
echo "  A: Budgethulp summary -> inloop op dinsdag"
st B record put directory --id "$budget" --json \
  '{"summary.nl": "Hulp bij schulden. Inloop donderdag 13-16 uur in De Brink."}' >/dev/null
echo "  B: Budgethulp summary -> inloop op donderdag (same field, concurrently)"
st A record put directory --json '{
  "org": "Juridisch Loket", "service": "Gratis juridisch advies",
  "category": "legal", "summary.nl": "Vragen over huur, werk, uitkering of schulden.",
  "phone": "0800-8020", "languages": ["nl", "en"]}' >/dev/null
echo "  A: new directory entry Juridisch Loket"
st B record put schedule --json '{
  "title": "Inloopspreekuur Budgethulp", "site": "Buurthuis De Brink",
  "start": "2026-03-05T13:30:00", "tz": "Europe/Amsterdam", "minutes": 180,
  "rrule": "FREQ=WEEKLY;BYDAY=TH", "orgs": ["CAW"], "cost": "gratis"}' >/dev/null
echo "  B: new schedule entry Inloopspreekuur (weekly, Thursday)"
st C record put directory --json '{
  "org": "Humanitas", "service": "Thuisadministratie", "category": "debt",
  "summary.nl": "Een vrijwilliger helpt thuis met post, rekeningen en formulieren.",
  "languages": ["nl", "tr"]}' >/dev/null
echo "  C: new directory entry Humanitas Thuisadministratie"
echo "  state hashes now differ:"
hashes

echo "== Exchanging change files, around the ring twice"
for round in 1 2; do
  send A B
  send B C
  send C A
done

echo "== After the exchange"
hashes
a=$(st A state-hash) b=$(st B state-hash) c=$(st C state-hash)
if [ "$a" = "$b" ] && [ "$b" = "$c" ]; then
  echo "converged: yes"
else
  echo "converged: no"
  exit 1
fi

echo "== Budgethulp on C (one summary won on every device: last writer wins)"
st C record get directory "$budget"
echo "== All records on C"
st C record list
