#!/usr/bin/env bash
# mail.capabilities of every POP3 and IMAP session in the project captures
# and, when present, the public captures matches the last capability list
# tshark shows in clear (see check_capabilities.py).
#
# ctest sets MAILTAP (the binary) and MAILTAP_SOURCE_DIR.
set -euo pipefail
source_dir=${MAILTAP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
shared=${MAILTAP_SHARED_CAPTURES:-$source_dir/../shared/captures/public}

if [ -z "${MAILTAP:-}" ] || [ ! -x "$MAILTAP" ]; then
	echo "test_capabilities: MAILTAP is not set to the mailtap binary; run through ctest or build mailtap first" >&2
	exit 1
fi
if ! command -v tshark >/dev/null; then
	echo "skipped: tshark is not installed (Debian package tshark)"
	exit 77
fi

captures=("$source_dir"/captures/pop3*.pcap "$source_dir"/captures/imap*.pcap)
if [ -d "$shared" ]; then
	captures+=("$shared")
else
	echo "note: no public captures at $shared; checking the project captures only"
fi
exec python3 "$source_dir/tests/captures/check_capabilities.py" "$MAILTAP" "${captures[@]}"
