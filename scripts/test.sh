#!/usr/bin/env bash
# Runs the whole test suite: a warnings-as-errors build, an ASan+UBSan build
# and an -DNDEBUG build, each with every ctest test, then each libFuzzer
# target for a short time (MAILTAP_FUZZ_SECONDS, default 20).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

jobs=$(nproc)
run_suite() {
	local dir=$1
	shift
	cmake -S . -B "$dir" -DMAILTAP_WERROR=ON "$@" >/dev/null
	cmake --build "$dir" -j"$jobs" >/dev/null
	ctest --test-dir "$dir" --output-on-failure -j"$jobs" -LE fuzz
}

echo "== release build (warnings as errors)"
run_suite build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== ASan + UBSan build"
run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DMAILTAP_SANITIZE=ON -DCMAKE_C_COMPILER=clang
echo "== NDEBUG build"
run_suite build-ndebug -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS=-DNDEBUG

echo "== fuzz smoke (libFuzzer + ASan + UBSan)"
cmake -S . -B build-fuzz -DMAILTAP_WERROR=ON -DCMAKE_BUILD_TYPE=Debug -DMAILTAP_SANITIZE=ON \
	-DMAILTAP_FUZZ=ON -DCMAKE_C_COMPILER=clang \
	-DMAILTAP_FUZZ_SECONDS="${MAILTAP_FUZZ_SECONDS:-20}" >/dev/null
cmake --build build-fuzz -j"$jobs" >/dev/null
ctest --test-dir build-fuzz --output-on-failure -j"$jobs" -L fuzz
