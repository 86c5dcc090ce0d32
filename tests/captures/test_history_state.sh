#!/bin/bash
# Server history across runs (--state FILE).
#
# 1. smtp-starttls-tls13-ipv4.pcap: mail.example.test offers STARTTLS.
# 2. The stripped capture with its mangled XXXXXXXA capability replaced by
#    SMTPUTF8, so that the capture alone shows a server that does not offer
#    STARTTLS (starttls_not_offered) and only the history can call it
#    stripped: without --state no starttls_stripped, with the state file of
#    run 1 starttls_stripped, evidence.history and the starttls-stripped
#    alert (rule 1040).
# 3. smtp-starttls-tls10-ipv4.pcap after run 1: the same client and server
#    negotiated TLS 1.3 before, so TLS 1.0 is a tls_version_regression.
# 4. A state file locked by another process: mailtap exits 2 with an error naming the lock.
#
# ctest sets MAILTAP (the binary) and MAILTAP_SOURCE_DIR.

set -u

source_dir=${MAILTAP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
captures=$source_dir/captures
python=${PYTHON:-python3}
rules=$source_dir/rules/default.yaml

if [ -z "${MAILTAP:-}" ] || [ ! -x "$MAILTAP" ]; then
    echo "test_history_state: MAILTAP is not set to an executable; run through ctest" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mailtap-history-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
state=$work/state.db
failures=0

fail() {
    echo "test_history_state: $*" >&2
    failures=$((failures + 1))
}

# session_field FILE EXPR: prints EXPR evaluated on the one session record of FILE (as "s").
session_field() {
    "$python" - "$1" "$2" <<'PY'
import json, sys
sessions = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sessions = [r for r in sessions if r.get("event_type") == "session"]
if len(sessions) != 1:
    print("sessions=%d" % len(sessions))
    sys.exit(0)
s = sessions[0]
print(eval(sys.argv[2], {"s": s}))
PY
}

# alert_ids FILE: the signature ids of the alert records, sorted, one line.
alert_ids() {
    "$python" - "$1" <<'PY'
import json, sys
ids = sorted({json.loads(l)["alert"]["signature_id"] for l in open(sys.argv[1])
              if l.strip() and json.loads(l).get("event_type") == "alert"})
print(" ".join(str(i) for i in ids))
PY
}

# The stripped capture without the visible mangling: XXXXXXXA becomes SMTPUTF8 (same length).
unmangled=$work/smtp-starttls-not-offered.pcap
"$python" - "$captures/smtp-starttls-stripped.pcap" "$unmangled" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
assert data.count(b"250-XXXXXXXA\r\n") == 1
assert data.count(b"SMTPUTF8") == 0
open(sys.argv[2], "wb").write(data.replace(b"250-XXXXXXXA\r\n", b"250-SMTPUTF8\r\n"))
PY

run() {
    local out=$1
    shift
    if ! "$MAILTAP" --rules "$rules" --json "$out" "$@" 2> "$out.stderr"; then
        fail "mailtap $* failed: $(cat "$out.stderr")"
    fi
}

# Without history the rewritten capture is only a server without STARTTLS.
run "$work/alone.json" -r "$unmangled"
[ "$(session_field "$work/alone.json" "'starttls_not_offered' in s['anomalies']")" = True ] ||
    fail "without history: starttls_not_offered missing"
[ "$(session_field "$work/alone.json" "'starttls_stripped' in s['anomalies']")" = False ] ||
    fail "without history: starttls_stripped raised"
[ "$(session_field "$work/alone.json" "'history' in s['evidence']")" = False ] ||
    fail "without history: evidence.history present"

run "$work/run1.json" -r "$captures/smtp-starttls-tls13-ipv4.pcap" --state "$state"
[ "$(session_field "$work/run1.json" "s['starttls']['offered']")" = True ] || fail "run 1: STARTTLS not offered"
[ "$(session_field "$work/run1.json" "'history' in s['evidence']")" = False ] || fail "run 1: evidence.history present"

run "$work/run2.json" -r "$unmangled" --state "$state"
[ "$(session_field "$work/run2.json" "'starttls_stripped' in s['anomalies']")" = True ] ||
    fail "run 2: starttls_stripped missing"
[ "$(session_field "$work/run2.json" "s['evidence']['history']['starttls_offered']")" = 1 ] ||
    fail "run 2: evidence.history.starttls_offered is not 1"
[ "$(session_field "$work/run2.json" "s['evidence']['history']['sessions']")" = 1 ] ||
    fail "run 2: evidence.history.sessions is not 1"
case " $(alert_ids "$work/run2.json") " in
*" 1040 "*) ;;
*) fail "run 2: no starttls-stripped alert (1040): $(alert_ids "$work/run2.json")" ;;
esac
[ "$(session_field "$work/run2.json" "1040 in s['alerts']")" = True ] || fail "run 2: session alerts lack 1040"

run "$work/run3.json" -r "$captures/smtp-starttls-tls10-ipv4.pcap" --state "$state"
[ "$(session_field "$work/run3.json" "'tls_version_regression' in s['anomalies']")" = True ] ||
    fail "run 3: tls_version_regression missing"
[ "$(session_field "$work/run3.json" "s['evidence']['history']['best_version']")" = TLSv1.3 ] ||
    fail "run 3: evidence.history.best_version is not TLSv1.3"

# The state file: three sessions for mail.example.test, two of them offering STARTTLS.
counts=$("$python" - "$state" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT sessions, starttls_offered, starttls_not_offered FROM names"
                 " WHERE name = 'mail.example.test'").fetchone())
PY
)
[ "$counts" = "(3, 2, 1)" ] || fail "state file counts for mail.example.test are $counts, expected (3, 2, 1)"

# Another process holding the lock: mailtap must refuse to start.
"$python" - "$state" "$work/locked.json" "$MAILTAP" "$captures/smtp-starttls-tls13-ipv4.pcap" <<'PY'
import sqlite3, subprocess, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA locking_mode = EXCLUSIVE")
db.execute("BEGIN EXCLUSIVE")
p = subprocess.run([sys.argv[3], "-r", sys.argv[4], "--no-rules", "--json", sys.argv[2],
                    "--state", sys.argv[1]], capture_output=True, text=True)
db.execute("COMMIT")
if p.returncode != 2 or "locked by another process" not in p.stderr:
    print("locked state: exit %d, stderr %r" % (p.returncode, p.stderr))
    sys.exit(1)
PY
[ $? -eq 0 ] || fail "a locked state file did not stop mailtap with exit status 2"

if [ "$failures" -ne 0 ]; then
    echo "test_history_state: $failures failures" >&2
    exit 1
fi
echo "test_history_state: ok"
