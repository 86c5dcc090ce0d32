#!/usr/bin/env bash
# Session records on the public captures match the connections tshark shows.
set -euo pipefail
shared=${MAILTAP_SHARED_CAPTURES:-$MAILTAP_SOURCE_DIR/../shared/captures/public}
if [ ! -d "$shared" ]; then
	echo "skipped: no public captures at $shared (set MAILTAP_SHARED_CAPTURES)"
	exit 77
fi
exec python3 "$MAILTAP_SOURCE_DIR/tests/captures/check_shared_sessions.py" \
	"$MAILTAP" "$shared" "$MAILTAP_SOURCE_DIR/tests/captures/shared_expected.tsv"
