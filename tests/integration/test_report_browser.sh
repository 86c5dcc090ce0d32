#!/usr/bin/env bash
# The page of `mailtap report --html` in a real browser: Debian's chromium
# loads it headless from a file, and the DOM it builds and a screenshot are
# checked. The numbers in the DOM are compared with counts taken from the
# JSON records themselves, and the screenshot must show more than a blank
# page. Skipped (exit 77) when chromium is not installed.
#
# ctest sets MAILTAP (the binary) and MAILTAP_SOURCE_DIR.
set -euo pipefail

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
	echo "test_report_browser: chromium not installed; skipped" >&2
	exit 77
fi
if [ -z "${MAILTAP:-}" ] || [ ! -x "$MAILTAP" ]; then
	echo "test_report_browser: MAILTAP is not set to an executable; run through ctest" >&2
	exit 1
fi
source_dir=${MAILTAP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
work=$(mktemp -d "${TMPDIR:-/tmp}/mailtap-browser-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A stripped STARTTLS with a clear-text login, an IMAP login and implicit TLS.
"$MAILTAP" -r "$source_dir/captures/smtp-starttls-stripped.pcap" \
	-r "$source_dir/captures/imap-login-ipv4.pcap" \
	-r "$source_dir/captures/smtps-tls13-ipv4.pcap" \
	--rules "$source_dir/rules/default.yaml" --json "$work/records.json"
"$MAILTAP" report --html "$work/page.html" "$work/records.json" >/dev/null

# Root has no user namespaces for the sandbox here; the page is our own local file.
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run)
"$browser" "${flags[@]}" --dump-dom "file://$work/page.html" >"$work/dom.html" 2>"$work/browser.log"
"$browser" "${flags[@]}" --window-size=1280,1600 --screenshot="$work/shot.png" \
	"file://$work/page.html" >>"$work/browser.log" 2>&1

python3 - "$work" <<'EOF'
import html.parser
import json
import struct
import sys
import zlib

work = sys.argv[1]
failures = []


def check(cond, message):
    if not cond:
        failures.append(message)


records = [json.loads(line) for line in open(f"{work}/records.json")]
sessions = [r for r in records if r["event_type"] == "session"]
alerts = [r for r in records if r["event_type"] == "alert"]
encrypted = [s for s in sessions if s.get("tls", {}).get("version")]
stripped = [s for s in sessions if "starttls_stripped" in s["anomalies"]]
users = sorted({(a["mechanism"], a["username"]) for s in sessions for a in s["auth"]})


class Page(html.parser.HTMLParser):
    """Collects the headings, the table cells and the svg count of the DOM."""

    def __init__(self):
        super().__init__()
        self.headings = []
        self.rows = []
        self.svgs = 0
        self.text = []
        self._in = None
        self._row = None

    def handle_starttag(self, tag, attrs):
        if tag == "svg":
            self.svgs += 1
        if tag == "tr":
            self._row = []
        if tag in ("h2", "td", "th"):
            self._in = tag
            self.text = []

    def handle_endtag(self, tag):
        if tag == self._in:
            value = "".join(self.text).strip()
            if tag == "h2":
                self.headings.append(value)
            elif self._row is not None:
                self._row.append(value)
            self._in = None
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in:
            self.text.append(data)


dom = open(f"{work}/dom.html", encoding="utf-8").read()
page = Page()
page.feed(dom)

for heading in ("Sessions by protocol and port", "TLS versions and ciphers per server",
                "Credentials exposed per server (user names only)",
                "STARTTLS stripping and injection findings", "Alerts by rule"):
    check(heading in page.headings, f"heading {heading!r} missing from the DOM")
check(page.svgs == 2, f"{page.svgs} svg charts in the DOM, expected 2")
check(f"{len(sessions)} sessions" in dom and f"{len(alerts)} alerts" in dom,
      f"summary line lacks {len(sessions)} sessions and {len(alerts)} alerts")
check(f"{len(encrypted)} of {len(sessions)}" in dom, f"encrypted share is not {len(encrypted)} of {len(sessions)}")

port_rows = [r for r in page.rows if len(r) == 5 and r[0] in ("smtp", "imap", "smtps")]
check(sum(int(r[2]) for r in port_rows) == len(sessions), f"port table rows {port_rows} do not add up to {len(sessions)}")
credential_rows = sorted({(r[1], r[2]) for r in page.rows if len(r) == 6 and r[3] == "cleartext"})
check(credential_rows == users, f"credential rows {credential_rows}, expected {users}")
finding_rows = [r for r in page.rows if len(r) == 5 and r[4] == "starttls_stripped"]
check(len(finding_rows) == len(stripped), f"{len(finding_rows)} stripping rows, expected {len(stripped)}")
check(any(str(s["flow_id"]) in r for s in stripped for r in finding_rows), "stripping row lacks the flow id")
check(len(stripped) == 1 and len(users) == 2, "the captures no longer hold one stripped session and two logins")

# The screenshot: a PNG of the requested size whose pixels are not all one colour.
png = open(f"{work}/shot.png", "rb").read()
check(png[:8] == b"\x89PNG\r\n\x1a\n", "screenshot is not a PNG")
width, height = struct.unpack(">II", png[16:24])
check((width, height) == (1280, 1600), f"screenshot is {width}x{height}, expected 1280x1600")
data = b""
pos = 8
while pos < len(png):
    length, kind = struct.unpack(">I4s", png[pos:pos + 8])
    if kind == b"IDAT":
        data += png[pos + 8:pos + 8 + length]
    pos += 12 + length
pixels = zlib.decompress(data)
stride = len(pixels) // height
# Drop each scanline's filter byte; a blank page leaves one byte value (filtered rows of white are zeros).
distinct = {b for row in range(height) for b in pixels[row * stride + 1:(row + 1) * stride:97]}
check(len(distinct) > 8, f"screenshot looks blank ({len(distinct)} distinct sampled byte values)")

if failures:
    for f in failures:
        print(f"test_report_browser: {f}", file=sys.stderr)
    sys.exit(1)
print(f"test_report_browser: ok ({len(sessions)} sessions, {len(page.rows)} table rows, "
      f"{page.svgs} charts, screenshot {width}x{height})")
EOF
