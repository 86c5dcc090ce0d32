#!/bin/bash
# Counts the instructions mailtap executes per packet under callgrind, a
# number that stays put on a noisy or shared machine where wall time does
# not. Writes a small capture with gen_capture.py (unless FILE is given),
# runs mailtap once under valgrind --tool=callgrind with the default rules,
# and prints the total, the count per packet, the pipeline stages
# (inclusive) and the top functions (exclusive), so two builds can be
# compared on the same capture.
#
# usage: bench/callgrind.sh [-m MAILTAP] [-s SIZE] [-o OUTDIR] [FILE]
#   SIZE  capture size for gen_capture.py (default 20m, about 60k packets)
#   OUTDIR where the capture and callgrind.out.mailtap go (default a temporary directory)
set -euo pipefail

src_dir=$(cd "$(dirname "$0")/.." && pwd)
mailtap=${MAILTAP:-$src_dir/build/mailtap}
size=20m
outdir=

while getopts "m:s:o:" opt; do
	case $opt in
	m) mailtap=$OPTARG ;;
	s) size=$OPTARG ;;
	o) outdir=$OPTARG ;;
	*) echo "usage: $0 [-m MAILTAP] [-s SIZE] [-o OUTDIR] [FILE]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
for tool in "$mailtap" valgrind callgrind_annotate python3; do
	if ! command -v "$tool" >/dev/null; then
		echo "callgrind.sh: $tool not found" >&2
		exit 2
	fi
done
if [ -z "$outdir" ]; then
	outdir=$(mktemp -d "${TMPDIR:-/tmp}/mailtap-callgrind.XXXXXX")
fi
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

if [ $# -ge 1 ]; then
	file=$1
else
	file=$outdir/callgrind-$size.pcap
	python3 "$src_dir/bench/gen_capture.py" -o "$file" --size "$size" --seed 7
fi

out=$outdir/callgrind.out.mailtap
valgrind --tool=callgrind --callgrind-out-file="$out" "$mailtap" -r "$file" \
	--rules "$src_dir/rules/default.yaml" --json "$outdir/mailtap.json" --stats 2>"$outdir/valgrind.log"

packets=$(sed -n 's/^capture.packets=//p' "$outdir/valgrind.log")
total=$(sed -n 's/^summary: //p' "$out")
echo "file=$file packets=$packets instructions=$total per_packet=$((total / packets))"
echo "pipeline stages (inclusive, instructions per packet):"
(cd / && callgrind_annotate --inclusive=yes --threshold=100 "$out") 2>/dev/null | python3 -c '
import re
import sys

stages = ("sensor_new", "capture_next", "decoder_decode", "flow_table_process", "classifier_feed",
          "reasm_stream_add", "app_analyzer_data", "tls_parser_feed", "tls_cert_parse_message",
          "flow_table_flush_next", "sensor_on_session_end", "session_emit", "history_apply",
          "outputs_write_session", "outputs_write_alert", "rule_render_message", "rule_set_match")
best = {}
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) \(.*?\)\s+\S*:(\w+) \[", line)
    if m and m.group(2) in stages:
        best[m.group(2)] = max(best.get(m.group(2), 0), int(m.group(1).replace(",", "")))
for name, count in sorted(best.items(), key=lambda item: -item[1]):
    print(f"  {count / int(sys.argv[1]):10.0f}  {name}")
' "$packets"
echo "top functions (exclusive):"
callgrind_annotate "$out" 2>/dev/null | sed -n '/^Ir/,$p' | grep -E '^ *[0-9,]+ \(' | sed -n '2,26p'
echo "callgrind output: $out"
