#!/usr/bin/python3
"""Mail clients for the capture scenarios that swaks, curl and openssl cannot drive.

Each subcommand opens one connection to a loopback server and exits 0 when
the exchange went as the scenario intends. The protocols are SMTP (RFC 5321,
RFC 3207 STARTTLS, RFC 4954 AUTH, RFC 3030 BDAT), IMAP (RFC 9051 LOGIN,
literals, AUTHENTICATE and PREAUTH, RFC 7888 LITERAL+, RFC 4959 SASL-IR) and POP3
(RFC 1939 USER/PASS and APOP, RFC 2595 STLS, RFC 5034 AUTH). The credentials come from
the command line and are made up by make-captures.sh.
"""

import argparse
import base64
import hashlib
import hmac
import os
import socket
import ssl
import sys
import time

SERVER_NAME = "mail.example.test"
TIMEOUT_SECONDS = 10


class Connection:
    """A line-buffered client connection that can switch to TLS."""

    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT_SECONDS)
        self.buffer = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def read_line(self):
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def read_smtp_reply(self):
        """Read one SMTP reply, all lines of it, and return (code, lines)."""
        lines = []
        while True:
            line = self.read_line()
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return int(line[:3]), lines

    def read_imap_tagged(self, tag):
        """Read IMAP responses up to the one tagged TAG and return all lines."""
        lines = []
        while True:
            line = self.read_line()
            lines.append(line)
            if line.startswith(tag + " "):
                return lines

    def start_tls(self):
        """Start TLS, dropping plain-text bytes that came after the go-ahead."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self.buffer = b""
        self.sock = context.wrap_socket(self.sock, server_hostname=SERVER_NAME)

    def close(self):
        self.sock.close()


def b64(text):
    if isinstance(text, str):
        text = text.encode()
    return base64.b64encode(text).decode()


def plain_response(user, password):
    return b64("\0" + user + "\0" + password)


def cram_md5_response(user, password, challenge_b64):
    challenge = base64.b64decode(challenge_b64)
    digest = hmac.new(password.encode(), challenge, hashlib.md5).hexdigest()
    return b64(user + " " + digest)


class ScramClient:
    """The client side of SCRAM-SHA-256 (RFC 7677, RFC 5802 section 3)."""

    def __init__(self, user, password):
        self.user = user
        self.password = password
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.client_first_bare = "n=" + user + ",r=" + self.nonce

    def first(self):
        return b64("n,," + self.client_first_bare)

    def final(self, server_first_b64):
        server_first = base64.b64decode(server_first_b64).decode()
        fields = dict(item.split("=", 1) for item in server_first.split(","))
        salt = base64.b64decode(fields["s"])
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(), salt, int(fields["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = "c=biws,r=" + fields["r"]
        auth_message = ",".join([self.client_first_bare, server_first, without_proof])
        signature = hmac.new(stored_key, auth_message.encode(), hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        return b64(without_proof + ",p=" + base64.b64encode(proof).decode())


def expect(condition, message):
    if not condition:
        raise RuntimeError(message)


# --- SMTP --------------------------------------------------------------------


def smtp_open(args):
    conn = Connection(args.host, args.port or 25)
    code, _ = conn.read_smtp_reply()
    expect(code == 220, "no 220 greeting")
    return conn


def smtp_ehlo(conn, verb="EHLO"):
    conn.send(verb + " client.example.test\r\n")
    code, lines = conn.read_smtp_reply()
    expect(code == 250, "EHLO rejected")
    return [line[4:].upper() for line in lines]


def smtp_send_message(conn, lowercase=False):
    commands = ["MAIL FROM:<alice@example.test>", "RCPT TO:<bob@example.test>", "DATA"]
    if lowercase:
        commands = ["mail from:<alice@example.test>", "rcpt to:<bob@example.test>", "data"]
    for command in commands:
        conn.send(command + "\r\n")
        conn.read_smtp_reply()
    conn.send("Subject: mailtap capture\r\n\r\nMade-up test message.\r\n.\r\n")
    conn.read_smtp_reply()


def smtp_quit(conn, verb="QUIT"):
    conn.send(verb + "\r\n")
    conn.read_smtp_reply()
    conn.close()


def run_smtp_lowercase(args):
    """Lowercase commands, AUTH PLAIN with an initial response, and a
    pipelined MAIL/RCPT/DATA group (RFC 2920)."""
    conn = smtp_open(args)
    capabilities = smtp_ehlo(conn, "ehlo")
    expect("PIPELINING" in capabilities, "server does not offer PIPELINING")
    conn.send("auth plain " + plain_response(args.user, args.password) + "\r\n")
    code, _ = conn.read_smtp_reply()
    expect(code == 235, "AUTH PLAIN failed")
    conn.send("mail from:<alice@example.test>\r\nrcpt to:<bob@example.test>\r\ndata\r\n")
    for _ in range(3):
        conn.read_smtp_reply()
    conn.send("Subject: pipelined\r\n\r\nMade-up test message.\r\n.\r\n")
    conn.read_smtp_reply()
    smtp_quit(conn, "quit")


def run_smtp_auth_continuation(args):
    """AUTH PLAIN with no initial response: the server sends an empty 334
    and the client sends the credentials on the next line (RFC 4954)."""
    conn = smtp_open(args)
    smtp_ehlo(conn)
    conn.send("AUTH PLAIN\r\n")
    code, _ = conn.read_smtp_reply()
    expect(code == 334, "no 334 continuation for AUTH PLAIN")
    conn.send(plain_response(args.user, args.password) + "\r\n")
    code, _ = conn.read_smtp_reply()
    expect(code == 235, "AUTH PLAIN failed")
    smtp_quit(conn)


def run_smtp_auth_cancel(args):
    """Cancel AUTH LOGIN with '*' at the first 334 (RFC 4954 section 4),
    then log in with AUTH PLAIN."""
    conn = smtp_open(args)
    smtp_ehlo(conn)
    conn.send("AUTH LOGIN\r\n")
    code, _ = conn.read_smtp_reply()
    expect(code == 334, "no 334 continuation for AUTH LOGIN")
    conn.send("*\r\n")
    code, _ = conn.read_smtp_reply()
    expect(code == 501, "the server did not end the cancelled AUTH with 501")
    conn.send("AUTH PLAIN " + plain_response(args.user, args.password) + "\r\n")
    code, _ = conn.read_smtp_reply()
    expect(code == 235, "AUTH PLAIN failed")
    smtp_quit(conn)


def run_smtp_bdat(args):
    """Send the message with BDAT chunks (RFC 3030) instead of DATA."""
    conn = smtp_open(args)
    capabilities = smtp_ehlo(conn)
    expect("CHUNKING" in capabilities, "server does not offer CHUNKING")
    conn.send("MAIL FROM:<alice@example.test>\r\n")
    conn.read_smtp_reply()
    conn.send("RCPT TO:<bob@example.test>\r\n")
    conn.read_smtp_reply()
    first = b"Subject: chunked\r\n\r\n"
    last = b"Made-up test message in a second chunk.\r\n"
    conn.send(b"BDAT %d\r\n" % len(first) + first)
    code, _ = conn.read_smtp_reply()
    expect(code == 250, "first BDAT rejected")
    conn.send(b"BDAT %d LAST\r\n" % len(last) + last)
    code, _ = conn.read_smtp_reply()
    expect(code == 250, "last BDAT rejected")
    smtp_quit(conn)


def run_smtp_opportunistic(args):
    """Use STARTTLS when offered and accepted, else authenticate in clear.

    This is the behaviour a downgrade attacker exploits: behind a stripping
    or refusing middlebox, the credentials go out in plain text.
    """
    conn = smtp_open(args)
    capabilities = smtp_ehlo(conn)
    if "STARTTLS" in capabilities:
        conn.send("STARTTLS\r\n")
        code, _ = conn.read_smtp_reply()
        if code == 220:
            conn.start_tls()
            smtp_ehlo(conn)
    conn.send("AUTH PLAIN " + plain_response(args.user, args.password) + "\r\n")
    conn.read_smtp_reply()
    smtp_send_message(conn)
    smtp_quit(conn)


def run_smtp_command_injection(args):
    """Send STARTTLS and RSET in one write (command injection, CVE-2011-0411)."""
    conn = smtp_open(args)
    smtp_ehlo(conn)
    conn.send("STARTTLS\r\nRSET\r\n")
    code, _ = conn.read_smtp_reply()
    expect(code == 220, "STARTTLS not accepted")
    conn.start_tls()
    smtp_ehlo(conn)
    smtp_quit(conn)


def run_smtp_no_handshake(args):
    """Get the STARTTLS go-ahead, then close without a TLS handshake."""
    conn = smtp_open(args)
    smtp_ehlo(conn)
    conn.send("STARTTLS\r\n")
    code, _ = conn.read_smtp_reply()
    expect(code == 220, "STARTTLS not accepted")
    time.sleep(1)
    conn.close()


def run_smtp_bearer(args):
    """AUTH XOAUTH2 or OAUTHBEARER with the token as initial response."""
    conn = smtp_open(args)
    smtp_ehlo(conn)
    conn.send("AUTH " + args.mechanism + " " + bearer_response(args) + "\r\n")
    code, _ = conn.read_smtp_reply()
    expect(code == 235, "bearer AUTH failed")
    smtp_quit(conn)


def bearer_response(args):
    if args.mechanism == "XOAUTH2":
        return b64("user=" + args.user + "\x01auth=Bearer " + args.token + "\x01\x01")
    return b64("n,a=" + args.user + ",\x01auth=Bearer " + args.token + "\x01\x01")


# --- IMAP --------------------------------------------------------------------


def imap_open(args):
    conn = Connection(args.host, args.port or 143)
    greeting = conn.read_line()
    expect(greeting.startswith("* OK"), "no IMAP greeting")
    return conn


def imap_quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def imap_logout(conn, tag="a9"):
    conn.send(tag + " LOGOUT\r\n")
    conn.read_imap_tagged(tag)
    conn.close()


def run_imap_login(args):
    """LOGIN with the password as an atom, a quoted string with escapes,
    a synchronising literal or a non-synchronising literal (RFC 7888)."""
    conn = imap_open(args)
    password = args.password.encode()
    if args.form == "atom":
        conn.send("a1 LOGIN " + args.user + " " + args.password + "\r\n")
    elif args.form == "quoted":
        conn.send("a1 LOGIN " + imap_quote(args.user) + " " + imap_quote(args.password) + "\r\n")
    elif args.form == "literal":
        conn.send("a1 LOGIN {%d}\r\n" % len(args.user))
        expect(conn.read_line().startswith("+"), "no continuation for the user literal")
        conn.send(args.user.encode() + b" {%d}\r\n" % len(password))
        expect(conn.read_line().startswith("+"), "no continuation for the password literal")
        conn.send(password + b"\r\n")
    else:
        conn.send(b"a1 LOGIN {%d+}\r\n%s {%d+}\r\n%s\r\n"
                  % (len(args.user), args.user.encode(), len(password), password))
    lines = conn.read_imap_tagged("a1")
    ok = lines[-1].startswith("a1 OK")
    if ok:
        conn.send("a2 SELECT INBOX\r\n")
        conn.read_imap_tagged("a2")
    imap_logout(conn)
    expect(ok != args.expect_failure, "LOGIN result differs from the intent")


def imap_sasl_exchange(conn, args, first_line):
    """Send one response per server continuation of an AUTHENTICATE command."""
    scram = ScramClient(args.user, args.password)
    if args.mechanism == "SCRAM-SHA-256":
        conn.send(first_line + " " + scram.first() + "\r\n")
    else:
        conn.send(first_line + "\r\n")
    step = 0
    while True:
        line = conn.read_line()
        if line.startswith("a1 "):
            return line
        expect(line.startswith("+"), "unexpected line during AUTHENTICATE: " + line)
        challenge = line[2:].strip()
        conn.send(sasl_step(args, scram, step, challenge) + "\r\n")
        step += 1


def sasl_step(args, scram, step, challenge):
    if args.mechanism == "PLAIN":
        return plain_response(args.user, args.password)
    if args.mechanism == "LOGIN":
        return b64(args.user) if step == 0 else b64(args.password)
    if args.mechanism == "CRAM-MD5":
        return cram_md5_response(args.user, args.password, challenge)
    if args.mechanism == "SCRAM-SHA-256":
        return scram.final(challenge) if step == 0 else ""
    raise RuntimeError("unsupported mechanism " + args.mechanism)


def run_imap_authenticate(args):
    conn = imap_open(args)
    command = "a1 AUTHENTICATE " + args.mechanism
    if args.initial_response:
        command += " " + plain_response(args.user, args.password)
        conn.send(command + "\r\n")
        result = conn.read_imap_tagged("a1")[-1]
    else:
        result = imap_sasl_exchange(conn, args, command)
    imap_logout(conn)
    expect(result.startswith("a1 OK"), "AUTHENTICATE failed: " + result)


def run_imap_bearer(args):
    conn = imap_open(args)
    conn.send("a1 AUTHENTICATE " + args.mechanism + " " + bearer_response(args) + "\r\n")
    result = conn.read_imap_tagged("a1")[-1]
    imap_logout(conn)
    expect(result.startswith("a1 OK"), "bearer AUTHENTICATE failed")


def run_imap_opportunistic(args):
    conn = imap_open(args)
    conn.send("a1 CAPABILITY\r\n")
    capabilities = " ".join(conn.read_imap_tagged("a1")).upper().split()
    if "STARTTLS" in capabilities:
        conn.send("a2 STARTTLS\r\n")
        if conn.read_imap_tagged("a2")[-1].startswith("a2 OK"):
            conn.start_tls()
    conn.send("a3 LOGIN " + args.user + " " + args.password + "\r\n")
    conn.read_imap_tagged("a3")
    imap_logout(conn)


def run_imap_preauth(args):
    """Read a PREAUTH greeting (RFC 9051 section 7.1.4), then work in the
    authenticated state: CAPABILITY, SELECT, LOGOUT."""
    conn = Connection(args.host, args.port or 143)
    greeting = conn.read_line()
    expect(greeting.startswith("* PREAUTH"), "no PREAUTH greeting: " + greeting)
    conn.send("a1 CAPABILITY\r\n")
    conn.read_imap_tagged("a1")
    conn.send("a2 SELECT INBOX\r\n")
    result = conn.read_imap_tagged("a2")[-1]
    imap_logout(conn, "a3")
    expect(result.startswith("a2 OK"), "SELECT failed: " + result)


def run_imap_command_injection(args):
    """Send STARTTLS and CAPABILITY in one write (command injection)."""
    conn = imap_open(args)
    conn.send("a1 STARTTLS\r\na2 CAPABILITY\r\n")
    result = conn.read_imap_tagged("a1")[-1]
    expect(result.startswith("a1 OK"), "STARTTLS not accepted")
    # Dovecot 2.3 replies OK and then drops the connection when plain text
    # follows STARTTLS, which is a correct defence, so a failed handshake
    # still makes a valid capture.
    try:
        conn.start_tls()
    except (ssl.SSLError, OSError) as error:
        print("server closed the connection after the injected command: %s" % error)
        return
    imap_logout(conn)


# --- POP3 --------------------------------------------------------------------


def pop3_open(args):
    conn = Connection(args.host, args.port or 110)
    greeting = conn.read_line()
    expect(greeting.startswith("+OK"), "no POP3 greeting")
    return conn, greeting


def pop3_command(conn, command):
    conn.send(command + "\r\n")
    return conn.read_line()


def pop3_quit(conn):
    pop3_command(conn, "QUIT")
    conn.close()


def run_pop3_user(args):
    conn, _ = pop3_open(args)
    expect(pop3_command(conn, "USER " + args.user).startswith("+OK"), "USER rejected")
    result = pop3_command(conn, "PASS " + args.password)
    if result.startswith("+OK"):
        pop3_command(conn, "STAT")
    pop3_quit(conn)
    expect(result.startswith("+OK"), "PASS rejected")


def run_pop3_apop(args):
    conn, greeting = pop3_open(args)
    start = greeting.find("<")
    expect(start >= 0, "no APOP timestamp in the greeting")
    timestamp = greeting[start:greeting.index(">", start) + 1]
    digest = hashlib.md5((timestamp + args.password).encode()).hexdigest()
    result = pop3_command(conn, "APOP " + args.user + " " + digest)
    pop3_quit(conn)
    expect(result.startswith("+OK"), "APOP rejected")


def run_pop3_apop_or_user(args):
    """Use APOP when the greeting carries a timestamp, else USER/PASS, as
    clients that prefer APOP do. Behind a middlebox that removes the
    timestamp, the password goes out in clear."""
    conn, greeting = pop3_open(args)
    start = greeting.find("<")
    end = greeting.find(">", start)
    if start >= 0 and end > start:
        timestamp = greeting[start:end + 1]
        digest = hashlib.md5((timestamp + args.password).encode()).hexdigest()
        result = pop3_command(conn, "APOP " + args.user + " " + digest)
    else:
        expect(pop3_command(conn, "USER " + args.user).startswith("+OK"), "USER rejected")
        result = pop3_command(conn, "PASS " + args.password)
    pop3_quit(conn)
    expect(result.startswith("+OK"), "login rejected: " + result)


def run_pop3_auth(args):
    """AUTH with the mechanism name alone, then one response per '+' line."""
    conn, _ = pop3_open(args)
    conn.send("AUTH " + args.mechanism + "\r\n")
    step = 0
    while True:
        line = conn.read_line()
        if not line.startswith("+ ") and line != "+":
            break
        conn.send(sasl_step(args, None, step, line[2:].strip()) + "\r\n")
        step += 1
    pop3_quit(conn)
    expect(line.startswith("+OK") != args.expect_failure, "AUTH result differs from the intent: " + line)


def run_pop3_opportunistic(args):
    conn, _ = pop3_open(args)
    conn.send("CAPA\r\n")
    capabilities = []
    line = conn.read_line()
    while line != ".":
        capabilities.append(line.upper())
        line = conn.read_line()
    if "STLS" in capabilities:
        if pop3_command(conn, "STLS").startswith("+OK"):
            conn.start_tls()
    pop3_command(conn, "USER " + args.user)
    pop3_command(conn, "PASS " + args.password)
    pop3_quit(conn)


def run_pop3_no_handshake(args):
    conn, _ = pop3_open(args)
    expect(pop3_command(conn, "STLS").startswith("+OK"), "STLS not accepted")
    time.sleep(1)
    conn.close()


COMMANDS = {
    "smtp-lowercase": run_smtp_lowercase,
    "smtp-auth-continuation": run_smtp_auth_continuation,
    "smtp-auth-cancel": run_smtp_auth_cancel,
    "smtp-bdat": run_smtp_bdat,
    "smtp-opportunistic": run_smtp_opportunistic,
    "smtp-command-injection": run_smtp_command_injection,
    "smtp-no-handshake": run_smtp_no_handshake,
    "smtp-bearer": run_smtp_bearer,
    "imap-login": run_imap_login,
    "imap-authenticate": run_imap_authenticate,
    "imap-bearer": run_imap_bearer,
    "imap-opportunistic": run_imap_opportunistic,
    "imap-command-injection": run_imap_command_injection,
    "imap-preauth": run_imap_preauth,
    "pop3-user": run_pop3_user,
    "pop3-apop": run_pop3_apop,
    "pop3-apop-or-user": run_pop3_apop_or_user,
    "pop3-auth": run_pop3_auth,
    "pop3-opportunistic": run_pop3_opportunistic,
    "pop3-no-handshake": run_pop3_no_handshake,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int)
    parser.add_argument("--user", default="alice")
    parser.add_argument("--password", default="")
    parser.add_argument("--token", default="")
    parser.add_argument("--mechanism", default="PLAIN")
    parser.add_argument("--initial-response", action="store_true")
    parser.add_argument("--expect-failure", action="store_true",
                        help="the server must reject the credentials")
    parser.add_argument("--form", choices=["atom", "quoted", "literal", "literal-plus"], default="atom")
    args = parser.parse_args()
    try:
        COMMANDS[args.command](args)
    except (OSError, RuntimeError, ValueError) as error:
        print("clients.py %s: %s" % (args.command, error), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
