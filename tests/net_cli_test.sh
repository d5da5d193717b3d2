#!/usr/bin/env bash
# net_cli_test.sh STEK_BIN -- `stek serve` and `stek sync` over loopback TCP
# (CLI.md): the server prints {"port":P} once listening, two stores sync
# through it and converge, a stranger is refused, and SIGTERM stops the
# server cleanly (exit 0).  Binds and connects to 127.0.0.1 only.
set -euo pipefail

STEK=${1:?usage: net_cli_test.sh STEK_BIN}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stek-net-cli-test.XXXXXX")
srv_pid=
cleanup() {
  if [ -n "$srv_pid" ]; then kill -TERM "$srv_pid" 2>/dev/null || true; wait "$srv_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
passed=0
failed=0
check() { # NAME CONDITION...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); printf 'ok   %s\n' "$name"
  else failed=$((failed + 1)); printf 'FAIL %s\n' "$name"; fi
}

s() { "$STEK" --store "$tmp/$1" "${@:2}"; }

# A hub and a member of its space, each with a record of its own.
s hub init --space team >/dev/null
s tab init >/dev/null
s hub space share "$(s tab device id)" "$tmp/share"
s tab space accept "$tmp/share" >/dev/null
s hub record put directory --json '{"org":"hub"}' >/dev/null
s tab record put directory --json '{"org":"tablet"}' >/dev/null
s other init --space elsewhere >/dev/null
s other record put directory --json '{"org":"stranger"}' >/dev/null
hub_before=$(s hub state-hash)

# Serve on any free port; the first line says which.
mkfifo "$tmp/out"
"$STEK" --store "$tmp/hub" serve --port 0 >"$tmp/out" 2>"$tmp/serve.err" &
srv_pid=$!
exec 3<"$tmp/out"
line=
read -t 20 -r line <&3 || true
port=$(printf '%s' "$line" | sed -n 's/^{"port":\([0-9][0-9]*\)}$/\1/p')
check 'serve prints {"port":P} when listening' test -n "$port"

set +e
stranger=$(s other sync "127.0.0.1:$port" 2>"$tmp/err"); stranger_rc=$?
set -e
check 'a device of another space is refused (exit 1, one stek: line)' \
  bash -c "[ $stranger_rc = 1 ] && [ -z '$stranger' ] && [ \$(wc -l <'$tmp/err') = 1 ] && grep -q '^stek: ' '$tmp/err'"
check 'the hub is unchanged by the stranger' test "$(s hub state-hash)" = "$hub_before"

summary=$(s tab sync "127.0.0.1:$port" 2>"$tmp/err")
check 'sync prints the JSON summary' bash -c "printf '%s' '$summary' | grep -Eq '^\\{\"ops_sent\":1,\"ops_received\":1,\"bytes_sent\":[1-9][0-9]*,\"bytes_received\":[1-9][0-9]*,\"round_trips\":[1-9][0-9]*\\}\$'"
check 'no progress on stderr when it is not a terminal' test ! -s "$tmp/err"
again=$(s tab sync "127.0.0.1:$port")
check 'a second sync moves no ops' bash -c "printf '%s' '$again' | grep -q '\"ops_sent\":0,\"ops_received\":0'"

kill -TERM "$srv_pid"
set +e
wait "$srv_pid"; srv_rc=$?
set -e
srv_pid=
exec 3<&-
check 'SIGTERM stops the server cleanly (exit 0)' test "$srv_rc" = 0
check 'the two stores converged' test "$(s hub state-hash)" = "$(s tab state-hash)"
set +e
s tab sync "127.0.0.1:$port" >/dev/null 2>&1; rc=$?
s tab sync "127.0.0.1:notaport" >/dev/null 2>&1; usage_rc=$?
set -e
check 'sync with nobody serving exits 1' test "$rc" = 1
check 'a bad HOST:PORT is a usage error (exit 2)' test "$usage_rc" = 2

printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" = 0 ]
