#!/bin/bash
# Hostile traffic against the flow table, TCP reassembly and the link and
# IP decoders: a SYN flood past --max-flows, 100k out-of-order segments in
# one flow, 300 flows that pass the total reassembly cap together, 100
# nested VLAN tags, 100 MPLS labels, 100 IPv6 extension headers, and
# overlapping IPv4 fragments that never complete. Each case checks the exit
# status, peak RSS against a bound derived from the caps in
# src/core/limits.h, the exact --stats counter of the cap, and the prefix
# SMTP session written before the hostile part (see hostile_gen.py).
#
# Sizes: HOSTILE_SYN_COUNT (default 1000000, 200000 in a sanitizer build),
# HOSTILE_OOO_SEGMENTS (default 100000 in both) and HOSTILE_OOO_FLOWS
# (default 300 in both, which queue 75 MiB against the 64 MiB total cap).

source "$(dirname "$0")/lib.sh"
hostile_setup test_hostile_flows

measure_baseline
echo "baseline peak RSS: $baseline_rss_kb KiB"

# ---- SYN flood: RSS must stay flat once the table is full ----
max_flows=100000
syn_count=${HOSTILE_SYN_COUNT:-$(scaled 1000000 200000)}
hostile_gen syn_flood "$work_dir/syn_full.pcap" --count "$max_flows"
hostile_gen syn_flood "$work_dir/syn_flood.pcap" --count "$syn_count"
# A SYN-only flow writes a session record of ~600 bytes; keep only the prefix session and the stats.
keep='"event_type":"stats"|"src_port":40000,'
hostile_run_filtered syn_full "$work_dir/syn_full.pcap" "$keep" --max-flows "$max_flows"
expect_status 0
full_rss_kb=$run_rss_kb
hostile_run_filtered syn_flood "$work_dir/syn_flood.pcap" "$keep" --max-flows "$max_flows"
expect_status 0
# Flat: the flood may not hold more than the run that merely fills the table (10% and 16 MiB of slack).
expect_rss_below $((full_rss_kb + full_rss_kb / 10 + 16384)) "RSS with the table just full was $full_rss_kb KiB"
# Absolute: the measured cost is about 1.1 KiB per flow (release build); allow 2 KiB, 4 KiB under a sanitizer.
per_flow_kb=$(scaled 2 4)
expect_rss_below $((baseline_rss_kb + max_flows * per_flow_kb)) "baseline plus $max_flows flows at $per_flow_kb KiB"
expect_json --prefix --stat "flow.evicted==$((syn_count - max_flows))" --stat "flow.max_active<=$max_flows" \
    --stat "flow.created==$((syn_count + 1))"
expect_stderr_stat "flow.evicted=$((syn_count - max_flows))"

# ---- out-of-order segments behind a hole that never fills ----
ooo=${HOSTILE_OOO_SEGMENTS:-100000}
hostile_gen out_of_order "$work_dir/ooo.pcap" --count "$ooo"
hostile_run ooo "$work_dir/ooo.pcap"
expect_status 0
# One stream queues at most 256 KiB in 1024 segments, so 8 MiB covers that and the queue nodes.
expect_rss_below $((baseline_rss_kb + 8192)) "baseline plus one stream's reassembly cap"
expect_json --prefix --stat "reassembly.drops_segment_cap>=1" --stat "reassembly.gaps>=1" \
    --anomaly 40001=reassembly_limit --anomaly 40001=tcp_gap
grep -q '^reassembly.drops_segment_cap=[1-9]' "$work_dir/ooo.err" || fail "no reassembly.drops_segment_cap line on stderr"

# ---- many flows queueing out of order: the 64 MiB total cap ----
ooo_flows=${HOSTILE_OOO_FLOWS:-300}
hostile_gen out_of_order_flows "$work_dir/ooo_flows.pcap" --count "$ooo_flows"
hostile_run ooo_flows "$work_dir/ooo_flows.pcap"
expect_status 0
# 64 MiB of queued bytes (LIMIT_REASM_TOTAL_BYTES_DEFAULT) plus 16 MiB for queue nodes; a sanitizer
# build adds redzones to every 1.4 KiB segment, so there the queued bytes may take twice their size.
reasm_kb=$((64 * 1024 * $(scaled 1 2) + 16384))
expect_rss_below $((baseline_rss_kb + reasm_kb)) "baseline plus the 64 MiB total reassembly cap"
expect_json --prefix --stat "reassembly.drops_global_cap>=1" --stat "flow.max_active==$((ooo_flows + 1))" \
    --stat "flow.sessions==$((ooo_flows + 1))"

# ---- 100 nested VLAN tags ----
hostile_gen vlan_nested "$work_dir/vlan.pcap"
hostile_run vlan "$work_dir/vlan.pcap"
expect_status 0
expect_rss_below $((baseline_rss_kb + 4096)) "nothing is held for a dropped packet"
# 50 packets with 100 tags and 5 with 9 pass the cap of 8 (LIMIT_VLAN_DEPTH); the 5 with 8 tags are decoded.
expect_json --prefix --stat "decoder.vlan_too_deep==55" --stat "flow.created==6"
expect_stderr_stat "decoder.vlan_too_deep=55"

# ---- 100 MPLS labels and 100 IPv6 extension headers ----
hostile_gen deep_headers "$work_dir/deep.pcap"
hostile_run deep "$work_dir/deep.pcap"
expect_status 0
expect_rss_below $((baseline_rss_kb + 4096)) "nothing is held for a dropped packet"
# 20 packets of each pass the caps of 8 (LIMIT_MPLS_DEPTH, LIMIT_IPV6_EXT_HEADERS).
expect_json --prefix --stat "decoder.mpls_too_deep==20" --stat "decoder.ipv6_ext_too_many==20" \
    --stat "capture.malformed_packets==40" --stat "flow.created==1"

# ---- overlapping IPv4 fragments that never complete ----
frag_count=5000
hostile_gen frag_overlap "$work_dir/frag.pcap" --count "$frag_count"
hostile_run frag "$work_dir/frag.pcap"
expect_status 0
# The fragment table keeps at most 16 MiB (LIMIT_IP_FRAG_TOTAL_BYTES) in 4096 datagrams.
expect_rss_below $((baseline_rss_kb + 16384 + 4096)) "baseline plus the 16 MiB fragment cap"
# 5000 datagrams against 4096 slots: 904 evicted, the other 4096 time out 40 s later.
expect_json --prefix --stat "decoder.frag_overlap_conflict==$frag_count" \
    --stat "decoder.frag_evicted==$((frag_count - 4096))" --stat "decoder.frag_timeout==4096"
expect_stderr_stat "decoder.frag_evicted=$((frag_count - 4096))"

hostile_finish
