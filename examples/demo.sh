#!/usr/bin/env bash
# demo.sh STEK_BIN -- devices edit offline, sync, converge.
#
# Builds device stores (A, B, C, later D) in a temporary folder (removed on
# exit).  A creates the space "STEK Bezemheide" and seals it to B and C (each
# share opens only with the receiving device's key; no secret is ever
# written in the clear).  A serves sync on loopback TCP (127.0.0.1, a free
# port).  Each device edits while offline: directory entries (with a
# concurrent edit of the same field on A and B), schedule entries and a
# cancelled date, and anonymous signals.  B syncs with A over TCP; C has no
# network and trades encrypted bundles with A (a USB stick); a new tablet D
# joins with a one-time invitation.  Then C shows the week's schedule, B
# searches the social map, A prints the k-anonymous signal report, and the
# state hashes of all four are compared.
#
# Exits 0 and prints "converged: yes" when all hashes are equal, exits 1
# otherwise.
set -euo pipefail

STEK=${1:?usage: demo.sh STEK_BIN}
work=$(mktemp -d "${TMPDIR:-/tmp}/stek-demo.XXXXXX")
server=
trap '[ -z "$server" ] || { kill -TERM "$server"; wait "$server"; }; rm -rf "$work"' EXIT
site="Kantine Bezemheide"

# st DEVICE ARGS...: run stek on one device's store.
st() {
  local dev=$1
  shift
  "$STEK" --store "$work/$dev" "$@"
}

# serve DEVICE: serve its store on a free port of 127.0.0.1 in the
# background; the port, from the server's first line, goes to $port.
serve() {
  rm -f "$work/serving"
  mkfifo "$work/serving"
  "$STEK" --store "$work/$1" serve --port 0 >"$work/serving" &
  server=$!
  exec 3<"$work/serving"
  read -r line <&3
  port=$(printf '%s' "$line" | tr -dc 0-9)
}

# tcp_sync DEVICE: one sync with the server, over TCP.
tcp_sync() { printf '  %s <-> A  %s\n' "$1" "$(st "$1" sync "127.0.0.1:$port")"; }

# carry FROM TO: FROM writes an encrypted bundle, TO reads it.
carry() {
  st "$1" bundle export "$work/stick.bundle" >/dev/null
  printf '  %s -> %s  %s\n' "$1" "$2" "$(st "$2" bundle import "$work/stick.bundle")"
}

hashes() {
  for dev in A B C D; do
    printf '  %s  %s\n' "$dev" "$(st "$dev" state-hash)"
  done
}

# signal DEVICE THEME TEXT: a visitor's signal at the site; prints nothing.
signal() {
  st "$1" signal record --json "{\"theme\":\"$2\",\"site\":\"$site\",\"text\":\"$3\"}" >/dev/null
}

# Occurrence JSON Lines as a table: weekday, date, hours, UTC offset, title.
table() {
  cut -d'"' -f8,12,16 | awk -F'"' '{
    split("Sun Mon Tue Wed Thu Fri Sat", day, " ")
    y = substr($1, 1, 4) + 0; m = substr($1, 6, 2) + 0; d = substr($1, 9, 2) + 0
    if (m < 3) { y--; m += 12 }  # Zeller: 0 = Saturday
    w = (d + int(13 * (m + 1) / 5) + y + int(y / 4) - int(y / 100) + int(y / 400)) % 7
    printf "  %s %s  %s-%s  (UTC%s)  %s\n", day[(w + 6) % 7 + 1], substr($1, 1, 10),
      substr($1, 12, 5), substr($2, 12, 5), substr($1, 20), $3 }'
}

echo "== Three devices, one space"
for dev in A B C; do st "$dev" init; done
space=$(st A init --space "STEK Bezemheide")
for dev in B C; do
  st A space share "$(st "$dev" device id)" "$work/share-$dev"
  st "$dev" space accept "$work/share-$dev"
done
echo "  A created space $space and shared it with B and C"

echo "== A adds the Budgethulp entry and a weekly activity, and serves sync"
budget=$(st A directory put --json '{
  "org": "CAW", "service": "Budgethulp en schuldbemiddeling", "category": "debt",
  "summary.nl": "Hulp bij schulden en geldzorgen. Gratis en vertrouwelijk.",
  "languages": ["nl", "en", "ar"], "phone": "088-123 45 67"}')
koffie=$(st A schedule put --json '{
  "title": "Koffie & Formulieren", "site": "'"$site"'", "start": "2026-03-02T09:30",
  "minutes": 120, "rrule": "FREQ=WEEKLY;BYDAY=MO,WE", "orgs": ["CAW", "OCMW"], "cost": 0}')
serve A
tcp_sync B
tcp_sync C
echo "  A serves on 127.0.0.1:$port; directory/$budget and schedule/$koffie on all three"

echo "== Offline edits"
st A directory put --id "$budget" --json \
  '{"summary.nl": "Hulp bij schulden. Inloop dinsdag 9-12 uur, zonder afspraak."}' >/dev/null
echo "  A: Budgethulp summary -> inloop op dinsdag"
st B directory put --id "$budget" --json \
  '{"summary.nl": "Hulp bij schulden. Inloop donderdag 13-16 uur in De Brink."}' >/dev/null
echo "  B: Budgethulp summary -> inloop op donderdag (same field, concurrently)"
st A directory put --json '{
  "org": "Juridisch Loket", "service": "Gratis juridisch advies",
  "category": "legal", "summary.nl": "Vragen over huur, werk, uitkering of schulden.",
  "phone": "0800-8020", "languages": ["nl", "en"]}' >/dev/null
echo "  A: new directory entry Juridisch Loket"
st C directory put --json '{
  "org": "Humanitas", "service": "Thuisadministratie", "category": "debt",
  "summary.nl": "Een vrijwilliger helpt thuis met post, rekeningen en formulieren.",
  "languages": ["nl", "tr"]}' >/dev/null
echo "  C: new directory entry Humanitas Thuisadministratie"
st B schedule put --json '{
  "title": "Inloopspreekuur Budgethulp", "site": "'"$site"'",
  "start": "2026-03-05T13:30", "minutes": 180,
  "rrule": "FREQ=WEEKLY;BYDAY=TH", "orgs": ["CAW"], "cost": "gratis"}' >/dev/null
echo "  B: new schedule entry Inloopspreekuur (weekly, Thursday)"
st C schedule put --json '{
  "title": "Buurtontbijt", "site": "'"$site"'", "start": "2026-01-25T10:00",
  "minutes": 90, "rrule": "FREQ=MONTHLY;BYDAY=-1SU"}' >/dev/null
echo "  C: new schedule entry Buurtontbijt (last Sunday of the month)"
st C schedule cancel "$koffie" 2026-03-25
echo "  C: Koffie & Formulieren cancelled on Wednesday 2026-03-25"
receipt=$(st A signal record --json '{"theme":"debt","site":"'"$site"'","text":"Aanmaningskosten stapelen op"}')
signal A debt "Kan de energiefactuur niet afbetalen"
signal B debt "Incassobureau belt elke dag"
signal B debt "Schuldbemiddeling: wachtlijst van maanden"
signal C debt "Afbetalingsplan te hoog voor leefloon"
signal C debt "Weet niet bij wie ze terecht kan"
signal B housing "Vocht in sociale woning, geen reactie"
signal C housing "Huurwaarborg niet op te brengen"
echo "  A, B, C: 8 anonymous signals (6 debt, 2 housing); a visitor at A got receipt $receipt"

echo "== B syncs over TCP; C, without network, trades bundles with A; B again"
tcp_sync B
carry C A
carry A C
tcp_sync B

echo "== A new tablet D joins with a one-time invitation, through A"
token=$(st A invite create --ttl 600)
echo "  token $token"
printf '  D  %s\n' "$(st D invite accept "$token" --peer "127.0.0.1:$port")"
echo "  (A recorded D as a member; B and C hear of it)"
tcp_sync B
carry A C
kill -TERM "$server"
wait "$server"
server=

echo "== The week of 23 March at $site, on C (DST starts Sunday 29 March)"
st C schedule occurrences --from 2026-03-23 --to 2026-03-30 --site "$site" | table
echo "  (no Koffie & Formulieren on Wednesday 2026-03-25: cancelled on C)"

echo "== Searching the social map for \"schuld\" on B (best match first)"
st B directory search "schuld" |
  sed -E 's/.*"org":"([^"]*)".*"service":"([^"]*)".*/  \1: \2/'

echo "== Signal report on A: counts by month x theme x site, cells under 5 suppressed"
st A signal report | tr -d '\r' | sed 's/^/  /'

echo "== Budgethulp on C (one summary won on every device: last writer wins)"
st C directory get "$budget" | sed -E 's/.*"summary.nl":"([^"]*)".*/  \1/'

echo "== After the exchange"
hashes
a=$(st A state-hash) b=$(st B state-hash) c=$(st C state-hash) d=$(st D state-hash)
if [ "$a" = "$b" ] && [ "$b" = "$c" ] && [ "$c" = "$d" ]; then
  echo "converged: yes"
else
  echo "converged: no"
  exit 1
fi

echo "== C's tablet is lost: A revokes it (a new space key for A, B and D)"
lost=$(st C device id)
st A device revoke "$lost"
serve A
tcp_sync B
tcp_sync D
echo "  B's list of devices:"
st B device list | sed -E 's/.*"device":"(.{12}).*"revoked":(.*)}/    \1...  revoked: \2/'
if out=$(st C sync "127.0.0.1:$port" 2>&1); then
  echo "  C could still sync: $out"
  exit 1
fi
echo "  C tries to sync with A: refused (${out##*: })"
kill -TERM "$server"
wait "$server"
server=
st B directory put --json '{"org":"OCMW Noodfonds","service":"Dringende hulp","category":"income"}' >/dev/null
st B bundle export "$work/after.bundle" >/dev/null
printf '  B -> D  %s\n' "$(st D bundle import "$work/after.bundle")"
if st C bundle import "$work/after.bundle" >/dev/null 2>&1; then
  echo "  C could read a bundle made after its revocation"
  exit 1
fi
echo "  B -> C  refused: the bundle is under the new key, which C never got"
a=$(st A state-hash) b=$(st B state-hash) d=$(st D state-hash)
st A bundle import "$work/after.bundle" >/dev/null
a=$(st A state-hash)
if [ "$a" = "$b" ] && [ "$b" = "$d" ] && [ "$(st C state-hash)" != "$a" ]; then
  echo "A, B and D converged without C: yes"
else
  echo "A, B and D converged without C: no"
  exit 1
fi
