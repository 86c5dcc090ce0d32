"""Write pcap and pcapng files with Ethernet, IPv4 and TCP built by hand.

The hostile tests build their captures at run time from the Python
standard library alone. Formats: pcap (the libpcap file format,
draft-ietf-opsawg-pcap) and pcapng (draft-ietf-opsawg-pcapng); headers:
Ethernet II, IEEE 802.1Q, IPv4 (RFC 791) and TCP (RFC 9293), with real
IPv4 and TCP checksums so that tshark reads the files without complaint.
"""

import struct

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113

TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_RST = 0x04
TCP_PSH = 0x08
TCP_ACK = 0x10

CLIENT_MAC = bytes.fromhex("020000000001")
SERVER_MAC = bytes.fromhex("020000000002")

# Largest TCP payload per segment, as on an Ethernet link with a 1500-byte MTU.
MSS = 1460


def ip4(text):
    """Return the four bytes of a dotted-quad IPv4 address."""
    return bytes(int(part) for part in text.split("."))


def checksum_sum(data, total=0):
    """Add data to a ones'-complement sum of 16-bit big-endian words (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    for (word,) in struct.iter_unpack("!H", data):
        total += word
    return total


def checksum_fold(total):
    """Fold a ones'-complement sum to 16 bits and complement it."""
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def ipv4_header(src, dst, payload_len, proto=6, ident=0, flags_frag=0x4000, ttl=64):
    """Return a 20-byte IPv4 header with its checksum.

    flags_frag is the 16-bit flags and fragment offset field; the default
    sets Don't Fragment.
    """
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, ident, flags_frag, ttl, proto, 0, src, dst)
    csum = checksum_fold(checksum_sum(header))
    return header[:10] + struct.pack("!H", csum) + header[12:]


def tcp_segment(src, dst, sport, dport, seq, ack, flags, payload=b"", window=65535):
    """Return a TCP header and payload with the checksum over the IPv4 pseudo-header."""
    header = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, window, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(header) + len(payload))
    csum = checksum_fold(checksum_sum(header + payload, checksum_sum(pseudo)))
    return header[:16] + struct.pack("!H", csum) + header[18:] + payload


def ethernet(payload, ethertype=0x0800, src_mac=CLIENT_MAC, dst_mac=SERVER_MAC):
    return dst_mac + src_mac + struct.pack("!H", ethertype) + payload


def ipv4_tcp_frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    """Return an Ethernet frame carrying one IPv4 TCP segment."""
    segment = tcp_segment(src, dst, sport, dport, seq, ack, flags, payload)
    return ethernet(ipv4_header(src, dst, len(segment)) + segment)


class PcapWriter:
    """Writes a classic pcap file with microsecond timestamps."""

    def __init__(self, path, linktype=LINKTYPE_ETHERNET, snaplen=262144):
        self.file = open(path, "wb", buffering=1 << 20)
        self.file.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype))
        self.usec = 1_000_000_000 * 1_000_000

    def tick(self, usec=1000):
        """Advance the packet clock; every packet gets a later time than the last."""
        self.usec += usec

    def packet(self, frame, caplen=None, origlen=None):
        """Write one record; caplen and origlen may lie on purpose."""
        self.tick()
        caplen = len(frame) if caplen is None else caplen
        origlen = len(frame) if origlen is None else origlen
        sec, usec = divmod(self.usec, 1_000_000)
        self.file.write(struct.pack("<IIII", sec, usec, caplen, origlen))
        self.file.write(frame)

    def raw(self, data):
        self.file.write(data)

    def close(self):
        self.file.close()


class PcapngWriter:
    """Writes a pcapng file: one section, any number of interfaces, Enhanced Packet Blocks."""

    def __init__(self, path):
        self.file = open(path, "wb")
        body = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
        self._block(0x0A0D0D0A, body)
        self.usec = 1_000_000_000 * 1_000_000

    def _block(self, block_type, body):
        body += b"\0" * (-len(body) % 4)
        total = 12 + len(body)
        self.file.write(struct.pack("<II", block_type, total) + body + struct.pack("<I", total))

    def interface(self, linktype, snaplen=262144):
        """Add an Interface Description Block; interfaces are numbered from 0 in order."""
        self._block(0x00000001, struct.pack("<HHI", linktype, 0, snaplen))

    def tick(self, usec=1000):
        self.usec += usec

    def packet(self, interface_id, frame):
        self.tick()
        body = struct.pack("<IIIII", interface_id, self.usec >> 32, self.usec & 0xFFFFFFFF, len(frame), len(frame))
        self._block(0x00000006, body + frame)

    def close(self):
        self.file.close()


class TcpConn:
    """One TCP connection written packet by packet, both directions in order.

    frame_fn wraps an IPv4 packet in the link layer (Ethernet by default).
    """

    def __init__(self, writer, client, server, client_isn=1000, server_isn=5000, frame_fn=None):
        self.w = writer
        self.cip, self.cport = ip4(client[0]), client[1]
        self.sip, self.sport = ip4(server[0]), server[1]
        self.cseq = client_isn
        self.sseq = server_isn
        self.frame_fn = frame_fn or ethernet

    def _send(self, from_client, flags, payload=b"", seq=None):
        if from_client:
            src, dst, sport, dport = self.cip, self.sip, self.cport, self.sport
            seq_now, ack = (self.cseq if seq is None else seq), self.sseq
        else:
            src, dst, sport, dport = self.sip, self.cip, self.sport, self.cport
            seq_now, ack = (self.sseq if seq is None else seq), self.cseq
        segment = tcp_segment(src, dst, sport, dport, seq_now, ack, flags, payload)
        self.w.packet(self.frame_fn(ipv4_header(src, dst, len(segment)) + segment))

    def handshake(self):
        self._send(True, TCP_SYN)
        self.cseq += 1
        self._send(False, TCP_SYN | TCP_ACK)
        self.sseq += 1
        self._send(True, TCP_ACK)

    def client(self, data):
        """Send data from the client in MSS-sized segments."""
        for start in range(0, len(data), MSS):
            chunk = data[start:start + MSS]
            self._send(True, TCP_ACK | TCP_PSH, chunk)
            self.cseq += len(chunk)

    def server(self, data):
        for start in range(0, len(data), MSS):
            chunk = data[start:start + MSS]
            self._send(False, TCP_ACK | TCP_PSH, chunk)
            self.sseq += len(chunk)

    def client_at(self, offset, data):
        """Send client data at cseq + offset without moving cseq (out of order)."""
        self._send(True, TCP_ACK | TCP_PSH, data, seq=self.cseq + offset)

    def close(self):
        self._send(True, TCP_FIN | TCP_ACK)
        self.cseq += 1
        self._send(False, TCP_FIN | TCP_ACK)
        self.sseq += 1
        self._send(True, TCP_ACK)
