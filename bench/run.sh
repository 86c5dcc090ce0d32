#!/bin/bash
# Times mailtap against the libpcap baselines, ndpiReader and tshark on one
# capture file: a warm-up pass, then ROUNDS interleaved rounds (each round
# runs every tool once, so drift on a shared machine hits all of them).
# Prints per tool the median wall time and the median CPU time (user +
# system, which other load on a shared machine disturbs less). For both it
# gives packets/s and the ratio to the 1 MiB-buffer libpcap loop, then the
# median peak RSS. CPU time and RSS come from /usr/bin/time -v.
#
# tshark is about a thousand times slower than the loop, so it reads the
# first TSHARK_PACKETS packets of FILE (cut with editcap) and is compared
# by packet rate.
#
# usage: bench/run.sh [-n ROUNDS] [-t TSHARK_PACKETS] [-m MAILTAP] [-b BASELINE] FILE
set -euo pipefail

src_dir=$(cd "$(dirname "$0")/.." && pwd)
rounds=5
tshark_packets=200000
mailtap=${MAILTAP:-$src_dir/build/mailtap}
baseline=${BASELINE:-$src_dir/build-bench-tools/baseline_read}

while getopts "n:t:m:b:" opt; do
	case $opt in
	n) rounds=$OPTARG ;;
	t) tshark_packets=$OPTARG ;;
	m) mailtap=$OPTARG ;;
	b) baseline=$OPTARG ;;
	*) echo "usage: $0 [-n ROUNDS] [-t TSHARK_PACKETS] [-m MAILTAP] [-b BASELINE] FILE" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -ne 1 ]; then
	echo "usage: $0 [-n ROUNDS] [-t TSHARK_PACKETS] [-m MAILTAP] [-b BASELINE] FILE" >&2
	exit 2
fi
file=$1
for tool in "$mailtap" "$baseline" /usr/bin/time ndpiReader tshark editcap python3; do
	if ! command -v "$tool" >/dev/null; then
		echo "run.sh: $tool not found (build bench/ and mailtap first, see docs/benchmarks.md)" >&2
		exit 2
	fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/mailtap-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
results=$work/results.txt

packets=$("$baseline" buffered "$file" | sed -n 's/.*packets=\([0-9]*\).*/\1/p')
slice=$work/tshark-slice.pcap
editcap -r "$file" "$slice" "1-$tshark_packets" 2>/dev/null
slice_packets=$("$baseline" buffered "$slice" | sed -n 's/.*packets=\([0-9]*\).*/\1/p')

# run_tool NAME PACKETS ROUND COMMAND...: runs COMMAND with stdout discarded
# and appends "NAME PACKETS ROUND WALL_USEC CPU_SECONDS MAX_RSS_KB" to the results.
run_tool() {
	local name=$1 count=$2 round=$3
	shift 3
	local start end rss user sys
	start=$(date +%s%N)
	if ! /usr/bin/time -v -o "$work/time.txt" "$@" >/dev/null 2>"$work/stderr.txt"; then
		echo "run.sh: $name failed:" >&2
		cat "$work/stderr.txt" >&2
		exit 1
	fi
	end=$(date +%s%N)
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
	user=$(sed -n 's/.*User time (seconds): //p' "$work/time.txt")
	sys=$(sed -n 's/.*System time (seconds): //p' "$work/time.txt")
	echo "$name $count $round $(((end - start) / 1000)) $user+$sys $rss" >>"$results"
}

run_round() {
	local round=$1
	run_tool baseline_buffered "$packets" "$round" "$baseline" buffered "$file"
	run_tool baseline_plain "$packets" "$round" "$baseline" plain "$file"
	run_tool mailtap "$packets" "$round" "$mailtap" -r "$file" --rules "$src_dir/rules/default.yaml" \
		--json "$work/mailtap.json"
	run_tool ndpiReader "$packets" "$round" ndpiReader -q -i "$file"
	run_tool tshark_slice "$slice_packets" "$round" tshark -r "$slice" -Y 'smtp or imap or pop or tls' \
		-T fields -e frame.number
}

echo "file=$file packets=$packets bytes=$(stat -c %s "$file") rounds=$rounds tshark_slice_packets=$slice_packets"
run_round warmup
: >"$results"
for round in $(seq 1 "$rounds"); do
	run_round "$round"
done

python3 - "$results" <<'EOF'
import statistics
import sys

rows = {}
for line in open(sys.argv[1]):
    name, packets, _round, usec, cpu, rss = line.split()
    user, system = cpu.split("+")
    rows.setdefault(name, []).append((int(packets), int(usec) / 1e6, float(user) + float(system), int(rss)))


def rate(name, column):
    return rows[name][0][0] / max(1e-6, statistics.median(r[column] for r in rows[name]))


print(f"{'tool':<18} {'packets':>9} {'wall s':>7} {'min':>6} {'max':>6} {'cpu s':>7} {'packets/s':>10} "
      f"{'vs loop':>7} {'cpu pkt/s':>10} {'vs loop':>7} {'RSS MB':>7}")
for name, runs in rows.items():
    wall = [r[1] for r in runs]
    cpu = statistics.median(r[2] for r in runs)
    rss = statistics.median(r[3] for r in runs) / 1024
    print(f"{name:<18} {runs[0][0]:>9} {statistics.median(wall):>7.2f} {min(wall):>6.2f} {max(wall):>6.2f} "
          f"{cpu:>7.2f} {rate(name, 1):>10.0f} {rate(name, 1) / rate('baseline_buffered', 1):>7.3f} "
          f"{rate(name, 2):>10.0f} {rate(name, 2) / rate('baseline_buffered', 2):>7.3f} {rss:>7.1f}")
for column, label in ((1, "wall"), (2, "cpu")):
    print(f"{label}: mailtap/ndpiReader packet rate {rate('mailtap', column) / rate('ndpiReader', column):.2f}x, "
          f"mailtap/tshark packet rate {rate('mailtap', column) / rate('tshark_slice', column):.1f}x")
EOF
