#!/usr/bin/env bash
# Two mailtap processes share one interface through PACKET_FANOUT (--fanout
# 42). An SMTP server runs in a network namespace made by this test, and 20
# client sessions come from distinct source ports on the host side of a veth
# pair. Both mailtap processes sniff the host end until SIGTERM. The test
# checks that every session is reported exactly once across the two JSON
# outputs, whole (both directions, STARTTLS or AUTH seen), and that both
# processes got some.
#
# Traffic stays between the veth ends (198.18.78.0/24, from the benchmarking
# range of RFC 2544). Needs root and `ip netns`; skipped (77) otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: needs root for network namespaces and live capture"
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

tag=mf$$
ns=$tag-srv
host_if=$tag-h
ns_if=$tag-n
server_ip=198.18.78.2
client_ip=198.18.78.1
sessions=20
work=$(mktemp -d /tmp/mailtap-fanout-XXXXXX)
server_pid=
mailtap_pids=()

cleanup() {
	for pid in "${mailtap_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
	ip link del "$host_if" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# The test subnet must not be in use on this host already.
if ip -4 addr | grep -q "198\.18\.78\."; then
	echo "skipped: 198.18.78.0/24 is already in use on this host"
	exit 77
fi
if ! ip netns add "$ns" 2>/dev/null; then
	echo "skipped: cannot create a network namespace here"
	exit 77
fi
ip link add "$host_if" type veth peer name "$ns_if"
ip link set "$ns_if" netns "$ns"
ip addr add "$client_ip/24" dev "$host_if"
ip link set "$host_if" up
ip netns exec "$ns" ip addr add "$server_ip/24" dev "$ns_if"
ip netns exec "$ns" ip link set "$ns_if" up
ip netns exec "$ns" ip link set lo up

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mail.example.test" \
	-keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
ip netns exec "$ns" python3 "$here/mock_mail_server.py" --listen "$server_ip" --port 25 \
	--cert "$work/cert.pem" --key "$work/key.pem" &
server_pid=$!

# Wait for the server before mailtap starts, so the probes are not captured.
for _ in $(seq 1 50); do
	if python3 -c "import socket; socket.create_connection(('$server_ip', 25), 1).close()" 2>/dev/null; then
		break
	fi
	sleep 0.2
done
sleep 1

for worker in 1 2; do
	"$MAILTAP" -i "$host_if" --fanout 42 -Z nobody --immediate --json "$work/worker$worker.json" \
		--rules "$MAILTAP_SOURCE_DIR/rules/default.yaml" 2>"$work/worker$worker.log" &
	mailtap_pids+=($!)
done
for worker in 1 2; do
	for _ in $(seq 1 50); do
		grep -q "event=privileges_dropped" "$work/worker$worker.log" && break
		sleep 0.2
	done
	if ! grep -q "event=privileges_dropped" "$work/worker$worker.log"; then
		echo "FAIL: mailtap worker $worker did not start"
		cat "$work/worker$worker.log"
		exit 1
	fi
done

# Source ports below the usual ephemeral range, different on every run so
# that no TIME_WAIT socket of an earlier run is in the way.
first_port=$((20000 + RANDOM % 10000))
python3 - "$server_ip" "$client_ip" "$first_port" "$sessions" <<'EOF'
import smtplib
import ssl
import sys

server, client, first_port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
# Clients on even source ports log in in clear text, and those on odd ports use STARTTLS.
for port in range(first_port, first_port + count):
    smtp = smtplib.SMTP(server, 25, timeout=10, source_address=(client, port))
    smtp.ehlo("client.example.test")
    if port % 2 == 0:
        smtp.login("bob@example.test", "fanout-test-password")
    else:
        smtp.starttls(context=context)
        smtp.ehlo("client.example.test")
    smtp.quit()
EOF
sleep 1

for i in 0 1; do
	status=0
	kill -TERM "${mailtap_pids[$i]}"
	wait "${mailtap_pids[$i]}" || status=$?
	if [ "$status" -ne 0 ]; then
		echo "FAIL: mailtap worker $((i + 1)) exited with $status after SIGTERM"
		cat "$work/worker$((i + 1)).log"
		exit 1
	fi
done
mailtap_pids=()

python3 - "$first_port" "$sessions" "$work/worker1.json" "$work/worker2.json" <<'EOF'
import json
import sys

first_port, count = int(sys.argv[1]), int(sys.argv[2])
paths = sys.argv[3:]
expected = set(range(first_port, first_port + count))
failures = []
seen = {}  # source port -> the workers that reported it
per_worker = []

for worker, path in enumerate(paths, 1):
    with open(path, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    sessions = [r for r in records if r.get("event_type") == "session" and r.get("dest_port") == 25]
    per_worker.append(len(sessions))
    for s in sessions:
        port = s["src_port"]
        seen.setdefault(port, []).append(worker)
        if port not in expected:
            failures.append(f"worker {worker}: session from unexpected source port {port}")
            continue
        directions = s.get("evidence", {}).get("directions", [])
        if sorted(directions) != ["client_to_server", "server_to_client"]:
            failures.append(f"worker {worker}: port {port} seen in directions {directions}, expected both")
        if port % 2 == 0 and not s.get("auth"):
            failures.append(f"worker {worker}: port {port} logged in in clear text but has no auth record")
        if port % 2 == 1 and s.get("starttls", {}).get("result") != "ok":
            failures.append(f"worker {worker}: port {port} STARTTLS result is "
                            f"{s.get('starttls', {}).get('result')!r}, expected 'ok'")

for port in sorted(expected):
    workers = seen.get(port, [])
    if len(workers) != 1:
        failures.append(f"port {port} reported {len(workers)} times (workers {workers}), expected once")

print(f"fanout: worker 1 reported {per_worker[0]} sessions, worker 2 reported {per_worker[1]}")
if failures:
    for failure in failures:
        print("FAIL:", failure)
    sys.exit(1)
if 0 in per_worker:
    # The kernel's flow hash decides, so all 20 flows on one worker is possible (p = 2^-19).
    print("note: the flow hash put every session on one worker; checked only 'exactly once'")
print(f"fanout: all {count} sessions reported exactly once")
EOF
