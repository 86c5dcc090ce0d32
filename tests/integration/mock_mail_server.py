#!/usr/bin/env python3
"""A small SMTP server for the live-capture tests, run inside a test namespace.

It speaks just enough ESMTP for mailtap's checks (RFC 5321, 3207, 4954):
greeting, EHLO with STARTTLS and AUTH PLAIN LOGIN, STARTTLS through
Python's ssl module with a throwaway certificate, AUTH PLAIN, MAIL, RCPT,
DATA and QUIT. With --strip it advertises XXXXXXXA in place of STARTTLS,
as a stripping firewall would. It serves until killed.

Usage: mock_mail_server.py --listen ADDR --port N --cert CERT --key KEY [--strip]
"""
import argparse
import socket
import ssl
import threading


class Session:
    def __init__(self, conn, tls_context, strip):
        self.conn = conn
        self.file = conn.makefile("rb")
        self.tls_context = tls_context
        self.strip = strip

    def send(self, text):
        self.conn.sendall(text.encode("ascii") + b"\r\n")

    def ehlo(self):
        self.send("250-mail.example.test")
        self.send("250-PIPELINING")
        if self.tls_context is not None:
            self.send("250-XXXXXXXA" if self.strip else "250-STARTTLS")
        self.send("250 AUTH PLAIN LOGIN")

    def starttls(self):
        self.send("220 2.0.0 Ready to start TLS")
        self.conn = self.tls_context.wrap_socket(self.conn, server_side=True)
        self.file = self.conn.makefile("rb")
        self.tls_context = None

    def data(self):
        self.send("354 End data with <CR><LF>.<CR><LF>")
        while True:
            line = self.file.readline()
            if not line or line.rstrip(b"\r\n") == b".":
                break
        self.send("250 2.0.0 Ok: queued")

    def run(self):
        self.send("220 mail.example.test ESMTP mock")
        while True:
            line = self.file.readline()
            if not line:
                return
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb in (b"EHLO", b"HELO"):
                self.ehlo()
            elif verb == b"STARTTLS" and self.tls_context is not None and not self.strip:
                self.starttls()
            elif verb == b"AUTH":
                self.send("235 2.7.0 Authentication successful")
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                self.send("250 2.1.0 Ok")
            elif verb == b"DATA":
                self.data()
            elif verb == b"QUIT":
                self.send("221 2.0.0 Bye")
                return
            else:
                self.send("502 5.5.2 Command not recognized")


def serve(conn, tls_context, strip):
    try:
        Session(conn, tls_context, strip).run()
    except (OSError, ssl.SSLError):
        pass
    finally:
        conn.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--strip", action="store_true")
    args = parser.parse_args()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    family = socket.AF_INET6 if ":" in args.listen else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.listen, args.port))
    listener.listen(16)
    while True:
        conn, _addr = listener.accept()
        threading.Thread(target=serve, args=(conn, context, args.strip), daemon=True).start()


if __name__ == "__main__":
    main()
