#!/usr/bin/env bash
# Check the vector files of this directory against the reference
# implementation of Negentropy: build reference-driver.cpp against a
# checkout of hoytech/negentropy (its header-only cpp/), run every file's
# two item sets through it, and compare every message (in order, byte for
# byte) and the have/need ids with the file.  A manual tool: it downloads
# nothing and is not part of the build or of ctest (see README.md).
#
#   tests/vectors/negentropy/check-reference.sh PATH/TO/negentropy [FILE.json ...]
#
# Needs a C++20 compiler ($CXX, default c++), OpenSSL's libcrypto (the
# reference hashes with SHA-256) and python3.  Exit status 0 if every file
# matches.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -lt 1 ]; then
  echo "usage: $0 NEGENTROPY_CHECKOUT [FILE.json ...]" >&2
  exit 2
fi
ref=$1
shift
if [ ! -f "$ref/cpp/negentropy.h" ]; then
  echo "$ref: not a checkout of hoytech/negentropy (no cpp/negentropy.h)" >&2
  exit 2
fi
if [ $# -gt 0 ]; then files=("$@"); else files=("$here"/*.json); fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rev="not a git checkout"
if [ -e "$ref/.git" ]; then rev=$(git -C "$ref" rev-parse --short HEAD); fi
echo "reference: $ref ($rev)"
"${CXX:-c++}" -std=c++20 -O1 -I "$ref/cpp" "$here/reference-driver.cpp" -o "$work/driver" -lcrypto

python3 - "$work/driver" "${files[@]}" <<'PY'
import json, subprocess, sys

driver, files = sys.argv[1], sys.argv[2:]
bad = 0
for path in files:
    v = json.load(open(path))
    c, s = v["client"], v["server"]
    lines = ["%d %d" % (c["frame_size_limit"], s["frame_size_limit"])]
    for side in (c, s):
        lines.append(str(len(side["items"])))
        lines += ["%s %s" % (ts, idh) for ts, idh in side["items"]]
    out = subprocess.run([driver], input="\n".join(lines) + "\n", capture_output=True,
                         text=True, check=True).stdout.split()
    pairs = list(zip(out[0::2], out[1::2]))
    got = [{"from": k, "hex": h} for k, h in pairs if k in ("client", "server")]
    have = sorted(h for k, h in pairs if k == "have")
    need = sorted(h for k, h in pairs if k == "need")
    want = [{"from": m["from"], "hex": m["hex"]} for m in v["messages"]]
    problems = []
    if len(got) != len(want):
        problems.append("%d messages, the file has %d" % (len(got), len(want)))
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            problems.append("message %d (%s) differs" % (i + 1, w["from"]))
            break
    if have != sorted(v["have"]):
        problems.append("have ids differ")
    if need != sorted(v["need"]):
        problems.append("need ids differ")
    name = path.rsplit("/", 1)[-1]
    if problems:
        bad += 1
        print("DIFFER %s: %s" % (name, "; ".join(problems)))
    else:
        print("ok     %s: %d messages, %d have, %d need" % (name, len(got), len(have), len(need)))
print("%d of %d files match the reference" % (len(files) - bad, len(files)))
sys.exit(1 if bad else 0)
PY
