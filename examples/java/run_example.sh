#!/usr/bin/env bash
# run_example.sh STEK_BIN JAVA CLASSPATH JNI_LIB -- the tablet-app core
# (TabletCore) against a store made with the stek CLI: a hub with a daily
# permanence at a site and a directory entry serves on loopback; the
# tablet (a member of the hub's space) syncs, shows today's schedule,
# searches the social map, records a signal and syncs it back.  No sleeps:
# the port comes from the server's first line.
set -euo pipefail
STEK=${1:?usage: run_example.sh STEK_BIN JAVA CLASSPATH JNI_LIB}
JAVA=$2 CP=$3 JNI=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stek-java-example.XXXXXX")
srv=
trap '[ -z "$srv" ] || { kill -TERM "$srv"; wait "$srv" || true; }; rm -rf "$tmp"' EXIT
s() { "$STEK" --store "$tmp/$1" "${@:2}"; }

site="Kantine Bezemheide"
s hub init --space "STEK Demo" >/dev/null
yesterday=$(date -u -d yesterday +%F) # daily from yesterday: today in any zone
s hub schedule put --json "{\"title\":\"Permanence energie\",\"site\":\"$site\",\"start\":\"${yesterday}T10:00\",\"rrule\":\"FREQ=DAILY\"}" >/dev/null
s hub directory put --json '{"org":"Énergie Solidaire","category":"energy","summary.nl":"Hulp bij energiefacturen"}' >/dev/null
s tab init >/dev/null
s hub space share "$(s tab device id)" "$tmp/share"
s tab space accept "$tmp/share" >/dev/null

mkfifo "$tmp/out"
"$STEK" --store "$tmp/hub" serve --port 0 >"$tmp/out" &
srv=$!
exec 3<"$tmp/out"
read -t 30 -r line <&3
port=$(printf '%s' "$line" | tr -dc 0-9)

out=$("$JAVA" -Dorg.libstek.jni="$JNI" -cp "$CP" org.libstek.example.TabletCore \
  "$tmp/tab/stek.db" "$site" "127.0.0.1:$port")
printf '%s\n' "$out"
fail=0
grep -q '^synced: [1-9][0-9]* ops in$' <<<"$out" || { echo "FAIL: no ops came in"; fail=1; }
grep -q '10:00-11:00  Permanence energie$' <<<"$out" || { echo "FAIL: today's schedule"; fail=1; }
grep -q '^  Énergie Solidaire (energy)$' <<<"$out" || { echo "FAIL: the social map search"; fail=1; }
grep -Eq '^signal receipt: [0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$' <<<"$out" || { echo "FAIL: receipt"; fail=1; }
grep -q '^synced: 1 ops out$' <<<"$out" || { echo "FAIL: the signal did not go out"; fail=1; }
[ "$(s hub signal list | wc -l)" = 1 ] || { echo "FAIL: the hub has not got the signal"; fail=1; }
[ "$(s hub state-hash)" = "$(s tab state-hash)" ] || { echo "FAIL: not converged"; fail=1; }
[ "$fail" = 0 ] && echo "example: ok"
