#!/usr/bin/env bash
# discovery_netns_test.sh STEK_BIN -- LAN discovery to its real destinations
# (PROTOCOL.md §10): a member serves and announces to the multicast group
# 239.255.47.115 only, then to the broadcast address 255.255.255.255 only,
# then to both (`serve --announce`), and another member's `discover` with
# the defaults (0.0.0.0:47115, group joined) finds its space and port; a
# store of another space, listening meanwhile, recognises nothing of it.
#
# Tests touch no network but loopback, so this one re-runs itself in a
# network namespace of its own (unshare -n as root, else unshare -rn: a user
# namespace too) whose lo routes the group and the broadcast address back
# to itself.  Where no namespace can be made (a container that forbids
# them) it exits 77, which ctest reports as skipped.  No sleeps: each
# discover listens for a fixed window (--timeout) that spans at least two
# rounds of beacons (one every 2 s).
set -euo pipefail

STEK=${1:?usage: discovery_netns_test.sh STEK_BIN}
SKIP=77 # SKIP_RETURN_CODE in tests/CMakeLists.txt

if [ "${STEK_NETNS_TEST_INSIDE:-}" != 1 ]; then
  if ! command -v ip >/dev/null 2>&1; then
    echo "skip: no 'ip' (iproute2, in .ci/deps) to set up the namespace's loopback"
    exit "$SKIP"
  fi
  why=
  for how in -n -rn; do # -n: root's own namespace; -rn: a user namespace too
    if [ "$how" = -n ] && [ "$(id -u)" != 0 ]; then continue; fi
    if err=$(unshare "$how" true 2>&1); then
      STEK_NETNS_TEST_INSIDE=1 exec unshare "$how" bash "$0" "$@"
    fi
    why="${why:+$why; }unshare $how: ${err:-refused}"
  done
  echo "skip: cannot create a network namespace here ($why)"
  exit "$SKIP"
fi

# Inside the namespace: only lo, down.  The routes carry a source address
# because lo's 127.0.0.1 is host-scoped and a link-scoped route would
# otherwise pick none: beacons would come from 0.0.0.0.
# A namespace whose lo cannot be set up is the host's limit, not stek's.
setup() { "$@" || { echo "skip: in the namespace, '$*' failed"; exit "$SKIP"; }; }
setup ip link set lo up
setup ip link set lo multicast on
setup ip route add 239.0.0.0/8 dev lo src 127.0.0.1
setup ip route add broadcast 255.255.255.255 dev lo src 127.0.0.1 table local

. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh" discovery-netns-test

# The hub and the tablet share a space; "other" holds a space of its own.
s hub init --space team >/dev/null
s tab init >/dev/null
s hub space share "$(s tab device id)" "$tmp/share"
s tab space accept "$tmp/share" >/dev/null
s other init --space elsewhere >/dev/null
team=$(s hub space list | sed -n 's/.*"id":"\([0-9a-f]\{32\}\)".*/\1/p' | head -1)
elsewhere=$(s other space list | sed -n 's/.*"id":"\([0-9a-f]\{32\}\)".*/\1/p' | head -1)
check 'the two spaces have ids' test -n "$team" -a -n "$elsewhere" -a "$team" != "$elsewhere"

# serve STORE ANNOUNCE_ARGS...: start serving on a free port, announcing;
# sets $port from the first line (empty if it never came) and $serve_pid.
n=0
serve() {
  n=$((n + 1))
  mkfifo "$tmp/serve$n"
  "$STEK" --store "$tmp/$1" serve --port 0 "${@:2}" >"$tmp/serve$n" 2>"$tmp/serve$n.err" &
  serve_pid=$!
  bg_pids+=("$serve_pid")
  local fd line=
  exec {fd}<"$tmp/serve$n"
  read -t 20 -r line <&"$fd" || true
  exec {fd}<&-
  port=$(printf '%s' "$line" | sed -n 's/^{"port":\([0-9][0-9]*\)}$/\1/p')
}

stop() { # PID: SIGTERM, and the exit code in $stop_rc
  kill -TERM "$1"
  set +e
  wait "$1"; stop_rc=$?
  set -e
}

# case NAME ANNOUNCE_ARGS...: both stores announce so; the tablet and the
# stranger each listen with the defaults for one window at once.
case_() {
  local name=$1; shift
  echo "# $name"
  serve hub "$@"; local hub_port=$port hub_pid=$serve_pid
  check "$name: the hub serves and announces" test -n "$hub_port"
  serve other "$@"; local other_port=$port other_pid=$serve_pid
  check "$name: the stranger serves and announces" test -n "$other_port"
  s tab discover --timeout 5 >"$tmp/tab.found" 2>"$tmp/tab.err" & local tab_pid=$!
  s other discover --timeout 5 >"$tmp/other.found" 2>"$tmp/other.err" & local other_disc=$!
  bg_pids+=("$tab_pid" "$other_disc")
  set +e
  wait "$tab_pid"; local tab_rc=$?
  wait "$other_disc"; local other_rc=$?
  set -e
  check "$name: both discover runs end at their timeout (exit 0)" \
    test "$tab_rc" = 0 -a "$other_rc" = 0
  check "$name: the member finds the hub's space, address and port, once" \
    test "$(cat "$tmp/tab.found")" = "{\"space\":\"$team\",\"host\":\"127.0.0.1\",\"port\":$hub_port}"
  # The stranger heard its own beacons over the same route, so it was
  # listening while the hub's went by, and recognised none of them.
  check "$name: the stranger finds only its own space, not the hub's" \
    test "$(cat "$tmp/other.found")" = "{\"space\":\"$elsewhere\",\"host\":\"127.0.0.1\",\"port\":$other_port}"
  check "$name: the member syncs with the hub at the address found" \
    bash -c '"$0" --store "$1" sync "$2" >/dev/null' "$STEK" "$tmp/tab" "127.0.0.1:$hub_port"
  stop "$other_pid"; local other_stop=$stop_rc
  stop "$hub_pid"
  check "$name: the announcing servers stop cleanly (exit 0)" \
    test "$other_stop" = 0 -a "$stop_rc" = 0
}

case_ 'multicast only (--announce-to 239.255.47.115:47115)' --announce-to 239.255.47.115:47115
case_ 'broadcast only (--announce-to 255.255.255.255:47115)' --announce-to 255.255.255.255:47115
case_ 'both, the default (--announce)' --announce

cli_report
