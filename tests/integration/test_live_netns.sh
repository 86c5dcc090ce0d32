#!/usr/bin/env bash
# Live capture end to end: a mail server in a network namespace made by this
# test, clients on the host side of a veth pair, mailtap sniffing the host
# end with -Z, stopped by SIGTERM. Checks that every session is reported,
# the verdicts, and that mailtap ran as the unprivileged user.
#
# Traffic stays between the veth ends (198.18.77.0/24, from the benchmarking range of RFC 2544). Needs root
# and `ip netns`; skipped (77) otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: needs root for network namespaces and live capture"
	exit 77
fi

tag=mt$$
ns=$tag-srv
host_if=$tag-h
ns_if=$tag-n
work=$(mktemp -d)
server_pids=()
mailtap_pid=

cleanup() {
	[ -n "$mailtap_pid" ] && kill "$mailtap_pid" 2>/dev/null || true
	for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	ip link del "$host_if" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# The test subnet must not be in use on this host already.
if ip -4 addr | grep -q "198\.18\.77\."; then
	echo "skipped: 198.18.77.0/24 is already in use on this host"
	exit 77
fi
if ! ip netns add "$ns" 2>/dev/null; then
	echo "skipped: cannot create a network namespace here"
	exit 77
fi
ip link add "$host_if" type veth peer name "$ns_if"
ip link set "$ns_if" netns "$ns"
ip addr add 198.18.77.1/24 dev "$host_if"
ip link set "$host_if" up
ip netns exec "$ns" ip addr add 198.18.77.2/24 dev "$ns_if"
ip netns exec "$ns" ip link set "$ns_if" up
ip netns exec "$ns" ip link set lo up

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mail.example.test" \
	-keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
ip netns exec "$ns" python3 "$here/mock_mail_server.py" --listen 198.18.77.2 --port 25 \
	--cert "$work/cert.pem" --key "$work/key.pem" &
server_pids+=($!)
ip netns exec "$ns" python3 "$here/mock_mail_server.py" --listen 198.18.77.2 --port 2525 \
	--cert "$work/cert.pem" --key "$work/key.pem" --strip &
server_pids+=($!)

# Wait for both servers before mailtap starts, so the probes are not captured.
for port in 25 2525; do
	for _ in $(seq 1 50); do
		if python3 -c "import socket; socket.create_connection(('198.18.77.2', $port), 1).close()" 2>/dev/null; then
			break
		fi
		sleep 0.2
	done
done
sleep 1

# The rules file stays readable after -Z, so SIGHUP can reload it.
cp "$MAILTAP_SOURCE_DIR/rules/default.yaml" "$work/rules.yaml"
chmod 755 "$work"
chmod 644 "$work/rules.yaml"
"$MAILTAP" -i "$host_if" -Z nobody --immediate --json "$work/out.json" \
	--rules "$work/rules.yaml" --stats 2>"$work/stderr" &
mailtap_pid=$!
for _ in $(seq 1 50); do
	grep -q "event=privileges_dropped" "$work/stderr" && break
	sleep 0.2
done

uid=$(ps -o uid= -p "$mailtap_pid" | tr -d ' ')
expected_uid=$(id -u nobody)
if [ "$uid" != "$expected_uid" ]; then
	echo "FAIL: mailtap runs as uid $uid, expected $expected_uid (nobody) after -Z"
	cat "$work/stderr"
	exit 1
fi

if ! grep -q "event=privileges_dropped" "$work/stderr"; then
	echo "FAIL: mailtap did not start"
	cat "$work/stderr"
	exit 1
fi
python3 "$here/mail_client.py" 198.18.77.2 25 cleartext-auth

# SIGHUP with one more rule: it applies from now on, and no flow is lost.
cat "$MAILTAP_SOURCE_DIR/rules/default.yaml" - >"$work/rules.yaml" <<'RULE'

  - id: 1999
    name: reload-test
    description: Fires on every cleartext credential, to show a reload took effect.
    reference: RFC 4954
    event: auth.cleartext
    severity: info
    category: test
    message: "reloaded rule saw {username}"
RULE
kill -HUP "$mailtap_pid"
sleep 1
python3 "$here/mail_client.py" 198.18.77.2 25 starttls

# SIGHUP with a broken file: the previous rules stay in force.
echo "rules: [ {id: oops" >"$work/rules.yaml"
kill -HUP "$mailtap_pid"
sleep 1
python3 "$here/mail_client.py" 198.18.77.2 2525 stripped
sleep 1

kill -TERM "$mailtap_pid"
status=0
wait "$mailtap_pid" || status=$?
mailtap_pid=
if [ "$status" -ne 0 ]; then
	echo "FAIL: mailtap exited with $status after SIGTERM"
	cat "$work/stderr"
	exit 1
fi

for expected in "event=rules_reloaded" "event=reload_failed" "capture.kernel_received=" "capture.kernel_dropped="; do
	if ! grep -q "$expected" "$work/stderr"; then
		echo "FAIL: '$expected' missing from mailtap's stderr"
		cat "$work/stderr"
		exit 1
	fi
done
python3 "$here/check_live_results.py" "$work/out.json"
