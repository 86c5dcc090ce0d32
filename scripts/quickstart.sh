#!/usr/bin/env bash
# Installs the dependencies, builds mailtap and runs it on a bundled capture
# with the default rules, printing the readable summary.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
echo "quickstart: running build/mailtap on captures/smtp-auth-plain-ipv4.pcap" >&2
build/mailtap --rules rules/default.yaml -r captures/smtp-auth-plain-ipv4.pcap --text
