#!/bin/bash
# Non-mail protocols on every mail port (25, 465, 587, 110, 995, 143, 993,
# 2525): 4 KiB of random bytes, an HTTP/1.1 exchange and a Redis RESP
# exchange on each. No session may report credentials; a session nDPI
# names as another protocol carries that name in detected_protocol, the
# anomaly non_mail_protocol and the counter flow.non_mail_on_mail_port;
# clear text on an implicit-TLS port carries plaintext_on_tls_port.

source "$(dirname "$0")/lib.sh"
hostile_setup test_hostile_ports

measure_baseline
hostile_gen non_mail "$work_dir/non_mail.pcap"
hostile_run non_mail "$work_dir/non_mail.pcap"
expect_status 0
expect_rss_below $((baseline_rss_kb + 4096)) "baseline; 24 short sessions"
# nDPI 4.2 names the Redis exchange on all 8 ports (the HTTP one only where no mail analyzer claims it first).
expect_json --prefix --sessions-min 25 --stat "flow.non_mail_on_mail_port>=8"

if ! "$python" - "$run_json" <<'EOF'
import json, sys
sessions = [r for r in map(json.loads, open(sys.argv[1]))
            if r.get("event_type") == "session" and r.get("src_port", 0) >= 43000]
bad = 0
def failed(message):
    global bad
    print("  FAILED: " + message)
    bad += 1

ports = sorted({s["dest_port"] for s in sessions})
if ports != [25, 110, 143, 465, 587, 993, 995, 2525]:
    failed(f"sessions on ports {ports}, expected all 8 mail ports")
for s in sessions:
    where = f"session {s['src_port']} to port {s['dest_port']}"
    if s.get("auth"):
        failed(f"{where} reports credentials: {s['auth']!r}")
    name = s.get("detected_protocol")
    if name is not None and "non_mail_protocol" not in s.get("anomalies", []):
        failed(f"{where}: detected_protocol {name!r} without the anomaly non_mail_protocol "
               f"(anomalies {s.get('anomalies')!r})")
# Random bytes and HTTP (the first two sessions of each port) are clear text that is not TLS.
for s in sessions:
    if s["dest_port"] in (465, 993, 995) and (s["src_port"] - 43000) % 3 in (0, 1):
        if "plaintext_on_tls_port" not in s.get("anomalies", []):
            failed(f"session {s['src_port']} to port {s['dest_port']}: plaintext_on_tls_port missing")
print(f"  {len(sessions)} non-mail sessions checked, {bad} failure(s)")
sys.exit(min(bad, 100))
EOF
then
    fail "non-mail sessions"
fi

hostile_finish
