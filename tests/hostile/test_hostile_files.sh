#!/bin/bash
# Damaged and unusual capture files: a pcap that ends in the middle of a
# packet, records whose caplen exceeds the snap length (by a little, and
# 2^31-1), and pcapng files with Ethernet, Linux cooked and raw IP
# interfaces. A damaged file must end with exit status 1, a counted
# capture.files_damaged, and every session before the damage reported.

source "$(dirname "$0")/lib.sh"
hostile_setup test_hostile_files

measure_baseline
echo "baseline peak RSS: $baseline_rss_kb KiB"
bound=$((baseline_rss_kb + 4096))

# ---- a pcap that ends in the middle of a packet ----
hostile_gen truncated "$work_dir/truncated.pcap"
hostile_run truncated "$work_dir/truncated.pcap"
expect_status 1
expect_rss_below "$bound" "baseline; nothing is held for a damaged record"
# 20 whole records (13 of the prefix session, 7 of the open one) come before the cut.
expect_json --prefix --stat "capture.files_damaged==1" --stat "capture.packets==20" \
    --anomaly 40040=starttls_not_offered
grep -q 'capture file damaged' "$work_dir/truncated.err" || fail "no 'capture file damaged' message on stderr"

# ---- caplen 70000 over a snap length of 65535 ----
# libpcap 1.10 accepts a record up to 262144 bytes whatever the file's snap length, so this is one odd packet, not damage.
hostile_gen caplen_over_snaplen "$work_dir/caplen.pcap"
hostile_run caplen "$work_dir/caplen.pcap"
expect_status 0
expect_rss_below "$bound" "baseline"
expect_json --prefix --stat "capture.other_packets==1" --stat "capture.files_damaged==0" \
    --anomaly 40050=starttls_not_offered

# ---- caplen 2^31-1 ----
hostile_gen caplen_huge "$work_dir/caplen_huge.pcap"
hostile_run caplen_huge "$work_dir/caplen_huge.pcap"
expect_status 1
expect_rss_below "$bound" "baseline; the announced length may not size an allocation"
expect_json --prefix --stat "capture.files_damaged==1" --anomaly 40051=starttls_not_offered

# ---- pcapng, each interface described just before its first packet ----
# libpcap 1.10 stops at an interface whose link type differs from the first
# one's (docs/LIMITATIONS.md), so the Ethernet session before it is reported
# and the two after it are lost.
hostile_gen pcapng_interfaces_late "$work_dir/pcapng_late.pcapng"
hostile_run pcapng_late "$work_dir/pcapng_late.pcapng"
expect_status 1
expect_rss_below "$bound" "baseline"
expect_json --prefix --stat "capture.files_damaged==1" --stat "capture.packets==13"

# ---- pcapng, all interfaces described first ----
# The same limit stops this file before its first packet: no session, a damaged file.
hostile_gen pcapng_interfaces "$work_dir/pcapng_first.pcapng"
hostile_run pcapng_first "$work_dir/pcapng_first.pcapng"
expect_status 1
expect_rss_below "$bound" "baseline"
expect_json --stat "capture.files_damaged==1" --stat "capture.packets==0"

hostile_finish
