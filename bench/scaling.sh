#!/bin/bash
# Measures how mailtap's cost per packet changes with the number of
# concurrent flows, and its peak RSS under a SYN flood.
#
# For each N in FLOWS it writes two captures with gen_capture.py: N
# implicit-TLS flows set up (--rounds 0), and the same plus DATA_PACKETS
# data segments spread over the N flows. The cost of one data packet is the
# difference of the two runs divided by DATA_PACKETS, from the minimum wall
# and user CPU time of RUNS runs of each file. It then reads one SYN each
# from HALF_OPEN sources with several --max-flows caps and prints the peak
# RSS. The captures stay in DIR (about 3.5 GB for the defaults).
#
# usage: bench/scaling.sh [-m MAILTAP] [-n RUNS] [-f "1000 100000 1000000"] [-d DATA_PACKETS] [-s HALF_OPEN] DIR
set -euo pipefail

src_dir=$(cd "$(dirname "$0")/.." && pwd)
mailtap=${MAILTAP:-$src_dir/build/mailtap}
runs=3
flows="1000 100000 1000000"
data_packets=2000000
half_open=1000000

while getopts "m:n:f:d:s:" opt; do
	case $opt in
	m) mailtap=$OPTARG ;;
	n) runs=$OPTARG ;;
	f) flows=$OPTARG ;;
	d) data_packets=$OPTARG ;;
	s) half_open=$OPTARG ;;
	*) echo "usage: $0 [-m MAILTAP] [-n RUNS] [-f FLOWS] [-d DATA_PACKETS] [-s HALF_OPEN] DIR" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -ne 1 ]; then
	echo "usage: $0 [-m MAILTAP] [-n RUNS] [-f FLOWS] [-d DATA_PACKETS] [-s HALF_OPEN] DIR" >&2
	exit 2
fi
dir=$1
mkdir -p "$dir"
gen="python3 $src_dir/bench/gen_capture.py"

# measure FILE [OPTIONS...]: prints "WALL USER MAX_RSS_KB" of the fastest of $runs runs.
measure() {
	local file=$1
	shift
	for _ in $(seq 1 "$runs"); do
		/usr/bin/time -f "%e %U %M" -o "$dir/time.txt" "$mailtap" -r "$file" \
			--rules "$src_dir/rules/default.yaml" --json /dev/null "$@"
		cat "$dir/time.txt"
	done | sort -n | head -1
}

printf "%10s %10s %10s %12s %12s %10s\n" flows "setup s" "total s" "ns/pkt wall" "ns/pkt user" "RSS MB"
for n in $flows; do
	rounds=$((data_packets / n))
	setup=$dir/conc-$n-r0.pcap
	full=$dir/conc-$n-r$rounds.pcap
	[ -f "$setup" ] || $gen -o "$setup" --concurrent "$n" --rounds 0 2>/dev/null
	[ -f "$full" ] || $gen -o "$full" --concurrent "$n" --rounds "$rounds" 2>/dev/null
	read -r setup_wall setup_user _ < <(measure "$setup")
	read -r full_wall full_user full_rss < <(measure "$full")
	python3 -c 'import sys
n, sw, su, fw, fu, rss, packets = sys.argv[1:]
packets = int(n) * (int(packets) // int(n))
print(f"{int(n):>10} {float(sw):>10.2f} {float(fw):>10.2f} {(float(fw) - float(sw)) * 1e9 / packets:>12.0f} "
      f"{(float(fu) - float(su)) * 1e9 / packets:>12.0f} {int(rss) / 1024:>10.0f}")' \
		"$n" "$setup_wall" "$setup_user" "$full_wall" "$full_user" "$full_rss" "$data_packets"
done

flood=$dir/half-open-$half_open.pcap
[ -f "$flood" ] || $gen -o "$flood" --half-open "$half_open" 2>/dev/null
printf "\n%12s %10s %10s\n" max-flows "wall s" "RSS MB"
for cap in "$half_open" $((half_open / 10)) $((half_open / 100)); do
	read -r wall _ rss < <(measure "$flood" --max-flows "$cap")
	printf "%12s %10.2f %10.0f\n" "$cap" "$wall" "$((rss / 1024))"
done
rm -f "$dir/time.txt"
