#!/bin/bash -eu
# fuzz/build.sh -- build the fuzz targets the way OSS-Fuzz does: with
# $CC $CFLAGS and $LIB_FUZZING_ENGINE, compiling the library's sources
# directly (no cmake), into $OUT, with each target's seed corpus as
# $OUT/fuzz_<name>_seed_corpus.zip and its dictionary as fuzz_<name>.dict.
#
# Dependencies (the project Dockerfile's apt-get line): libsodium-dev
# libuv1-dev libmsgpack-dev (msgpack-c) libsqlite3-dev pkg-config zip.
# Static archives are linked when present, so the binaries run on the
# OSS-Fuzz base-runner image, which has none of these libraries.
#
# Locally:  CC=clang CFLAGS="-fsanitize=address,fuzzer-no-link -g" \
#           LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=/tmp/out fuzz/build.sh
SRC_ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${CC:=clang}" "${CFLAGS:=}" "${LIB_FUZZING_ENGINE:=-fsanitize=fuzzer}" "${OUT:=$SRC_ROOT/build-ossfuzz}"
mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

PKGS="libsodium libuv msgpack sqlite3"
DEP_CFLAGS=$(pkg-config --cflags $PKGS)
libdir=$(pkg-config --variable=libdir libsodium)
DEP_LIBS=""
for pair in sodium:libsodium.a uv:libuv_a.a uv:libuv.a msgpackc:libmsgpackc.a \
            msgpack-c:libmsgpack-c.a sqlite3:libsqlite3.a; do
  name=${pair%%:*} archive=$libdir/${pair#*:}
  case " $DEP_LIBS " in *" -l$name "*|*"/lib$name"*) continue ;; esac
  if [ -f "$archive" ]; then DEP_LIBS="$DEP_LIBS $archive"; fi
done
# Whatever has no static archive links dynamically.
for name in sodium uv msgpackc sqlite3; do
  case "$DEP_LIBS" in *"lib$name"*) ;; *) DEP_LIBS="$DEP_LIBS -l$name" ;; esac
done
DEP_LIBS="$DEP_LIBS -lpthread -ldl -lrt -lm"

INC="-I$SRC_ROOT/libstek/include -I$SRC_ROOT/libstek -I$SRC_ROOT/examples -I$SRC_ROOT/fuzz"
DEFS="-D_POSIX_C_SOURCE=200809L -std=c11"

# The library: every source listed in libstek/CMakeLists.txt.
srcs=$(sed -n '/^set(STEK_SOURCES/,/)/p' "$SRC_ROOT/libstek/CMakeLists.txt" |
       grep -v -e 'set(' -e ')' | tr -d ' ')
objs=()
for s in $srcs; do
  o=$WORK/$(echo "$s" | tr '/' '_').o
  $CC $CFLAGS $DEFS $INC $DEP_CFLAGS -fvisibility=hidden -c "$SRC_ROOT/libstek/$s" -o "$o"
  objs+=("$o")
done
ar rcs "$WORK/libstek.a" "${objs[@]}"
$CC $CFLAGS $DEFS $INC $DEP_CFLAGS -c "$SRC_ROOT/examples/json.c" -o "$WORK/json.o"

targets=$(sed -n '/^set(STEK_FUZZ_TARGETS/,/)/p' "$SRC_ROOT/fuzz/CMakeLists.txt" |
          sed 's/set(STEK_FUZZ_TARGETS//; s/)//')
for t in $targets; do
  extra=""
  [ "$t" = json ] && extra="$WORK/json.o"
  $CC $CFLAGS $DEFS $INC $DEP_CFLAGS -c "$SRC_ROOT/fuzz/fuzz_$t.c" -o "$WORK/fuzz_$t.o"
  # $CC, not $CXX: libFuzzer's C++ runtime comes in with $LIB_FUZZING_ENGINE.
  ${CXX:-clang++} $CFLAGS "$WORK/fuzz_$t.o" $extra "$WORK/libstek.a" $LIB_FUZZING_ENGINE \
    $DEP_LIBS -o "$OUT/fuzz_$t"
  if [ -d "$SRC_ROOT/fuzz/corpus/$t" ]; then
    rm -f "$OUT/fuzz_${t}_seed_corpus.zip"
    (cd "$SRC_ROOT/fuzz/corpus/$t" && zip -q -j "$OUT/fuzz_${t}_seed_corpus.zip" ./*)
  fi
  [ -f "$SRC_ROOT/fuzz/$t.dict" ] && cp "$SRC_ROOT/fuzz/$t.dict" "$OUT/fuzz_$t.dict"
done
echo "build.sh: $(echo $targets | wc -w) targets in $OUT"
