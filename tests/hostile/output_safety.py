#!/usr/bin/env python3
"""Check that hostile user names cannot forge output, and that passwords stay hidden.

usage: output_safety.py MAILTAP RULES WORK_DIR

The capture (hostile_gen.py case evil_names) carries SMTP AUTH PLAIN, SMTP
AUTH LOGIN, IMAP LOGIN and POP3 USER with user names that contain CR, LF
(POP3: neither), NUL, a fake JSON object, terminal escape sequences, the
C1 CSI and invalid UTF-8. mailtap runs with JSON lines, terminal text and
RFC 5424 syslog to a UDP socket this script opens on 127.0.0.1; then with
syslog to a TCP socket on 127.0.0.1; then with colour text; then with
--reveal-credentials. The checks:

- JSON: every line is one JSON object; event types, top-level keys and
  auth keys are the documented ones; each user name reads back as the wire
  bytes under the documented mapping (valid UTF-8 as is, every other byte
  as U+00XX).
- syslog: every UDP datagram, and every TCP frame (octet counting, RFC
  6587 section 3.4.1), is one message with no raw CR, LF or NUL, and its
  MSG part is one JSON object.
- text: no ESC byte with --no-color and no raw C1 control, CR or NUL;
  with colour every ESC starts an SGR sequence.
- passwords: absent from every output, in clear and in base64, unless
  --reveal-credentials is given; with it, the JSON carries them exactly.

The exit status is the number of failed checks.
"""

import base64
import json
import os
import re
import select
import socket
import subprocess
import sys
import time

# The generator sits beside this script; no bytecode cache is written into the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile_gen  # noqa: E402

EVENT_TYPES = {"session", "alert", "stats"}
COMMON_KEYS = {"timestamp", "flow_id", "event_type", "src_ip", "src_port", "dest_ip", "dest_port", "proto", "app_proto"}
SESSION_KEYS = COMMON_KEYS | {"flow", "starttls", "tls", "auth", "anomalies", "evidence", "alerts", "detected_protocol", "mail"}
ALERT_KEYS = COMMON_KEYS | {"alert", "smtp", "submission", "imap", "pop3", "tls", "anomalies", "session"}
AUTH_KEYS = {"mechanism", "username", "password", "exposure", "result"}
SGR = re.compile(rb"\x1b\[[0-9;]*m")

failures = []


def fail(message):
    print("  FAILED: " + message)
    failures.append(message)


def wire_text(raw):
    """Return the string a JSON reader gets for wire bytes, per docs/output.md."""
    out = []
    i = 0
    while i < len(raw):
        for n in (4, 3, 2, 1):
            try:
                out.append(raw[i:i + n].decode("utf-8"))
                i += n
                break
            except UnicodeDecodeError:
                continue
        else:
            out.append(chr(raw[i]))
            i += 1
    return "".join(out)


def secret_forms():
    forms = {}
    for kind, password in hostile_gen.EVIL_PASSWORDS.items():
        forms[password] = kind
        forms[base64.b64encode(password)] = kind
    plain_blob = b"\0" + hostile_gen.EVIL_USERS["plain"] + b"\0" + hostile_gen.EVIL_PASSWORDS["plain"]
    forms[base64.b64encode(plain_blob)] = "plain"
    forms[hostile_gen.PREFIX_PASSWORD] = "prefix"
    forms[base64.b64encode(b"\0" + hostile_gen.PREFIX_USER + b"\0" + hostile_gen.PREFIX_PASSWORD)] = "prefix"
    return forms


def check_no_secrets(label, data):
    for form, kind in secret_forms().items():
        if form in data:
            fail(f"{label}: the {kind} password appears without --reveal-credentials ({form!r})")


def check_auth(label, where, auth, reveal):
    by_port = {v: k for k, v in hostile_gen.EVIL_PORTS.items()}
    kind = by_port.get(where.get("src_port"))
    if set(auth) != AUTH_KEYS:
        fail(f"{label}: auth keys {sorted(auth)} differ from {sorted(AUTH_KEYS)}")
    if kind is None:
        return
    expected = wire_text(hostile_gen.EVIL_USERS[kind])
    if auth.get("username") != expected:
        fail(f"{label}: {kind} username {auth.get('username')!r}, expected {expected!r}")
    password = hostile_gen.EVIL_PASSWORDS[kind].decode() if reveal else "<redacted>"
    if auth.get("password") != password:
        fail(f"{label}: {kind} password {auth.get('password')!r}, expected {password!r}")


def check_json(label, data, reveal):
    if not data.endswith(b"\n"):
        fail(f"{label}: the JSON output does not end with a newline")
    lines = data.split(b"\n")[:-1]
    seen_users = 0
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except ValueError as e:
            fail(f"{label}: line {number} is not one JSON object ({e}): {line[:120]!r}")
            continue
        kind = record.get("event_type")
        if kind not in EVENT_TYPES:
            fail(f"{label}: line {number} has event_type {kind!r}")
            continue
        allowed = {"session": SESSION_KEYS, "alert": ALERT_KEYS, "stats": {"timestamp", "event_type", "stats"}}[kind]
        extra = set(record) - allowed
        if extra:
            fail(f"{label}: line {number} ({kind}) has unexpected keys {sorted(extra)}")
        auths = record.get("auth", []) if kind == "session" else []
        for proto in ("smtp", "submission", "imap", "pop3"):
            if kind == "alert" and isinstance(record.get(proto), dict) and "auth" in record[proto]:
                auths = [record[proto]["auth"]]
        for auth in auths:
            check_auth(f"{label} line {number}", record, auth, reveal)
            seen_users += record.get("src_port") in hostile_gen.EVIL_PORTS.values()
    # Each hostile login gives one session auth entry, and one alert when rules are loaded.
    expected = len(hostile_gen.EVIL_PORTS) * 2
    if seen_users != expected:
        fail(f"{label}: {seen_users} auth records of the hostile logins, expected {expected} (sessions and alerts)")
    print(f"  {label}: {len(lines)} JSON lines checked, {seen_users} hostile auth records")


def check_syslog(label, messages):
    # One cleartext-password alert per hostile login at least.
    if len(messages) < len(hostile_gen.EVIL_PORTS):
        fail(f"{label}: {len(messages)} messages received, expected at least {len(hostile_gen.EVIL_PORTS)} alerts")
    for n, message in enumerate(messages, 1):
        for byte, name in ((b"\r", "CR"), (b"\n", "LF"), (b"\0", "NUL")):
            if byte in message:
                fail(f"{label} message {n} contains a raw {name}: {message[:160]!r}")
        start = message.find(b' {"timestamp"')
        if start < 0:
            fail(f"{label} message {n} carries no JSON MSG: {message[:160]!r}")
            continue
        try:
            json.loads(message[start + 1:])
        except ValueError as e:
            fail(f"{label} message {n}: MSG is not one JSON object ({e})")
    print(f"  {label}: {len(messages)} messages checked")


def split_octet_counted(stream):
    """Split a TCP syslog stream into messages; RFC 6587 section 3.4.1: MSG-LEN SP SYSLOG-MSG."""
    messages = []
    while stream:
        length_text, space, rest = stream.partition(b" ")
        if not space or not length_text.isdigit() or int(length_text) > len(rest):
            fail(f"tcp syslog: invalid octet-counting frame at {stream[:60]!r}")
            break
        length = int(length_text)
        messages.append(rest[:length])
        stream = rest[length:]
    return messages


def run_tcp_syslog(base):
    """Run mailtap with syslog over TCP to a listener on 127.0.0.1; return the messages received."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(30)
    port = server.getsockname()[1]
    proc = subprocess.Popen(base + ["--json", os.devnull, "--syslog-server", f"tcp://127.0.0.1:{port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    chunks = []
    try:
        conn, _ = server.accept()
        conn.settimeout(30)
        while True:
            data = conn.recv(65536)
            if not data:
                break
            chunks.append(data)
        conn.close()
    except socket.timeout:
        fail("tcp syslog: mailtap did not connect or did not close the connection within 30 s")
    server.close()
    _, err = proc.communicate(timeout=60)
    if proc.returncode != 0:
        fail(f"tcp syslog run: exit status {proc.returncode}: {err[-400:]!r}")
    return split_octet_counted(b"".join(chunks))


def check_text(label, data, colour):
    if b"\r" in data or b"\0" in data:
        fail(f"{label}: raw CR or NUL in the text output")
    for c1 in range(0x80, 0xA0):
        if bytes([0xC2, c1]) in data:
            fail(f"{label}: raw C1 control U+{c1:04X} in the text output")
    if not colour and b"\x1b" in data:
        at = data.index(b"\x1b")
        fail(f"{label}: ESC byte with --no-color: {data[max(0, at - 40):at + 20]!r}")
    if colour:
        rest = SGR.sub(b"", data)
        if b"\x1b" in rest:
            at = rest.index(b"\x1b")
            fail(f"{label}: ESC that starts no SGR colour sequence: {rest[max(0, at - 40):at + 20]!r}")
    if b"eve" not in data:
        fail(f"{label}: the hostile user names are missing from the text output")
    lines = data.count(b"\n")
    print(f"  {label}: {lines} text lines checked")


def run(cmd, label):
    print("  running: " + " ".join(cmd))
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    if result.returncode != 0:
        fail(f"{label}: exit status {result.returncode}: {result.stderr[-400:]!r}")
    if b"AddressSanitizer" in result.stderr or b"runtime error:" in result.stderr:
        fail(f"{label}: sanitizer report: {result.stderr[:2000]!r}")
    return result.stdout


def main():
    mailtap, rules, work = sys.argv[1:4]
    capture = os.path.join(work, "evil.pcap")
    subprocess.run([sys.executable, hostile_gen.__file__, "evil_names", capture], check=True)
    base = [mailtap, "-r", capture, "--rules", rules]

    # First run: JSON lines, no-colour text on stdout and RFC 5424 syslog over UDP to our own socket.
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    json_path = os.path.join(work, "evil.json")
    proc = subprocess.Popen(base + ["--json", json_path, "--text", "--no-color",
                                    "--syslog-server", f"udp://127.0.0.1:{port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    datagrams = []
    deadline = None
    while True:
        ready, _, _ = select.select([sock], [], [], 0.2)
        if ready:
            datagrams.append(sock.recv(65535))
            continue
        if proc.poll() is not None:
            deadline = deadline or time.monotonic() + 1.0
            if time.monotonic() > deadline:
                break
    text, err = proc.communicate()
    sock.close()
    if proc.returncode != 0:
        fail(f"first run: exit status {proc.returncode}: {err[-400:]!r}")
    if b"AddressSanitizer" in err or b"runtime error:" in err:
        fail(f"first run: sanitizer report: {err[:2000]!r}")
    with open(json_path, "rb") as f:
        json_data = f.read()
    check_json("json", json_data, reveal=False)
    check_no_secrets("json", json_data)
    check_text("text --no-color", text, colour=False)
    check_no_secrets("text", text)
    check_syslog("udp syslog", datagrams)
    check_no_secrets("udp syslog", b"".join(datagrams))
    check_no_secrets("stderr", err)

    # Second run: RFC 5424 over TCP with octet counting.
    tcp_messages = run_tcp_syslog(base)
    check_syslog("tcp syslog", tcp_messages)
    check_no_secrets("tcp syslog", b"".join(tcp_messages))

    # Third run: colour text. Only mailtap's own SGR sequences may reach the terminal.
    coloured = run(base + ["--text"], "colour text run")
    check_text("text in colour", coloured, colour=True)

    # Fourth run: --reveal-credentials writes each password exactly, in JSON only.
    revealed = run(base + ["--json", "-", "--reveal-credentials"], "reveal run")
    check_json("json --reveal-credentials", revealed, reveal=True)

    print(f"output_safety: {len(failures)} failure(s)")
    return min(len(failures), 100)


if __name__ == "__main__":
    sys.exit(main())
