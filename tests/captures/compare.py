#!/usr/bin/python3
"""Compare mailtap's JSON lines output with a capture's expected file.

Usage: compare.py MAILTAP_OUTPUT.jsonl NAME.expected.json

The expected file (captures/*.expected.json, written by
scripts/make-captures/expect.py from tshark) lists one object per TCP
connection. For each one, the session event with the same client and server
address and port must carry:
  - the same app_proto;
  - every key of the expected starttls object with the same value, or no
    starttls object when the expected value is null (implicit-TLS ports);
  - every key of the expected tls object with the same value;
  - the same auth records in the same order, each with the expected
    mechanism, username, result and exposure, and a password that is
    "<redacted>" or absent;
  - every anomaly of anomalies_present and none of anomalies_absent;
  - every key of the expected mta_sts object, and of the expected history
    object in evidence.history, or no such object when the expected value
    is null.
Keys the expected file leaves out are not compared. Every mismatch is
printed as one line: flow, field, expected value, actual value.

Exit status: 0 when everything matches, 1 on any mismatch, 2 when an input
file is missing or is not valid JSON.
"""

import ipaddress
import json
import sys

REDACTED = "<redacted>"


def normalize_ip(text):
    try:
        return str(ipaddress.ip_address(text))
    except (TypeError, ValueError):
        return text


def flow_key(record):
    return (normalize_ip(record.get("src_ip")), record.get("src_port"),
            normalize_ip(record.get("dest_ip")), record.get("dest_port"))


def flow_name(key):
    def endpoint(ip, port):
        return ("[%s]:%s" if ":" in str(ip) else "%s:%s") % (ip, port)
    return endpoint(key[0], key[1]) + " -> " + endpoint(key[2], key[3])


def read_sessions(path, mismatches):
    """Return the session events of a JSON lines file, keyed by flow."""
    sessions = {}
    with open(path, encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                mismatches.append("%s:%d: invalid JSON line: %s" % (path, number, error))
                continue
            if isinstance(record, dict) and record.get("event_type") == "session":
                sessions.setdefault(flow_key(record), []).append(record)
    return sessions


class Comparison:
    """The mismatches found for one expected session."""

    def __init__(self, flow):
        self.flow = flow
        self.mismatches = []

    def mismatch(self, field, expected, actual):
        self.mismatches.append("%s: %s: expected %s, actual %s"
                               % (self.flow, field, json.dumps(expected), json.dumps(actual)))

    def compare_value(self, field, expected, actual):
        if expected != actual:
            self.mismatch(field, expected, actual)

    def compare_object(self, field, expected, actual):
        """Compare the keys that the expected object names."""
        if expected is None:
            if actual is not None:
                self.mismatch(field, None, actual)
            return
        if not isinstance(actual, dict):
            self.mismatch(field, expected, actual)
            return
        for key, value in expected.items():
            self.compare_value(field + "." + key, value, actual.get(key))

    def compare_auth(self, expected, actual):
        """Match expected and actual records in order by mechanism, so that
        one missing record is reported once instead of shifting the rest."""
        actual = actual or []
        if not isinstance(actual, list):
            self.mismatch("auth", expected, actual)
            return
        position = 0
        matched = set()
        for index, want in enumerate(expected):
            field = "auth[%d]" % index
            found = next((k for k in range(position, len(actual))
                          if isinstance(actual[k], dict)
                          and actual[k].get("mechanism") == want.get("mechanism")), None)
            if found is None:
                self.mismatch(field, want, None)
                continue
            position = found + 1
            matched.add(found)
            have = actual[found]
            for key, value in want.items():
                self.compare_value(field + "." + key, value, have.get(key))

            # The privacy contract: no password unless the operator asked.
            if have.get("password", REDACTED) != REDACTED:
                self.mismatches.append("%s: %s.password: expected %s or no key, actual a value "
                                       "(run without --reveal-credentials)" % (self.flow, field, REDACTED))
        for index, have in enumerate(actual):
            if index not in matched:
                self.mismatch("auth (record not expected)", None, have)

    def compare_anomalies(self, present, absent, actual):
        actual = actual or []
        for name in present:
            if name not in actual:
                self.mismatch("anomalies", "contains " + name, actual)
        for name in absent:
            if name in actual:
                self.mismatch("anomalies", "does not contain " + name, actual)


def compare_session(expected, actual):
    flow = flow_name(flow_key(expected))
    comparison = Comparison(flow)
    comparison.compare_value("app_proto", expected["app_proto"], actual.get("app_proto"))
    if "starttls" in expected:
        comparison.compare_object("starttls", expected["starttls"], actual.get("starttls"))
    if "tls" in expected:
        comparison.compare_object("tls", expected["tls"], actual.get("tls"))
    if "auth" in expected:
        comparison.compare_auth(expected["auth"], actual.get("auth"))
    comparison.compare_anomalies(expected.get("anomalies_present", []),
                                 expected.get("anomalies_absent", []), actual.get("anomalies"))
    if "mta_sts" in expected:
        comparison.compare_object("mta_sts", expected["mta_sts"], actual.get("mta_sts"))
    if "history" in expected:
        evidence = actual.get("evidence") if isinstance(actual.get("evidence"), dict) else {}
        comparison.compare_object("evidence.history", expected["history"], evidence.get("history"))
    return comparison.mismatches


def compare(output_path, expected_path):
    """Return the list of mismatch lines."""
    with open(expected_path, encoding="utf-8") as source:
        expected = json.load(source)
    mismatches = []
    sessions = read_sessions(output_path, mismatches)
    wanted = set()
    for session in expected["sessions"]:
        key = flow_key(session)
        wanted.add(key)
        found = sessions.get(key, [])
        if not found:
            mismatches.append("%s: session: expected one session event, actual none"
                              % flow_name(key))
            continue
        if len(found) > 1:
            mismatches.append("%s: session: expected one session event, actual %d"
                              % (flow_name(key), len(found)))
        mismatches.extend(compare_session(session, found[0]))
    for key in sorted(set(sessions) - wanted, key=str):
        mismatches.append("%s: session: expected none for this flow, actual one" % flow_name(key))
    return mismatches


def main():
    if len(sys.argv) != 3:
        print("usage: compare.py MAILTAP_OUTPUT.jsonl NAME.expected.json", file=sys.stderr)
        return 2
    output_path, expected_path = sys.argv[1], sys.argv[2]
    try:
        mismatches = compare(output_path, expected_path)
    except OSError as error:
        print("compare.py: cannot read input: %s" % error, file=sys.stderr)
        return 2
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        print("compare.py: %s is not a valid expected file: %s" % (expected_path, error), file=sys.stderr)
        return 2
    name = expected_path.rsplit("/", 1)[-1].replace(".expected.json", "")
    for line in mismatches:
        print("%s: %s" % (name, line))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
