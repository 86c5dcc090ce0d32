#!/usr/bin/env python3
"""Compare mail.capabilities of POP3 and IMAP sessions with tshark's lines.

Usage: check_capabilities.py MAILTAP CAPTURE_OR_DIRECTORY...

For every capture, tshark (-T pdml) supplies the protocol lines of each
POP3 (port 110) and IMAP (port 143) connection, and this script derives
the last capability list sent in clear from them, independently of
mailtap:
  - POP3 (RFC 2449 section 5): the lines of the last complete +OK reply
    to CAPA, up to the "." line. Replies are paired with
    commands in order (RFC 1939 section 3), and the bodies of other
    multi-line replies are skipped.
  - IMAP (RFC 3501 sections 7.1 and 7.2.1): the atoms of the last
    "* CAPABILITY" response or "[CAPABILITY ...]" code of an OK or
    PREAUTH response, untagged or tagged.
mailtap keeps at most 256 bytes of the list (entries joined by LF, whole
entries only), so the expected list is cut the same way and then carries
capabilities_truncated. Prints one line per connection and exits 1 on any
mismatch, 2 when tshark or mailtap fails.
"""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

POP3_PORT = 110
IMAP_PORT = 143
CAPABILITIES_MAX_BYTES = 256  # WIRE_TEXT_MAX in src/core/text.h

# Commands whose +OK reply carries a body up to "." (RFC 1939 sections 5 and 7, RFC 2449).
POP3_BODY_ALWAYS = {"CAPA", "RETR", "TOP"}
POP3_BODY_WITHOUT_ARGUMENT = {"LIST", "UIDL", "AUTH"}


def field_lines(element):
    """Yield the bytes of every line field (pop.request, pop.response and
    its data lines, imap.line, and the lines tshark shows as message text)
    under element."""
    for field in element.iter("field"):
        name = field.get("name")
        value = field.get("value")
        if not value:
            continue
        if name in ("pop.request", "pop.response", "pop.response.data", "imap.line") or name == "":
            yield bytes.fromhex(value).rstrip(b"\r\n")


def packet_fields(packet):
    """Return the packet's addresses, ports and protocol lines."""
    info = {"lines": []}
    for proto in packet.findall("proto"):
        pname = proto.get("name")
        for field in proto.iter("field"):
            name = field.get("name")
            if name in ("ip.src", "ipv6.src"):
                info["src"] = field.get("show")
            elif name in ("ip.dst", "ipv6.dst"):
                info["dst"] = field.get("show")
            elif name == "tcp.srcport":
                info["sport"] = int(field.get("show"))
            elif name == "tcp.dstport":
                info["dport"] = int(field.get("show"))
        if pname in ("pop", "imap", "imf"):
            info["lines"].extend(field_lines(proto))
    return info


def read_connections(path):
    """Map (client ip, client port, server ip, server port) to its protocol and [(from_server, line)]."""
    proc = subprocess.run(["tshark", "-n", "-r", path, "-T", "pdml", "-Y", "pop || imap || imf"],
                          capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError("tshark failed on %s: %s" % (path, proc.stderr.decode(errors="replace").strip()))
    connections = {}
    for packet in ET.fromstring(proc.stdout).findall("packet"):
        info = packet_fields(packet)
        if not info["lines"] or "sport" not in info:
            continue
        if info["sport"] in (POP3_PORT, IMAP_PORT):
            key = (info["dst"], info["dport"], info["src"], info["sport"])
            from_server = True
        elif info["dport"] in (POP3_PORT, IMAP_PORT):
            key = (info["src"], info["sport"], info["dst"], info["dport"])
            from_server = False
        else:
            continue
        protocol = "pop3" if key[3] == POP3_PORT else "imap"
        entry = connections.setdefault(key, (protocol, []))
        entry[1].extend((from_server, line) for line in info["lines"])
    return connections


def pop3_capabilities(lines):
    """The lines of the last complete CAPA listing, or None when there is none."""
    pending = []
    body = None  # the command whose body is being read
    listing = []
    result = None
    for from_server, line in lines:
        text = line.decode("latin-1")
        if not from_server:
            words = text.split()
            command = words[0].upper() if words else ""
            has_argument = len(words) > 1
            pending.append((command, has_argument))
            continue
        if body is not None:
            if text == ".":
                if body == "CAPA":
                    result = listing
                body = None
            elif body == "CAPA" and text.strip():
                listing.append(text)
            continue
        if not (text.startswith("+OK") or text.startswith("-ERR")):
            continue
        if not pending:
            continue  # the greeting
        command, has_argument = pending.pop(0)
        if not text.startswith("+OK"):
            continue
        if command in POP3_BODY_ALWAYS or (command in POP3_BODY_WITHOUT_ARGUMENT and not has_argument):
            body = command
            listing = []
    return result


def imap_capability_code(text):
    """The atoms of "[CAPABILITY ...]" right after the status word, or None."""
    words = text.split(" ", 2)
    if len(words) < 3 or words[1].upper() not in ("OK", "PREAUTH"):
        return None
    rest = words[2]
    if not rest.upper().startswith("[CAPABILITY") or "]" not in rest:
        return None
    return rest[1:rest.index("]")].split()[1:]


def imap_capabilities(lines):
    """The atoms of the last capability list the server sent, or None."""
    result = None
    for from_server, line in lines:
        if not from_server:
            continue
        text = line.decode("latin-1")
        if text.upper().startswith("* CAPABILITY"):
            result = text.split()[2:]
            continue
        atoms = imap_capability_code(text)
        if atoms is not None:
            result = atoms
    return result


def cut_to_cap(entries):
    """Return the whole entries that fit the cap and whether any were dropped."""
    kept = []
    used = 0
    for entry in entries:
        need = len(entry.encode("latin-1")) + (1 if kept else 0)
        if used + need > CAPABILITIES_MAX_BYTES:
            return kept, True
        kept.append(entry)
        used += need
    return kept, False


def read_sessions(mailtap, path):
    proc = subprocess.run([mailtap, "-r", path, "--no-rules", "--json", "-"],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError("mailtap failed on %s: %s" % (path, proc.stderr.strip()))
    sessions = {}
    for line in proc.stdout.splitlines():
        record = json.loads(line)
        if record.get("event_type") == "session":
            key = (record["src_ip"], record["src_port"], record["dest_ip"], record["dest_port"])
            sessions[key] = record
    return sessions


def check_capture(mailtap, path):
    """Print one line per POP3 or IMAP connection; return the number of mismatches."""
    failures = 0
    sessions = read_sessions(mailtap, path)
    for key, (protocol, lines) in sorted(read_connections(path).items()):
        entries = pop3_capabilities(lines) if protocol == "pop3" else imap_capabilities(lines)
        record = sessions.get(key)
        flow = "%s %s:%d -> %s:%d" % (os.path.basename(path), key[0], key[1], key[2], key[3])
        if record is None:
            print("FAIL %s: no session record" % flow)
            failures += 1
            continue
        mail = record.get("mail") or {}
        actual = (mail.get("capabilities"), bool(mail.get("capabilities_truncated", False)))
        if entries is None:
            expected = (None, False)
        else:
            expected = cut_to_cap(entries)
        if actual == expected and entries is None:
            print("ok   %s: %s, no capability list" % (flow, protocol))
            continue
        if actual == expected:
            print("ok   %s: %s list of %d entries%s" % (flow, protocol, len(expected[0]),
                                                     ", truncated" if expected[1] else ""))
            continue
        print("FAIL %s: expected %s, actual %s" % (flow, json.dumps(expected), json.dumps(actual)))
        failures += 1
    return failures


def capture_files(arguments):
    for argument in arguments:
        if os.path.isdir(argument):
            for root, _dirs, names in sorted(os.walk(argument)):
                for name in sorted(names):
                    if name.endswith((".pcap", ".pcapng")):
                        yield os.path.join(root, name)
        else:
            yield argument


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    mailtap = sys.argv[1]
    failures = 0
    try:
        for path in capture_files(sys.argv[2:]):
            failures += check_capture(mailtap, path)
    except RuntimeError as error:
        print("error: %s" % error, file=sys.stderr)
        return 2
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
