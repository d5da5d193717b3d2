#!/usr/bin/env bash
# cross_lang_test.sh JAVA CLASSPATH JNI_LIB PYTHON PYTHON_PATH LIBSTEK STEK_BIN
#
# Two Java processes and a Python process sync with one another over
# loopback (issue 7, "Done when").  Java process 1 makes a store with a
# space and serves it on 127.0.0.1 (its first line is the port, read
# through a FIFO: no sleeps); Java process 2 joins by invitation, writes a
# note and syncs; a Python process (the stek package over ctypes, with
# STEK_LIBRARY set to the built libstek) joins by invitation, writes and
# syncs; Java 2 syncs again to fetch Python's note.  All three state hashes
# must be equal.  Without bindings/python/stek the third peer is the stek
# CLI instead (said on stdout).
set -euo pipefail
JAVA=${1:?usage: cross_lang_test.sh JAVA CLASSPATH JNI_LIB PYTHON PYTHON_PATH LIBSTEK STEK_BIN}
CP=$2 JNI=$3 PYTHON=$4 PYPATH=$5 LIBSTEK=$6 STEK=$7
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stek-cross-lang.XXXXXX")
srv=
cleanup() {
  if [ -n "$srv" ]; then kill -TERM "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
jpeer() { "$JAVA" -Xmx128m -Dorg.libstek.jni="$JNI" -cp "$CP" org.libstek.CrossPeer "$@"; }

# Java 1: the store, its space and two invitations; then serve it.
mapfile -t tokens < <(jpeer init "$tmp/j1.db" 2)
[ "${#tokens[@]}" = 2 ] || { echo "FAIL: java 1 made no invitations"; exit 1; }
mkfifo "$tmp/ctl" "$tmp/out"
jpeer serve "$tmp/j1.db" <"$tmp/ctl" >"$tmp/out" &
srv=$!
exec 4>"$tmp/ctl" 3<"$tmp/out"
port=
read -t 60 -r port <&3 || true
[[ "$port" =~ ^[0-9]+$ ]] || { echo "FAIL: java 1 did not print its port"; exit 1; }
echo "java 1 serves on 127.0.0.1:$port"

# Java 2: join, write, sync.
j2=$(jpeer join "$tmp/j2.db" "${tokens[0]}" "$port")
echo "java 2 joined and synced: $j2"

# Python: join, write, sync (or the CLI, if the Python binding is not there).
if [ -f "$PYPATH/stek/__init__.py" ]; then
  py=$(PYTHONPATH="$PYPATH" STEK_LIBRARY="$LIBSTEK" "$PYTHON" - "$tmp/py.db" "${tokens[1]}" "$port" <<'PY'
import sys
import stek
path, token, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
with stek.Store(path) as s:
    s.invite_accept(token, "127.0.0.1", port)
    s.put("note", None, {"from": "python"})
    s.sync("127.0.0.1", port)
    print(s.state_hash())
PY
)
  echo "python joined and synced: $py"
else
  echo "NOTE: bindings/python/stek is missing: the third peer is the stek CLI"
  "$STEK" --store "$tmp/cli" invite accept "${tokens[1]}" --peer "127.0.0.1:$port" >/dev/null
  "$STEK" --store "$tmp/cli" record put note --json '{"from":"cli"}' >/dev/null
  "$STEK" --store "$tmp/cli" sync "127.0.0.1:$port" >/dev/null
  py=$("$STEK" --store "$tmp/cli" state-hash)
  echo "cli joined and synced: $py"
fi

# Java 2 again, for the third peer's note.
j2=$(jpeer sync "$tmp/j2.db" "$port")
echo "java 2 synced again: $j2"

echo stop >&4
exec 4>&-
j1=
read -t 60 -r j1 <&3 || true
wait "$srv"
srv=
echo "java 1 stopped: $j1"

if [ -n "$j1" ] && [ "$j1" = "$j2" ] && [ "$j1" = "$py" ]; then
  echo "converged: yes"
else
  echo "FAIL: state hashes differ"
  exit 1
fi
