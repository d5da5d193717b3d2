#!/usr/bin/env bash
# cross_lang_test.sh JAVA CLASSPATH JNI_LIB PYTHON PYTHON_PATH LIBSTEK STEK_BIN
#
# Two Java processes and a Python process sync with one another over
# loopback (issue 7, "Done when").  Java process 1 makes a store with a
# space and serves it on 127.0.0.1 (its first line is the port, read
# through a FIFO: no sleeps); Java process 2 joins by invitation, writes a
# note and syncs; a Python process (the stek package over ctypes, with
# STEK_LIBRARY set to the built libstek) joins by invitation, writes and
# syncs, then another serves the Python store; Java 2 syncs with that
# Python server, so Python's note reaches it directly, not through Java 1.
# All three state hashes must be equal.  The Python peer is required: a
# missing or broken bindings/python fails the test.  (STEK_BIN is not used
# any more; the argument stays for the caller's sake.)
set -euo pipefail
JAVA=${1:?usage: cross_lang_test.sh JAVA CLASSPATH JNI_LIB PYTHON PYTHON_PATH LIBSTEK STEK_BIN}
CP=$2 JNI=$3 PYTHON=$4 PYPATH=$5 LIBSTEK=$6
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stek-cross-lang.XXXXXX")
srv= pysrv=
cleanup() {
  for p in $srv $pysrv; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
# Servers start with exec, so that $! is the peer itself, for cleanup's kill.
jpeer() { "$JAVA" -Xmx128m -Dorg.libstek.jni="$JNI" -cp "$CP" org.libstek.CrossPeer "$@"; }
pypeer() { PYTHONPATH="$PYPATH" STEK_LIBRARY="$LIBSTEK" "$PYTHON" "$@"; }

if [ ! -f "$PYPATH/stek/__init__.py" ]; then
  echo "FAIL: the Python peer is required, and $PYPATH/stek/__init__.py is missing"
  exit 1
fi

# Java 1: the store, its space and two invitations; then serve it.
mapfile -t tokens < <(jpeer init "$tmp/j1.db" 2)
[ "${#tokens[@]}" = 2 ] || { echo "FAIL: java 1 made no invitations"; exit 1; }
mkfifo "$tmp/ctl" "$tmp/out"
(exec "$JAVA" -Xmx128m -Dorg.libstek.jni="$JNI" -cp "$CP" org.libstek.CrossPeer \
  serve "$tmp/j1.db") <"$tmp/ctl" >"$tmp/out" &
srv=$!
exec 4>"$tmp/ctl" 3<"$tmp/out"
port=
read -t 60 -r port <&3 || true
[[ "$port" =~ ^[0-9]+$ ]] || { echo "FAIL: java 1 did not print its port"; exit 1; }
echo "java 1 serves on 127.0.0.1:$port"

# Java 2: join, write, sync.
j2=$(jpeer join "$tmp/j2.db" "${tokens[0]}" "$port")
echo "java 2 joined and synced: $j2"

# Python: join, write, sync.
py=$(pypeer - "$tmp/py.db" "${tokens[1]}" "$port" <<'PY'
import sys
import stek
path, token, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
with stek.Store(path) as s:
    s.invite_accept(token, "127.0.0.1", port)
    s.put("note", None, {"from": "python"})
    s.sync("127.0.0.1", port)
    print(s.state_hash())
PY
) || { echo "FAIL: the Python peer could not join and sync"; exit 1; }
echo "python joined and synced: $py"

# Python serves its store; Java 2 syncs with it, for Python's note.
mkfifo "$tmp/pyctl" "$tmp/pyout"
(PYTHONPATH="$PYPATH" STEK_LIBRARY="$LIBSTEK" exec "$PYTHON" -m stek "$tmp/py.db" serve) \
  <"$tmp/pyctl" >"$tmp/pyout" &
pysrv=$!
exec 6>"$tmp/pyctl" 5<"$tmp/pyout"
pyline=
read -t 60 -r pyline <&5 || true
[[ "$pyline" =~ ^\{\"port\":\ ([0-9]+)\}$ ]] || { echo "FAIL: python did not print its port: $pyline"; exit 1; }
pyport=${BASH_REMATCH[1]}
echo "python serves on 127.0.0.1:$pyport"
j2=$(jpeer sync "$tmp/j2.db" "$pyport")
echo "java 2 synced with python: $j2"
exec 6>&-
wait "$pysrv" || { echo "FAIL: the Python server did not stop cleanly"; exit 1; }
pysrv=
exec 5<&-
py=$(pypeer -m stek "$tmp/py.db" state-hash)
echo "python stopped: $py"

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
