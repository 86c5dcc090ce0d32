#!/bin/bash
# The application caps must be counted in --stats, as every other cap is
# ("Hitting a cap degrades one flow: it is marked, logged once, counted").
# A line past LIMIT_LINE_BYTES_DEFAULT, an IMAP literal or BDAT chunk past
# LIMIT_LITERAL_BYTES_DEFAULT, and a TLS handshake that does not parse each
# mark their session and count in the "app" section of the stats record. A
# BDAT chunk past the literal cap also marks its session inconclusive, and
# the stderr form of --stats lists capture.files_damaged as the JSON record
# does.

source "$(dirname "$0")/lib.sh"
hostile_setup test_hostile_cap_counters

hostile_gen long_line "$work_dir/line.pcap" --size 100000
hostile_run line "$work_dir/line.pcap"
expect_status 0
expect_json --prefix --anomaly 40002=line_too_long --stat "app.lines_too_long>=1"

hostile_gen imap_literal "$work_dir/literal.pcap"
hostile_run literal "$work_dir/literal.pcap"
expect_status 0
expect_json --prefix --stat "app.literals_over_limit>=2"

hostile_gen bdat "$work_dir/bdat.pcap"
hostile_run bdat "$work_dir/bdat.pcap"
expect_status 0
expect_json --prefix --stat "app.literals_over_limit>=3"
# A BDAT chunk past the cap hides the rest of the stream just as an IMAP literal does.
if ! "$python" - "$run_json" <<'EOF'
import json, sys
sessions = {r["src_port"]: r for r in map(json.loads, open(sys.argv[1])) if r.get("event_type") == "session"}
bad = 0
for port in (40020, 40021):
    reason = sessions.get(port, {}).get("evidence", {}).get("inconclusive")
    print(f"  BDAT session {port}: inconclusive={reason!r}")
    bad += reason is None
sys.exit(bad)
EOF
then
    fail "BDAT chunks past the literal cap do not mark their session inconclusive (src/mail/smtp.c smtp_cmd_bdat)"
fi

# The stderr lines of --stats list the capture counters, but not files_damaged.
hostile_gen truncated "$work_dir/truncated.pcap"
hostile_run truncated "$work_dir/truncated.pcap"
expect_status 1
expect_json --prefix --stat "capture.files_damaged==1"
expect_stderr_stat "capture.files_damaged=1"

hostile_gen tls_garbage "$work_dir/tls_garbage.pcap"
hostile_run tls_garbage "$work_dir/tls_garbage.pcap"
expect_status 0
expect_json --prefix --stat "app.tls_handshakes_unparsable>=2"

hostile_finish
