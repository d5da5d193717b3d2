# cli_lib.sh -- sourced by the shell tests that drive the stek CLI with
# servers in the background (net_cli_test, pair_cli_test,
# discovery_netns_test).  Needs STEK (the CLI) set; takes the test's name:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh" NAME
#
# It gives tmp (a folder removed at exit), srv_pid and bg_pids (servers
# stopped with SIGTERM at exit), check NAME COMMAND..., s STORE ARGS... (the
# CLI on the store $tmp/STORE) and cli_report (the counts; fails if any
# check did).
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stek-$1.XXXXXX")
srv_pid=
bg_pids=()
cleanup() {
  for p in $srv_pid "${bg_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
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
cli_report() {
  printf '%d passed, %d failed\n' "$passed" "$failed"
  [ "$failed" = 0 ]
}
