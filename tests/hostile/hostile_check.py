#!/usr/bin/env python3
"""Check the JSON lines of one hostile run.

usage: hostile_check.py JSON_FILE [--prefix] [--stat NAME>=N | NAME<=N | NAME==N ...]
                        [--anomaly SRC_PORT=NAME ...] [--sessions-min N]

Every line must be a JSON object. The last "stats" record gives the
counters, named "section.counter" as in the --stats output
("decoder.vlan_too_deep", "flow.evicted"). --prefix requires the prefix
session that hostile_gen.py writes first, with the verdicts RFC 4954 and
RFC 3207 give it. --anomaly requires a session from that client port
carrying that anomaly. The exit status is the number of failed checks.
"""

import argparse
import json
import re
import sys

PREFIX_CLIENT = ("192.0.2.10", 40000)


def load_records(path, failures):
    records = []
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            try:
                record = json.loads(line)
            except ValueError as e:
                failures.append(f"line {number} is not valid JSON: {e}")
                continue
            if not isinstance(record, dict):
                failures.append(f"line {number} is not a JSON object")
                continue
            records.append(record)
    return records


def find_stats(records):
    stats = [r["stats"] for r in records if r.get("event_type") == "stats"]
    return stats[-1] if stats else None


def check_stat(stats, spec, failures):
    match = re.fullmatch(r"([a-z_]+)\.([a-z_0-9]+)(>=|<=|==)(\d+)", spec)
    if match is None:
        failures.append(f"invalid --stat value {spec!r}; expected SECTION.NAME>=N, <=N or ==N")
        return
    section, name, op, bound = match.group(1), match.group(2), match.group(3), int(match.group(4))
    if stats is None or name not in stats.get(section, {}):
        failures.append(f"counter {section}.{name} missing from the stats record")
        return
    value = stats[section][name]
    ok = {">=": value >= bound, "<=": value <= bound, "==": value == bound}[op]
    print(f"  {section}.{name}={value} (expected {op} {bound}): {'ok' if ok else 'FAILED'}")
    if not ok:
        failures.append(f"counter {section}.{name}={value}, expected {op} {bound}")


def check_prefix(sessions, failures):
    found = [s for s in sessions if (s.get("src_ip"), s.get("src_port")) == PREFIX_CLIENT]
    if len(found) != 1:
        failures.append(f"prefix session: expected 1 record, found {len(found)}")
        return
    s = found[0]
    auth = s.get("auth") or [{}]
    expected = {"mechanism": "PLAIN", "username": "prefix-user", "password": "<redacted>",
                "exposure": "cleartext", "result": "success"}
    if auth[0] != expected:
        failures.append(f"prefix session: auth {auth[0]!r}, expected {expected!r}")
    for name in ("cleartext_credentials", "starttls_not_used"):
        if name not in s.get("anomalies", []):
            failures.append(f"prefix session: anomaly {name} missing from {s.get('anomalies')!r}")
    if s.get("starttls", {}).get("offered") is not True:
        failures.append(f"prefix session: starttls.offered is {s.get('starttls')!r}, expected true")
    print(f"  prefix session: {'ok' if not failures else 'FAILED'}")


def check_anomaly(sessions, spec, failures):
    port_text, _, name = spec.partition("=")
    port = int(port_text)
    found = [s for s in sessions if s.get("src_port") == port]
    if not found:
        failures.append(f"no session from client port {port}")
        return
    for s in found:
        if name not in s.get("anomalies", []):
            failures.append(f"session from client port {port}: anomaly {name} missing from {s.get('anomalies')!r}")
            return
    print(f"  session from port {port} has {name}: ok")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("json_file")
    parser.add_argument("--prefix", action="store_true")
    parser.add_argument("--stat", action="append", default=[])
    parser.add_argument("--anomaly", action="append", default=[])
    parser.add_argument("--sessions-min", type=int, default=0)
    args = parser.parse_args()

    failures = []
    records = load_records(args.json_file, failures)
    sessions = [r for r in records if r.get("event_type") == "session"]
    stats = find_stats(records)
    if stats is None:
        failures.append("no stats record in the JSON output")
    if args.prefix:
        check_prefix(sessions, failures)
    for spec in args.stat:
        check_stat(stats, spec, failures)
    for spec in args.anomaly:
        check_anomaly(sessions, spec, failures)
    if len(sessions) < args.sessions_min:
        failures.append(f"{len(sessions)} session records, expected at least {args.sessions_min}")
    for failure in failures:
        print(f"  FAILED: {failure}")
    return min(len(failures), 100)


if __name__ == "__main__":
    sys.exit(main())
