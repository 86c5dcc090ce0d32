#!/usr/bin/env python3
"""Check the JSON output of test_live_netns.sh: one session per client run,
with the verdicts the scenarios must produce, and no password anywhere."""
import json
import sys

PASSWORD = "Tr0ub4dor-live-test"


def main():
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    records = [json.loads(line) for line in text.splitlines()]
    sessions = [r for r in records if r.get("event_type") == "session"]
    alerts = [r for r in records if r.get("event_type") == "alert"]
    failures = []

    def check(cond, message):
        if not cond:
            failures.append(message)

    check(PASSWORD not in text, "the password appears in the output without --reveal-credentials")
    check(len(sessions) == 3, f"expected 3 sessions, got {len(sessions)}")
    by_port = {}
    for s in sessions:
        by_port.setdefault(s["dest_port"], []).append(s)
    plain = [s for s in by_port.get(25, []) if s.get("auth")]
    tls = [s for s in by_port.get(25, []) if s.get("starttls", {}).get("result") == "ok"]
    stripped = by_port.get(2525, [])

    check(len(plain) == 1, "no port-25 session with a cleartext AUTH")
    if plain:
        auth = plain[0]["auth"][0]
        check(auth.get("mechanism") == "PLAIN", f"mechanism {auth.get('mechanism')}, expected PLAIN")
        check(auth.get("username") == "alice@example.test", f"username {auth.get('username')}")
        check(auth.get("result") == "success", f"auth result {auth.get('result')}")
        check("cleartext_credentials" in plain[0].get("anomalies", []), "cleartext_credentials missing")
    check(len(tls) == 1, "no port-25 session with STARTTLS result ok")
    if tls:
        check(tls[0].get("tls", {}).get("version") in ("TLSv1.2", "TLSv1.3"),
              f"TLS version {tls[0].get('tls', {}).get('version')}")
    check(len(stripped) == 1, "no session on port 2525")
    if stripped:
        check("starttls_stripped" in stripped[0].get("anomalies", []), "starttls_stripped missing")
    check(any(a["alert"]["signature_id"] for a in alerts), "no alert raised")

    # Rule 1999 was added by a reload after the first session: only the stripped session's login matches.
    reloaded = [a for a in alerts if a["alert"]["signature_id"] == 1999]
    check(len(reloaded) == 1, f"rule 1999 fired {len(reloaded)} times, expected once (after the reload)")
    if reloaded:
        check(reloaded[0]["dest_port"] == 2525, f"rule 1999 fired on port {reloaded[0]['dest_port']}")

    stats = [r for r in records if r.get("event_type") == "stats"]
    check(any("kernel_dropped" in r["stats"]["capture"] for r in stats),
          "no stats record with the kernel drop counter")

    for message in failures:
        print("FAIL:", message)
    print(f"{len(sessions)} sessions, {len(alerts)} alerts, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
