#!/usr/bin/env bash
# --workers 3 gives the same records as one thread on each project capture
# and (when present) each public capture, read one file per run: same
# sessions, alerts and fields. Across files of one run, history verdicts
# and per-server rule thresholds may differ (see mailtap(8), --workers).
set -euo pipefail
shared=${MAILTAP_SHARED_CAPTURES:-$MAILTAP_SOURCE_DIR/../shared/captures/public}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

files=("$MAILTAP_SOURCE_DIR"/captures/*.pcap)
if [ -d "$shared" ]; then
	while IFS= read -r f; do files+=("$f"); done < <(find "$shared" -name '*.pcap' -o -name '*.pcapng' | sort)
fi

sorted_records() {
	python3 -c 'import json, sys
print("\n".join(sorted(json.dumps(json.loads(line), sort_keys=True) for line in sys.stdin)))'
}

compared=0
for f in "${files[@]}"; do
	"$MAILTAP" -r "$f" --ports tls=443 --json - | sorted_records >"$work/one"
	"$MAILTAP" -r "$f" --ports tls=443 --workers 3 --json - | sorted_records >"$work/three"
	if ! cmp -s "$work/one" "$work/three"; then
		echo "FAIL: $f: records differ between 1 and 3 workers"
		diff "$work/one" "$work/three" | head -20
		exit 1
	fi
	compared=$((compared + 1))
done
if [ "$compared" -eq 0 ]; then
	echo "FAIL: no capture compared"
	exit 1
fi
echo "$compared captures: identical records with 1 and 3 workers"
