#!/usr/bin/env bash
# --mta-sts-dir checks port-25 sessions of the project's captures against a
# policy for example.test (the domain the capture scripts send to, with the
# server mail.example.test and a self-signed certificate, see docs/captures.md),
# and against policies learnt from the DNS and HTTPS traffic of two captures.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/policies"
printf 'version: STSv1\nmode: enforce\nmx: mail.example.test\nmax_age: 86400\n' >"$work/policies/example.test"

status=0
check() {
	local capture=$1 expected=$2
	local got
	got=$("$MAILTAP" -r "$MAILTAP_SOURCE_DIR/captures/$capture.pcap" --rules "$MAILTAP_SOURCE_DIR/rules/default.yaml" \
		--mta-sts-dir "$work/policies" --json - 2>/dev/null | python3 -c '
import json, sys
results = []
for line in sys.stdin:
    r = json.loads(line)
    if r.get("event_type") == "session":
        m = r.get("mta_sts")
        fired = 1063 in r.get("alerts", [])
        result = m["result"] if m else "unchecked"
        results.append(result + ("/alert" if fired else "/no-alert"))
print(" ".join(results))')
	if [ "$got" = "$expected" ]; then
		echo "ok   $capture: $got"
	else
		echo "FAIL $capture: expected $expected, got $got"
		status=1
	fi
}

check smtp-auth-plain-ipv4 starttls-not-supported/alert        # STARTTLS offered, client went on in clear
check smtp-starttls-stripped starttls-not-supported/alert      # capability rewritten to XXXXXXXA
check smtp-starttls-tls13-ipv4 success/no-alert                # TLS 1.3 to the listed MX
check smtp-starttls-tls10-ipv4 validation-failure/alert        # TLS 1.0 is below the policy floor
check smtp-starttls-tls12-ipv4 certificate-not-trusted/alert   # the test server's certificate is self-signed
check submission-auth-login-curl-ipv4 unchecked/no-alert       # port 587 is not MTA-to-MTA relaying

# Learnt policies: the DNS TXT record of _mta-sts.example.test, or a
# ClientHello to mta-sts.example.test, precede a message in clear. Without
# --mta-sts-dir the session is checked against the learnt policy (rule
# 1064); with it, the operator's file wins (rule 1063).
check_learnt() {
	local capture=$1 expected=$2
	shift 2
	local got
	got=$("$MAILTAP" -r "$MAILTAP_SOURCE_DIR/captures/$capture.pcap" --rules "$MAILTAP_SOURCE_DIR/rules/default.yaml" \
		"$@" --json - 2>/dev/null | python3 -c '
import json, sys
results = []
for line in sys.stdin:
    r = json.loads(line)
    if r.get("event_type") == "session":
        m = r.get("mta_sts") or {}
        alerts = [str(a) for a in r.get("alerts", []) if a in (1063, 1064)]
        results.append("%s/%s/%s" % (m.get("policy_source", "unchecked"), m.get("result", "-"),
                                     ",".join(alerts) or "no-alert"))
print(" ".join(results))')
	if [ "$got" = "$expected" ]; then
		echo "ok   $capture $*: $got"
	else
		echo "FAIL $capture $*: expected $expected, got $got"
		status=1
	fi
}

check_learnt smtp-mta-sts-learnt-dns-ipv4 learnt/starttls-not-supported/1064
check_learnt smtp-mta-sts-learnt-https-ipv4 learnt/starttls-not-supported/1064
check_learnt smtp-mta-sts-learnt-dns-ipv4 operator/starttls-not-supported/1063 --mta-sts-dir "$work/policies"
check_learnt smtp-auth-plain-ipv4 unchecked/-/no-alert

# With --state the learnt policy outlives the run: a later run over a
# capture without any DNS checks its session against it.
check_learnt smtp-mta-sts-learnt-dns-ipv4 learnt/starttls-not-supported/1064 --state "$work/state.db"
check_learnt smtp-auth-plain-ipv4 learnt/starttls-not-supported/1064 --state "$work/state.db"
stored=$(python3 -c '
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT domain, policy_id, from_dns, from_https FROM mta_sts_learnt").fetchall()
print(rows)' "$work/state.db")
if [ "$stored" = "[('example.test', '20261205T000000', 1, 0)]" ]; then
	echo "ok   state file row: $stored"
else
	echo "FAIL state file row: expected [('example.test', '20261205T000000', 1, 0)], got $stored"
	status=1
fi

# A policy file that is not a policy stops the run with its name.
printf 'version: STSv1\nmode: sometimes\n' >"$work/policies/bad.example"
if "$MAILTAP" -r "$MAILTAP_SOURCE_DIR/captures/smtp-auth-plain-ipv4.pcap" --mta-sts-dir "$work/policies" \
	--json /dev/null 2>"$work/err"; then
	echo "FAIL: an invalid policy file was accepted"
	status=1
elif ! grep -q "bad.example.*sometimes" "$work/err"; then
	echo "FAIL: the error does not name the file and the value: $(cat "$work/err")"
	status=1
fi
exit $status
