#!/usr/bin/env bash
# replay_test.sh STEK_BIN PYTHON GEN_TRACE [GEN_ARGS...] -- `stek replay`
# (CLI.md) on a generated workload (../shared/workloads/gen_trace.py: a
# common base, offline edits with conflicts and deletes on three replicas,
# signals, and syncs in a ring over loopback TCP): it converges, and the
# summary has the shape CLI.md gives, one entry per sync of the trace.
# GEN_ARGS are gen_trace.py's sizes (three replicas: the summary's shape is
# checked for A, B and C); by default a small trace,
#   --entries 300 --edits 50 --replicas 3 --signals 10
set -euo pipefail

STEK=${1:?usage: replay_test.sh STEK_BIN PYTHON GEN_TRACE [GEN_ARGS...]}
PYTHON=${2:?}
GEN=${3:?}
shift 3
if [ $# -eq 0 ]; then set -- --entries 300 --edits 50 --replicas 3 --signals 10; fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stek-replay-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

"$PYTHON" "$GEN" "$@" >"$tmp/trace.jsonl"
out=$("$STEK" replay "$tmp/trace.jsonl" --dir "$tmp/replicas")
printf '%s\n' "$out"
n='[0-9]+(\.[0-9]+)?'
sync="\{\"a\":\"[ABC]\",\"b\":\"[ABC]\",\"ms\":$n,\"bytes\":[1-9][0-9]*,\"round_trips\":[1-9][0-9]*,\"ops_sent\":[0-9]+,\"ops_received\":[0-9]+\}"
syncs=$(grep -c '"sync"' "$tmp/trace.jsonl")
shape="^\{\"replicas\":3,\"load_ms\":$n,\"edit_ms\":$n,\"syncs\":\[$sync(,$sync){$((syncs - 1))}\],\"sync_ms\":$n,\"sync_bytes\":[1-9][0-9]*,\"store_bytes\":\{\"A\":[1-9][0-9]*,\"B\":[1-9][0-9]*,\"C\":[1-9][0-9]*\},\"converged\":true\}$"
if ! grep -Eq "$shape" <<<"$out"; then
  echo "FAIL: the summary is not as CLI.md gives it, or not converged" >&2
  exit 1
fi
for r in B C; do
  if [ "$("$STEK" --store "$tmp/replicas/$r" state-hash)" != "$("$STEK" --store "$tmp/replicas/A" state-hash)" ]; then
    echo "FAIL: replica $r differs from A" >&2
    exit 1
  fi
done
echo "ok   replay of a generated trace ($*) converged ($syncs syncs)"
