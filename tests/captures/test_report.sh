#!/bin/bash
# mailtap report on mailtap's own output for the project captures.
#
# Runs mailtap on every captures/NAME.pcap that has NAME.expected.json, then
# `mailtap report --html` on the outputs that compare.py accepts, and checks
# the terminal tables against numbers computed from those expected files
# alone: sessions per protocol and port and how many negotiated TLS,
# versions and ciphers per server, user names per server and mechanism, and
# the STARTTLS stripping and injection findings with their flow ids. The
# page must be self-contained HTML with both charts. A second run over all
# captures with --reveal-credentials feeds the report passwords, and none
# may appear in the report or the page.
#
# ctest sets MAILTAP (the binary) and MAILTAP_SOURCE_DIR.

set -u

source_dir=${MAILTAP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
python=${PYTHON:-python3}

if [ -z "${MAILTAP:-}" ] || [ ! -x "$MAILTAP" ]; then
    echo "test_report: MAILTAP is not set to an executable; run through ctest" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mailtap-report-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

compare=$source_dir/tests/captures/compare.py
mkdir -p "$work/all" "$work/agree"
pcaps=()
count=0
skipped=()
for expected in "$source_dir"/captures/*.expected.json; do
    name=$(basename "$expected" .expected.json)
    pcap=$source_dir/captures/$name.pcap
    [ -f "$pcap" ] || continue
    pcaps+=(-r "$pcap")
    if ! "$MAILTAP" -r "$pcap" --rules "$source_dir/rules/default.yaml" \
        --json "$work/all/$name.json" 2> "$work/$name.stderr"; then
        echo "test_report: mailtap failed on $name: $(cat "$work/$name.stderr")" >&2
        exit 1
    fi
    # The report is checked against the expected files, so it reads only the
    # captures whose sessions mailtap reports as expected; test_project_captures
    # covers the others.
    if "$python" "$compare" "$work/all/$name.json" "$expected" > /dev/null 2>&1; then
        cp "$work/all/$name.json" "$work/agree/$name.json"
        count=$((count + 1))
    else
        skipped+=("$name")
    fi
done
if [ "$count" -eq 0 ]; then
    echo "test_report: no capture output matches its expected file under $source_dir/captures" >&2
    exit 1
fi
if [ "${#skipped[@]}" -gt 0 ]; then
    echo "test_report: not in the report check (output differs from the expected file): ${skipped[*]}" >&2
fi

if ! "$MAILTAP" report --html "$work/report.html" "$work"/agree/*.json > "$work/report.txt" 2> "$work/report.stderr"; then
    echo "test_report: mailtap report failed: $(cat "$work/report.stderr")" >&2
    exit 1
fi

# Every capture in one run with the passwords revealed, for the check that the report never copies them.
if ! "$MAILTAP" "${pcaps[@]}" --rules "$source_dir/rules/default.yaml" --reveal-credentials \
    --json "$work/reveal.json" 2> "$work/reveal.stderr"; then
    echo "test_report: mailtap --reveal-credentials failed: $(cat "$work/reveal.stderr")" >&2
    exit 1
fi
if ! "$MAILTAP" report --html "$work/reveal.html" "$work/reveal.json" > "$work/reveal.txt" 2> "$work/report.stderr"; then
    echo "test_report: mailtap report on revealed credentials failed: $(cat "$work/report.stderr")" >&2
    exit 1
fi

# Usage errors exit 2.
"$MAILTAP" report > /dev/null 2>&1
[ $? -eq 2 ] || { echo "test_report: 'mailtap report' without files did not exit 2" >&2; exit 1; }
"$MAILTAP" report --bogus "$work/report.txt" > /dev/null 2>&1
[ $? -eq 2 ] || { echo "test_report: an unknown option did not exit 2" >&2; exit 1; }

"$python" - "$source_dir" "$work" <<'PY'
import base64, collections, glob, html.parser, json, os, re, sys

source_dir, work = sys.argv[1], sys.argv[2]
failures = []

def check(cond, message):
    if not cond:
        failures.append(message)

def server_of(ip, port):
    return ("[%s]:%d" if ":" in ip else "%s:%d") % (ip, port)

# Expected numbers, from the expected files only.
sessions = []
for path in sorted(glob.glob(os.path.join(work, "agree", "*.json"))):
    name = os.path.basename(path)[: -len(".json")]
    expected = os.path.join(source_dir, "captures", name + ".expected.json")
    sessions.extend(json.load(open(expected))["sessions"])

by_port = collections.Counter()
by_port_tls = collections.Counter()
tls_rows = collections.Counter()
cred_rows = collections.Counter()
findings = collections.Counter()
mta_sts_rows = collections.Counter()
finding_names = {"starttls_stripped", "starttls_command_injection", "starttls_response_injection"}
for s in sessions:
    key = (s["app_proto"], str(s["dest_port"]))
    server = server_of(s["dest_ip"], s["dest_port"])
    tls = s.get("tls") or {}
    by_port[key] += 1
    if "version" in tls:
        by_port_tls[key] += 1
        tls_rows[(server, tls["version"], tls["cipher"])] += 1
    for a in s["auth"]:
        # The report doubles a backslash (MAILTAP\nobody), so an escaped byte stays recognisable.
        displayed_username = a["username"].replace("\\", "\\\\")
        cred_rows[(server, a["mechanism"], displayed_username, a["exposure"], a["result"])] += 1
    for f in finding_names & set(s["anomalies_present"]):
        findings[(server_of(s["src_ip"], s["src_port"]), server, f)] += 1
    if (s.get("mta_sts") or {}).get("result"):
        mta_sts_rows[(s["mta_sts"]["domain"], s["mta_sts"]["policy_source"], s["mta_sts"]["result"])] += 1

# The terminal report: sections are a title line followed by indented rows.
text = open(os.path.join(work, "report.txt"), encoding="utf-8").read()
sections = {}
for block in text.split("\n\n")[1:]:
    lines = block.strip("\n").split("\n")
    rows = [re.split(r"\s{2,}", l.strip()) for l in lines[2:]]
    sections[lines[0]] = rows

total = len(sessions)
encrypted = sum(by_port_tls.values())
check("%d sessions" % total in text.split("\n")[0], "header lacks %d sessions" % total)
check("Encrypted sessions (TLS negotiated): %d of %d" % (encrypted, total) in text,
      "encrypted share is not %d of %d" % (encrypted, total))

got = {(r[0], r[1]): (int(r[2]), int(r[3])) for r in sections.get("Sessions by protocol and port", [])}
want = {k: (by_port[k], by_port_tls[k]) for k in by_port}
check(got == want, "sessions by port: got %s, expected %s" % (got, want))

got = {tuple(r[:3]): int(r[3]) for r in sections.get("TLS versions and ciphers per server", [])}
check(got == dict(tls_rows), "TLS rows: got %s, expected %s" % (got, dict(tls_rows)))

got = {tuple(r[:5]): int(r[5]) for r in sections.get("Credentials exposed per server (user names only)", [])}
check(got == dict(cred_rows), "credential rows: got %s, expected %s" % (got, dict(cred_rows)))

rows = sections.get("STARTTLS stripping and injection findings", [])
got = collections.Counter((r[2], r[3], r[4]) for r in rows if len(r) == 5)
check(got == findings, "findings: got %s, expected %s" % (dict(got), dict(findings)))
check(all(re.fullmatch(r"[0-9]+", r[1]) for r in rows), "a finding lacks its flow id")
# Each finding's flow id is the flow_id of that session in mailtap's output.
flow_ids = set()
for path in glob.glob(os.path.join(work, "agree", "*.json")):
    for line in open(path):
        rec = json.loads(line)
        if rec.get("event_type") == "session":
            flow_ids.add(str(rec["flow_id"]))
check(all(r[1] in flow_ids for r in rows), "a finding's flow id is not in the input")

# MTA-STS checks: the learnt-policy captures' sessions, and none from the others.
got = {tuple(r[:3]): int(r[3]) for r in sections.get("MTA-STS checks per domain", []) if len(r) == 4}
check(got == dict(mta_sts_rows), "MTA-STS rows: got %s, expected %s" % (got, dict(mta_sts_rows)))

# No password, in any form, in the report or the page.
secrets = []
inside = False
for line in open(os.path.join(source_dir, "docs", "captures.md"), encoding="utf-8"):
    if line.strip() == "```secrets":
        inside = True
    elif line.strip() == "```":
        inside = False
    elif inside and len(line.split()) == 2:
        secrets.append(line.split()[1])
check(secrets, "no secrets block in docs/captures.md")
revealed = open(os.path.join(work, "reveal.json"), encoding="utf-8").read()
reveal_text = open(os.path.join(work, "reveal.txt"), encoding="utf-8").read()
reveal_page = open(os.path.join(work, "reveal.html"), encoding="utf-8").read()
check(any(json.dumps(secret)[1:-1] in revealed for secret in secrets), "the input does not reveal any password")
for secret in secrets:
    check(secret not in reveal_text, "password %r in the terminal report" % secret)
    check(secret not in reveal_page, "password %r in the HTML page" % secret)
page = open(os.path.join(work, "report.html"), encoding="utf-8").read()

# The page: valid nesting, both charts, nothing loaded from elsewhere.
class Checker(html.parser.HTMLParser):
    void = {"meta", "br", "img", "input", "link", "hr"}
    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.svgs, self.external = [], [], 0, 0
    def handle_starttag(self, tag, attrs):
        if tag == "svg":
            self.svgs += 1
        if tag in ("script", "link", "img", "iframe") or any(k in ("src", "href") for k, _ in attrs):
            self.external += 1
        if tag not in self.void:
            self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        pass
    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)

checker = Checker()
checker.feed(page)
check(page.startswith("<!DOCTYPE html>"), "page lacks a doctype")
check(not checker.errors and not checker.stack, "page nesting is broken: %s %s" % (checker.errors, checker.stack))
check(checker.svgs == 2, "page has %d SVG charts, expected 2" % checker.svgs)
check(checker.external == 0, "page loads external resources")
check("%d of %d" % (encrypted, total) in page, "page lacks the encrypted share")

if failures:
    for f in failures:
        print("test_report: " + f, file=sys.stderr)
    sys.exit(1)
print("test_report: ok (%d sessions, %d encrypted, %d credential rows, %d findings)"
      % (total, encrypted, len(cred_rows), sum(findings.values())))
PY
