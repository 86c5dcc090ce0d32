#!/usr/bin/env python3
"""Compare mailtap's TLS fields on the public captures with tshark's dissection.

Usage: check_shared_tls.py MAILTAP CAPTURE_DIR CIPHER_CSV

For every TLS connection whose ClientHello or ServerHello tshark decodes,
compares the last ClientHello's record version, legacy version,
supported_versions (GREASE removed) and SNI, and the last ServerHello's
negotiated version (supported_versions when present) and cipher, with the
session record mailtap writes when the server port is mapped as TLS.
Prints one line per connection and every mismatch; exits 1 on any.
"""
import csv
import json
import os
import subprocess
import sys

NAMES = {0x0002: "SSLv2", 0x0300: "SSLv3", 0x0301: "TLSv1.0", 0x0302: "TLSv1.1",
         0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}
FIELDS = ["ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport",
          "tls.handshake.type", "tls.record.version", "tls.handshake.version",
          "tls.handshake.extensions.supported_version", "tls.handshake.extensions_server_name",
          "tls.handshake.ciphersuite"]


def version_name(value):
    if not value:
        return None
    number = int(value, 16)
    return NAMES.get(number, "0x%04X" % number)


def is_grease(number):
    return (number & 0x0F0F) == 0x0A0A and (number >> 8) == (number & 0xFF)


def load_ciphers(path):
    names = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            parts = row["Value"].split(",")
            if len(parts) == 2 and "-" not in row["Value"] and row["Description"].startswith("TLS_"):
                names[int(parts[0], 16) << 8 | int(parts[1], 16)] = row["Description"]
    return names


def tshark_hellos(path):
    cmd = ["tshark", "-n", "-r", path, "-Y", "tls.handshake.type == 1 or tls.handshake.type == 2",
           "-T", "fields", "-E", "separator=|"]
    for field in FIELDS:
        cmd += ["-e", field]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    hellos = {}
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("|")))
        src = (v["ip.src"] or v["ipv6.src"], int(v["tcp.srcport"]))
        dst = (v["ip.dst"] or v["ipv6.dst"], int(v["tcp.dstport"]))
        types = v["tls.handshake.type"].split(",")
        if "1" in types:
            hellos.setdefault((src, dst), {})["client"] = v
        if "2" in types:
            hellos.setdefault((dst, src), {})["server"] = v
    return hellos


def expected_fields(hello, ciphers):
    fields = {}
    client = hello.get("client")
    if client:
        fields["record_version"] = version_name(client["tls.record.version"].split(",")[0])
        fields["client_legacy_version"] = version_name(client["tls.handshake.version"].split(",")[0])
        supported = [int(x, 16) for x in client["tls.handshake.extensions.supported_version"].split(",") if x]
        supported = [NAMES.get(x, "0x%04X" % x) for x in supported if not is_grease(x)]
        fields["client_versions"] = supported or None
        fields["sni"] = client["tls.handshake.extensions_server_name"] or None
    server = hello.get("server")
    if server:
        selected = server["tls.handshake.extensions.supported_version"]
        legacy = server["tls.handshake.version"].split(",")[-1]
        fields["version"] = version_name(selected.split(",")[-1] if selected else legacy)
        if server["tls.handshake.ciphersuite"]:
            suite = int(server["tls.handshake.ciphersuite"].split(",")[-1], 16)
            fields["cipher"] = ciphers.get(suite, "0x%04X" % suite)
    return fields


def mailtap_sessions(mailtap, path, ports):
    spec = "tls=" + ",".join(str(p) for p in sorted(ports))
    out = subprocess.run([mailtap, "-r", path, "--no-rules", "--ports", spec, "--json", "-"],
                         capture_output=True, text=True, check=False).stdout
    sessions = {}
    for line in out.splitlines():
        r = json.loads(line)
        if r.get("event_type") == "session":
            sessions[((r["src_ip"], r["src_port"]), (r["dest_ip"], r["dest_port"]))] = r.get("tls", {})
    return sessions


MAIL_PORTS = {25, 2525, 587, 465, 110, 995, 143, 993}
# XMPP upgrades with its own STARTTLS, which mailtap does not follow: TLS starts mid-stream there.
SKIPPED_PORTS = {5222}


def main():
    mailtap, top, csv_path = sys.argv[1:4]
    ciphers = load_ciphers(csv_path)
    failures = compared = 0
    for root, _dirs, names in sorted(os.walk(top)):
        for name in sorted(names):
            if not name.endswith((".pcap", ".pcapng")):
                continue
            path = os.path.join(root, name)
            hellos = tshark_hellos(path)
            if not hellos:
                continue
            ports = {server[1] for (_client, server) in hellos if server[1] not in MAIL_PORTS}
            sessions = mailtap_sessions(mailtap, path, ports or {443})
            for key, hello in sorted(hellos.items()):
                if key[1][1] in SKIPPED_PORTS:
                    continue
                # tshark files an SSL 2.0 SERVER-HELLO under the opposite direction; that
                # handshake is compared by the TLS unit tests instead.
                if key not in sessions and (key[1], key[0]) in sessions:
                    continue
                want = expected_fields(hello, ciphers)
                got = sessions.get(key)
                compared += 1
                problems = []
                if got is None:
                    problems.append("no session record")
                else:
                    for field, value in want.items():
                        if value is None and field in ("version", "record_version", "client_legacy_version"):
                            continue
                        if field == "record_version" and got.get("hello_format") == "sslv2":
                            continue
                        if got.get(field) != value:
                            problems.append(f"{field}: tshark {value!r}, mailtap {got.get(field)!r}")
                rel = os.path.relpath(path, top)
                print(f"{'ok  ' if not problems else 'FAIL'} {rel} {key[0][0]}:{key[0][1]} -> {key[1][0]}:{key[1][1]}")
                for p in problems:
                    print("     " + p)
                failures += 1 if problems else 0
    print(f"{compared} handshakes compared, {failures} differ")
    return 1 if failures or compared == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
