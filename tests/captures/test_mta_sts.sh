#!/usr/bin/env bash
# --mta-sts-dir checks port-25 sessions of the project's captures against a
# policy for example.test (the domain the capture scripts send to, with the
# server mail.example.test and a self-signed certificate, see docs/captures.md).
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
