#!/usr/bin/env bash
# TLS fields of every handshake in the public captures match tshark's dissection.
set -euo pipefail
shared=${MAILTAP_SHARED_CAPTURES:-$MAILTAP_SOURCE_DIR/../shared/captures/public}
if [ ! -d "$shared" ]; then
	echo "skipped: no public captures at $shared (set MAILTAP_SHARED_CAPTURES)"
	exit 77
fi
if ! command -v tshark >/dev/null; then
	echo "skipped: tshark not installed"
	exit 77
fi
python3 "$MAILTAP_SOURCE_DIR/tests/captures/check_shared_tls.py" "$MAILTAP" "$shared" \
	"$MAILTAP_SOURCE_DIR/src/tls/data/tls-parameters-4.csv"
