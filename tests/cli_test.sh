#!/usr/bin/env bash
# cli_test.sh STEK_BIN -- the stek command against its contract (CLI.md):
# exit codes, "stek: " one-line errors, JSON Lines listings, records,
# state hashes, and change files between stores.  Prints one line per check
# and exits 1 if any failed.
set -euo pipefail

STEK=${1:?usage: cli_test.sh STEK_BIN}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stek-cli-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# run ARGS...: run stek (stdin from $IN if set), keeping out, err and rc.
run() {
  set +e
  if [ -n "${IN+x}" ]; then
    out=$(printf '%s' "$IN" | "$STEK" "$@" 2>"$tmp/stderr")
  else
    out=$("$STEK" "$@" 2>"$tmp/stderr" </dev/null)
  fi
  rc=$?
  set -e
  err=$(cat "$tmp/stderr")
}

ok() {
  passed=$((passed + 1))
  printf 'ok   %s\n' "$1"
}
bad() {
  failed=$((failed + 1))
  printf 'FAIL %s\n' "$1"
  printf '     rc=%s\n     stdout: %s\n     stderr: %s\n' "$rc" "$out" "$err"
}

# expect NAME RC: the last run exited with RC; a failure wrote exactly one
# stderr line starting "stek: ".
expect() {
  local name=$1 want=$2
  if [ "$rc" != "$want" ]; then
    bad "$name (exit $rc, wanted $want)"
  elif [ "$want" != 0 ] && ! [[ "$err" =~ ^stek:\ [^$'\n']+$ ]]; then
    bad "$name (stderr is not one 'stek: ' line)"
  else
    ok "$name"
  fi
}

# check NAME COMMAND...: COMMAND succeeds.
check() {
  local name=$1
  shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}

is_hex() { [[ "$1" =~ ^[0-9a-f]{$2}$ ]]; }
differ() { ! cmp -s "$1" "$2"; }
lines() { [ "$(printf '%s\n' "$1" | grep -c .)" = "$2" ]; }

# Changes one "space share" writes in the sharer's space: the stek.member
# record of the device shared with, which travels like any other change.
JOIN_CHANGES=1

A="--store $tmp/a"
B="--store $tmp/b"

echo "# usage and exit codes"
run --help
expect "help exits 0" 0
check "help lists the commands" grep -q "record put" <<<"$out"
run help
expect "help command exits 0" 0
run
expect "no command is a usage error" 2
run $A frobnicate
expect "unknown command is a usage error" 2
run $A record frobnicate
expect "unknown subcommand is a usage error" 2
run --bogus record list
expect "unknown global option is a usage error" 2
run $A record get directory
expect "missing argument is a usage error" 2
run $A record put directory --color red --json '{}'
expect "unknown command option is a usage error" 2
run $A record list
expect "a missing store is a failure" 1
check "a usage error does not create the store" test ! -e "$tmp/a/stek.db"

echo "# init"
run $A init
expect "init creates the store" 0
check "the store file is DIR/stek.db" test -f "$tmp/a/stek.db"
run $A device id
dev_a=$out
check "device id is 64 hex digits" is_hex "$dev_a" 64
run $A init
expect "init again is fine" 0
run $A device id
check "init again keeps the device identity" test "$out" = "$dev_a"
run $A record list
expect "records need a space" 1
check "the message says how to make one" grep -q "init --space" <<<"$err"
run $A init --space "STEK Bezemheide"
expect "init --space creates a space" 0
space=$out
check "init --space prints a 32-hex id" is_hex "$space" 32
run $A space list
check "space list is one JSON line per space" \
  test "$out" = "{\"id\":\"$space\",\"name\":\"STEK Bezemheide\"}"

echo "# records"
run $A record put directory --json '{"org":"CAW","service":"Budgethulp","category":"debt","minutes":45,"languages":["nl","ar"]}'
expect "put from --json" 0
id1=$out
check "put prints a 32-hex id" is_hex "$id1" 32
run $A record get directory "$id1"
expect "get after put" 0
check "get prints the record as one JSON line" test "$out" = \
  "{\"id\":\"$id1\",\"type\":\"directory\",\"category\":\"debt\",\"languages\":[\"nl\",\"ar\"],\"minutes\":45,\"org\":\"CAW\",\"service\":\"Budgethulp\"}"
got1=$out
IN='{"org":"Humanitas","summary.nl":"Hulp met \"post\" en \u20ac"}' run $A record put directory
expect "put from stdin" 0
id2=$out
run $A record get directory "$id2"
check "escapes read from stdin come back" grep -q '"summary.nl":"Hulp met \\"post\\" en €"' <<<"$out"
run $A record put schedule --json '{"title":"Inloopspreekuur","minutes":90}'
id3=$out
run $A record list
expect "list" 0
check "list gives one line per live record" lines "$out" 3
check "every line is an object starting with a 32-hex id" \
  test "$(grep -cE '^\{"id":"[0-9a-f]{32}","type":"[a-z]+".*\}$' <<<"$out")" = 3
run $A record list schedule
check "list TYPE keeps to that type" test "$out" = "$(IN= "$STEK" $A record get schedule "$id3")"
run $A record put directory --id "$id1" --json '{"minutes":60}'
expect "put --id updates a record" 0
check "put --id prints that id" test "$out" = "$id1"
run $A record get directory "$id1"
check "an update keeps the other fields" grep -q '"minutes":60,"org":"CAW"' <<<"$out"
run $A record put directory --json "$got1"
expect "what get prints can be put back" 0
check "its id is taken from the JSON" test "$out" = "$id1"
run $A record put schedule --json "$got1"
expect "a JSON type that differs from TYPE is malformed input" 4
run $A record put directory --json '{}'
expect "a record without fields is malformed input" 4
run $A record put "Bad Type" --json '{"a":"b"}'
expect "an invalid type name is malformed input" 4
run $A record get directory nothex
expect "a bad id is a usage error" 2

echo "# malformed JSON"
for json in '{"a":1.5}' '{"a":1} x' '{"a":1,"a":2}' '{"a":null}' '{"a":true}' \
  '{"a":{"b":1}}' '{"a":[["x"]]}' '[1]' '' '{"a":"\ud800"}' '{"a":99999999999999999999}'; do
  run $A record put directory --json "$json"
  expect "malformed JSON is exit 4: $json" 4
  check "  ...and the message names a byte offset" grep -q "at byte [0-9]" <<<"$err"
done
IN=$'{"a":"\xff"}' run $A record put directory
expect "invalid UTF-8 on stdin is exit 4" 4
run $A record list
check "malformed input wrote nothing" lines "$out" 3

echo "# delete"
run $A record delete schedule "$id3"
expect "delete" 0
run $A record get schedule "$id3"
expect "get after delete is a failure" 1
check "  ...saying no such record" test "$err" = "stek: no such record"
run $A record delete schedule "$id3"
expect "delete again is a failure" 1
run $A record list
check "a deleted record is not listed" lines "$out" 2

echo "# state hash and change files"
run $A state-hash
expect "state-hash" 0
hash_a=$out
check "state-hash is 64 hex digits" is_hex "$hash_a" 64
run $A changes export "$tmp/all"
expect "changes export" 0
exported=$(sed -E 's/.*"exported":([0-9]+).*/\1/' <<<"$out")
check "export says how many changes" test "$exported" -ge 5
run $A changes import "$tmp/all"
expect "import into the same store" 0
check "  ...finds only duplicates" test "$out" = "{\"ingested\":0,\"duplicates\":$exported}"
run $A state-hash
check "  ...and leaves the state alone" test "$out" = "$hash_a"

run $B init
run $B device id
dev_b=$out
check "two stores have distinct devices" test "$dev_a" != "$dev_b"
run $B changes import "$tmp/all"
expect "import of a space not held is malformed peer data" 4
run $A space share "$dev_b" "$tmp/share-b"
expect "space share" 0
run $A changes export "$tmp/all"
check "  ...records B as a member: one change more to export" \
  test "$out" = "{\"exported\":$((exported + JOIN_CHANGES))}"
exported=$((exported + JOIN_CHANGES))
hash_a=$(IN= "$STEK" $A state-hash)
run $B space accept "$tmp/share-b"
expect "space accept" 0
run $B changes import "$tmp/all"
expect "import into a member store" 0
check "  ...ingests every change" test "$out" = "{\"ingested\":$exported,\"duplicates\":0}"
run $B state-hash
check "  ...and reaches the same state hash" test "$out" = "$hash_a"
run $B record get directory "$id1"
check "  ...and the same records" grep -q '"org":"CAW"' <<<"$out"
run $B record put directory --id "$id2" --json '{"phone":"088-123 45 67"}'
run $B changes export "$tmp/from-b"
run $A changes import "$tmp/from-b"
check "changes flow back" grep -q '"ingested":1,' <<<"$out"
run $A state-hash
check "  ...and both converge" test "$out" = "$(IN= "$STEK" $B state-hash)"

run $A space share "$dev_a" "$tmp/share-a"
run $B space accept "$tmp/share-a"
expect "a share sealed to another device is refused" 4
# Whatever member records the shares wrote in A's space, B takes them as
# change files too, so the bundle below carries nothing new.
run $A changes export "$tmp/all"
run $B changes import "$tmp/all"
expect "B takes A's changes since the shares" 0

echo "# malformed change files"
printf '\x90' >"$tmp/notbin"
run $B changes import "$tmp/notbin"
expect "a stream that is not bin objects is exit 4" 4
head -c 20 "$tmp/all" >"$tmp/cut"
run $B changes import "$tmp/cut"
expect "a truncated stream is exit 4" 4
printf '\xc4\x03abc' >"$tmp/junk"
run $B changes import "$tmp/junk"
expect "a bin that is not a change is exit 4" 4
printf '\xc6\x7f\xff\xff\xff' >"$tmp/huge"
run $B changes import "$tmp/huge"
expect "an oversized change is exit 4" 4
{ cat "$tmp/from-b"; printf '\x90'; } >"$tmp/partial"
run $A changes import "$tmp/partial"
expect "a bad change after good ones is exit 4" 4
run $A changes import "$tmp/nonexistent"
expect "a missing file is a failure" 1

echo "# bundles"
run $A bundle export "$tmp/a.bundle"
expect "bundle export" 0
check "  ...says how many changes" grep -qE '^\{"exported":[0-9]+\}$' <<<"$out"
bundled=$(sed -E 's/.*"exported":([0-9]+).*/\1/' <<<"$out")
check "  ...and leaves no .tmp behind" test ! -e "$tmp/a.bundle.tmp"
run $B bundle import "$tmp/a.bundle"
expect "bundle import into a member store" 0
check "  ...all duplicates after the change files" test "$out" = "{\"ingested\":0,\"duplicates\":$bundled}"
run $A bundle export "$tmp/none.bundle" --since 2999-01-01
check "bundle export --since a future date exports nothing" test "$out" = '{"exported":0}'
run $A bundle export "$tmp/x.bundle" --since yesterday
expect "a bad --since is a usage error" 2
head -c 100 "$tmp/a.bundle" >"$tmp/cut.bundle"
run $B bundle import "$tmp/cut.bundle"
expect "a truncated bundle is exit 4" 4
cp "$tmp/a.bundle" "$tmp/flip.bundle"
# flip one bit of byte 100 (writing a fixed byte changes nothing when the
# ciphertext holds that byte already, one time in 256)
byte=$(od -An -tu1 -j100 -N1 "$tmp/flip.bundle" | tr -d ' ')
printf "\\$(printf '%03o' $((byte ^ 1)))" | dd of="$tmp/flip.bundle" bs=1 seek=100 conv=notrunc 2>/dev/null
check "the altered bundle differs from the original" differ "$tmp/a.bundle" "$tmp/flip.bundle"
run $B bundle import "$tmp/flip.bundle"
expect "an altered bundle is exit 4" 4
run $B bundle import "$tmp/all"
expect "a change file is not a bundle: exit 4" 4
run --store "$tmp/e" init --space "Elders"
run --store "$tmp/e" bundle import "$tmp/a.bundle"
expect "a bundle of a space not held is exit 1" 1
check "  ...saying so" grep -q "no space this store holds" <<<"$err"

# The typed commands run on two fresh member stores, C and D, so that the
# record counts above and below stay as they are.
C="--store $tmp/c"
D="--store $tmp/d"
run $C init --space "STEK Zillebeke"
run $D init
run $C space share "$(IN= "$STEK" $D device id)" "$tmp/share-d"
run $D space accept "$tmp/share-d"
expect "a second space shared between C and D" 0

# exchange FROM TO: FROM's changes into TO.
exchange() {
  IN= "$STEK" --store "$tmp/$1" changes export "$tmp/x-$1" >/dev/null
  IN= "$STEK" --store "$tmp/$2" changes import "$tmp/x-$1" >/dev/null
}

echo "# directory"
run $C directory put --json '{"org":"CAW","service":"Budgethulp","category":"debt","summary.nl":"Hulp bij schulden en geldzorgen","languages":["nl","ar"]}'
expect "directory put" 0
dir1=$out
check "directory put prints a 32-hex id" is_hex "$dir1" 32
IN='{"org":"OCMW","service":"Énergiepremie","category":"energy","summary.fr":"Une prime pour la facture","tags":["premie"]}' run $C directory put
expect "directory put from stdin" 0
dir2=$out
run $C directory put --json '{"org":"X","category":"schulden"}'
expect "a category outside the vocabulary is malformed input" 4
check "  ...and the message lists the vocabulary" grep -q "income, housing" <<<"$err"
run $C directory put --json '{"org":["CAW"]}'
expect "a directory field of the wrong kind is malformed input" 4
run $C directory put --id nothex --json '{"org":"CAW"}'
expect "directory put with a bad --id is a usage error" 2
run $C directory put --id "$dir1" --json '{"phone":"088-123 45 67"}'
check "directory put --id updates the entry" test "$out" = "$dir1"
run $C directory get "$dir1"
expect "directory get" 0
check "  ...one JSON line of type directory with every field" \
  grep -q "^{\"id\":\"$dir1\",\"type\":\"directory\",.*\"phone\":\"088-123 45 67\"" <<<"$out"
run $C directory put --json "$out"
check "what directory get prints can be put back" test "$out" = "$dir1"
run $C record put schedule --json '{"title":"not a directory entry"}'
rawsched=$out
run $C directory list
expect "directory list" 0
check "  ...lists the directory entries only" lines "$out" 2
check "  ...as JSON Lines with 32-hex ids" \
  test "$(grep -cE '^\{"id":"[0-9a-f]{32}","type":"directory",' <<<"$out")" = 2
run $C directory get "$rawsched"
expect "directory get of a record of another type is a failure" 1
run $C directory search schuld
expect "directory search" 0
check "  ...finds a word by its prefix" test "$(printf '%s\n' "$out" | grep -o '"id":"[0-9a-f]*"')" = "\"id\":\"$dir1\""
run $C directory search energie
check "  ...folds diacritics (energie finds Énergie)" grep -q "\"id\":\"$dir2\"" <<<"$out"
run $C directory search "hulp" --lang fr
check "  ...--lang keeps entries in that language" test -z "$out"
run $C directory search "e" --category energy
check "  ...--category keeps entries of that category" test "$(grep -c . <<<"$out")" = 1
run $C directory search "premie" --category premie
check "  ...or that tag" grep -q "\"id\":\"$dir2\"" <<<"$out"
run $C directory search " -- "
expect "a search with no words is malformed input" 4
run $C directory search
expect "a search without QUERY is a usage error" 2
exchange c d
run $D directory search schuld
check "the search index follows changes from another device" grep -q "\"id\":\"$dir1\"" <<<"$out"
run $D directory delete "$dir2"
expect "directory delete" 0
run $D directory get "$dir2"
expect "directory get after delete is a failure" 1
run $D directory delete "$dir2"
expect "directory delete again is a failure" 1
run $D directory search energie
check "a deleted entry is not found" test -z "$out"

echo "# signals"
run $C signal record --json '{"theme":"debt","site":"Kantine Bezemheide","text":"Kan de energiefactuur niet betalen"}'
expect "signal record" 0
receipt=$out
check "it prints a receipt code XXXX-XXXX-XXXX" grep -qE '^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$' <<<"$receipt"
for i in 1 2 3 4; do
  IN='{"theme":"debt","site":"Kantine Bezemheide","text":"schulden"}' run $D signal record
done
expect "signal record from stdin" 0
run $D signal record --json '{"theme":"housing","site":"Kantine Bezemheide"}'
expect "a signal without text" 0
run $C signal record --json '{"theme":"debt","site":"Kantine Bezemheide","week":"2026-W10"}'
expect "a signal with a week is malformed input" 4
check "  ...saying the library sets it" grep -q "set by the library" <<<"$err"
run $C signal record --json '{"theme":"weather","site":"Kantine Bezemheide"}'
expect "an unknown theme is malformed input" 4
run $C signal record --json '{"theme":"debt","site":"Kantine Bezemheide","author":"Jan"}'
expect "an unknown signal field is malformed input" 4
run $C signal record --json '{"theme":"debt"}'
expect "a signal without a site is malformed input" 4
run $C signal record --json '{"theme":"debt","site":""}'
expect "an empty site is malformed input" 4
run $C signal record --json '{"theme":"debt","site":"K","text":3}'
expect "a text that is not a string is malformed input" 4
run $C signal record --json '{"theme":'
expect "malformed signal JSON is exit 4" 4
exchange c d
exchange d c
run $C signal list
expect "signal list" 0
check "  ...one line per signal, from both devices" lines "$out" 6
check "  ...each {id, week, theme, site, text}" test "$(grep -cE \
  '^\{"id":"[0-9a-f]{32}","week":"[0-9]{4}-W[0-9]{2}","theme":"[a-z]+","site":"[^"]+","text":"[^"]*"\}$' <<<"$out")" = 6
check "  ...and nothing of who wrote them" test -z "$(grep -E 'device|author' <<<"$out")"
run $C signal report
expect "signal report" 0
check "  ...is CSV with CRLF line ends (RFC 4180)" test "$(grep -vc $'\r$' <<<"$out")" = 0
out=$(tr -d '\r' <<<"$out")
check "  ...and the header line month,theme,site,signals" \
  test "$(head -n1 <<<"$out")" = "month,theme,site,signals"
check "  ...counts a cell of k or more" grep -qE '^[0-9]{4}-[0-9]{2},debt,Kantine Bezemheide,5$' <<<"$out"
check "  ...and suppresses a cell under k" grep -qE '^[0-9]{4}-[0-9]{2},housing,Kantine Bezemheide,<5$' <<<"$out"
report_c=$out
run $D signal report
check "both devices give the same report" test "$(tr -d '\r' <<<"$out")" = "$report_c"
run $C signal report --k 1
check "--k 1 suppresses nothing" grep -q $',housing,Kantine Bezemheide,1\r$' <<<"$out"
run $C signal report --format svg
expect "signal report --format svg" 0
check "  ...starts with <?xml" test "${out:0:5}" = "<?xml"
check "  ...and is an svg" grep -q "<svg" <<<"$out"
# --k and --format are the command's own syntax, checked before the store is
# opened, so a bad value is a usage error (2), like a malformed ID.
run $C signal report --k 0
expect "report --k 0 is a usage error" 2
run $C signal report --k five
expect "report --k five is a usage error" 2
run $C signal report --format pdf
expect "report --format pdf is a usage error" 2
run $C signal withdraw "not-a-receipt"
expect "a malformed receipt is malformed input" 4
run $C signal withdraw "0000-0000-0000"
expect "a receipt of no signal is a failure" 1
run $C signal withdraw "$(tr 'A-Z' 'a-z' <<<"$receipt")"
expect "signal withdraw (case does not matter)" 0
run $C signal withdraw "$receipt"
expect "withdrawing again is a failure" 1
exchange c d
run $D signal list
check "a withdrawal reaches the other device" lines "$out" 5
run $D signal report
check "  ...and the report there" grep -q $',debt,Kantine Bezemheide,<5\r$' <<<"$out"

echo "# schedules"
run $C schedule put --json '{"title":"Digipunt","site":"Kantine Bezemheide","start":"2026-03-05T13:30:00","minutes":90,"rrule":"FREQ=WEEKLY;BYDAY=TH","orgs":["CAW","OCMW"],"cost":0}'
expect "schedule put" 0
sch1=$out
check "schedule put prints a 32-hex id" is_hex "$sch1" 32
IN='{"title":"Kookclub","site":"Buurthuis Mozaiek","start":"2026-03-28T10:00","tz":"Europe/Brussels","minutes":120,"rrule":"FREQ=MONTHLY;BYDAY=-1SA"}' run $C schedule put
expect "schedule put from stdin" 0
sch2=$out
run $C schedule put --json '{"title":"No start","site":"Kantine Bezemheide"}'
expect "a new entry without a start is malformed input" 4
run $C schedule put --json '{"title":"T","site":"S","start":"2026-03-05T13:30:00","rrule":"FREQ=HOURLY"}'
expect "an unsupported rrule is malformed input" 4
run $C schedule put --json '{"title":"T","site":"S","start":"2026-02-30T13:30:00"}'
expect "a start that is no date is malformed input" 4
run $C schedule put --json '{"title":"T","site":"S","start":"2026-03-05T13:30:00","tz":"Mars/Olympus"}'
expect "an unknown time zone is malformed input" 4
run $C schedule put --json '{"title":"T","site":"S","start":"2026-03-05T13:30:00","minutes":0}'
expect "a duration of 0 minutes is malformed input" 4
run $C schedule get "$sch1"
expect "schedule get" 0
check "  ...one JSON line of type schedule" grep -q "^{\"id\":\"$sch1\",\"type\":\"schedule\",.*\"title\":\"Digipunt\"" <<<"$out"
run $C schedule list
expect "schedule list" 0
check "  ...lists the schedule entries only" test "$(grep -c '"type":"schedule"' <<<"$out")" = "$(grep -c . <<<"$out")"
check "  ...both of them" test "$(grep -cE "\"id\":\"($sch1|$sch2)\"" <<<"$out")" = 2
run $C schedule occurrences --to 2026-04-01
expect "occurrences without --from is a usage error" 2
run $C schedule occurrences --from 2026-03-01
expect "occurrences without --to is a usage error" 2
run $C schedule occurrences --from 2026-03-01 --to March
expect "occurrences with a malformed date is malformed input" 4
run $C schedule occurrences --from 2026-03-19 --to 2026-04-10 --site "Kantine Bezemheide"
expect "schedule occurrences" 0
occ=$out
check "  ...JSON Lines {id, start, end, title, site}" test "$(grep -cE \
  '^\{"id":"[0-9a-f]{32}","start":"[-0-9T:+]{25}","end":"[-0-9T:+]{25}","title":".*","site":".*"\}$' <<<"$occ")" = 4
check "  ...before the DST change in +01:00" grep -q '"start":"2026-03-26T13:30:00+01:00","end":"2026-03-26T15:00:00+01:00"' <<<"$occ"
check "  ...and after it in +02:00, at the same local time" grep -q '"start":"2026-04-02T13:30:00+02:00"' <<<"$occ"
check "  ...of that site only" test -z "$(grep Mozaiek <<<"$occ")"
check "  ...sorted by start" test "$occ" = "$(sort -s -t'"' -k8,8 <<<"$occ")"
run $C schedule cancel "$sch1" 2026-03-26
expect "schedule cancel" 0
run $C schedule cancel "$sch1" 26/03/2026
expect "cancel with a malformed date is malformed input" 4
run $C schedule cancel 0123456789abcdef0123456789abcdef 2026-03-26
expect "cancel of an unknown entry is a failure" 1
run $C schedule cancel nothex 2026-03-26
expect "cancel with a bad id is a usage error" 2
run $D schedule cancel "$sch1" 2026-04-02
expect "a cancel of an entry not yet received is a failure" 1
exchange c d
run $D schedule cancel "$sch1" 2026-04-02
expect "a cancel on the other device" 0
exchange d c
run $C schedule occurrences --from 2026-03-19 --to 2026-04-10 --site "Kantine Bezemheide"
check "cancelled dates are left out" lines "$out" 2
check "  ...cancels made on both devices" test -z "$(grep -E '2026-03-26|2026-04-02' <<<"$out")"
run $C schedule uncancel "$sch1" 2026-03-26
expect "schedule uncancel" 0
run $C schedule occurrences --from 2026-03-19 --to 2026-04-10 --site "Kantine Bezemheide"
check "  ...brings the date back" grep -q '"start":"2026-03-26T13:30:00+01:00"' <<<"$out"
run $C schedule occurrences --from 2026-03-01 --to 2026-05-01
check "without --site every site is listed" grep -q '"title":"Kookclub","site":"Buurthuis Mozaiek"' <<<"$out"
check "  ...the last Saturday of the month, DST or not" \
  test "$(grep -o '"start":"[^"]*","end":"[^"]*","title":"Kookclub"' <<<"$out" | cut -d'"' -f4 | tr '\n' ' ')" = \
  "2026-03-28T10:00:00+01:00 2026-04-25T10:00:00+02:00 "
run $C schedule ics
expect "schedule ics" 0
check "  ...is a VCALENDAR" test "$(head -n1 <<<"$out")" = $'BEGIN:VCALENDAR\r'
check "  ...with CRLF line ends" test "$(grep -vc $'\r$' <<<"$out")" = 0
check "  ...and the entry's id as its UID" grep -q "^UID:$sch1" <<<"$out"
check "  ...and its rule" grep -q "^RRULE:FREQ=WEEKLY;BYDAY=TH" <<<"$out"
check "  ...and a cancelled date as EXDATE" grep -q "^EXDATE.*20260402" <<<"$out"
run $C schedule ics --site "Buurthuis Mozaiek"
check "schedule ics --site keeps to that site" test "$(grep -c '^BEGIN:VEVENT' <<<"$out")" = 1
run $C schedule delete "$sch2"
expect "schedule delete" 0
run $C schedule get "$sch2"
expect "schedule get after delete is a failure" 1
run $C schedule occurrences --from 2026-03-01 --to 2026-05-01
check "a deleted entry has no occurrences" test -z "$(grep Kookclub <<<"$out")"
exchange c d
run $D state-hash
check "C and D converge over all three types" test "$out" = "$(IN= "$STEK" $C state-hash)"

echo "# several spaces"
run $A init --space "Tweede"
space2=$out
run $A record list
expect "several spaces without --space is a failure" 1
check "  ...saying to pass --space" grep -q -- "--space ID" <<<"$err"
run --store "$tmp/a" --space "$space" record list
expect "--space chooses one" 0
# (and the stek.member records of the devices A shared it with, which
# "record list" shows too: counted apart, in "device list")
check "  ...with its records" lines "$(grep -v '"type":"stek\.member"' <<<"$out" || true)" 2
run --store "$tmp/a" --space "$space2" record list
check "the new space is empty" test -z "$out"
run --store "$tmp/a" --space 00000000000000000000000000000000 record list
expect "an unknown --space is a failure" 1
run --store "$tmp/a" --space xyz record list
expect "a malformed --space is a usage error" 2

echo "# invitations and relays, offline (the network side: net_cli_test.sh)"
run --store "$tmp/inv" invite accept "not a token" --peer 127.0.0.1:1
expect "invite accept of what is not a token is malformed input" 4
check "  ...and creates no store" test ! -e "$tmp/inv"
run --store "$tmp/inv" invite accept "STEK-0000-0000-0000-0000-0000-0000-00"
expect "invite accept without --peer is a usage error" 2
run $A invite create
expect "invite create with several spaces and no --space is a failure" 1
run --store "$tmp/a" --space "$space" invite create --ttl 60
expect "invite create --space ID --ttl 60" 0
check "  ...prints a token" grep -Eq '^STEK(-[0-9A-Z]{4}){6}-[0-9A-Z]{2}$' <<<"$out"
run --store "$tmp/a" --space "$space" invite create --ttl 1h
expect "invite create --ttl 1h is a usage error" 2
run $C relay share "$dev_b" "$tmp/relay-b"
expect "relay share" 0
run $A relay accept "$tmp/relay-b"
expect "relay accept of a capability sealed to another device is malformed input" 4
run $B relay accept "$tmp/relay-b"
expect "relay accept" 0
run $B relay count
expect "relay count" 0
check "  ...is {\"ops\":0} before any sync" test "$out" = '{"ops":0}'
run $C sync 127.0.0.1:1 --relay=yes
expect "sync --relay takes no value" 2

echo "# replay"
i1=00000000000000000000000000000001
i2=00000000000000000000000000000002
cat >"$tmp/trace" <<EOF
{"at":"*","put":"directory","id":"$i1","fields":{"org":"CAW","category":"debt","languages":["nl","ar"]}}
{"at":"*","put":"schedule","id":"$i2","fields":{"title":"Digipunt","site":"Kantine","start":"2026-03-05T13:30:00","minutes":90}}
{"at":"A","put":"directory","id":"$i1","fields":{"org":"CAW Gent"}}
{"at":"B","put":"directory","id":"$i1","fields":{"org":"CAW Brugge"}}
{"at":"B","del":"schedule","id":"$i2"}
{"at":"A","put":"schedule","id":"$i2","fields":{"minutes":120}}
{"at":"B","put":"schedule","id":"$i2","fields":{"minutes":60}}
{"at":"A","signal":{"theme":"debt","site":"Kantine","week":"2026-W10","text":"geen geld"}}
{"sync":["A","B"]}
{"expect":"converged"}
EOF
run replay "$tmp/trace" --dir "$tmp/rep"
expect "replay of a hand-written trace" 0
num='[0-9]+(\.[0-9]+)?'
check "  ...prints the summary of CLI.md" grep -Eq "^\{\"replicas\":2,\"load_ms\":$num,\"edit_ms\":$num,\"syncs\":\[\{\"a\":\"A\",\"b\":\"B\",\"ms\":$num,\"bytes\":[1-9][0-9]*,\"round_trips\":[1-9][0-9]*,\"ops_sent\":3,\"ops_received\":3\}\],\"sync_ms\":$num,\"sync_bytes\":[1-9][0-9]*,\"store_bytes\":\{\"A\":[1-9][0-9]*,\"B\":[1-9][0-9]*\},\"converged\":true\}$" <<<"$out"
ra="--store $tmp/rep/A"
rb="--store $tmp/rep/B"
run $ra device id
dev_ra=$out
run $rb device id
check "  ...each replica a store with a device of its own" test "$dev_ra" != "$out"
run $rb state-hash
check "  ...the replicas converged" test "$out" = "$(IN= "$STEK" $ra state-hash)"
run $ra schedule get "$i2"
expect "  ...the delete won over the edits" 1
run $rb signal list
check "  ...the signal reached B" grep -q '"text":"geen geld"' <<<"$out"
run replay "$tmp/trace" --dir "$tmp/rep"
expect "replay again" 0
run $ra device id
check "  ...starts from fresh stores" test "$out" != "$dev_ra"
head -n 8 "$tmp/trace" >"$tmp/apart"
echo '{"expect":"converged"}' >>"$tmp/apart"
run replay "$tmp/apart" --dir "$tmp/rep2"
expect "replicas that never sync do not converge (exit 1)" 1
check "  ...and the summary says so" grep -q '"syncs":\[\],.*"converged":false}$' <<<"$out"
# bad_trace LINE CONTENT DESCRIPTION: the trace with line LINE replaced is
# refused with exit 4, the message naming the line, and no store is made.
bad_trace() {
  awk -v n="$1" -v l="$2" 'NR == n { print l; next } { print }' "$tmp/trace" >"$tmp/badtrace"
  rm -rf "$tmp/repbad"
  run replay "$tmp/badtrace" --dir "$tmp/repbad"
  expect "a trace with $3 is malformed input" 4
  check "  ...naming line $1" grep -q "^stek: $tmp/badtrace:$1: " <<<"$err"
  check "  ...and no store is made" test ! -e "$tmp/repbad"
}
bad_trace 3 '{"at":"A","put":"directory","id":"'$i1'","fields":{"org":"x"}' "a line cut short"
bad_trace 4 '{"at":"B","put":"directory","id":"xyz","fields":{"org":"x"}}' "a bad id"
bad_trace 5 '{"at":"B","remove":"schedule","id":"'$i2'"}' "an unknown event"
bad_trace 6 '{"at":"A","put":"schedule","id":"'$i2'","fields":{"minutes":120},"extra":1}' "an unknown key"
bad_trace 6 '{"at":"A","put":"schedule","id":"'$i2'","fields":{"a":{"b":1}}}' "an object too deep"
bad_trace 7 '{"at":"B","put":"schedule","id":"'$i2'","fields":{}}' "a put without fields"
bad_trace 8 '{"at":"A","signal":{"theme":"debt","site":"K","author":"Jan"}}' "an unknown signal field"
bad_trace 9 '{"sync":["A"]}' "a sync of one replica"
bad_trace 9 '{"sync":["A","../x"]}' "a replica name that is a path"
bad_trace 10 '{"expect":"diverged"}' "an unknown expectation"
bad_trace 10 '{"at":"*","put":"directory","id":"'$i1'","fields":{"org":"late"}}' "the base after other events"
bad_trace 2 '' "an empty line"
awk 'NR == 3 { print "{\"at\":\"A\",\"put\":\"directory\",\"id\":\"'$i1'\",\"fields\":{\"category\":\"weather\"}}"; next } { print }' \
  "$tmp/trace" >"$tmp/badvalue"
run replay "$tmp/badvalue" --dir "$tmp/repbadvalue"
expect "a value the library refuses is malformed input" 4
check "  ...naming its line and the replica" grep -q "^stek: $tmp/badvalue:3: replica A: put: .*category" <<<"$err"
run replay "$tmp/trace"
expect "replay without --dir is a usage error" 2
run replay "$tmp/nonexistent" --dir "$tmp/rep3"
expect "replay of a missing trace is a failure" 1

echo "# devices and revocation"
E="--store $tmp/rev-e"
F="--store $tmp/rev-f"
run $E init --space devices
run $F init
dev_e=$(IN= "$STEK" $E device id)
dev_f=$(IN= "$STEK" $F device id)
run $E space share "$dev_f" "$tmp/share-f"
run $F space accept "$tmp/share-f"
run $E device list
check "device list names E and F, neither revoked" \
  test "$(grep -c '"revoked":false' <<<"$out")" = 2
run $E device revoke "nothex"
expect "device revoke of a bad id is a usage error" 2
run $E device revoke "$dev_e"
expect "a device cannot revoke itself" 4
run $E device revoke "$(printf '%064d' 7)"
expect "device revoke of an unknown device is a failure" 1
run $E device revoke "$dev_f"
expect "device revoke" 0
run $E device list
check "  ...lists F as revoked" grep -q "\"device\":\"$dev_f\",\"revoked\":true" <<<"$out"
run $E device revoke "$dev_f"
expect "  ...and twice is a failure" 1
run $E record list
check "  ...the membership records stay out of record list" test -z "$out"
run $E bundle export "$tmp/after-revoke"
run $F bundle import "$tmp/after-revoke"
expect "  ...and F cannot read E's next bundle" 1

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
