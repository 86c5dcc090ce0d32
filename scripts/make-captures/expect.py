#!/usr/bin/python3
"""Write captures/NAME.expected.json from tshark's reading of each capture.

Usage: expect.py CAPTURE_DIR [NAME ...]

Every fact in an expected file comes from tshark (Wireshark 4.0 on Debian 12)
run on the capture, never from mailtap:
  - addresses and ports from the SYN packet of each TCP stream;
  - STARTTLS offer, command and reply from the SMTP, IMAP and POP dissectors'
    line fields (smtp.command_line, smtp.response, imap.line, pop.request,
    pop.response);
  - TLS version, cipher suite name and SNI from the ServerHello and
    ClientHello fields (tls.handshake.*), cipher names from PDML shownames;
  - anomalies from checks on those fields (below, one function each).
The scenario table only states what tshark cannot know: the SASL mechanism's
exposure class, and which user name each capture authenticates as. Each of
those is checked against tshark's fields too (user names in the decoded lines,
results from the server's reply), and a mismatch stops the script.

docs/captures.md explains each check and where tshark gets a value wrong.
"""

import base64
import binascii
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

APP_PROTO_BY_PORT = {25: "smtp", 587: "submission", 465: "smtps", 110: "pop3", 995: "pop3s",
                     143: "imap", 993: "imaps"}
IMPLICIT_TLS_PORTS = {465, 993, 995}
TLS_VERSION_NAMES = {"0x0002": "SSLv2", "0x0300": "SSLv3", "0x0301": "TLSv1.0",
                     "0x0302": "TLSv1.1", "0x0303": "TLSv1.2", "0x0304": "TLSv1.3"}

# The made-up secrets of make-captures.sh, used only to check that tshark
# shows them where a scenario sends credentials in clear text. They never
# go into an expected file.
SECRETS = ["Wonderland-42", 'b0b"s\\secret', "carol-pass-7", "not-the-password-9",
           "ya29.mailtap-made-up-token-0001", "dave-kerberos-5", "kdc-master-made-up-1",
           "nobody-ntlm-8"]

LINE_FIELDS = ("smtp.command_line", "smtp.response", "imap.line", "pop.request", "pop.response",
               "pop.response.data")


def auth(mechanism, username, result="success", exposure="cleartext"):
    entry = {"mechanism": mechanism, "username": username, "result": result}
    if username is None:
        del entry["username"]
    if exposure:
        entry["exposure"] = exposure
    return entry


# Scenario table. Each entry has a one-line summary and the logins the
# client made in clear text (logins inside TLS are not visible and not
# listed). Optional third and fourth items are tshark decode-as options for
# plain text on TLS ports, and anomalies that the contract leaves open for
# this case, which the expected file therefore does not assert.
SCENARIOS = {
    "smtp-auth-plain-ipv4": ("swaks AUTH PLAIN on port 25 without TLS while STARTTLS is offered",
                             [auth("PLAIN", "alice")]),
    "smtp-auth-plain-ipv6": ("swaks AUTH PLAIN on [::1]:25 without TLS", [auth("PLAIN", "alice")]),
    "smtp-auth-login-ipv4": ("swaks AUTH LOGIN without TLS", [auth("LOGIN", "carol")]),
    "smtp-auth-login-failure-ipv4": ("swaks AUTH LOGIN with a wrong password, 535",
                                     [auth("LOGIN", "alice", "failure")]),
    "smtp-auth-cram-md5-ipv4": ("swaks AUTH CRAM-MD5 without TLS",
                                [auth("CRAM-MD5", "alice", exposure="crackable")]),
    "smtp-auth-digest-md5-ipv4": ("swaks AUTH DIGEST-MD5 without TLS",
                                  [auth("DIGEST-MD5", "alice", exposure="crackable")]),
    "smtp-lowercase-pipelining-ipv4": ("lowercase commands, auth plain with an initial response, "
                                       "pipelined mail/rcpt/data", [auth("PLAIN", "alice")]),
    "smtp-auth-plain-continuation-ipv4": ("AUTH PLAIN without an initial response, the "
                                          "credentials follow the empty 334",
                                          [auth("PLAIN", "alice")]),
    "smtp-auth-cancel-ipv4": ("AUTH LOGIN cancelled with '*' (501), then AUTH PLAIN",
                              [auth("LOGIN", None, "failure", exposure=None), auth("PLAIN", "alice")]),
    "smtp-bdat-ipv4": ("message sent with BDAT chunks (CHUNKING), no login", []),
    "smtp-starttls-tls13-ipv4": ("swaks STARTTLS, TLS 1.3", []),
    "smtp-starttls-tls13-ipv6": ("swaks STARTTLS over IPv6, TLS 1.3", []),
    "smtp-starttls-tls12-ipv4": ("swaks STARTTLS, TLS 1.2", []),
    "smtp-starttls-tls12-ipv6": ("swaks STARTTLS over IPv6, TLS 1.2", []),
    "smtp-starttls-tls11-ipv4": ("swaks STARTTLS, TLS 1.1 at OpenSSL security level 0", []),
    "smtp-starttls-tls10-ipv4": ("swaks STARTTLS, TLS 1.0 at OpenSSL security level 0", []),
    "smtp-starttls-tls10-ipv6": ("swaks STARTTLS over IPv6, TLS 1.0", []),
    "smtp-starttls-openssl-ipv4": ("openssl s_client -starttls smtp", []),
    "smtp-starttls-curl-ipv4": ("curl smtp:// --ssl-reqd", []),
    "submission-starttls-auth-ipv4": ("swaks on 587, STARTTLS then AUTH PLAIN inside TLS", []),
    "submission-starttls-auth-ipv6": ("swaks on [::1]:587, STARTTLS then AUTH PLAIN inside TLS", []),
    "submission-auth-login-curl-ipv4": ("curl smtp:// on 587 with AUTH=LOGIN and no TLS",
                                        [auth("LOGIN", "carol")]),
    "smtps-tls13-ipv4": ("swaks on 465 with implicit TLS 1.3", []),
    "smtps-tls13-ipv6": ("swaks on [::1]:465 with implicit TLS 1.3", []),
    "smtps-tls10-ipv4": ("openssl s_client -tls1 on 465", []),
    "imap-login-ipv4": ("LOGIN with atoms", [auth("LOGIN", "alice")]),
    "imap-login-ipv6": ("LOGIN with atoms over IPv6", [auth("LOGIN", "alice")]),
    "imap-login-quoted-ipv4": ("LOGIN with quoted strings, the password holds \\\" and \\\\",
                               [auth("LOGIN", "bob")]),
    "imap-login-literal-ipv4": ("LOGIN with synchronising literals {n}", [auth("LOGIN", "bob")]),
    "imap-login-literal-plus-ipv4": ("LOGIN with non-synchronising literals {n+}",
                                     [auth("LOGIN", "bob")]),
    "imap-login-failure-ipv4": ("LOGIN with a wrong password, tagged NO",
                                [auth("LOGIN", "alice", "failure")]),
    "imap-authenticate-plain-ir-ipv4": ("AUTHENTICATE PLAIN with SASL-IR", [auth("PLAIN", "alice")]),
    "imap-authenticate-plain-ipv4": ("AUTHENTICATE PLAIN with a continuation", [auth("PLAIN", "alice")]),
    "imap-authenticate-login-ipv4": ("AUTHENTICATE LOGIN with two continuations",
                                     [auth("LOGIN", "carol")]),
    "imap-authenticate-cram-md5-ipv4": ("AUTHENTICATE CRAM-MD5",
                                        [auth("CRAM-MD5", "alice", exposure="crackable")]),
    "imap-authenticate-scram-sha-256-ipv4": ("AUTHENTICATE SCRAM-SHA-256 with SASL-IR",
                                             [auth("SCRAM-SHA-256", "alice", exposure="crackable")]),
    "imap-authenticate-plain-curl-ipv4": ("curl imap://, AUTHENTICATE PLAIN with SASL-IR",
                                          [auth("PLAIN", "carol")]),
    "imap-authenticate-xoauth2-ipv4": ("AUTHENTICATE XOAUTH2 against the mock server",
                                       [auth("XOAUTH2", "alice@example.test", exposure="token")]),
    "imap-starttls-tls13-ipv4": ("openssl s_client -starttls imap", []),
    "imap-starttls-tls13-ipv6": ("openssl s_client -starttls imap over IPv6", []),
    "imap-starttls-tls12-curl-ipv4": ("curl imap:// --ssl-reqd --tls-max 1.2", []),
    "imaps-tls13-ipv4": ("curl imaps://", []),
    "imaps-tls13-ipv6": ("curl imaps:// over IPv6", []),
    "imaps-tls11-ipv4": ("openssl s_client -tls1_1 on 993", []),
    "imaps-plaintext-ipv4": ("plain IMAP greeting and LOGIN on port 993 from the mock server",
                             [auth("LOGIN", "alice")], ["-d", "tcp.port==993,imap"]),
    "pop3-user-pass-ipv4": ("USER/PASS", [auth("USER/PASS", "alice")]),
    "pop3-user-pass-ipv6": ("USER/PASS over IPv6", [auth("USER/PASS", "alice")]),
    "pop3-apop-ipv4": ("APOP", [auth("APOP", "alice", exposure="crackable")]),
    "pop3-apop-curl-ipv4": ("curl pop3:// with AUTH=+APOP", [auth("APOP", "carol", exposure="crackable")]),
    "pop3-auth-plain-ipv4": ("AUTH PLAIN with a continuation", [auth("PLAIN", "alice")]),
    "pop3-auth-cram-md5-ipv4": ("AUTH CRAM-MD5", [auth("CRAM-MD5", "alice", exposure="crackable")]),
    "pop3-auth-failure-ipv4": ("AUTH PLAIN with a wrong password, -ERR",
                               [auth("PLAIN", "alice", "failure")]),
    "pop3-stls-tls13-ipv4": ("openssl s_client -starttls pop3", []),
    "pop3-stls-tls13-ipv6": ("openssl s_client -starttls pop3 over IPv6", []),
    "pop3s-tls12-ipv4": ("curl pop3s:// --tls-max 1.2", []),
    "pop3s-tls10-ipv4": ("openssl s_client -tls1 on 995", []),
    "pop3s-tls13-ipv6": ("curl pop3s:// over IPv6", []),
    "pop3s-plaintext-ipv4": ("plain POP3 USER/PASS on port 995 from the mock server",
                             [auth("USER/PASS", "alice")], ["-d", "tcp.port==995,pop"]),
    "smtp-auth-xoauth2-ipv4": ("AUTH XOAUTH2 against the mock server",
                               [auth("XOAUTH2", "alice@example.test", exposure="token")]),
    "smtp-auth-oauthbearer-ipv4": ("AUTH OAUTHBEARER against the mock server",
                                   [auth("OAUTHBEARER", "alice@example.test", exposure="token")]),
    "smtp-starttls-stripped": ("middlebox rewrote STARTTLS to XXXXXXXA, client sent AUTH PLAIN in clear",
                               [auth("PLAIN", "alice")], [], ["starttls_not_offered"]),
    "imap-starttls-stripped": ("middlebox rewrote STARTTLS to XXXXXXXA, client sent LOGIN in clear",
                               [auth("LOGIN", "alice")], [], ["starttls_not_offered"]),
    "pop3-stls-stripped": ("middlebox rewrote STLS to XXXA, client sent USER/PASS in clear",
                           [auth("USER/PASS", "alice")], [], ["starttls_not_offered"]),
    "smtp-starttls-refused": ("middlebox answered STARTTLS with 454, client sent AUTH PLAIN in clear",
                              [auth("PLAIN", "alice")]),
    "imap-starttls-refused": ("middlebox answered STARTTLS with NO, client sent LOGIN in clear",
                              [auth("LOGIN", "alice")]),
    "pop3-stls-refused": ("middlebox answered STLS with -ERR, client sent USER/PASS in clear",
                          [auth("USER/PASS", "alice")]),
    "smtp-starttls-response-injection": ("middlebox appended a forged 250 after the 220 go-ahead", []),
    "imap-starttls-response-injection": ("middlebox appended a forged * OK after the go-ahead", []),
    "smtp-starttls-command-injection-ipv4": ("client sent STARTTLS and RSET in one segment", []),
    "smtp-starttls-command-injection-ipv6": ("client sent STARTTLS and RSET in one segment, IPv6", []),
    "imap-starttls-command-injection-ipv4": ("client sent STARTTLS and CAPABILITY in one segment", []),
    "smtp-starttls-no-handshake-ipv4": ("go-ahead 220, then the client closed without TLS", []),
    "smtp-starttls-no-handshake-ipv6": ("go-ahead 220, then the client closed without TLS, IPv6", []),
    "pop3-stls-no-handshake-ipv4": ("STLS +OK, then the client closed without TLS", []),
    "imap-preauth-ipv4": ("Dovecot's imap binary behind socat greets with PREAUTH; CAPABILITY, SELECT, "
                          "LOGOUT", []),
    "imap-logindisabled-starttls-ipv4": ("Dovecot advertises LOGINDISABLED; the client starts TLS and logs "
                                         "in inside it", []),
    "imap-logindisabled-login-ipv4": ("Dovecot advertises LOGINDISABLED; the client sends LOGIN in clear "
                                      "anyway, tagged NO", [auth("LOGIN", "alice", "failure")]),
    # Kerberos puts no user name in clear in the IMAP session (the ticket's
    # client name is encrypted), so the expected file lists no auth record
    # and only the result is checked.
    "imap-authenticate-gssapi-ipv4": ("curl AUTHENTICATE GSSAPI with a ticket from a throwaway Kerberos KDC",
                                      [auth("GSSAPI", None, exposure=None)]),
    "imap-authenticate-ntlm-ipv4": ("curl AUTHENTICATE NTLM (NTLMv2) against Dovecot with Samba winbind",
                                    [auth("NTLM", "MAILTAP\\nobody", exposure="crackable")]),
    "pop3-auth-ntlm-ipv4": ("curl AUTH NTLM (NTLMv2) against Dovecot with Samba winbind",
                            [auth("NTLM", "MAILTAP\\nobody", exposure="crackable")]),
    "submission-auth-ntlm-ipv4": ("curl AUTH NTLM (NTLMv2) on 587, Postfix with Dovecot and Samba winbind "
                                  "SASL", [auth("NTLM", "MAILTAP\\nobody", exposure="crackable")]),
    "smtp-starttls-stripped-ipv6": ("middlebox on [::1] rewrote STARTTLS to XXXXXXXA, client sent AUTH PLAIN "
                                    "in clear", [auth("PLAIN", "alice")], [], ["starttls_not_offered"]),
    "imap-starttls-stripped-ipv6": ("middlebox on [::1] rewrote STARTTLS to XXXXXXXA, client sent LOGIN in "
                                    "clear", [auth("LOGIN", "alice")], [], ["starttls_not_offered"]),
    "pop3-stls-stripped-ipv6": ("middlebox on [::1] rewrote STLS to XXXA, client sent USER/PASS in clear",
                                [auth("USER/PASS", "alice")], [], ["starttls_not_offered"]),
    "smtp-starttls-refused-ipv6": ("middlebox on [::1] answered STARTTLS with 454, client sent AUTH PLAIN "
                                   "in clear", [auth("PLAIN", "alice")]),
    "imap-starttls-refused-ipv6": ("middlebox on [::1] answered STARTTLS with NO, client sent LOGIN in clear",
                                   [auth("LOGIN", "alice")]),
    "pop3-stls-refused-ipv6": ("middlebox on [::1] answered STLS with -ERR, client sent USER/PASS in clear",
                               [auth("USER/PASS", "alice")]),
    "smtp-starttls-response-injection-ipv6": ("middlebox on [::1] appended a forged 250 after the 220 "
                                              "go-ahead", []),
    "imap-starttls-response-injection-ipv6": ("middlebox on [::1] appended a forged * OK after the go-ahead",
                                              []),
    "pop3-stls-response-injection-ipv6": ("middlebox on [::1] appended a forged +OK after the STLS go-ahead",
                                          []),
}

# Captures of several TCP connections, in order: a summary and one list of
# logins per connection, as in SCENARIOS.
SEQUENCE_SCENARIOS = {
    "pop3-apop-timestamp-stripped": ("APOP through a relay, then USER/PASS after the relay removed the APOP "
                                     "timestamp from the second greeting",
                                     [[auth("APOP", "alice", exposure="crackable")],
                                      [auth("USER/PASS", "alice")]]),
}


class ExpectationError(Exception):
    """A declared fact that tshark's reading of the capture contradicts."""


# --- Reading tshark's PDML ----------------------------------------------------


def run_tshark(path, decode_as):
    command = ["tshark", "-r", path, "-n", "-o", "smtp.decryption:TRUE", "-T", "pdml"] + decode_as
    output = subprocess.run(command, check=True, capture_output=True).stdout
    return ElementTree.fromstring(output)


def field_text(field):
    """Decode a line field's wire bytes. tshark's 'value' is hex of the
    bytes, which keeps the CR LF and escapes that 'show' rewrites."""
    value = field.get("value")
    if value:
        try:
            return binascii.unhexlify(value).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            pass
    return field.get("show", "")


def read_packets(root):
    packets = []
    for packet in root.iter("packet"):
        fields = {}
        for field in packet.iter("field"):
            fields.setdefault(field.get("name"), []).append(field)
        if "tcp.stream" not in fields:
            continue
        packets.append(fields)
    return packets


def first(fields, name, default=None):
    values = fields.get(name)
    return values[0].get("show") if values else default


class Stream:
    """The facts tshark shows about one TCP connection."""

    def __init__(self, packets):
        self.packets = packets
        syn = [p for p in packets if first(p, "tcp.flags.syn") == "1" and first(p, "tcp.flags.ack") == "0"]
        self.has_syn = bool(syn)
        opener = syn[0] if syn else packets[0]
        self.client_ip = first(opener, "ip.src") or first(opener, "ipv6.src")
        self.server_ip = first(opener, "ip.dst") or first(opener, "ipv6.dst")
        self.client_port = int(first(opener, "tcp.srcport"))
        self.server_port = int(first(opener, "tcp.dstport"))
        self.lines = []
        for fields in packets:
            frame = int(first(fields, "frame.number"))
            from_client = int(first(fields, "tcp.srcport")) == self.client_port
            for name in LINE_FIELDS:
                for field in fields.get(name, []):
                    for line in field_text(field).splitlines():
                        if line:
                            self.lines.append((frame, from_client, line))

    def payload_lines(self, from_client):
        """Lines of tshark's tcp.payload field in one direction. The POP
        dissector shows no field for the lines of a multi-line reply (CAPA),
        and the SMTP one nests them, so capability checks read these."""
        lines = []
        for fields in self.packets:
            if (int(first(fields, "tcp.srcport")) == self.client_port) != from_client:
                continue
            for field in fields.get("tcp.payload", []):
                lines.extend(line for line in field_text(field).splitlines() if line)
        return lines

    def client_lines(self):
        return [(frame, line) for frame, from_client, line in self.lines if from_client]

    def server_lines(self):
        return [(frame, line) for frame, from_client, line in self.lines if not from_client]

    def handshake_frames(self, message_type):
        return [int(first(p, "frame.number")) for p in self.packets
                if str(message_type) in [f.get("show") for f in p.get("tls.handshake.type", [])]]

    def packet(self, frame):
        return next(p for p in self.packets if int(first(p, "frame.number")) == frame)

    def has_both_directions(self):
        ports = {int(first(p, "tcp.srcport")) for p in self.packets}
        return self.client_port in ports and self.server_port in ports

    def has_lost_segment(self):
        return any("tcp.analysis.lost_segment" in p or "tcp.analysis.ack_lost_segment" in p
                   for p in self.packets)


def read_streams(path, decode_as):
    by_stream = {}
    for fields in read_packets(run_tshark(path, decode_as)):
        by_stream.setdefault(first(fields, "tcp.stream"), []).append(fields)
    return [Stream(packets) for _, packets in sorted(by_stream.items(), key=lambda item: int(item[0]))]


# --- STARTTLS ----------------------------------------------------------------


def protocol_of(stream):
    return APP_PROTO_BY_PORT[stream.server_port]


def is_starttls_command(protocol, line):
    words = line.strip().upper().split()
    if protocol in ("smtp", "submission"):
        return words == ["STARTTLS"]
    if protocol == "imap":
        return len(words) == 2 and words[1] == "STARTTLS"
    if protocol == "pop3":
        return words == ["STLS"]
    return False


def starttls_offered(stream, protocol):
    """True or False once tshark shows the capability list, None before."""
    server = stream.payload_lines(False)
    if protocol in ("smtp", "submission"):
        ehlo = [line for line in server if re.match(r"^250[ -]", line)]
        if not any(re.match(r"(?i)^EHLO ", line) for _, line in stream.client_lines()):
            return None
        return any(re.match(r"(?i)^250[ -]STARTTLS\s*$", line) for line in ehlo)
    if protocol == "imap":
        capabilities = [line for line in server if "CAPABILITY" in line.upper()]
        if not capabilities:
            return None
        return any("STARTTLS" in line.upper().split() for line in capabilities)
    if protocol == "pop3":
        if not any(line.strip().upper() == "CAPA" for _, line in stream.client_lines()):
            return None
        return any(line.strip().upper() == "STLS" for line in server)
    return None


def starttls_reply(stream, protocol, command_frame):
    """Find the server's final reply to the STARTTLS command: (frame, line)."""
    for frame, line in stream.server_lines():
        if frame <= command_frame:
            continue
        if protocol in ("smtp", "submission") and re.match(r"^\d{3} ", line):
            return frame, line
        if protocol == "imap" and not line.startswith("*") and not line.startswith("+"):
            return frame, line
        if protocol == "pop3" and line[:3] in ("+OK", "-ER"):
            return frame, line
    return None, None


def is_go_ahead(protocol, line):
    if protocol in ("smtp", "submission"):
        return line.startswith("220")
    if protocol == "imap":
        return len(line.split()) > 1 and line.split()[1].upper() == "OK"
    return line.startswith("+OK")


def starttls_facts(stream):
    """Return the starttls object and the frames behind it."""
    protocol = protocol_of(stream)
    command = next(((frame, line) for frame, line in stream.client_lines()
                    if is_starttls_command(protocol, line)), None)
    facts = {"offered": starttls_offered(stream, protocol), "attempted": command is not None}
    frames = {"command": command[0] if command else None, "reply": None, "go_ahead": False}
    if command is None:
        facts["result"] = "none"
        return facts, frames
    reply_frame, reply = starttls_reply(stream, protocol, command[0])
    frames["reply"] = reply_frame
    if reply is None:
        facts["result"] = "unknown"
    elif not is_go_ahead(protocol, reply):
        facts["result"] = "refused"
    elif not stream.handshake_frames(1):
        frames["go_ahead"] = True
        facts["result"] = "no_handshake"
    else:
        frames["go_ahead"] = True
        facts["result"] = "ok" if stream.handshake_frames(2) else "unknown"
    return facts, frames


# --- TLS ---------------------------------------------------------------------


def version_name(code):
    return TLS_VERSION_NAMES.get(code.lower(), code.lower())


def tls_facts(stream):
    """Version and cipher from the ServerHello, SNI from the ClientHello."""
    facts = {}
    hello = stream.handshake_frames(1)
    if hello:
        sni = first(stream.packet(hello[0]), "tls.handshake.extensions_server_name")
        if sni:
            facts["sni"] = sni
    server_hello = stream.handshake_frames(2)
    if not server_hello:
        return facts
    fields = stream.packet(server_hello[0])
    selected = first(fields, "tls.handshake.extensions.supported_version")
    facts["version"] = version_name(selected or first(fields, "tls.handshake.version"))
    cipher = fields["tls.handshake.ciphersuite"][0]
    match = re.match(r"Cipher Suite: (\S+) \(0x[0-9a-fA-F]{4}\)", cipher.get("showname", ""))
    facts["cipher"] = match.group(1) if match else cipher.get("show")
    return facts


# --- Logins --------------------------------------------------------------------


def decoded_client_text(stream):
    """Collect what tshark shows of the client's side, and its decodings.

    The raw texts are the dissectors' client lines, their user name and
    password fields, and tcp.payload, because tshark's IMAP dissector shows
    only the first line of a segment (a LOGIN with non-synchronising
    literals is visible only in tcp.payload). Each text is added once more
    with IMAP quoted-string escapes undone, and each word that is valid
    base64 is added decoded (SASL responses), followed by the user name of
    an NTLM AUTHENTICATE message, which tshark does not decode in mail
    protocols.
    """
    raw = [line for _, line in stream.client_lines()] + stream.payload_lines(True)
    for name in ("smtp.auth.username", "smtp.auth.password", "imap.request.username",
                 "imap.request.password", "pop.request.parameter"):
        for fields in stream.packets:
            raw.extend(f.get("show", "") for f in fields.get(name, []))
    texts = []
    for text in raw:
        texts.append(text)
        texts.append(text.replace('\\"', '"').replace("\\\\", "\\"))
        for word in text.split():
            try:
                decoded = base64.b64decode(word, validate=True)
            except (binascii.Error, ValueError):
                continue
            texts.append(decoded.decode("utf-8", "replace"))
            ntlm_user = ntlm_user_name(decoded)
            if ntlm_user:
                texts.append(ntlm_user)
    return texts


def ntlm_user_name(message):
    """Return "DOMAIN\\user", or "user" without a domain, from an NTLM
    AUTHENTICATE_MESSAGE (MS-NLMP section 2.2.1.3), or None for other bytes.

    The header contains six security buffers (length, maximum length, offset)
    from byte 12 and NegotiateFlags at byte 60. The domain is the third
    buffer and the user name the fourth; they are UTF-16LE when the
    NTLMSSP_NEGOTIATE_UNICODE flag (0x1) is set, else OEM bytes.
    """
    if len(message) < 64 or message[:8] != b"NTLMSSP\0" or struct.unpack_from("<I", message, 8)[0] != 3:
        return None

    def buffer(offset):
        length, _, start = struct.unpack_from("<HHI", message, offset)
        return message[start:start + length]

    flags = struct.unpack_from("<I", message, 60)[0]
    encoding = "utf-16-le" if flags & 0x1 else "latin-1"
    domain = buffer(28).decode(encoding, "replace")
    user = buffer(36).decode(encoding, "replace")
    return domain + "\\" + user if domain else user


AUTH_START = re.compile(r"(?i)^(AUTH|USER|APOP|\S+ LOGIN|\S+ AUTHENTICATE)\b")


def login_closing_result(stream, protocol, start):
    """Return 'success' or 'failure' from the reply that closes the login
    started in frame START, or None when no reply closes it.

    Continuations (SMTP 334, IMAP and POP3 '+ ') do not close a login.
    """
    for frame, line in stream.server_lines():
        if frame <= start:
            continue
        if protocol in ("smtp", "submission") and re.match(r"^(235|5\d\d) ", line):
            return "success" if line.startswith("235") else "failure"
        if protocol in ("imap", "imaps") and re.match(r"^[^*+ ]\S* (OK|NO|BAD)\b", line):
            return "success" if line.split()[1] == "OK" else "failure"
        if protocol in ("pop3", "pop3s") and line.startswith(("+OK", "-ERR")):
            return "success" if line.startswith("+OK") else "failure"
    return None


def login_results(stream, protocol):
    """Return one result per login command, in order. For POP3 USER/PASS,
    the reply to PASS is the one that counts."""
    client = stream.client_lines()
    results = []
    for index, (frame, line) in enumerate(client):
        if not AUTH_START.match(line):
            continue
        if line.upper().startswith("USER "):
            frame = next((f for f, later in client[index:] if later.upper().startswith("PASS ")), frame)
        results.append(login_closing_result(stream, protocol, frame))
    return results


def check_auth(stream, entries):
    protocol = protocol_of(stream)
    texts = decoded_client_text(stream)
    results = login_results(stream, protocol)
    if len(results) != len(entries):
        raise ExpectationError("tshark shows %d login commands, the scenario table lists %d"
                               % (len(results), len(entries)))
    for entry, result in zip(entries, results):
        # A login cancelled before the user name was sent has none to check.
        if "username" in entry and not any(entry["username"] in text for text in texts):
            raise ExpectationError("tshark shows no user name %r" % entry["username"])

        # POP3 USER/PASS is two commands, each visible on its own line.
        for word in entry["mechanism"].split("/"):
            if not any(word in text.upper() for text in texts):
                raise ExpectationError("tshark shows no mechanism %r" % entry["mechanism"])
        if result != entry["result"]:
            raise ExpectationError("tshark shows login result %r, the scenario table expects %r"
                                   % (result, entry["result"]))


def secret_visible(stream):
    return any(secret in text for text in decoded_client_text(stream) for secret in SECRETS)


# --- Anomalies -----------------------------------------------------------------


def injected_after(stream, frame, from_client, line_filter):
    """True when tshark shows another line in FRAME after the one matched."""
    lines = [line for f, client, line in stream.lines if f == frame and client == from_client]
    for index, line in enumerate(lines):
        if line_filter(line):
            return index + 1 < len(lines)
    return False


def anomaly_checks(stream, starttls, frames, tls, entries):
    """Each anomaly that tshark's fields can decide: True, False or None."""
    protocol = protocol_of(stream)
    exposures = {entry.get("exposure") for entry in entries}
    obsolete = tls.get("version") in ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1")
    checks = {
        "cleartext_credentials": "cleartext" in exposures and secret_visible(stream),
        "challenge_response_auth_in_cleartext": "crackable" in exposures,
        "bearer_token_in_cleartext": "token" in exposures and secret_visible(stream),
        "mid_session_start": not stream.has_syn,
        "one_sided_capture": not stream.has_both_directions(),
        "tcp_gap": stream.has_lost_segment(),
        "sslv2_client_hello": False,
        "obsolete_tls_version": obsolete if "version" in tls else None,
        "tls_handshake_failed": (bool(stream.handshake_frames(1)) and not stream.handshake_frames(2)),
        "certificate_invalid": True if stream.handshake_frames(11) else None,
    }
    server_payload = stream.payload_lines(False)
    server_lines = stream.server_lines()
    checks["preauth_in_cleartext"] = (protocol == "imap" and bool(server_lines)
                                      and re.match(r"\* PREAUTH\b", server_lines[0][1], re.I) is not None)
    plaintext_port = stream.server_port in IMPLICIT_TLS_PORTS
    checks["plaintext_on_tls_port"] = plaintext_port and bool(stream.server_lines())
    if starttls is None:
        return checks
    command = frames["command"]
    checks.update({
        "starttls_stripped": any(re.search(r"(^|[ -])(XXXXXXXA|XXXA)\s*$", line)
                                 or "XXXXXXXA" in line.split() for line in server_payload),
        "starttls_not_offered": (starttls["offered"] is False) if starttls["offered"] is not None else None,
        "starttls_not_used": starttls["offered"] is True and not starttls["attempted"],
        "starttls_refused": starttls["result"] == "refused",
        "plaintext_after_starttls_failure": starttls["result"] == "refused" and any(
            frame > frames["reply"] for frame, _ in stream.client_lines()),
        "starttls_no_handshake": starttls["result"] == "no_handshake",
        "starttls_command_injection": command is not None and injected_after(
            stream, command, True, lambda line: is_starttls_command(protocol, line)),
        "starttls_response_injection": frames["go_ahead"] and injected_after(
            stream, frames["reply"], False, lambda line: is_go_ahead(protocol, line)),
    })
    return checks


# --- Expected files --------------------------------------------------------------


def session_expectation(stream, entries, unasserted):
    protocol = protocol_of(stream)
    session = {"src_ip": stream.client_ip, "src_port": stream.client_port,
               "dest_ip": stream.server_ip, "dest_port": stream.server_port,
               "app_proto": protocol}
    starttls, frames = (None, {})
    if stream.server_port not in IMPLICIT_TLS_PORTS:
        starttls, frames = starttls_facts(stream)
        # None (not visible) and "unknown" are left out: the expected
        # file asserts only what tshark decides.
        session["starttls"] = {key: value for key, value in starttls.items()
                               if value is not None and value != "unknown"}
    else:
        session["starttls"] = None
    tls = tls_facts(stream)
    if tls:
        session["tls"] = tls
    check_auth(stream, entries)
    # A login cancelled before any credential crossed the wire exposes
    # nothing, so mailtap records no auth entry for it.
    session["auth"] = [entry for entry in entries if "username" in entry]
    checks = anomaly_checks(stream, starttls, frames, tls, entries)
    session["anomalies_present"] = sorted(name for name, value in checks.items()
                                          if value is True and name not in unasserted)
    session["anomalies_absent"] = sorted(name for name, value in checks.items()
                                         if value is False and name not in unasserted)
    return session


def write_expected(capture_dir, name):
    if name in SEQUENCE_SCENARIOS:
        write_sequence_expected(capture_dir, name)
        return
    if name in POLICY_SCENARIOS:
        write_policy_expected(capture_dir, name)
        return
    entry = SCENARIOS[name]
    summary, entries = entry[0], entry[1]
    decode_as = entry[2] if len(entry) > 2 else []
    unasserted = entry[3] if len(entry) > 3 else []
    path = os.path.join(capture_dir, name + ".pcap")
    streams = read_streams(path, decode_as)
    if len(streams) != 1:
        raise ExpectationError("expected one TCP connection, tshark shows %d" % len(streams))

    # A segment that tcpdump missed would make tcp_gap an accident of the
    # recording rather than a fact of the scenario.
    if streams[0].has_lost_segment():
        raise ExpectationError("tshark finds a lost segment; record the capture again")
    sessions = [session_expectation(stream, entries, unasserted) for stream in streams]
    dump_expected(capture_dir, name, summary, decode_as, sessions)


def dump_expected(capture_dir, name, summary, decode_as, sessions):
    expected = {
        "capture": name + ".pcap",
        "summary": summary,
        "checked_with": "tshark " + " ".join(["-n", "-o", "smtp.decryption:TRUE", "-T", "pdml"] + decode_as),
        "sessions": sessions,
    }
    with open(os.path.join(capture_dir, name + ".expected.json"), "w") as output:
        json.dump(expected, output, indent=2)
        output.write("\n")


def apop_timestamp(stream):
    """Return the APOP timestamp <...@...> of a POP3 greeting (RFC 1939
    section 7), "" for a greeting without one, or None without a greeting."""
    greeting = next((line for _, line in stream.server_lines()), None)
    if greeting is None or not greeting.startswith("+OK"):
        return None
    match = re.search(r"<[^<>\s]*@[^<>\s]*>", greeting)
    return match.group(0) if match else ""


def write_sequence_expected(capture_dir, name):
    """Write the expected file of a capture with several connections.

    apop_timestamp_stripped is present for a POP3 session whose greeting
    has no APOP timestamp when an earlier session to the same server
    address and port had one, and absent otherwise.
    """
    summary, logins = SEQUENCE_SCENARIOS[name]
    streams = read_streams(os.path.join(capture_dir, name + ".pcap"), [])
    if len(streams) != len(logins):
        raise ExpectationError("expected %d TCP connections, tshark shows %d" % (len(logins), len(streams)))
    if any(stream.has_lost_segment() for stream in streams):
        raise ExpectationError("tshark finds a lost segment; record the capture again")

    sessions = []
    servers_with_timestamp = set()
    for stream, entries in zip(streams, logins):
        session = session_expectation(stream, entries, [])
        if protocol_of(stream) == "pop3":
            server = (stream.server_ip, stream.server_port)
            timestamp = apop_timestamp(stream)
            stripped = timestamp == "" and server in servers_with_timestamp
            key = "anomalies_present" if stripped else "anomalies_absent"
            session[key] = sorted(session[key] + ["apop_timestamp_stripped"])
            if timestamp:
                servers_with_timestamp.add(server)
        sessions.append(session)
    dump_expected(capture_dir, name, summary, [], sessions)


# --- MTA-STS learning and server history ---------------------------------------------

# Captures of DNS or HTTPS traffic next to mail sessions, and captures of
# several sessions to one server. Each has a summary. The facts of every mail
# session come from tshark as in SCENARIOS, and none of them logs in.
POLICY_SCENARIOS = {
    "smtp-mta-sts-learnt-dns-ipv4": "dig TXT _mta-sts.example.test answered by dnsmasq, then swaks to "
                                    "bob@example.test without STARTTLS",
    "smtp-mta-sts-learnt-https-ipv4": "curl https://mta-sts.example.test/.well-known/mta-sts.txt from openssl "
                                      "s_server, then swaks to bob@example.test without STARTTLS",
    "smtp-history-starttls-stripped-ipv4": "swaks STARTTLS, then swaks after Postfix was reloaded with TLS off",
    "smtp-history-tls-regression-ipv4": "swaks STARTTLS with TLS 1.3, then with TLS 1.0 from the same client",
    "smtp-history-certificate-changed-ipv4": "swaks STARTTLS with TLS 1.2, then again after Postfix was "
                                             "reloaded with another certificate",
}

# RFC 8461 section 3.1: v=STSv1, then fields separated by ";", one of them id=1*32(ALPHA / DIGIT).
STS_RECORD = re.compile(r"^v=STSv1[ \t]*;")
STS_ID = re.compile(r"(?:^|;)[ \t]*id=([A-Za-z0-9]{1,32})[ \t]*(?:;|$)")
RCPT_DOMAIN = re.compile(r"(?i)^RCPT TO:\s*<[^<>@]*@([^<>]+)>")
OBSOLETE_VERSIONS = ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1")
VERSION_ORDER = ["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]


def dns_learnt_policies(root):
    """Return {domain: (frame, id)} from DNS responses with exactly one
    v=STSv1 TXT record for _mta-sts.<domain>. The answers of the captures
    are one character-string each, which tshark shows as one dns.txt."""
    learnt = {}
    for packet in root.iter("packet"):
        fields = {}
        for field in packet.iter("field"):
            fields.setdefault(field.get("name"), []).append(field)
        if first(fields, "dns.flags.response") != "1" or first(fields, "dns.flags.rcode") != "0":
            continue
        name = (first(fields, "dns.qry.name") or "").lower()
        if not name.startswith("_mta-sts.") or first(fields, "dns.qry.type") != "16":
            continue
        records = [f.get("show", "") for f in fields.get("dns.txt", []) if STS_RECORD.match(f.get("show", ""))]
        match = STS_ID.search(records[0][len("v=STSv1"):]) if len(records) == 1 else None
        if match:
            learnt[name[len("_mta-sts."):]] = (int(first(fields, "frame.number")), match.group(1))
    return learnt


def https_learnt_policies(streams):
    """Return {domain: (frame, "")} from ClientHellos to port 443 naming mta-sts.<domain>."""
    learnt = {}
    for stream in streams:
        hello = stream.handshake_frames(1)
        if stream.server_port != 443 or not hello:
            continue
        sni = (first(stream.packet(hello[0]), "tls.handshake.extensions_server_name") or "").lower()
        if sni.startswith("mta-sts.") and len(sni) > len("mta-sts."):
            learnt.setdefault(sni[len("mta-sts."):], (hello[0], ""))
    return learnt


def learnt_mta_sts(stream, starttls, tls, learnt):
    """Return the mta_sts object of a port-25 session to a domain learnt
    before the session ended, or None. Result types are RFC 8460's: STARTTLS not
    used or not offered, then a version below TLS 1.2 (RFC 8996). The result
    of a TLS session with a visible certificate is left out, because the
    certificate's trust is mailtap's verdict."""
    if stream.server_port != 25 or starttls is None:
        return None
    last_frame = max(int(first(p, "frame.number")) for p in stream.packets)
    for _, line in stream.client_lines():
        match = RCPT_DOMAIN.match(line)
        domain = match.group(1).lower().rstrip(".") if match else None
        if domain not in learnt or learnt[domain][0] > last_frame:
            continue
        entry = {"domain": domain, "policy_source": "learnt"}
        if learnt[domain][1]:
            entry["policy_id"] = learnt[domain][1]
        if starttls["result"] != "ok":
            if starttls["offered"] is None and not starttls["attempted"]:
                return None
            entry["result"] = "starttls-not-supported"
        elif tls.get("version") in OBSOLETE_VERSIONS:
            entry["result"] = "validation-failure"
        elif not stream.handshake_frames(11):
            entry["result"] = "success"
        return entry
    return None


def leaf_certificate_sha256(stream):
    """SHA-256 of the first certificate in the server's Certificate message, or None."""
    for fields in stream.packets:
        for field in fields.get("tls.handshake.certificate", []):
            if field.get("value"):
                return hashlib.sha256(binascii.unhexlify(field.get("value"))).hexdigest()
    return None


def mark_anomaly(session, name, present):
    """Move an anomaly to anomalies_present or anomalies_absent."""
    for key in ("anomalies_present", "anomalies_absent"):
        session[key] = [a for a in session[key] if a != name]
    key = "anomalies_present" if present else "anomalies_absent"
    session[key] = sorted(session[key] + [name])


def history_expectation(session, stream, earlier):
    """Add the history verdicts of one session. earlier lists the earlier
    sessions to the same server address and port as (stream, starttls, tls).

    starttls_stripped: one of them offered STARTTLS and this one does not.
    tls_version_regression: the same client negotiated TLS 1.2 or later
    before and a lower version now. certificate_changed: the previous
    certificate differs. history: the evidence.history counts."""
    starttls = session.get("starttls") or {}
    if not earlier:
        session["history"] = None
        return
    offered_before = sum(1 for _, facts, _ in earlier if facts and facts.get("offered") is True)
    session["history"] = {"sessions": len(earlier), "starttls_offered": offered_before}
    if starttls.get("offered") is False:
        mark_anomaly(session, "starttls_stripped", offered_before > 0)

    version = session.get("tls", {}).get("version")
    pair_versions = [tls.get("version") for other, _, tls in earlier
                     if other.client_ip == stream.client_ip and tls.get("version") in VERSION_ORDER]
    if version in VERSION_ORDER and pair_versions:
        best = max(VERSION_ORDER.index(v) for v in pair_versions)
        regressed = best >= VERSION_ORDER.index("TLSv1.2") and VERSION_ORDER.index(version) < best
        mark_anomaly(session, "tls_version_regression", regressed)

    certificate = leaf_certificate_sha256(stream)
    previous = next((leaf_certificate_sha256(other) for other, _, _ in reversed(earlier)
                     if leaf_certificate_sha256(other)), None)
    if certificate and previous:
        mark_anomaly(session, "certificate_changed", certificate != previous)
        if certificate != previous:
            session["history"]["previous_certificate"] = previous


def write_policy_expected(capture_dir, name):
    """Write the expected file of a learning or history capture: every mail
    session, with its mta_sts object and history verdicts."""
    path = os.path.join(capture_dir, name + ".pcap")
    streams = read_streams(path, [])
    if any(stream.has_lost_segment() for stream in streams):
        raise ExpectationError("tshark finds a lost segment; record the capture again")
    learnt = dns_learnt_policies(run_tshark(path, []))
    for domain, entry in https_learnt_policies(streams).items():
        learnt.setdefault(domain, entry)

    sessions = []
    earlier_by_server = {}
    for stream in streams:
        if stream.server_port not in APP_PROTO_BY_PORT:
            continue
        session = session_expectation(stream, [], [])
        starttls = session.get("starttls")
        tls = session.get("tls", {})
        mta_sts = learnt_mta_sts(stream, starttls, tls, learnt)
        session["mta_sts"] = mta_sts
        if mta_sts is not None:
            if "result" in mta_sts:
                mark_anomaly(session, "mta_sts_learnt_policy_violation", mta_sts["result"] != "success")
            mark_anomaly(session, "mta_sts_policy_violation", False)
        server = (stream.server_ip, stream.server_port)
        history_expectation(session, stream, earlier_by_server.get(server, []))
        earlier_by_server.setdefault(server, []).append((stream, starttls, tls))
        sessions.append(session)
    if not sessions:
        raise ExpectationError("tshark shows no mail session")
    dump_expected(capture_dir, name, POLICY_SCENARIOS[name], [], sessions)


def main():
    if len(sys.argv) < 2:
        print("usage: expect.py CAPTURE_DIR [NAME ...]", file=sys.stderr)
        return 2
    capture_dir = sys.argv[1]
    names = sys.argv[2:] or sorted(list(SCENARIOS) + list(SEQUENCE_SCENARIOS) + list(POLICY_SCENARIOS))
    failures = 0
    for name in names:
        if not os.path.exists(os.path.join(capture_dir, name + ".pcap")):
            print("expect.py: %s.pcap not found in %s" % (name, capture_dir), file=sys.stderr)
            failures += 1
            continue
        try:
            write_expected(capture_dir, name)
        except (ExpectationError, subprocess.CalledProcessError, KeyError) as error:
            print("expect.py: %s: %s" % (name, error), file=sys.stderr)
            failures += 1
    print("expect.py: %d expected files written, %d failed" % (len(names) - failures, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
