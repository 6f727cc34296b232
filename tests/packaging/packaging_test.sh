#!/usr/bin/env bash
# packaging_test.sh BUILD_DIR CMAKE C_COMPILER BUILD_TYPE SANITIZE
#
# The install tree, used the way a user would, with nothing from the source or build tree:
#   1. cmake --install BUILD_DIR --prefix <tmp>/prefix
#   2. tests/packaging/consumer (find_package(Scatter), scatter_generate()) configured with
#      CMAKE_PREFIX_PATH=<tmp>/prefix only, built, and run: it serves a fan-out method on
#      127.0.0.1:0, prints its port, calls it once and exits 0 on its own (bounded)
#   3. pkgconfig_main.c compiled with `pkg-config --cflags --libs scatter` alone, and run
# A sanitizer build's package carries -fsanitize in its link interface and in scatter.pc, so the
# consumer links the runtimes it needs without being told. Temporary files are always removed.
# Ends with a PASS or FAIL line.
set -euo pipefail

build=$1 cmake=$2 cc=$3 build_type=${4:-RelWithDebInfo} sanitize=${5:-OFF}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN_TIMEOUT_S=30
BUDGET_S=240 # every step shares it, so the script ends (and cleans up) before ctest's 300 s


tmp=$(mktemp -d -t scatter-pkg.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 143' TERM INT
prefix=$tmp/prefix
t0=$SECONDS

fail() {
	echo "FAIL: packaging_test: $*"
	exit 1
}

# step NAME CMD... : runs CMD (bounded) with its output in $tmp/NAME.log, shown on failure.
step() {
	local name=$1 t=$SECONDS left=$((BUDGET_S - SECONDS + t0))
	shift
	[ "$left" -gt 0 ] || fail "$name: out of time (${BUDGET_S} s for the whole test)"
	if ! timeout "$left" "$@" >"$tmp/$name.log" 2>&1; then
		tail -n 60 "$tmp/$name.log"
		fail "$name: $*"
	fi
	echo "ok: $name ($((SECONDS - t)) s)"
}

step install "$cmake" --install "$build" --prefix "$prefix"
for f in bin/protoc-gen-scatter include/scatter/scatter.h include/scatter/options.pb-c.h \
	share/scatter/proto/scatter/options.proto lib/cmake/Scatter/ScatterConfig.cmake \
	lib/cmake/Scatter/ScatterConfigVersion.cmake lib/cmake/Scatter/ScatterGenerate.cmake \
	lib/pkgconfig/scatter.pc lib/libscatter.a; do
	[ -e "$prefix/$f" ] || fail "the install tree has no $f"
done
echo "installed tree:"
(cd "$prefix" && find . -type f | sort | sed 's|^\./|  |')

# Only the temporary prefix: no package registry, no Scatter_DIR from anywhere else.
step configure "$cmake" -S "$here/consumer" -B "$tmp/consumer" \
	-DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE="$build_type" \
	-DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
	-DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
grep -q "^Scatter_DIR:PATH=$prefix/lib/cmake/Scatter\$" "$tmp/consumer/CMakeCache.txt" ||
	fail "the consumer found a Scatter outside $prefix: $(grep '^Scatter_DIR' "$tmp/consumer/CMakeCache.txt")"
grep -q "plugin $prefix/bin/protoc-gen-scatter" "$tmp/configure.log" ||
	fail "scatter_generate() does not use the installed plugin"
step build "$cmake" --build "$tmp/consumer" -j 2

if ! timeout "$RUN_TIMEOUT_S" "$tmp/consumer/greet" >"$tmp/greet.out" 2>"$tmp/greet.err"; then
	cat "$tmp/greet.out" "$tmp/greet.err"
	fail "the consumer did not exit 0 within ${RUN_TIMEOUT_S} s"
fi
grep -Eq '^listening on 127\.0\.0\.1:[0-9]+$' "$tmp/greet.out" ||
	fail "the consumer printed no port: $(cat "$tmp/greet.out")"
echo "ok: consumer ran:"
sed 's/^/  /' "$tmp/greet.out"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
flags=$(pkg-config --cflags --libs scatter) || fail "pkg-config --cflags --libs scatter"
[ "$sanitize" = ON ] && [[ $flags != *-fsanitize=address* ]] && fail "scatter.pc lacks -fsanitize"
# shellcheck disable=SC2086 # the flags are words
step pkg-config-build "$cc" -Wall -Wextra -Werror "$here/pkgconfig_main.c" -o "$tmp/pc_main" $flags
timeout "$RUN_TIMEOUT_S" "$tmp/pc_main" || fail "the pkg-config program failed"

echo "PASS: packaging_test: installed, consumer built and served a fan-out, pkg-config works" \
	"($((SECONDS - t0)) s)"
