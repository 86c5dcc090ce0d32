#!/usr/bin/env python3
"""Compare mailtap's session records on the public captures with tshark's view.

Usage: check_shared_sessions.py MAILTAP CAPTURE_DIR EXPECTED_TSV

For every capture under CAPTURE_DIR, runs MAILTAP -r FILE --no-rules --json -
and checks that the session records are exactly the expected connections
(client, server, app_proto), one record per connection. Prints one line per
file and every mismatch; exits 1 when any file differs.
"""
import collections
import json
import os
import subprocess
import sys


def load_expected(path):
    expected = collections.defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, cip, cport, sip, sport, proto = line.rstrip("\n").split("\t")
            expected[name].append((cip, int(cport), sip, int(sport), proto))
    return expected


def run_mailtap(mailtap, path):
    proc = subprocess.run([mailtap, "-r", path, "--no-rules", "--json", "-"],
                          capture_output=True, text=True, check=False)
    sessions = []
    for line in proc.stdout.splitlines():
        record = json.loads(line)
        if record.get("event_type") == "session":
            sessions.append((record["src_ip"], record["src_port"], record["dest_ip"],
                             record["dest_port"], record["app_proto"]))
    return proc.returncode, sessions, proc.stderr


def main():
    mailtap, top, expected_path = sys.argv[1:4]
    expected = load_expected(expected_path)
    failures = 0
    files = 0
    for root, _dirs, names in sorted(os.walk(top)):
        for name in sorted(names):
            if not name.endswith((".pcap", ".pcapng")):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, top)
            files += 1
            status, got, stderr = run_mailtap(mailtap, path)
            want = expected.get(rel, [])
            missing = collections.Counter(want) - collections.Counter(got)
            extra = collections.Counter(got) - collections.Counter(want)
            ok = status == 0 and not missing and not extra
            print(f"{'ok  ' if ok else 'FAIL'} {rel}: {len(got)} sessions, expected {len(want)}")
            if status != 0:
                print(f"     exit status {status}: {stderr.strip()}")
            for item in sorted(missing.elements()):
                print(f"     missing {item}")
            for item in sorted(extra.elements()):
                print(f"     unexpected {item}")
            failures += 0 if ok else 1
    print(f"{files} captures, {failures} differ")
    return 1 if failures or files == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
