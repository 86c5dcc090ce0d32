#!/usr/bin/env bash
# Sends mailtap's alerts to a real rsyslogd, over UDP and then over TCP with
# octet counting, and checks what rsyslog parsed out of each RFC 5424
# message: VERSION, PRI, TIMESTAMP, APP-NAME, PROCID, MSGID, the
# STRUCTURED-DATA parameters and the MSG, which must be the alert's JSON
# line byte for byte. rsyslogd runs from a throwaway configuration that
# listens on 127.0.0.1 only and has no other inputs.
#
# Environment (set by ctest): MAILTAP, the binary; MAILTAP_SOURCE_DIR, the
# source tree with captures/ and rules/. Exit 77 means skipped.
set -u

if ! command -v rsyslogd >/dev/null 2>&1; then
	echo "skipped: rsyslogd not installed"
	exit 77
fi
if [ -z "${MAILTAP:-}" ] || [ ! -x "$MAILTAP" ]; then
	echo "FAIL: MAILTAP is not set to an executable mailtap binary (got '${MAILTAP:-}')"
	exit 1
fi
if [ -z "${MAILTAP_SOURCE_DIR:-}" ]; then
	echo "FAIL: MAILTAP_SOURCE_DIR is not set"
	exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "FAIL: python3 is needed to read rsyslog's output"
	exit 1
fi

rules="$MAILTAP_SOURCE_DIR/rules/default.yaml"
tmp=$(mktemp -d /tmp/mailtap-rsyslog-XXXXXX)
rsyslog_pid=""

cleanup() {
	if [ -n "$rsyslog_pid" ]; then
		kill "$rsyslog_pid" 2>/dev/null
		wait "$rsyslog_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	if [ -f "$tmp/rsyslogd.log" ] && [ -s "$tmp/rsyslogd.log" ]; then
		echo "--- rsyslogd output:"
		cat "$tmp/rsyslogd.log"
	fi
	exit 1
}

# Prints a port that is free on 127.0.0.1 for the given socket type (stream or dgram).
free_port() {
	python3 -c '
import socket, sys
kind = socket.SOCK_STREAM if sys.argv[1] == "stream" else socket.SOCK_DGRAM
s = socket.socket(socket.AF_INET, kind)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
' "$1"
}

# Counts the alert records in a JSON lines file.
count_alerts() {
	python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    if line.strip() and json.loads(line).get("event_type") == "alert":
        n += 1
print(n)
' "$1"
}

# Every project capture in one run, so the alerts cover each protocol, TLS and IPv6.
read_args=()
for capture in "$MAILTAP_SOURCE_DIR"/captures/*.pcap "$MAILTAP_SOURCE_DIR"/captures/*.pcapng; do
	[ -f "$capture" ] && read_args+=(-r "$capture")
done
[ "${#read_args[@]}" -gt 0 ] || fail "no capture found in $MAILTAP_SOURCE_DIR/captures"
echo "captures: $((${#read_args[@]} / 2))"

udp_port=$(free_port dgram)
tcp_port=$(free_port stream)
mkdir "$tmp/work"
cat >"$tmp/rsyslog.conf" <<EOF
global(workDirectory="$tmp/work" maxMessageSize="64k")
module(load="imudp")
module(load="imtcp")
template(name="mailtap_fields" type="list") {
  constant(value="{")
  property(name="inputname" format="jsonf" outname="input") constant(value=",")
  property(name="protocol-version" format="jsonf" outname="version") constant(value=",")
  property(name="pri" format="jsonf") constant(value=",")
  property(name="timereported" dateFormat="rfc3339" format="jsonf" outname="timestamp") constant(value=",")
  property(name="hostname" format="jsonf") constant(value=",")
  property(name="app-name" format="jsonf" outname="app_name") constant(value=",")
  property(name="procid" format="jsonf") constant(value=",")
  property(name="msgid" format="jsonf") constant(value=",")
  property(name="structured-data" format="jsonf" outname="sd") constant(value=",")
  property(name="msg" format="jsonf")
  constant(value="}\n")
}
ruleset(name="mailtap_test") {
  action(type="omfile" file="$tmp/received.jsonl" template="mailtap_fields")
}
input(type="imudp" address="127.0.0.1" port="$udp_port" ruleset="mailtap_test" rcvbufSize="8m")
input(type="imtcp" address="127.0.0.1" port="$tcp_port" ruleset="mailtap_test")
EOF

rsyslogd -n -f "$tmp/rsyslog.conf" -i "$tmp/rsyslogd.pid" >"$tmp/rsyslogd.log" 2>&1 &
rsyslog_pid=$!

# rsyslogd is ready when its TCP input accepts a connection.
ready=0
for _ in $(seq 1 100); do
	if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' \
		"$tcp_port" 2>/dev/null; then
		ready=1
		break
	fi
	kill -0 "$rsyslog_pid" 2>/dev/null || fail "rsyslogd exited at start-up"
	sleep 0.1
done
[ "$ready" = 1 ] || fail "rsyslogd did not open 127.0.0.1:$tcp_port within 10 s"

status=0
for transport in udp tcp; do
	port=$udp_port
	input=imudp
	if [ "$transport" = tcp ]; then
		port=$tcp_port
		input=imtcp
	fi
	if ! "$MAILTAP" "${read_args[@]}" --rules "$rules" --json "$tmp/$transport.json" \
		--syslog-server "$transport://127.0.0.1:$port" >"$tmp/$transport.out" 2>&1; then
		cat "$tmp/$transport.out"
		fail "mailtap exited with an error while sending to $transport://127.0.0.1:$port"
	fi
	expected=$(count_alerts "$tmp/$transport.json")

	# omfile writes after rsyslog's queue hands the batch over; wait up to 10 s for every alert.
	for _ in $(seq 1 100); do
		received=$(grep -c "\"input\":\"$input\"" "$tmp/received.jsonl" 2>/dev/null)
		[ "${received:-0}" -ge "$expected" ] && break
		sleep 0.1
	done

	if ! python3 - "$tmp/$transport.json" "$tmp/received.jsonl" "$input" <<'PYEOF'; then
import json
import re
import sys

alerts_path, received_path, input_name = sys.argv[1:4]
# RFC 5424 section 6.2.1 severities for mailtap's names; facility daemon (3) is the default.
severity_code = {"critical": 2, "high": 3, "medium": 4, "low": 5, "info": 6}
facility = 3

alerts = [line.rstrip("\n") for line in open(alerts_path, encoding="utf-8")
          if line.strip() and json.loads(line).get("event_type") == "alert"]
received = [json.loads(line) for line in open(received_path, encoding="utf-8")]
received = [r for r in received if r["input"] == input_name]
errors = []

def sd_params(sd):
    match = re.fullmatch(r'\[mailtap@32473((?: [a-z_]+="(?:[^"\\\]]|\\.)*")*)\]', sd)
    if match is None:
        return None
    pairs = re.findall(r' ([a-z_]+)="((?:[^"\\\]]|\\.)*)"', match.group(1))
    return {name: re.sub(r'\\(["\\\]])', r"\1", value) for name, value in pairs}

if not alerts:
    errors.append("mailtap wrote no alert")
if len(received) != len(alerts):
    errors.append(f"rsyslog received {len(received)} messages on {input_name}, mailtap wrote {len(alerts)} alerts")
by_msg = {}
for r in received:
    by_msg.setdefault(r["msg"], []).append(r)
for line in alerts:
    alert = json.loads(line)
    matches = by_msg.get(line)
    if not matches:
        errors.append(f"no message carries the alert line {line[:120]}...")
        continue
    r = matches.pop()
    a = alert["alert"]
    want_pri = str(facility * 8 + severity_code.get(a["severity"], 5))
    checks = [
        ("VERSION", r["version"], "1"),
        ("PRI", r["pri"], want_pri),
        ("APP-NAME", r["app_name"], "mailtap"),
        ("MSGID", r["msgid"], a["event"]),
        ("TIMESTAMP", r["timestamp"][:26], alert["timestamp"][:26]),
    ]
    if not r["procid"].isdigit():
        errors.append(f"PROCID {r['procid']!r} is not a process id")
    if r["hostname"] in ("", "-"):
        errors.append("HOSTNAME is empty")
    params = sd_params(r["sd"])
    if params is None:
        errors.append(f"STRUCTURED-DATA {r['sd']!r} is not one mailtap@32473 element")
        params = {}
    checks += [
        ("sid", params.get("sid"), str(a["signature_id"])),
        ("severity", params.get("severity"), a["severity"]),
        ("signature", params.get("signature"), a["signature"]),
        ("flow_id", params.get("flow_id"), str(alert["flow_id"])),
        ("src_ip", params.get("src_ip"), alert["src_ip"]),
        ("src_port", params.get("src_port"), str(alert["src_port"])),
        ("dest_ip", params.get("dest_ip"), alert["dest_ip"]),
        ("dest_port", params.get("dest_port"), str(alert["dest_port"])),
        ("app_proto", params.get("app_proto"), alert["app_proto"]),
    ]
    for name, got, want in checks:
        if got != want:
            errors.append(f"sid {a['signature_id']}: {name} is {got!r}, expected {want!r}")
def passwords(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "password":
                yield item
            else:
                yield from passwords(item)
    elif isinstance(value, list):
        for item in value:
            yield from passwords(item)

# Without --reveal-credentials no password may reach the collector.
for r in received:
    for password in passwords(json.loads(r["msg"])):
        if password != "<redacted>":
            errors.append(f"a password reached the collector in {r['msgid']}")
for e in errors:
    print(f"  {input_name}: {e}")
print(f"{input_name}: {len(alerts)} alerts, {len(received)} messages, {len(errors)} problems")
sys.exit(1 if errors else 0)
PYEOF
		status=1
	fi
done

[ "$status" = 0 ] || fail "rsyslog did not receive the alerts as sent"
echo "PASS: rsyslog parsed every alert over UDP and TCP"
