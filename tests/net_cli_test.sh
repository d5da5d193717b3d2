#!/usr/bin/env bash
# net_cli_test.sh STEK_BIN -- `stek serve` and `stek sync` over loopback TCP
# (CLI.md): the server prints {"port":P} once listening, two stores sync
# through it and converge, a stranger is refused, and SIGTERM stops the
# server cleanly (exit 0).  Then invitations (invite create / accept, a
# token works once), blind relays (relay share / accept, member -> relay ->
# member) and serve --announce-to with discover.  Binds, connects and
# announces on 127.0.0.1 only; no sleeps (ports come from first lines).
set -euo pipefail

STEK=${1:?usage: net_cli_test.sh STEK_BIN}
. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh" net-cli-test

# Changes one "space share" writes in the sharer's space: the stek.member
# record of the device shared with, which syncs like any other change.
JOIN_CHANGES=1

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
# received: the hub's record and the tablet's stek.member record
check 'sync prints the JSON summary' bash -c "printf '%s' '$summary' | grep -Eq '^\\{\"ops_sent\":1,\"ops_received\":$((1 + JOIN_CHANGES)),\"bytes_sent\":[1-9][0-9]*,\"bytes_received\":[1-9][0-9]*,\"round_trips\":[1-9][0-9]*\\}\$'"
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

# start NAME FD_VAR [ARGS...]: serve NAME's store on a free port in the
# background; its pid in bg_pid and its port in port (empty if it did not
# say), the read end of its stdout kept open on the fd named FD_VAR.
nfifo=0
start() {
  local fifo="$tmp/fifo$((++nfifo))" line=
  mkfifo "$fifo"
  "$STEK" --store "$tmp/$1" serve --port 0 "${@:3}" >"$fifo" 2>>"$tmp/serve.err" &
  bg_pid=$!
  bg_pids+=("$bg_pid")
  exec {fd}<"$fifo"
  printf -v "$2" '%s' "$fd"
  read -t 20 -r line <&"$fd" || true
  port=$(printf '%s' "$line" | sed -n 's/^{"port":\([0-9][0-9]*\)}$/\1/p')
}
# stop PID: SIGTERM, and the server's exit code in stop_rc.
stop() {
  kill -TERM "$1"
  set +e; wait "$1"; stop_rc=$?; set -e
}
# code CMD...: run a stek command, keeping its exit code in rc and stderr in $tmp/err.
code() { set +e; "$@" >"$tmp/cmd.out" 2>"$tmp/err"; rc=$?; set -e; }
one_line() { [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q '^stek: ' "$tmp/err"; }

echo "# invitations"
token=$(s hub invite create)
check 'invite create prints a token STEK-XXXX-...' \
  bash -c "printf '%s' '$token' | grep -Eq '^STEK(-[0-9A-Z]{4}){6}-[0-9A-Z]{2}\$'"
code s hub invite create --ttl 0
check 'invite create --ttl 0 is a usage error (exit 2)' test "$rc" = 2
code s hub invite create --ttl 2592001
check 'a --ttl over 30 days is a usage error (exit 2)' test "$rc" = 2
start hub hub_fd
hub_pid=$bg_pid
check 'the hub serves again' test -n "$port"
joined=$(s new invite accept "$token" --peer "127.0.0.1:$port" 2>"$tmp/err")
space=$(s hub space list | sed -E 's/.*"id":"([0-9a-f]+)".*/\1/')
check 'invite accept creates the store, joins and syncs: {"space":ID, sync summary}' \
  bash -c "printf '%s' '$joined' | grep -Eq '^\{\"space\":\"$space\",\"ops_sent\":0,\"ops_received\":[1-9][0-9]*,\"bytes_sent\":[0-9]+,\"bytes_received\":[0-9]+,\"round_trips\":[0-9]+\}\$'"
check 'the new device has the content' test "$(s new state-hash)" = "$(s hub state-hash)"
check '  ...under an identity of its own' test "$(s new device id)" != "$(s hub device id)"
code s late invite accept "$token" --peer "127.0.0.1:$port"
check 'a used token is refused by the member (exit 3, one stek: line)' bash -c "[ $rc = 3 ] && $(declare -f one_line); tmp='$tmp' one_line"
code s late space list
check '  ...and joins nothing' bash -c "[ $rc = 0 ] && [ ! -s '$tmp/cmd.out' ]"
code s junk invite accept "STEK-NOT-A-TOKEN" --peer "127.0.0.1:$port"
check 'a malformed token is malformed input (exit 4)' test "$rc" = 4
check '  ...and creates no store' test ! -e "$tmp/junk/stek.db"
code s late2 invite accept "STEK-0000-0000-0000-0000-0000-0000-01" --peer "127.0.0.1:$port"
check 'a token with bad check bits is malformed input (exit 4)' test "$rc" = 4
code s late invite accept "$token" --peer 127.0.0.1
check 'invite accept without a port is a usage error (exit 2)' test "$rc" = 2
code s late invite accept "$token"
check 'invite accept without --peer is a usage error (exit 2)' test "$rc" = 2
stop "$hub_pid"
check 'the hub stops cleanly' test "$stop_rc" = 0

echo "# blind relays: member -> relay -> member"
s relay init >/dev/null
code s relay relay count
check 'relay count on a store that carries nothing: {"ops":0}' bash -c "[ $rc = 0 ] && [ \"\$(cat '$tmp/cmd.out')\" = '{\"ops\":0}' ]"
s hub relay share "$(s relay device id)" "$tmp/relay-cap"
code s tab relay accept "$tmp/relay-cap"
check 'a relay capability sealed to another device is refused (exit 4)' test "$rc" = 4
code s hub relay share nothex "$tmp/x"
check 'relay share with a bad DEVICE_ID is a usage error (exit 2)' test "$rc" = 2
code s relay relay accept "$tmp/relay-cap"
check 'relay accept' test "$rc" = 0
check '  ...holds no space (nothing to read with)' test -z "$(s relay space list)"
s hub directory put --json '{"org":"hub, after the tablet left"}' >/dev/null
s tab directory put --json '{"org":"tablet, offline"}' >/dev/null
start relay relay_fd
relay_pid=$bg_pid
code s hub sync "127.0.0.1:$port" --relay
check 'a member syncs with the relay (--relay)' test "$rc" = 0
carried=$(s relay relay count | sed -E 's/[^0-9]//g')
check '  ...which now carries the ops, sealed' test "$carried" -ge 3
code s tab sync "127.0.0.1:$port" --relay
check 'another member syncs with the relay' grep -q '"ops_received":[1-9]' "$tmp/cmd.out"
code s hub sync "127.0.0.1:$port" --relay
check '  ...and its ops reach the first' grep -q '"ops_received":1,' "$tmp/cmd.out"
check 'the members converged through the relay' test "$(s hub state-hash)" = "$(s tab state-hash)"
code s tab sync "127.0.0.1:$port"
check 'a member syncing with a relay without --relay is refused (exit 1)' test "$rc" = 1
stop "$relay_pid"
check 'the relay stops cleanly' test "$stop_rc" = 0
start tab tab_fd
s hub directory put --json '{"org":"hub, once more"}' >/dev/null
code s relay sync "127.0.0.1:$port"
check 'a relay store syncs as a relay by itself' test "$rc" = 0
stop "$bg_pid"

echo "# serve --announce"
udp=$((40000 + $$ % 20000))
start hub hub2_fd --announce-to "127.0.0.1:$udp"
hub_port=$port
mkfifo "$tmp/found"
"$STEK" --store "$tmp/tab" discover --bind 127.0.0.1 --port "$udp" --timeout 20 >"$tmp/found" &
disc_pid=$!
bg_pids+=("$disc_pid")
exec {found_fd}<"$tmp/found"
found=
read -t 20 -r found <&"$found_fd" || true
check 'serve --announce-to: a member discovers the hub and its port' \
  test "$found" = "{\"space\":\"$space\",\"host\":\"127.0.0.1\",\"port\":$hub_port}"
kill -TERM "$disc_pid" 2>/dev/null || true
wait "$disc_pid" 2>/dev/null || true
stop "$bg_pid"
check 'SIGTERM stops the announcing server cleanly (exit 0)' test "$stop_rc" = 0
code s hub serve --port 0 --announce-to 127.0.0.1
check 'a bad --announce-to is a usage error (exit 2)' test "$rc" = 2
code s hub serve --port 0 --announce=yes
check 'a value for the flag --announce is a usage error (exit 2)' test "$rc" = 2

cli_report
