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
lines() { [ "$(printf '%s\n' "$1" | grep -c .)" = "$2" ]; }

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

echo "# several spaces"
run $A init --space "Tweede"
space2=$out
run $A record list
expect "several spaces without --space is a failure" 1
check "  ...saying to pass --space" grep -q -- "--space ID" <<<"$err"
run --store "$tmp/a" --space "$space" record list
expect "--space chooses one" 0
check "  ...with its records" lines "$out" 2
run --store "$tmp/a" --space "$space2" record list
check "the new space is empty" test -z "$out"
run --store "$tmp/a" --space 00000000000000000000000000000000 record list
expect "an unknown --space is a failure" 1
run --store "$tmp/a" --space xyz record list
expect "a malformed --space is a usage error" 2

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
