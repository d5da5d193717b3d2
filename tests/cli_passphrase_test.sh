#!/usr/bin/env bash
# cli_passphrase_test.sh STEK_BIN -- the stek command and encryption at
# rest (CLI.md): the passphrase from STEK_PASSPHRASE or --passphrase-file;
# a wrong or missing one is exit 3 with one "stek: " line and leaves the
# store as it was; nothing of a record is readable in the store's files.
set -euo pipefail

STEK=${1:?usage: cli_passphrase_test.sh STEK_BIN}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stek-cli-pass.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
unset STEK_PASSPHRASE

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

check() { # check NAME CONDITION...
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    printf 'ok   %s\n' "$name"
  else
    failed=$((failed + 1))
    printf 'FAIL %s\n     rc=%s\n     stdout: %s\n     stderr: %s\n' "$name" "$rc" "$out" "$err"
  fi
}

has() { [[ $1 == *"$2"* ]]; } # has TEXT PART
one_error_line() { [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && [[ $err == "stek: "* ]]; }

store=$tmp/s
printf 'sesame open\n' >"$tmp/pass"
printf 'not it\n' >"$tmp/wrong"

STEK_PASSPHRASE='sesame open' run --store "$store" init --space demo
check "init with STEK_PASSPHRASE creates an encrypted store" [ "$rc" -eq 0 ]
IN='{"org":"OCMW zebracornish","category":"energy","summary.nl":"hulp bij facturen"}' \
  STEK_PASSPHRASE='sesame open' run --store "$store" directory put
check "directory put" [ "$rc" -eq 0 ]
id=$out

run --store "$store" --passphrase-file "$tmp/pass" directory search facturen
check "--passphrase-file opens it (its line ending dropped); search works" \
  [ "$rc" -eq 0 -a -n "$out" ]
check "the record found is the one written" has "$out" "\"id\":\"$id\""

before=$(cat "$store"/* | sha256sum)
run --store "$store" --passphrase-file "$tmp/wrong" directory list
check "a wrong passphrase exits 3" [ "$rc" -eq 3 ]
check "with one stek: line naming the passphrase" one_error_line
check "... naming the passphrase" has "$err" "passphrase"
STEK_PASSPHRASE=nope run --store "$store" directory list
check "a wrong STEK_PASSPHRASE exits 3" [ "$rc" -eq 3 ]
run --store "$store" directory list
check "no passphrase for an encrypted store exits 3" [ "$rc" -eq 3 ]
check "the store is unchanged by the refusals" [ "$(cat "$store"/* | sha256sum)" = "$before" ]

: >"$tmp/empty"
run --store "$store" --passphrase-file "$tmp/empty" directory list
check "an empty passphrase file exits 3" [ "$rc" -eq 3 ]

set +e
grep -rl zebracornish "$store" >/dev/null
found=$?
grep -rl "SQLite format 3" "$store" >/dev/null
header=$?
set -e
rc=$found
check "no record text in the store's files" [ "$found" -eq 1 ]
rc=$header
check "no plaintext SQLite header either" [ "$header" -eq 1 ]

plain=$tmp/p
run --store "$plain" init --space open
check "without a passphrase the store is plaintext (tests, tools)" [ "$rc" -eq 0 ]
STEK_PASSPHRASE=sesame run --store "$plain" directory list
check "a passphrase for a plaintext store exits 3" [ "$rc" -eq 3 ]

printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
