#!/usr/bin/env bash
# Install a built libstek into a temporary prefix, then build and run a small
# outside program against it four ways: find_package with stek::stek and
# stek::stek_static, and pkg-config, dynamic and --static.
#
#   run.sh BUILD_DIR [CMAKE] [CC] [SANITIZE(ON/OFF)]
set -euo pipefail

build=$(cd "$1" && pwd)
cmake_bin=${2:-cmake}
cc_bin=${3:-cc}
sanitize=${4:-OFF}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/stek-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

# A library built with sanitizers needs them in the program that links it.
cflags=()
# shellcheck disable=SC2054  # the commas belong to -fsanitize=
case "$sanitize" in
  ON|on|1|TRUE|true|YES|yes) cflags=(-fsanitize=address,undefined -fno-omit-frame-pointer) ;;
esac

fail() { echo "install_consumer: FAIL: $*" >&2; exit 1; }

# The version the header promises, to check each program against.
version=$(sed -n 's/^#define STEK_VERSION_STRING "\(.*\)"$/\1/p' \
  "$here/../../libstek/include/stek.h")
[ -n "$version" ] || fail "no STEK_VERSION_STRING in stek.h"

check() {  # check NAME COMMAND...: run the program and check what it prints
  local name=$1; shift
  local out
  out=$("$@") || fail "$name exited with $?"
  grep -qx "stek $version" <<<"$out" || fail "$name printed: $out"
  grep -qx "STEK_EINVAL: invalid argument" <<<"$out" || fail "$name printed: $out"
  echo "ok: $name"
}

echo "== install $build into $prefix"
"$cmake_bin" --install "$build" --prefix "$prefix" >"$tmp/install.log" \
  || { cat "$tmp/install.log"; fail "cmake --install"; }
[ -f "$prefix/include/stek.h" ] || fail "stek.h not installed"
pcfile=$(find "$prefix" -name stek.pc -print -quit)
[ -n "$pcfile" ] || fail "stek.pc not installed"
cfgfile=$(find "$prefix" -name stekConfig.cmake -print -quit)
[ -n "$cfgfile" ] || fail "stekConfig.cmake not installed"
libdir=$(dirname "$(dirname "$pcfile")")
ls "$libdir"/libstek.so* >/dev/null 2>&1 || fail "libstek.so not in $libdir"
[ -f "$libdir/libstek.a" ] || fail "libstek.a not in $libdir"

echo "== find_package(stek)"
CC="$cc_bin" CFLAGS="${cflags[*]:-}" LDFLAGS="${cflags[*]:-}" \
  "$cmake_bin" -S "$here" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
  >"$tmp/consumer.log" 2>&1 || { cat "$tmp/consumer.log"; fail "configure consumer"; }
"$cmake_bin" --build "$tmp/consumer" >>"$tmp/consumer.log" 2>&1 \
  || { cat "$tmp/consumer.log"; fail "build consumer"; }
check "find_package stek::stek" "$tmp/consumer/consumer_shared"
check "find_package stek::stek_static" "$tmp/consumer/consumer_static"
# ldd's output is read whole, not piped into grep -q: grep stops at the
# first match, ldd may then die of SIGPIPE, and pipefail made that a
# failure now and then.
if grep -q libstek <<<"$(ldd "$tmp/consumer/consumer_static")"; then
  fail "consumer_static links libstek dynamically"
fi
grep -q "$libdir/libstek.so" <<<"$(ldd "$tmp/consumer/consumer_shared")" \
  || { ldd "$tmp/consumer/consumer_shared"; fail "consumer_shared does not use the installed libstek.so"; }

echo "== pkg-config stek"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
pkg-config --exists stek || fail "pkg-config does not find stek"
[ "$(pkg-config --modversion stek)" = "$version" ] || fail "stek.pc version"
# shellcheck disable=SC2046
"$cc_bin" -std=c11 "${cflags[@]}" -o "$tmp/pc_shared" "$here/consumer.c" \
  $(pkg-config --cflags --libs stek) || fail "cc with pkg-config"
LD_LIBRARY_PATH="$libdir" check "pkg-config" "$tmp/pc_shared"
# --static adds the dependencies; -l:libstek.a picks the archive over the .so.
# shellcheck disable=SC2046
"$cc_bin" -std=c11 "${cflags[@]}" -o "$tmp/pc_static" "$here/consumer.c" \
  $(pkg-config --cflags --libs --static stek | sed 's/-lstek\b/-l:libstek.a/') \
  || fail "cc with pkg-config --static"
check "pkg-config --static" "$tmp/pc_static"
if grep -q libstek <<<"$(ldd "$tmp/pc_static")"; then
  fail "pc_static links libstek dynamically"
fi

echo "install_consumer: all ok"
