#!/bin/bash
# Run mailtap on every project capture that has an expected file and compare.
#
# First, compare.py must accept a session built from an expected file and
# reject four changed copies of it. Then, for each captures/NAME.pcap with
# captures/NAME.expected.json:
#   1. mailtap -r NAME.pcap --json OUT [--rules rules/default.yaml] must exit 0;
#   2. compare.py must find every expected fact in OUT (see compare.py);
#   3. OUT must not contain any made-up secret listed in docs/captures.md,
#      neither as is, nor in base64, nor in IMAP quoted-string form.
# Then, with --reveal-credentials, the auth records of two captures must
# carry the password in clear, IMAP escapes undone.
#
# ctest sets MAILTAP (the binary) and MAILTAP_SOURCE_DIR.

set -u

source_dir=${MAILTAP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
compare=$source_dir/tests/captures/compare.py
python=${PYTHON:-python3}

if [ -z "${MAILTAP:-}" ]; then
    echo "test_project_captures: MAILTAP is not set; run through ctest or set MAILTAP to the mailtap binary" >&2
    exit 1
fi
if [ ! -x "$MAILTAP" ]; then
    echo "test_project_captures: MAILTAP=$MAILTAP is not an executable file; build mailtap first" >&2
    exit 1
fi

rules=()
if [ -f "$source_dir/rules/default.yaml" ]; then
    rules=(--rules "$source_dir/rules/default.yaml")
fi

out_dir=$(mktemp -d "${TMPDIR:-/tmp}/mailtap-captures-test.XXXXXX")
trap 'rm -rf "$out_dir"' EXIT

# The made-up credentials, one "user secret" pair per line, from the fenced
# block marked "secrets" in docs/captures.md.
secrets_file=$out_dir/secrets.txt
awk '/^```secrets$/ {inside = 1; next} /^```$/ {inside = 0} inside && NF == 2 {print}' \
    "$source_dir/docs/captures.md" > "$secrets_file"
if [ ! -s "$secrets_file" ]; then
    echo "test_project_captures: no secrets block in $source_dir/docs/captures.md" >&2
    exit 1
fi

# forbidden_strings: every form in which a secret could leak into output.
forbidden_strings() {
    "$python" - "$secrets_file" <<'EOF'
import base64, sys
for line in open(sys.argv[1], encoding="utf-8"):
    user, secret = line.split()
    forms = {secret,
             base64.b64encode(secret.encode()).decode(),
             base64.b64encode(("\0" + user + "\0" + secret).encode()).decode(),
             # The IMAP quoted-string form, which is also how a JSON
             # writer escapes the secret.
             secret.replace("\\", "\\\\").replace('"', '\\"')}
    for form in sorted(forms):
        print(form)
EOF
}
forbidden=$out_dir/forbidden.txt
forbidden_strings > "$forbidden"

passed=0
failed=0
failures=()

record_failure() {
    failed=$((failed + 1))
    failures+=("$1")
}

check_capture() {
    local expected=$1
    local name
    name=$(basename "$expected" .expected.json)
    local capture=$source_dir/captures/$name.pcap
    local output=$out_dir/$name.jsonl

    if [ ! -f "$capture" ]; then
        echo "$name: capture file $capture is missing"
        record_failure "$name"
        return
    fi
    local status=0
    "$MAILTAP" -r "$capture" --json "$output" "${rules[@]}" > "$out_dir/$name.stdout" \
        2> "$out_dir/$name.stderr" || status=$?
    if [ "$status" -ne 0 ]; then
        echo "$name: mailtap exited with status $status on $capture; stderr:"
        head -5 "$out_dir/$name.stderr"
        record_failure "$name"
        return
    fi
    if [ ! -f "$output" ]; then
        echo "$name: mailtap wrote no JSON file at $output"
        record_failure "$name"
        return
    fi

    local ok=1
    "$python" "$compare" "$output" "$expected" || ok=0
    local leaked
    leaked=$(grep -F -h -o -f "$forbidden" "$output" "$out_dir/$name.stdout" "$out_dir/$name.stderr" | sort -u)
    if [ -n "$leaked" ]; then
        echo "$name: a made-up secret appears in mailtap's output without --reveal-credentials:"
        echo "$leaked" | sed 's/^/    /'
        ok=0
    fi
    if [ "$ok" -eq 1 ]; then
        passed=$((passed + 1))
    else
        record_failure "$name"
    fi
}

# check_revealed NAME USER PASSWORD: with --reveal-credentials, the session's
# auth record for USER carries PASSWORD exactly.
check_revealed() {
    local name=$1 user=$2 password=$3
    local output=$out_dir/$name.revealed.jsonl
    local status=0
    "$MAILTAP" -r "$source_dir/captures/$name.pcap" --json "$output" --reveal-credentials \
        "${rules[@]}" > /dev/null 2> "$out_dir/$name.revealed.stderr" || status=$?
    if [ "$status" -ne 0 ]; then
        echo "$name: mailtap --reveal-credentials exited with status $status; stderr:"
        head -5 "$out_dir/$name.revealed.stderr"
        record_failure "$name (reveal)"
        return
    fi
    if "$python" - "$output" "$user" "$password" <<'EOF'
import json, sys
path, user, password = sys.argv[1:]
found = []
for line in open(path, encoding="utf-8", errors="replace"):
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        continue
    if record.get("event_type") != "session":
        continue
    for entry in record.get("auth") or []:
        if entry.get("username") == user:
            found.append(entry.get("password"))
if password in found:
    sys.exit(0)
print("auth records for %s carry passwords %s, expected %s" % (user, json.dumps(found), json.dumps(password)))
sys.exit(1)
EOF
    then
        passed=$((passed + 1))
    else
        echo "$name: --reveal-credentials did not put the password in the auth record"
        record_failure "$name (reveal)"
    fi
}

# check_comparator EXPECTED: compare.py must accept a session built from
# EXPECTED and reject it after each of four changes, so that a mailtap bug
# cannot pass through a comparator that accepts anything.
check_comparator() {
    local expected=$1
    if "$python" - "$compare" "$expected" "$out_dir" <<'EOF'
import copy, json, subprocess, sys
compare, expected_path, out_dir = sys.argv[1:]
expected = json.load(open(expected_path, encoding="utf-8"))
session = expected["sessions"][0]
good = {"event_type": "session", "src_ip": session["src_ip"], "src_port": session["src_port"],
        "dest_ip": session["dest_ip"], "dest_port": session["dest_port"],
        "app_proto": session["app_proto"], "starttls": session.get("starttls"),
        "auth": [dict(entry, password="<redacted>") for entry in session["auth"]],
        "anomalies": session["anomalies_present"]}

def run(record):
    path = out_dir + "/comparator.jsonl"
    with open(path, "w", encoding="utf-8") as output:
        output.write(json.dumps(record) + "\n")
    return subprocess.run([sys.executable, compare, path, expected_path],
                          capture_output=True).returncode

changes = {
    "a different app_proto": lambda r: r.update(app_proto="imap"),
    "a missing anomaly": lambda r: r.update(anomalies=r["anomalies"][1:]),
    "an extra anomaly": lambda r: r.update(anomalies=r["anomalies"] + [session["anomalies_absent"][0]]),
    "a revealed password": lambda r: r["auth"][0].update(password="x"),
}
failures = [] if run(good) == 0 else ["it rejected an exact copy"]
for name, change in changes.items():
    record = copy.deepcopy(good)
    change(record)
    if run(record) != 1:
        failures.append("it accepted a record with " + name)
if failures:
    print("compare.py self-check: " + "; ".join(failures))
    sys.exit(1)
EOF
    then
        passed=$((passed + 1))
    else
        record_failure "compare.py self-check"
    fi
}

shopt -s nullglob
expected_files=("$source_dir"/captures/*.expected.json)
if [ ${#expected_files[@]} -eq 0 ]; then
    echo "test_project_captures: no captures/*.expected.json under $source_dir" >&2
    exit 1
fi
check_comparator "$source_dir/captures/smtp-auth-plain-ipv4.expected.json"
for expected in "${expected_files[@]}"; do
    check_capture "$expected"
done

# The first line for a user is the right password; later ones are wrong
# passwords that the failure captures send.
check_revealed smtp-auth-plain-ipv4 alice "$(awk '$1 == "alice" {print $2; exit}' "$secrets_file")"
check_revealed imap-login-quoted-ipv4 bob "$(awk '$1 == "bob" {print $2; exit}' "$secrets_file")"

if [ "$failed" -gt 0 ]; then
    echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
