#!/usr/bin/env python3
"""Write large synthetic pcap files of mail traffic for mailtap benchmarks.

Three modes (Python standard library only, deterministic for a given --seed):

  mix (default)     --size bytes of interleaved sessions: SMTP/submission with
                    STARTTLS and a TLS 1.2 or 1.3 handshake, implicit TLS on
                    465/993/995, cleartext AUTH PLAIN/LOGIN, POP3 USER/PASS,
                    IMAP LOGIN, bulk TLS application data after each handshake,
                    a few reordered and retransmitted segments, and non-mail
                    background (HTTPS on 443, DNS over UDP).
  --half-open N     N SYNs to mail ports, each from a distinct source address.
  --concurrent N    N implicit-TLS flows opened first, then --rounds rounds of
                    one small application-data segment per flow, so the flow
                    table holds N live flows for the whole data phase.

Link type Ethernet, MSS 1448. TCP checksums are left at zero, as in captures
taken on a host with checksum offload; IPv4 header checksums are computed.
Every name, address and password is made up (RFC 2606 names, RFC 5737 and
RFC 3849 documentation addresses for servers, RFC 1918 and RFC 4193
space for clients).
"""

import argparse
import base64
import math
import random
import struct
import sys

MSS = 1448
PCAP_SNAPLEN = 262144
LINKTYPE_ETHERNET = 1
TLS_RECORD_MAX = 16384

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10

# A self-signed P-256 certificate for CN=mx.example.net made for this
# generator with `openssl req -x509`; mailtap parses it in TLS 1.2 handshakes.
SERVER_CERT_DER = base64.b64decode(
    "MIIBtjCCAVugAwIBAgIUJyniSoRGXBNd+fUp2yBlqA5pSf8wCgYIKoZIzj0EAwIwMDEXMBUGA1UE"
    "AwwObXguZXhhbXBsZS5uZXQxFTATBgNVBAoMDEV4YW1wbGUgTWFpbDAeFw0yNjEyMDQyMjE4NTNa"
    "Fw0zNjEyMDEyMjE4NTNaMDAxFzAVBgNVBAMMDm14LmV4YW1wbGUubmV0MRUwEwYDVQQKDAxFeGFt"
    "cGxlIE1haWwwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATTgyGSWoDnh2USgaNidQwpWAeAWLLQ"
    "fzxegwcJlfiThXM+jiupJrnmUOIc3kW0Gc/H8v6Hc515hBmvGKoslJ0uo1MwUTAdBgNVHQ4EFgQU"
    "nIzIs5zRDtuOOXZxK1ZPinS8t2QwHwYDVR0jBBgwFoAUnIzIs5zRDtuOOXZxK1ZPinS8t2QwDwYD"
    "VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAvEuhSfegZIcEPLcY4yAXAZKyUPPwlK1S"
    "nBYeU9sM2mECIQD4rrdVOZCR+YW0L7Nk8+EgwceaVb4sXSLSzQyp7hkHzA=="
)

USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
SERVER_NAMES = ["mx.example.net", "mail.example.com", "smtp.example.org", "imap.example.net",
                "pop.example.com", "relay.example.org"]
WEB_NAMES = ["www.example.com", "cdn.example.net", "api.example.org"]
MAIL_PORTS = [25, 587, 465, 143, 993, 110, 995]

CIPHERS_CLIENT = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8,
                  0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035]


class Rng:
    """Random source plus a pool of random bytes sliced for payloads."""

    def __init__(self, seed):
        self.r = random.Random(seed)
        self.pool = self.r.randbytes(8 * 1024 * 1024)

    def blob(self, n):
        """Return n pseudo-random bytes (a slice of the pool, or several)."""
        out = []
        while n > 0:
            take = min(n, len(self.pool) // 2)
            start = self.r.randrange(len(self.pool) - take)
            out.append(self.pool[start:start + take])
            n -= take
        return b"".join(out)

    def message_size(self):
        """Return a mail message size: log-normal, median 40 KB, clamped to 10 KB-10 MB."""
        size = int(self.r.lognormvariate(math.log(40_000), 1.5))
        return max(10_000, min(10_000_000, size))


# ---- link, network and transport headers ----

def ip_checksum(header):
    total = sum(struct.unpack("!10H", header))
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


class Endpoints:
    """Ethernet and IP headers of one conversation, both directions."""

    def __init__(self, rng, family, client_ip, server_ip):
        self.family = family
        self.client_ip = client_ip
        self.server_ip = server_ip
        self.mac = [bytes([0x02, 0, 0, 0, 0, rng.r.randrange(1, 255)]),
                    bytes([0x02, 0, 0, 0, 1, rng.r.randrange(1, 255)])]
        self.ip_id = [rng.r.randrange(65536), rng.r.randrange(65536)]

    def frame(self, from_server, proto, l4):
        """Return Ethernet + IP + l4 for one direction (0 = client sends)."""
        d = 1 if from_server else 0
        src, dst = (self.server_ip, self.client_ip) if from_server else (self.client_ip, self.server_ip)
        eth = self.mac[1 - d] + self.mac[d]
        if self.family == 6:
            ip = struct.pack("!IHBB", 0x60000000, len(l4), proto, 64) + src + dst
            return eth + b"\x86\xdd" + ip + l4
        self.ip_id[d] = (self.ip_id[d] + 1) & 0xFFFF
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), self.ip_id[d], 0x4000, 64, proto, 0,
                          src, dst)
        hdr = hdr[:10] + struct.pack("!H", ip_checksum(hdr)) + hdr[12:]
        return eth + b"\x08\x00" + hdr + l4


def tcp_segment(sport, dport, seq, ack, flags, payload, window=502):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, window, 0, 0)
    return hdr + payload


def udp_datagram(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def random_client(rng):
    r = rng.r
    if r.random() < 0.1:
        return 6, b"\xfd\x00" + r.randbytes(14)
    return 4, bytes([10, r.randrange(256), r.randrange(256), r.randrange(1, 255)])


def random_server(rng, family):
    r = rng.r
    if family == 6:
        return b"\x20\x01\x0d\xb8" + bytes(10) + struct.pack("!H", r.randrange(1, 4096))
    net = r.choice([b"\xc0\x00\x02", b"\xc6\x33\x64", b"\xcb\x00\x71"])
    return net + bytes([r.randrange(1, 255)])


class TcpFlow:
    """Turns a session's messages into TCP segments: handshake, MSS-sized
    data with delayed ACKs, a few reordered or repeated segments, and a FIN
    exchange."""

    def __init__(self, rng, ends, sport, dport, p_reorder, p_retransmit):
        self.rng = rng
        self.ends = ends
        self.port = [sport, dport]
        self.seq = [rng.r.getrandbits(32), rng.r.getrandbits(32)]
        self.unacked = [0, 0]
        self.p_reorder = p_reorder
        self.p_retransmit = p_retransmit

    def packet(self, d, flags, payload=b""):
        seg = tcp_segment(self.port[d], self.port[1 - d], self.seq[d], self.seq[1 - d], flags, payload)
        return self.ends.frame(d == 1, 6, seg)

    def handshake(self):
        yield self.packet(0, TCP_SYN)
        self.seq[0] += 1
        yield self.packet(1, TCP_SYN | TCP_ACK)
        self.seq[1] += 1
        yield self.packet(0, TCP_ACK)

    def send(self, d, data):
        """Yield the segments of data from direction d (0 client, 1 server)."""
        frames = []
        for off in range(0, len(data), MSS):
            chunk = data[off:off + MSS]
            last = off + MSS >= len(data)
            frames.append(self.packet(d, TCP_ACK | (TCP_PSH if last else 0), chunk))
            self.seq[d] += len(chunk)
            self.unacked[d] += 1
            if self.unacked[d] >= 2 or last:
                self.unacked[d] = 0
                frames.append(self.packet(1 - d, TCP_ACK))
        r = self.rng.r
        i = 0
        while i < len(frames):
            x = r.random()
            if x < self.p_reorder and i + 1 < len(frames):
                yield frames[i + 1]
                yield frames[i]
                i += 2
                continue
            yield frames[i]
            if x > 1.0 - self.p_retransmit:
                yield frames[i]
            i += 1

    def close(self):
        yield self.packet(0, TCP_FIN | TCP_ACK)
        self.seq[0] += 1
        yield self.packet(1, TCP_FIN | TCP_ACK)
        self.seq[1] += 1
        yield self.packet(0, TCP_ACK)


# ---- TLS records (RFC 8446 section 5 and 4, RFC 5246 section 7.4) ----

def tls_record(content_type, body, version=0x0303):
    return struct.pack("!BHH", content_type, version, len(body)) + body


def tls_handshake(msg_type, body):
    return struct.pack("!B", msg_type) + len(body).to_bytes(3, "big") + body


def tls_ext(ext_type, body):
    return struct.pack("!HH", ext_type, len(body)) + body


def tls_vec16(body):
    return struct.pack("!H", len(body)) + body


def tls_client_hello(rng, sni, offer13, alpn=None):
    exts = [tls_ext(0x0000, tls_vec16(b"\x00" + tls_vec16(sni.encode()))),
            tls_ext(0x000A, tls_vec16(struct.pack("!4H", 0x001D, 0x0017, 0x0018, 0x0019))),
            tls_ext(0x000B, b"\x01\x00"),
            tls_ext(0x000D, tls_vec16(struct.pack("!8H", 0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501,
                                                  0x0806, 0x0601))),
            tls_ext(0x0017, b""),
            tls_ext(0xFF01, b"\x00")]
    if alpn:
        names = b"".join(bytes([len(a)]) + a.encode() for a in alpn)
        exts.append(tls_ext(0x0010, tls_vec16(names)))
    if offer13:
        exts.append(tls_ext(0x002B, b"\x04\x03\x04\x03\x03"))
        exts.append(tls_ext(0x0033, tls_vec16(struct.pack("!HH", 0x001D, 32) + rng.blob(32))))
        exts.append(tls_ext(0x002D, b"\x01\x01"))
    ciphers = b"".join(struct.pack("!H", c) for c in CIPHERS_CLIENT)
    body = (struct.pack("!H", 0x0303) + rng.blob(32) + b"\x20" + rng.blob(32) + tls_vec16(ciphers) + b"\x01\x00"
            + tls_vec16(b"".join(exts)))
    return tls_record(0x16, tls_handshake(1, body), 0x0301)


def tls_server_hello13(rng):
    """Return a TLS 1.3 ServerHello record and the compatibility ChangeCipherSpec."""
    exts = tls_ext(0x002B, b"\x03\x04") + tls_ext(0x0033, struct.pack("!HH", 0x001D, 32) + rng.blob(32))
    body = struct.pack("!H", 0x0303) + rng.blob(32) + b"\x20" + rng.blob(32) + b"\x13\x02\x00" + tls_vec16(exts)
    return tls_record(0x16, tls_handshake(2, body)) + tls_record(0x14, b"\x01")


def tls_server_flight(rng, version):
    """Return the server's handshake bytes for TLS 1.3 (0x0304) or an older version."""
    if version == 0x0304:
        encrypted = tls_record(0x17, rng.blob(rng.r.randrange(900, 2600)))
        return tls_server_hello13(rng) + encrypted
    cipher = 0xC02F if version == 0x0303 else 0xC013
    exts = tls_ext(0xFF01, b"\x00") + tls_ext(0x000B, b"\x01\x00") + tls_ext(0x0017, b"")
    hello = tls_handshake(2, struct.pack("!H", version) + rng.blob(32) + b"\x20" + rng.blob(32)
                          + struct.pack("!HB", cipher, 0) + tls_vec16(exts))
    cert_entry = len(SERVER_CERT_DER).to_bytes(3, "big") + SERVER_CERT_DER
    cert = tls_handshake(11, len(cert_entry).to_bytes(3, "big") + cert_entry)
    ske = tls_handshake(12, b"\x03\x00\x1d\x20" + rng.blob(32) + b"\x04\x03" + tls_vec16(rng.blob(71)))
    done = tls_handshake(14, b"")
    return tls_record(0x16, hello + cert + ske + done, version)


def tls_client_finish(rng, version):
    if version == 0x0304:
        return tls_record(0x14, b"\x01") + tls_record(0x17, rng.blob(53))
    cke = tls_handshake(16, b"\x20" + rng.blob(32))
    return (tls_record(0x16, cke, version) + tls_record(0x14, b"\x01", version)
            + tls_record(0x16, rng.blob(40), version))


def tls_server_finish(rng, version):
    if version == 0x0304:
        return tls_record(0x17, rng.blob(rng.r.randrange(200, 400)))
    return tls_record(0x14, b"\x01", version) + tls_record(0x16, rng.blob(40), version)


def tls_app_data(rng, size, version=0x0303):
    """Return application-data records carrying size plaintext bytes (AEAD overhead added)."""
    out = []
    while size > 0:
        n = min(size, TLS_RECORD_MAX)
        out.append(tls_record(0x17, rng.blob(n + 17), version if version != 0x0304 else 0x0303))
        size -= n
    return b"".join(out)


def tls_pick_version(rng, tls13_share):
    """Return TLS 1.3 with probability tls13_share; the rest is 90% TLS 1.2, 5% TLS 1.1, 5% TLS 1.0."""
    x = rng.r.random()
    if x < tls13_share:
        return 0x0304
    x = (x - tls13_share) / max(1e-9, 1.0 - tls13_share)
    if x < 0.90:
        return 0x0303
    return 0x0302 if x < 0.95 else 0x0301


def tls_session(rng, tcp, sni, bulk_dir, bulk_size, version, alpn=None):
    """Yield the packets of a TLS handshake and an application-data exchange."""
    offer13 = version == 0x0304 or rng.r.random() < 0.5
    yield from tcp.send(0, tls_client_hello(rng, sni, offer13, alpn))
    yield from tcp.send(1, tls_server_flight(rng, version))
    yield from tcp.send(0, tls_client_finish(rng, version))
    yield from tcp.send(1, tls_server_finish(rng, version))
    small = 1 - bulk_dir
    yield from tcp.send(small, tls_app_data(rng, rng.r.randrange(40, 200), version))
    yield from tcp.send(bulk_dir, tls_app_data(rng, rng.r.randrange(100, 600), version))
    yield from tcp.send(small, tls_app_data(rng, rng.r.randrange(60, 300), version))
    yield from tcp.send(bulk_dir, tls_app_data(rng, bulk_size, version))
    yield from tcp.send(small, tls_app_data(rng, rng.r.randrange(30, 90), version))


# ---- application sessions ----

def mail_body(rng, size):
    """Return a MIME-like message body of about size bytes in CRLF lines."""
    head = (b"From: sender@example.org\r\nTo: recipient@example.net\r\nSubject: report\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n")
    raw = base64.b64encode(rng.blob(size * 3 // 4))
    lines = [raw[i:i + 76] for i in range(0, len(raw), 76)]
    return head + b"\r\n".join(lines) + b"\r\n"


def password(rng):
    return "Pw-%08x" % rng.r.getrandbits(32)


def smtp_starttls(rng, tcp, server):
    yield from tcp.send(1, b"220 %s ESMTP ready\r\n" % server.encode())
    yield from tcp.send(0, b"EHLO client.example.org\r\n")
    yield from tcp.send(1, b"250-%s\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-STARTTLS\r\n"
                        b"250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n" % server.encode())
    yield from tcp.send(0, b"STARTTLS\r\n")
    yield from tcp.send(1, b"220 2.0.0 Ready to start TLS\r\n")
    yield from tls_session(rng, tcp, server, 0, rng.message_size(), tls_pick_version(rng, TLS13_SHARE[0]))


def smtp_cleartext_auth(rng, tcp, server):
    user = rng.r.choice(USERS)
    pw = password(rng)
    yield from tcp.send(1, b"220 %s ESMTP ready\r\n" % server.encode())
    yield from tcp.send(0, b"EHLO client.example.org\r\n")
    yield from tcp.send(1, b"250-%s\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
                        % server.encode())
    if rng.r.random() < 0.5:
        token = base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode())
        yield from tcp.send(0, b"AUTH PLAIN " + token + b"\r\n")
    else:
        yield from tcp.send(0, b"AUTH LOGIN\r\n")
        yield from tcp.send(1, b"334 VXNlcm5hbWU6\r\n")
        yield from tcp.send(0, base64.b64encode(user.encode()) + b"\r\n")
        yield from tcp.send(1, b"334 UGFzc3dvcmQ6\r\n")
        yield from tcp.send(0, base64.b64encode(pw.encode()) + b"\r\n")
    yield from tcp.send(1, b"235 2.7.0 Authentication successful\r\n")
    yield from tcp.send(0, b"MAIL FROM:<%s@example.org>\r\n" % user.encode())
    yield from tcp.send(1, b"250 2.1.0 Ok\r\n")
    yield from tcp.send(0, b"RCPT TO:<recipient@example.net>\r\n")
    yield from tcp.send(1, b"250 2.1.5 Ok\r\n")
    yield from tcp.send(0, b"DATA\r\n")
    yield from tcp.send(1, b"354 End data with <CR><LF>.<CR><LF>\r\n")
    yield from tcp.send(0, mail_body(rng, min(rng.message_size(), 300_000)) + b".\r\n")
    yield from tcp.send(1, b"250 2.0.0 Ok: queued\r\n")
    yield from tcp.send(0, b"QUIT\r\n")
    yield from tcp.send(1, b"221 2.0.0 Bye\r\n")


def pop3_user_pass(rng, tcp, server):
    body = mail_body(rng, min(rng.message_size(), 300_000))
    yield from tcp.send(1, b"+OK POP3 server ready\r\n")
    yield from tcp.send(0, b"USER %s\r\n" % rng.r.choice(USERS).encode())
    yield from tcp.send(1, b"+OK\r\n")
    yield from tcp.send(0, b"PASS %s\r\n" % password(rng).encode())
    yield from tcp.send(1, b"+OK Logged in.\r\n")
    yield from tcp.send(0, b"STAT\r\n")
    yield from tcp.send(1, b"+OK 1 %d\r\n" % len(body))
    yield from tcp.send(0, b"RETR 1\r\n")
    yield from tcp.send(1, b"+OK %d octets\r\n" % len(body) + body + b".\r\n")
    yield from tcp.send(0, b"QUIT\r\n")
    yield from tcp.send(1, b"+OK Logging out.\r\n")


def imap_login(rng, tcp, server):
    body = mail_body(rng, min(rng.message_size(), 300_000))
    yield from tcp.send(1, b"* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] ready\r\n")
    yield from tcp.send(0, b'a1 LOGIN %s "%s"\r\n' % (rng.r.choice(USERS).encode(), password(rng).encode()))
    yield from tcp.send(1, b"a1 OK LOGIN completed\r\n")
    yield from tcp.send(0, b"a2 SELECT INBOX\r\n")
    yield from tcp.send(1, b"* 1 EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Seen \\Deleted)\r\n"
                        b"a2 OK [READ-WRITE] SELECT completed\r\n")
    yield from tcp.send(0, b"a3 FETCH 1 BODY[]\r\n")
    yield from tcp.send(1, b"* 1 FETCH (BODY[] {%d}\r\n" % len(body) + body + b")\r\na3 OK FETCH completed\r\n")
    yield from tcp.send(0, b"a4 LOGOUT\r\n")
    yield from tcp.send(1, b"* BYE logging out\r\na4 OK LOGOUT completed\r\n")


def implicit_tls(rng, tcp, server, port):
    bulk_dir = 0 if port == 465 else 1
    yield from tls_session(rng, tcp, server, bulk_dir, rng.message_size(), tls_pick_version(rng, TLS13_SHARE[0]))


def https(rng, tcp, server):
    size = max(2_000, min(5_000_000, int(rng.r.lognormvariate(math.log(30_000), 1.5))))
    yield from tls_session(rng, tcp, server, 1, size, 0x0304, ["h2", "http/1.1"])


def tcp_session(rng, kind, p_reorder, p_retransmit):
    """Yield every frame of one TCP session of the given kind."""
    family, client = random_client(rng)
    server_ip = random_server(rng, family)
    ends = Endpoints(rng, family, client, server_ip)
    name = rng.r.choice(SERVER_NAMES)
    ports = {"starttls": rng.r.choice([25, 587]), "cleartext": rng.r.choice([25, 587]), "pop3": 110,
             "imap": 143, "implicit": rng.r.choice([465, 993, 995]), "https": 443}
    port = ports[kind]
    tcp = TcpFlow(rng, ends, rng.r.randrange(32768, 61000), port, p_reorder, p_retransmit)
    yield from tcp.handshake()
    if kind == "starttls":
        yield from smtp_starttls(rng, tcp, name)
    elif kind == "cleartext":
        yield from smtp_cleartext_auth(rng, tcp, name)
    elif kind == "pop3":
        yield from pop3_user_pass(rng, tcp, name)
    elif kind == "imap":
        yield from imap_login(rng, tcp, name)
    elif kind == "implicit":
        yield from implicit_tls(rng, tcp, name, port)
    else:
        yield from https(rng, tcp, rng.r.choice(WEB_NAMES))
    yield from tcp.close()


def dns_exchange(rng):
    """Yield an A query over UDP and its response."""
    family, client = random_client(rng)
    ends = Endpoints(rng, family, client, random_server(rng, family))
    sport = rng.r.randrange(32768, 61000)
    qid = rng.r.randrange(65536)
    qname = b"".join(bytes([len(p)]) + p for p in rng.r.choice(WEB_NAMES + SERVER_NAMES).encode().split(b".")) + b"\0"
    question = qname + b"\x00\x01\x00\x01"
    query = struct.pack("!6H", qid, 0x0100, 1, 0, 0, 0) + question
    answer = (struct.pack("!6H", qid, 0x8180, 1, 1, 0, 0) + question
              + b"\xc0\x0c\x00\x01\x00\x01" + struct.pack("!IH", 300, 4) + rng.r.randbytes(4))
    yield ends.frame(False, 17, udp_datagram(sport, 53, query))
    yield ends.frame(True, 17, udp_datagram(53, sport, answer))


# Share of mail TLS handshakes that negotiate TLS 1.3 (set from --tls13).
TLS13_SHARE = [0.6]

SESSION_WEIGHTS = [("starttls", 30), ("implicit", 25), ("cleartext", 4), ("pop3", 3), ("imap", 3),
                   ("https", 20), ("dns", 15)]


def new_session(rng, args):
    kinds, weights = zip(*SESSION_WEIGHTS)
    kind = rng.r.choices(kinds, weights)[0]
    if kind == "dns":
        return dns_exchange(rng)
    return tcp_session(rng, kind, args.reorder, args.retransmit)


# ---- pcap writing ----

class PcapWriter:
    """Buffered writer of classic pcap records (microsecond timestamps)."""

    def __init__(self, path):
        self.f = open(path, "wb")  # noqa: SIM115 (closed in close())
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, PCAP_SNAPLEN, LINKTYPE_ETHERNET))
        self.chunks = []
        self.pending = 0
        self.bytes = 24
        self.packets = 0

    def write(self, ts_usec, frame):
        rec = struct.pack("<IIII", ts_usec // 1_000_000, ts_usec % 1_000_000, len(frame), len(frame)) + frame
        self.chunks.append(rec)
        self.pending += len(rec)
        self.bytes += len(rec)
        self.packets += 1
        if self.pending >= 4 * 1024 * 1024:
            self.flush()

    def flush(self):
        self.f.write(b"".join(self.chunks))
        self.chunks = []
        self.pending = 0

    def close(self):
        self.flush()
        self.f.close()


def write_mix(args, rng, out):
    """Interleave --flows sessions at a time until --size bytes are written."""
    ts = args.start * 1_000_000
    active = [new_session(rng, args) for _ in range(args.flows)]
    r = rng.r
    while out.bytes < args.size:
        i = r.randrange(len(active))
        for _ in range(r.randrange(1, 5)):
            frame = next(active[i], None)
            if frame is None:
                active[i] = new_session(rng, args)
                break
            ts += 1 + int(r.expovariate(1 / 20))
            out.write(ts, frame)


def write_half_open(args, rng, out):
    """Write one SYN per source address, 10.0.0.1 upwards, to the mail ports in turn."""
    ts = args.start * 1_000_000
    server = b"\xc0\x00\x02\x19"
    for i in range(args.half_open):
        client = struct.pack("!I", 0x0A000001 + i)
        ends = Endpoints(rng, 4, client, server)
        tcp = TcpFlow(rng, ends, 32768 + i % 28000, MAIL_PORTS[i % len(MAIL_PORTS)], 0, 0)
        ts += 1
        out.write(ts, next(tcp.handshake()))


def write_concurrent(args, rng, out):
    """Open --concurrent implicit-TLS flows, then send --rounds data segments on each."""
    ts = args.start * 1_000_000
    flows = []
    server = b"\xc0\x00\x02\x19"
    for i in range(args.concurrent):
        client = struct.pack("!I", 0x0A000001 + i)
        ends = Endpoints(rng, 4, client, server)
        tcp = TcpFlow(rng, ends, 32768 + i % 28000, [465, 993, 995][i % 3], 0, 0)
        frames = list(tcp.handshake())
        frames += list(tcp.send(0, tls_client_hello(rng, "mx.example.net", True)))
        frames += list(tcp.send(1, tls_server_hello13(rng)))
        for frame in frames:
            ts += 1
            out.write(ts, frame)
        flows.append(tcp)
    record = tls_record(0x17, rng.blob(args.record_size))
    for n in range(args.rounds):
        for tcp in flows:
            d = n & 1
            ts += 1
            out.write(ts, tcp.packet(d, TCP_ACK | TCP_PSH, record))
            tcp.seq[d] += len(record)


def parse_size(text):
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    if text[-1].lower() in units:
        return int(float(text[:-1]) * units[text[-1].lower()])
    return int(text)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", required=True, help="pcap file to write")
    p.add_argument("--size", type=parse_size, default=1 << 30, help="mix: bytes to write (suffix k, m, g; default 1g)")
    p.add_argument("--flows", type=int, default=3000, help="mix: sessions interleaved at once (default 3000)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--reorder", type=float, default=0.002, help="mix: share of segments swapped with the next")
    p.add_argument("--retransmit", type=float, default=0.002, help="mix: share of segments sent twice")
    p.add_argument("--half-open", type=int, default=0, metavar="N", help="write N SYNs from distinct sources")
    p.add_argument("--concurrent", type=int, default=0, metavar="N", help="write N long-lived concurrent flows")
    p.add_argument("--rounds", type=int, default=4, help="concurrent: data segments per flow (default 4)")
    p.add_argument("--record-size", type=int, default=200,
                   help="concurrent: bytes in each application-data record (default 200)")
    p.add_argument("--tls13", type=float, default=0.6,
                   help="mix: share of mail TLS handshakes on TLS 1.3, the rest mostly TLS 1.2 (default 0.6)")
    p.add_argument("--start", type=int, default=1_767_225_600, help="first timestamp, Unix seconds")
    args = p.parse_args()

    TLS13_SHARE[0] = args.tls13
    rng = Rng(args.seed)
    out = PcapWriter(args.output)
    if args.half_open > 0:
        write_half_open(args, rng, out)
    elif args.concurrent > 0:
        write_concurrent(args, rng, out)
    else:
        write_mix(args, rng, out)
    out.close()
    print(f"{args.output}: {out.packets} packets, {out.bytes} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
