#!/usr/bin/env bash
# pair_cli_test.sh STEK_BIN -- `stek pair offer` and `stek pair join` over
# loopback TCP: both print the same six digits, the new device gets the
# space and converges (exit 0 on both sides); a refusal on the member's
# side is exit 3 on both; a join with no offer open is exit 3.  Binds and
# connects on 127.0.0.1 only; no sleeps (the port comes from the first line).
set -euo pipefail

STEK=${1:?usage: pair_cli_test.sh STEK_BIN}
. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh" pair-cli-test

s hub init --space team >/dev/null
s hub record put directory --json '{"org":"hub"}' >/dev/null

# offer ANSWER: start `pair offer` on any port, answering ANSWER when asked;
# sets port and srv_pid, its stdout in $tmp/offer.out.
offer() {
  rm -f "$tmp/out"
  mkfifo "$tmp/out"
  echo "$1" | "$STEK" --store "$tmp/hub" pair offer --port 0 >"$tmp/out" 2>"$tmp/offer.err" &
  srv_pid=$!
  exec 3<"$tmp/out"
  local line=
  read -t 20 -r line <&3 || true
  port=$(printf '%s' "$line" | sed -n 's/^{"port":\([0-9][0-9]*\)}$/\1/p')
  cat <&3 >"$tmp/offer.out" &
}
finish() { # the offer's exit code into offer_rc
  set +e
  wait "$srv_pid"; offer_rc=$?
  set -e
  srv_pid=
  wait
  exec 3<&-
}

offer y
check 'pair offer prints {"port":P} when listening' test -n "$port"
set +e
joined=$(echo y | s new pair join "127.0.0.1:$port" 2>"$tmp/join.err"); join_rc=$?
set -e
finish
sas_join=$(printf '%s' "$joined" | sed -n 's/.*"sas":"\([0-9]\{6\}\)".*/\1/p')
sas_offer=$(sed -n 's/^{"sas":"\([0-9]\{6\}\)","paired":true}$/\1/p' "$tmp/offer.out")
check 'pair join succeeds (exit 0)' test "$join_rc" = 0
[ "$join_rc" = 0 ] || sed 's/^/     join: /' "$tmp/join.err"
check 'pair offer succeeds (exit 0)' test "$offer_rc" = 0
check 'both sides show the same six digits' bash -c "[ -n '$sas_join' ] && [ '$sas_join' = '$sas_offer' ]"
check 'both prompts show the digits' bash -c "grep -q 'pairing code: ${sas_join:0:3} ${sas_join:3:3}' '$tmp/join.err' && grep -q 'pairing code: ${sas_join:0:3} ${sas_join:3:3}' '$tmp/offer.err'"
check 'the new device holds the space and converged' test "$(s new state-hash)" = "$(s hub state-hash)"

offer n
set +e
joined=$(echo y | s other pair join "127.0.0.1:$port" 2>"$tmp/join.err"); join_rc=$?
set -e
finish
check 'the member refusing: pair join exits 3' test "$join_rc" = 3
check 'the member refusing: pair offer exits 3' test "$offer_rc" = 3
check 'the refused device holds no space' test -z "$(s other space list)"

# A plain server: no offer is open (the last one was spent).
rm -f "$tmp/out"
mkfifo "$tmp/out"
"$STEK" --store "$tmp/hub" serve --port 0 >"$tmp/out" 2>/dev/null &
srv_pid=$!
exec 3<"$tmp/out"
read -t 20 -r line <&3 || true
port=$(printf '%s' "$line" | sed -n 's/^{"port":\([0-9][0-9]*\)}$/\1/p')
set +e
echo y | s other pair join "127.0.0.1:$port" >/dev/null 2>"$tmp/join.err"; join_rc=$?
set -e
check 'no offer open: pair join exits 3 without asking' \
  bash -c "[ $join_rc = 3 ] && grep -q 'no pairing offer open' '$tmp/join.err' && ! grep -q 'pairing code: [0-9]' '$tmp/join.err'"

cli_report
