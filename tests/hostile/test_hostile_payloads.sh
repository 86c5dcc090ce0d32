#!/bin/bash
# Hostile application payloads: a line without a line ending, IMAP literal
# sizes of 2^32-1 and past 2^64, BDAT sizes of 2^63 and past 2^64, a TLS
# record of 0xFFFF garbage bytes, and ClientHello, ServerHello and
# Certificate messages whose inner lengths lie, on an implicit-TLS port
# and after an accepted STARTTLS. Each case checks the exit status, peak
# RSS against the line, literal and handshake caps, the mark on the hostile
# session, and the prefix SMTP session written before it. The --stats
# counters these caps lack are checked by test_hostile_cap_counters.sh.
#
# Size: HOSTILE_LINE_BYTES (default 10485760 in both builds).

source "$(dirname "$0")/lib.sh"
hostile_setup test_hostile_payloads

measure_baseline
echo "baseline peak RSS: $baseline_rss_kb KiB"

# ---- a 10 MB line without a line ending ----
line_bytes=${HOSTILE_LINE_BYTES:-10485760}
hostile_gen long_line "$work_dir/line.pcap" --size "$line_bytes"
hostile_run line "$work_dir/line.pcap"
expect_status 0
# A line is kept up to 8 KiB (LIMIT_LINE_BYTES_DEFAULT); 4 MiB of slack covers allocator noise, not the line.
expect_rss_below $((baseline_rss_kb + 4096)) "baseline; the line may not be buffered whole"
expect_json --prefix --anomaly 40002=line_too_long

# ---- IMAP literals of 2^32-1 bytes and sizes that overflow 64 bits ----
hostile_gen imap_literal "$work_dir/literal.pcap"
hostile_run literal "$work_dir/literal.pcap"
expect_status 0
expect_rss_below $((baseline_rss_kb + 4096)) "literals are counted, never stored"
expect_json --prefix --sessions-min 5
if ! "$python" - "$run_json" <<'EOF'
import json, sys
sessions = {r["src_port"]: r for r in map(json.loads, open(sys.argv[1])) if r.get("event_type") == "session"}
bad = 0
# Past the 64 MiB literal cap (LIMIT_LITERAL_BYTES_DEFAULT) the rest of the stream is hidden, so the verdicts are marked.
for port in (40010, 40011):
    reason = sessions.get(port, {}).get("evidence", {}).get("inconclusive")
    print(f"  literal session {port}: inconclusive={reason!r}")
    bad += reason is None
# A size that overflows is not a literal: no credential may come out of the bytes that follow.
for port in (40010, 40011, 40012, 40013):
    if sessions.get(port, {}).get("auth"):
        print(f"  FAILED: session {port} reports credentials from literal bytes: {sessions[port]['auth']!r}")
        bad += 1
sys.exit(bad)
EOF
then
    fail "IMAP literal sessions"
fi

# ---- BDAT chunk sizes of 2^63, 2^64-1 and 2^64 ----
hostile_gen bdat "$work_dir/bdat.pcap"
hostile_run bdat "$work_dir/bdat.pcap"
expect_status 0
expect_rss_below $((baseline_rss_kb + 4096)) "BDAT chunks are counted, never stored"
expect_json --prefix --sessions-min 4 --anomaly 40020=starttls_not_offered --anomaly 40021=starttls_not_offered \
    --anomaly 40022=starttls_not_offered

# ---- a TLS record of 0xFFFF garbage bytes on 465 and 993 ----
hostile_gen tls_garbage "$work_dir/tls_garbage.pcap"
hostile_run tls_garbage "$work_dir/tls_garbage.pcap"
expect_status 0
# A handshake message is buffered up to 128 KiB (LIMIT_TLS_HANDSHAKE_BYTES) per direction.
expect_rss_below $((baseline_rss_kb + 4096)) "baseline plus the 128 KiB handshake buffer"
expect_json --prefix --sessions-min 3

# ---- ClientHellos whose inner lengths lie ----
hostile_gen tls_lying_hello "$work_dir/tls_lying.pcap"
hostile_run tls_lying "$work_dir/tls_lying.pcap"
expect_status 0
expect_rss_below $((baseline_rss_kb + 4096)) "baseline plus the 128 KiB handshake buffer"
expect_json --prefix --sessions-min 14
if ! "$python" - "$run_json" <<'EOF'
import json, sys
sessions = [r for r in map(json.loads, open(sys.argv[1]))
            if r.get("event_type") == "session" and r.get("dest_port") == 465]
bad = 0
for s in sessions:
    # A hello that does not parse must not yield hello fields built from the lying lengths.
    tls = s.get("tls", {})
    if tls.get("sni") not in (None, "mail.example.test"):
        print(f"  FAILED: session {s['src_port']}: sni {tls.get('sni')!r} read past a length")
        bad += 1
marked = sum(1 for s in sessions if s.get("evidence", {}).get("inconclusive"))
print(f"  {marked} of {len(sessions)} lying hellos marked inconclusive")
sys.exit(bad)
EOF
then
    fail "lying ClientHello sessions"
fi

# ---- ServerHello and Certificate messages whose inner lengths lie ----
measure_certificate_baseline
echo "certificate baseline peak RSS: $cert_baseline_rss_kb KiB"
hostile_gen tls_lying_server "$work_dir/tls_lying_server.pcap"
hostile_run tls_lying_server "$work_dir/tls_lying_server.pcap"
expect_status 0
expect_rss_below $((cert_baseline_rss_kb + 4096)) "a run that loads the trust store, plus the 128 KiB handshake buffer"
expect_json --prefix --sessions-min 8
if ! "$python" - "$run_json" <<'EOF'
import json, sys
sessions = {r["src_port"]: r for r in map(json.loads, open(sys.argv[1])) if r.get("event_type") == "session"}
bad = 0
for port in range(40200, 40207):
    s = sessions.get(port, {})
    reason = s.get("evidence", {}).get("inconclusive")
    certificate = s.get("tls", {}).get("certificate")
    print(f"  server flight {port}: inconclusive={reason!r}")
    # A Certificate message that does not parse may not produce a certificate verdict.
    if reason is None or isinstance(certificate, dict):
        print(f"  FAILED: session {port}: inconclusive={reason!r}, certificate={certificate!r}")
        bad += 1
sys.exit(bad)
EOF
then
    fail "lying server flights"
fi

# ---- the same hostile TLS bytes after an accepted STARTTLS (SMTP and IMAP) ----
hostile_gen starttls_garbage "$work_dir/starttls_garbage.pcap"
hostile_run starttls_garbage "$work_dir/starttls_garbage.pcap"
expect_status 0
expect_rss_below $((baseline_rss_kb + 4096)) "baseline plus the 128 KiB handshake buffer"
expect_json --prefix --sessions-min 5
if ! "$python" - "$run_json" <<'EOF'
import json, sys
sessions = {r["src_port"]: r for r in map(json.loads, open(sys.argv[1])) if r.get("event_type") == "session"}
bad = 0
for port in (40070, 40071, 40080, 40081):
    s = sessions.get(port, {})
    attempted = s.get("starttls", {}).get("attempted")
    reason = s.get("evidence", {}).get("inconclusive")
    print(f"  STARTTLS session {port}: attempted={attempted!r} inconclusive={reason!r}")
    # The handshake bytes lie, so no verdict on them may stand unmarked.
    bad += attempted is not True or reason is None
sys.exit(bad)
EOF
then
    fail "hostile TLS bytes after STARTTLS"
fi

hostile_finish
