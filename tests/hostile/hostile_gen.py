#!/usr/bin/env python3
"""Generate one hostile capture for the mailtap hostile tests.

usage: hostile_gen.py CASE OUTPUT [--count N] [--size BYTES]

Every capture starts with the same well-formed SMTP session (the prefix
session): EHLO, a 250 reply that offers STARTTLS, AUTH PLAIN with an
initial response (RFC 4954 section 4) that the server accepts with 235,
QUIT and a FIN handshake. RFC 4954 and RFC 3207 make its verdicts: a cleartext
credential for "prefix-user" with result success, STARTTLS offered and
not used. The hostile part follows it in packet time, so a test can
check that damage later in the file does not lose that session.
"""

import argparse
import base64
import random
import struct
import sys

import pcapgen
from pcapgen import TcpConn, ip4

PREFIX_USER = b"prefix-user"
PREFIX_PASSWORD = b"prefix-Secret-7"
MAIL_PORTS = (25, 465, 587, 110, 995, 143, 993, 2525)


def write_prefix(w, conn_class=TcpConn):
    """Write the well-formed SMTP session every capture starts with."""
    c = conn_class(w, ("192.0.2.10", 40000), ("192.0.2.25", 25))
    c.handshake()
    c.server(b"220 mx.example.test ESMTP ready\r\n")
    c.client(b"EHLO client.example.test\r\n")
    c.server(b"250-mx.example.test\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n")
    token = base64.b64encode(b"\0" + PREFIX_USER + b"\0" + PREFIX_PASSWORD)
    c.client(b"AUTH PLAIN " + token + b"\r\n")
    c.server(b"235 2.7.0 Authentication successful\r\n")
    c.client(b"QUIT\r\n")
    c.server(b"221 2.0.0 Bye\r\n")
    c.close()


def smtp_opening(c, extensions=b"250 CHUNKING\r\n"):
    c.handshake()
    c.server(b"220 mx.example.test ESMTP ready\r\n")
    c.client(b"EHLO client.example.test\r\n")
    c.server(b"250-mx.example.test\r\n" + extensions)


# ---- flow and reassembly cases ----

def case_syn_flood(w, args):
    """Write args.count SYNs to the mail ports, each from a distinct source address.

    All SYNs fall within one second of packet time, under the 30-second SYN
    timeout, so only the flow cap can bound the table.
    """
    template = pcapgen.ipv4_tcp_frame(ip4("10.0.0.0"), ip4("198.51.100.25"), 1024, 25, 1, 0, pcapgen.TCP_SYN)
    frame = bytearray(template)
    dst = ip4("198.51.100.25")
    for i in range(args.count):
        src = struct.pack("!I", 0x0A000000 + 1 + i)
        dport = MAIL_PORTS[i % len(MAIL_PORTS)]
        sport = 1024 + (i % 60000)
        ip = pcapgen.ipv4_header(src, dst, 20)
        seg = pcapgen.tcp_segment(src, dst, sport, dport, i * 7919, 0, pcapgen.TCP_SYN)
        frame[14:34] = ip
        frame[34:54] = seg
        w.tick(1)
        w.packet(bytes(frame))


def case_out_of_order(w, args):
    """Write one SMTP flow whose client then sends args.count segments past a one-byte hole.

    The hole at the first byte is never filled, so every later segment can
    only wait in the out-of-order queue.
    """
    c = TcpConn(w, ("192.0.2.11", 40001), ("192.0.2.25", 25))
    smtp_opening(c)
    offsets = list(range(args.count))
    random.Random(1).shuffle(offsets)
    for n in offsets:
        c.client_at(1 + n * 8, b"NOOP\r\nXX"[:8])
    c.cseq += 1 + args.count * 8
    c.close()


def case_out_of_order_flows(w, args):
    """Write args.count SMTP flows that each queue 256 KiB behind a one-byte hole.

    Each flow stays within the 256 KiB and 1024-segment caps of one stream;
    together they pass the 64 MiB total from the 257th flow on.
    """
    chunk = b"NOOP\r\n" * (pcapgen.MSS // 6)
    conns = []
    for i in range(args.count):
        c = TcpConn(w, ("192.0.2.%d" % (100 + i // 250), 45000 + i % 250), ("192.0.2.25", 25))
        smtp_opening(c)
        conns.append(c)
    # Round-robin over the flows, so that every flow keeps its queue at the same time.
    offsets = range(1, 256 * 1024 - len(chunk) + 1, len(chunk))
    for offset in offsets:
        for c in conns:
            c.client_at(offset, chunk)
    for c in conns:
        c.cseq += offsets[-1] + len(chunk)
        c.close()


def case_long_line(w, args):
    """An SMTP client that sends a size-byte MAIL FROM line without a line ending."""
    c = TcpConn(w, ("192.0.2.12", 40002), ("192.0.2.25", 25))
    smtp_opening(c)
    body = b"MAIL FROM:<" + b"A" * (args.size - 11)
    c.client(body)
    c.close()


def imap_session(w, port, client_port, command):
    c = TcpConn(w, ("192.0.2.13", client_port), ("192.0.2.143", port))
    c.handshake()
    c.server(b"* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] ready\r\n")
    c.client(command)
    c.server(b"+ Ready for literal data\r\n")
    c.client(bytes(range(256)) * 256)
    c.server(b"a1 BAD Literal too large\r\n")
    c.close()


def case_imap_literal(w, args):
    """IMAP LOGIN literals of 2^32-1 bytes, 2^32-1 non-synchronizing, and 2^64 (overflows 64 bits)."""
    imap_session(w, 143, 40010, b"a1 LOGIN {4294967295}\r\n")
    imap_session(w, 143, 40011, b"a1 LOGIN {4294967295+}\r\n")
    imap_session(w, 143, 40012, b"a1 LOGIN {18446744073709551616}\r\n")
    imap_session(w, 143, 40013, b"a1 LOGIN {99999999999999999999999999999999}\r\n")


def bdat_session(w, client_port, command):
    c = TcpConn(w, ("192.0.2.14", client_port), ("192.0.2.25", 25))
    smtp_opening(c, b"250-CHUNKING\r\n250 BINARYMIME\r\n")
    c.client(b"MAIL FROM:<a@example.test>\r\n")
    c.server(b"250 2.1.0 Ok\r\n")
    c.client(b"RCPT TO:<b@example.test>\r\n")
    c.server(b"250 2.1.5 Ok\r\n")
    c.client(command + bytes(range(256)) * 256)
    c.server(b"552 5.3.4 Message size exceeds fixed limit\r\n")
    c.close()


def case_bdat(w, args):
    """BDAT chunk sizes of 2^63, 2^64-1 and 2^64 (RFC 3030 section 2)."""
    bdat_session(w, 40020, b"BDAT 9223372036854775808 LAST\r\n")
    bdat_session(w, 40021, b"BDAT 18446744073709551615\r\n")
    bdat_session(w, 40022, b"BDAT 18446744073709551616 LAST\r\n")


def case_tls_garbage(w, args):
    """A TLS record header announcing 0xFFFF bytes, followed by that much garbage, on 465 and 993."""
    rng = random.Random(2)
    garbage = bytes(rng.getrandbits(8) for _ in range(0xFFFF))
    for port, client_port in ((465, 40030), (993, 40031)):
        c = TcpConn(w, ("192.0.2.15", client_port), ("192.0.2.26", port))
        c.handshake()
        c.client(b"\x16\x03\x01\xff\xff" + garbage)
        c.server(b"\x15\x03\x01\x00\x02\x02\x32")
        c.close()


def extension(ext_type, data):
    return struct.pack("!HH", ext_type, len(data)) + data


def client_hello_body(session_id=b"\x11" * 32, ciphers=(0x1301, 0xC02F), extensions=None):
    """Return a ClientHello body (RFC 8446 section 4.1.2) without the handshake header."""
    if extensions is None:
        sni_name = b"mail.example.test"
        sni = struct.pack("!HBH", len(sni_name) + 3, 0, len(sni_name)) + sni_name
        extensions = extension(0, sni) + extension(43, b"\x04\x03\x04\x03\x03")
    body = b"\x03\x03" + b"\x22" * 32
    body += bytes([len(session_id)]) + session_id
    body += struct.pack("!H", 2 * len(ciphers)) + b"".join(struct.pack("!H", s) for s in ciphers)
    body += b"\x01\x00"
    body += struct.pack("!H", len(extensions)) + extensions
    return body


def handshake_record(body, msg_len=None, record_len=None):
    msg = b"\x01" + struct.pack("!I", len(body) if msg_len is None else msg_len)[1:] + body
    rec_len = len(msg) if record_len is None else record_len
    return b"\x16\x03\x01" + struct.pack("!H", rec_len) + msg


def lying_hellos():
    """Yield ClientHello records whose inner lengths disagree with the bytes present."""
    good = client_hello_body()
    yield handshake_record(good, msg_len=0xFFFFFF)           # handshake length past the cap
    yield handshake_record(good, msg_len=len(good) + 1000)   # handshake length past the record
    yield handshake_record(good[:34] + b"\x20\x11")           # session_id 32, 1 byte present
    yield handshake_record(good[:34] + b"\xff" + b"\x11" * 40)  # session_id length 255 (max 32)
    lie = bytearray(good)
    lie[67:69] = b"\xff\xfe"                                  # cipher_suites length 65534
    yield handshake_record(bytes(lie))
    lie = bytearray(good)
    lie[67:69] = b"\x00\x03"                                  # odd cipher_suites length
    yield handshake_record(bytes(lie))
    ext_at = 2 + 32 + 33 + 2 + 4 + 2
    lie = bytearray(good)
    lie[ext_at:ext_at + 2] = b"\xff\xff"                      # extensions length past the message
    yield handshake_record(bytes(lie))
    lie = bytearray(good)
    lie[ext_at + 4:ext_at + 6] = b"\xff\xf0"                  # SNI extension length past the block
    yield handshake_record(bytes(lie))
    lie = bytearray(good)
    lie[ext_at + 6:ext_at + 8] = b"\x7f\xff"                  # server_name_list length past the extension
    yield handshake_record(bytes(lie))
    lie = bytearray(good)
    lie[ext_at + 9:ext_at + 11] = b"\xff\xff"                 # host name length past the list
    yield handshake_record(bytes(lie))
    versions = extension(43, b"\xfe\x04\x03")                 # supported_versions list longer than the extension
    yield handshake_record(client_hello_body(extensions=versions))
    yield handshake_record(good, record_len=0)                # empty handshake record
    yield b"\x80\xff\x01\x03\x01\xff\xff\x00\x00\x00\x10"     # SSLv2 hello, cipher_spec length 65535


def server_hello_body(extensions=b""):
    """Return a TLS 1.2 ServerHello body (RFC 5246 section 7.4.1.3) choosing TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256."""
    body = b"\x03\x03" + b"\x33" * 32 + b"\x20" + b"\x44" * 32 + b"\xc0\x2f" + b"\x00"
    return body + struct.pack("!H", len(extensions)) + extensions


def handshake_message(msg_type, body, msg_len=None):
    return bytes([msg_type]) + struct.pack("!I", len(body) if msg_len is None else msg_len)[1:] + body


def certificate_body(entries, list_len=None):
    """Return a Certificate body (RFC 5246 section 7.4.2); each entry is (announced length, DER bytes)."""
    certs = b"".join(struct.pack("!I", n)[1:] + der for n, der in entries)
    return struct.pack("!I", len(certs) if list_len is None else list_len)[1:] + certs


def lying_server_flights():
    """Yield server handshake flights whose inner lengths disagree with the bytes present."""
    good_hello = handshake_message(2, server_hello_body())
    yield handshake_message(2, server_hello_body()[:-2] + b"\xff\xff")                 # extensions length past the message
    yield handshake_message(2, server_hello_body(extension(43, b"\x03")))              # supported_versions 1 byte of 2
    yield good_hello + handshake_message(11, certificate_body([(10, b"\x30" * 10)], list_len=0xFFFFFF))
    yield good_hello + handshake_message(11, certificate_body([(0xFFFFF0, b"\x30\x82" + b"\x00" * 8)]))
    yield good_hello + handshake_message(11, certificate_body([(3, b"\x30\x82\xff")] * 20))  # 20 DER stubs, cap 10
    yield good_hello + handshake_message(11, certificate_body([(14, b"\x30\x82\xff\xff" + b"\x02" * 10)]))
    yield good_hello + handshake_message(11, certificate_body([]), msg_len=0)        # empty Certificate message


def case_tls_lying_server(w, args):
    """Write a valid ClientHello on 465 and, in reply, server flights whose inner lengths lie."""
    for n, flight in enumerate(lying_server_flights()):
        c = TcpConn(w, ("192.0.2.16", 40200 + n), ("192.0.2.26", 465))
        c.handshake()
        c.client(handshake_record(client_hello_body()))
        c.server(b"\x16\x03\x03" + struct.pack("!H", len(flight)) + flight)
        c.close()


def case_tls_lying_hello(w, args):
    for n, record in enumerate(lying_hellos()):
        c = TcpConn(w, ("192.0.2.16", 40100 + n), ("192.0.2.26", 465))
        c.handshake()
        c.client(record)
        c.server(b"\x15\x03\x03\x00\x02\x02\x32")
        c.close()


def case_starttls_garbage(w, args):
    """STARTTLS accepted on SMTP and IMAP, then a lying ClientHello and a 0xFFFF-byte garbage record."""
    hello = handshake_record(client_hello_body(), msg_len=0xFFFFFF)
    garbage = b"\x16\x03\x01\xff\xff" + bytes(random.Random(4).getrandbits(8) for _ in range(0xFFFF))
    for n, payload in enumerate((hello, garbage)):
        c = TcpConn(w, ("192.0.2.23", 40070 + n), ("192.0.2.25", 25))
        smtp_opening(c, b"250-STARTTLS\r\n250 AUTH PLAIN\r\n")
        c.client(b"STARTTLS\r\n")
        c.server(b"220 2.0.0 Ready to start TLS\r\n")
        c.client(payload)
        c.server(b"\x15\x03\x03\x00\x02\x02\x32")
        c.close()

        c = TcpConn(w, ("192.0.2.23", 40080 + n), ("192.0.2.143", 143))
        c.handshake()
        c.server(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n")
        c.client(b"a1 STARTTLS\r\n")
        c.server(b"a1 OK Begin TLS negotiation now\r\n")
        c.client(payload)
        c.server(b"\x15\x03\x03\x00\x02\x02\x32")
        c.close()


# ---- decoding cases ----

def case_vlan_nested(w, args):
    """SYNs to port 25 behind 100 nested 802.1Q tags, and behind 8 and 9 tags around the cap."""
    src, dst = ip4("192.0.2.17"), ip4("192.0.2.25")
    for depth, count in ((100, 50), (9, 5), (8, 5)):
        for i in range(count):
            seg = pcapgen.tcp_segment(src, dst, 41000 + depth * 100 + i, 25, 1, 0, pcapgen.TCP_SYN)
            packet = pcapgen.ipv4_header(src, dst, len(seg)) + seg
            tags = b"".join(struct.pack("!HH", (i + d) & 0x0FFF, 0x8100) for d in range(depth - 1))
            tags += struct.pack("!HH", 7, 0x0800)
            w.packet(pcapgen.ethernet(tags + packet, ethertype=0x8100))


def ipv6_tcp_syn(src, dst, sport, dport, ext_count):
    """Return an IPv6 packet with ext_count Destination Options headers before a TCP SYN (RFC 8200)."""
    header = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, pcapgen.TCP_SYN, 65535, 0, 0)
    pseudo = src + dst + struct.pack("!IxxxB", len(header), 6)
    csum = pcapgen.checksum_fold(pcapgen.checksum_sum(header, pcapgen.checksum_sum(pseudo)))
    tcp = header[:16] + struct.pack("!H", csum) + header[18:]
    # Each 8-byte Destination Options header contains one PadN option of 4 bytes.
    exts = b"".join(struct.pack("!BB", 60 if i + 1 < ext_count else 6, 0) + b"\x01\x04\0\0\0\0"
                    for i in range(ext_count))
    first = 60 if ext_count else 6
    payload = exts + tcp
    return struct.pack("!IHBB", 6 << 28, len(payload), first, 64) + src + dst + payload


def case_deep_headers(w, args):
    """SYNs to port 25 behind 100 MPLS labels and behind 100 IPv6 Destination Options headers."""
    src, dst = ip4("192.0.2.17"), ip4("192.0.2.25")
    for i in range(20):
        seg = pcapgen.tcp_segment(src, dst, 41500 + i, 25, 1, 0, pcapgen.TCP_SYN)
        packet = pcapgen.ipv4_header(src, dst, len(seg)) + seg
        # Label 16 + i, the bottom-of-stack bit set on the last label only, TTL 64.
        labels = b"".join(struct.pack("!I", ((16 + i) << 12) | (0x100 if d == 99 else 0) | 64) for d in range(100))
        w.packet(pcapgen.ethernet(labels + packet, ethertype=0x8847))
    src6 = bytes.fromhex("20010db8000000000000000000000017")
    dst6 = bytes.fromhex("20010db8000000000000000000000025")
    for i in range(20):
        w.packet(pcapgen.ethernet(ipv6_tcp_syn(src6, dst6, 41600 + i, 25, 100), ethertype=0x86DD))


def case_frag_overlap(w, args):
    """Write args.count IPv4 datagrams of two overlapping, conflicting fragments and no last fragment.

    More datagrams than the reassembly table can keep arrive within a second,
    then one packet 40 seconds later lets every remaining one time out.
    """
    src, dst = ip4("192.0.2.18"), ip4("192.0.2.25")
    for i in range(args.count):
        ident = i & 0xFFFF
        first = pcapgen.tcp_segment(src, dst, 42000, 25, i, 0, pcapgen.TCP_ACK, b"A" * 28)
        w.tick(50)
        w.packet(pcapgen.ethernet(pcapgen.ipv4_header(src, dst, 48, ident=ident, flags_frag=0x2000) + first))
        # Offset 16 bytes (2 units) with MF set: overlaps bytes 16..47 of the first with other content.
        w.packet(pcapgen.ethernet(pcapgen.ipv4_header(src, dst, 32, ident=ident, flags_frag=0x2000 | 2) + b"B" * 32))
    w.tick(40_000_000)
    seg = pcapgen.tcp_segment(src, dst, 42001, 25, 1, 0, pcapgen.TCP_SYN)
    w.packet(pcapgen.ethernet(pcapgen.ipv4_header(src, dst, len(seg)) + seg))


# ---- damaged files ----

def case_truncated(w, args):
    """The prefix session, a second session left open, then a record cut in the middle of its packet."""
    c = TcpConn(w, ("192.0.2.19", 40040), ("192.0.2.25", 25))
    smtp_opening(c)
    c.client(b"MAIL FROM:<a@example.test>\r\n")
    frame = pcapgen.ipv4_tcp_frame(c.cip, c.sip, c.cport, c.sport, c.cseq, c.sseq, pcapgen.TCP_ACK, b"RCPT TO:<b@example.test>\r\n")
    w.tick()
    sec, usec = divmod(w.usec, 1_000_000)
    w.raw(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame[:len(frame) // 2])


def case_caplen_over_snaplen(w, args):
    """A record whose caplen (70000) exceeds the file's snap length (65535)."""
    w.packet(b"\x00" * 70000)
    c = TcpConn(w, ("192.0.2.20", 40050), ("192.0.2.25", 25))
    smtp_opening(c)
    c.close()


def case_caplen_huge(w, args):
    """A session left open, then a record announcing caplen 2^31-1 with 100 bytes behind it."""
    c = TcpConn(w, ("192.0.2.20", 40051), ("192.0.2.25", 25))
    smtp_opening(c)
    w.tick()
    sec, usec = divmod(w.usec, 1_000_000)
    w.raw(struct.pack("<IIII", sec, usec, 0x7FFFFFFF, 0x7FFFFFFF) + b"\x00" * 100)


def sll_header(packet):
    """Linux cooked header (LINKTYPE_LINUX_SLL): outgoing, Ethernet ARPHRD, IPv4."""
    return struct.pack("!HHH8sH", 4, 1, 6, pcapgen.CLIENT_MAC + b"\0\0", 0x0800) + packet


def case_pcapng_interfaces(path, args, interleaved):
    """A pcapng file with Ethernet, Linux cooked and raw IP interfaces, one SMTP session on each.

    With interleaved, each Interface Description Block comes just before the
    first packet on it, as a capture tool writes an interface that appears
    late; otherwise all three come first.
    """
    w = pcapgen.PcapngWriter(path)
    links = (pcapgen.LINKTYPE_ETHERNET, pcapgen.LINKTYPE_LINUX_SLL, pcapgen.LINKTYPE_RAW)
    if not interleaved:
        for linktype in links:
            w.interface(linktype)

    class OnInterface:
        def __init__(self, iface):
            self.iface = iface

        def tick(self, usec=1000):
            w.tick(usec)

        def packet(self, frame):
            w.packet(self.iface, frame)

    if interleaved:
        w.interface(links[0])
    write_prefix(OnInterface(0))
    for iface, frame_fn, port in ((1, sll_header, 40061), (2, lambda p: p, 40062)):
        if interleaved:
            w.interface(links[iface])
        c = TcpConn(OnInterface(iface), ("192.0.2.21", port), ("192.0.2.25", 25), frame_fn=frame_fn)
        smtp_opening(c)
        c.client(b"QUIT\r\n")
        c.server(b"221 Bye\r\n")
        c.close()
    w.close()


# ---- non-mail protocols on mail ports ----

REDIS_COMMAND = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"
HTTP_REQUEST = b"GET /index.html HTTP/1.1\r\nHost: www.example.test\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"
HTTP_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello"


def case_non_mail(w, args):
    """Binary junk, an HTTP exchange and a Redis RESP exchange on every mail port."""
    rng = random.Random(3)
    junk = bytes(rng.getrandbits(8) for _ in range(4096))
    exchanges = ((junk, junk[::-1]), (HTTP_REQUEST, HTTP_RESPONSE), (REDIS_COMMAND, b"+OK\r\n"))
    n = 0
    for port in MAIL_PORTS:
        for request, reply in exchanges:
            c = TcpConn(w, ("192.0.2.22", 43000 + n), ("192.0.2.30", port))
            n += 1
            c.handshake()
            c.client(request)
            c.server(reply)
            c.close()


def case_prefix(w, args):
    """The prefix session alone: the baseline for memory bounds."""


# ---- output safety: user names built to break JSON, syslog and terminals ----

# A fake JSON field, an OSC title sequence, a screen clear, an SGR colour, the
# C1 CSI (U+009B), invalid UTF-8 (a lone 0xff and 0xfe, the overlong 0xc0
# 0xaf, the surrogate 0xed 0xa0 0x80, a cut 0xe2 0x82), quote, backslash and DEL.
EVIL_CORE = (b'eve\r\n{"event_type":"alert","forged":"1"}\x1b]0;pwned\x07\x1b[2J\x1b[31m'
             b'\xc2\x9b1m\xff\xfe\xc0\xaf\xed\xa0\x80\xe2\x82"\\\x7f\xe2\x80\xa8end')
EVIL_USERS = {
    # AUTH PLAIN separates its fields with NUL, so this one has none.
    "plain": EVIL_CORE + b"-plain",
    "login": EVIL_CORE + b"\x00-login",
    "imap": EVIL_CORE + b"\x00\r\n-imap",
    # A POP3 USER argument ends at the line end, so it carries NUL but no CR or LF.
    "pop3": EVIL_CORE.replace(b"\r\n", b"\t") + b"\x00-pop3",
}
EVIL_PASSWORDS = {
    "plain": b"Evil-Plain-Pw-4711",
    "login": b"Evil-Login-Pw-4712",
    "imap": b"Evil-Imap-Pw-4713",
    "pop3": b"Evil-Pop3-Pw-4714",
}
EVIL_PORTS = {"plain": 44001, "login": 44002, "imap": 44003, "pop3": 44004}


def case_evil_names(w, args):
    """SMTP AUTH PLAIN, SMTP AUTH LOGIN, IMAP LOGIN (user name as a literal) and POP3 USER/PASS with hostile user names."""
    c = TcpConn(w, ("192.0.2.40", EVIL_PORTS["plain"]), ("192.0.2.25", 25))
    smtp_opening(c, b"250 AUTH PLAIN LOGIN\r\n")
    token = base64.b64encode(b"\0" + EVIL_USERS["plain"] + b"\0" + EVIL_PASSWORDS["plain"])
    c.client(b"AUTH PLAIN " + token + b"\r\n")
    c.server(b"235 2.7.0 Authentication successful\r\n")
    c.close()

    c = TcpConn(w, ("192.0.2.40", EVIL_PORTS["login"]), ("192.0.2.25", 587))
    smtp_opening(c, b"250 AUTH PLAIN LOGIN\r\n")
    c.client(b"AUTH LOGIN\r\n")
    c.server(b"334 VXNlcm5hbWU6\r\n")
    c.client(base64.b64encode(EVIL_USERS["login"]) + b"\r\n")
    c.server(b"334 UGFzc3dvcmQ6\r\n")
    c.client(base64.b64encode(EVIL_PASSWORDS["login"]) + b"\r\n")
    c.server(b"235 2.7.0 Authentication successful\r\n")
    c.close()

    c = TcpConn(w, ("192.0.2.40", EVIL_PORTS["imap"]), ("192.0.2.143", 143))
    c.handshake()
    c.server(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n")
    c.client(b"a1 LOGIN {%d}\r\n" % len(EVIL_USERS["imap"]))
    c.server(b"+ Ready for literal data\r\n")
    c.client(EVIL_USERS["imap"] + b" " + EVIL_PASSWORDS["imap"] + b"\r\n")
    c.server(b"a1 OK LOGIN completed\r\n")
    c.close()

    c = TcpConn(w, ("192.0.2.40", EVIL_PORTS["pop3"]), ("192.0.2.110", 110))
    c.handshake()
    c.server(b"+OK POP3 server ready\r\n")
    c.client(b"USER " + EVIL_USERS["pop3"] + b"\r\n")
    c.server(b"+OK\r\n")
    c.client(b"PASS " + EVIL_PASSWORDS["pop3"] + b"\r\n")
    c.server(b"+OK Logged in\r\n")
    c.close()


CASES = {
    "evil_names": case_evil_names,
    "prefix": case_prefix,
    "syn_flood": case_syn_flood,
    "out_of_order": case_out_of_order,
    "out_of_order_flows": case_out_of_order_flows,
    "long_line": case_long_line,
    "imap_literal": case_imap_literal,
    "bdat": case_bdat,
    "tls_garbage": case_tls_garbage,
    "tls_lying_hello": case_tls_lying_hello,
    "tls_lying_server": case_tls_lying_server,
    "starttls_garbage": case_starttls_garbage,
    "vlan_nested": case_vlan_nested,
    "deep_headers": case_deep_headers,
    "frag_overlap": case_frag_overlap,
    "truncated": case_truncated,
    "caplen_over_snaplen": case_caplen_over_snaplen,
    "non_mail": case_non_mail,
    "caplen_huge": case_caplen_huge,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=sorted(CASES) + ["pcapng_interfaces", "pcapng_interfaces_late"])
    parser.add_argument("output")
    parser.add_argument("--count", type=int, default=1000, help="packets, segments or datagrams, by case")
    parser.add_argument("--size", type=int, default=10 * 1024 * 1024, help="line length in bytes (long_line)")
    args = parser.parse_args()
    if args.case.startswith("pcapng_interfaces"):
        case_pcapng_interfaces(args.output, args, interleaved=args.case.endswith("_late"))
        return 0
    snaplen = 65535 if args.case.startswith("caplen") else 262144
    w = pcapgen.PcapWriter(args.output, snaplen=snaplen)
    write_prefix(w)
    CASES[args.case](w, args)
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
