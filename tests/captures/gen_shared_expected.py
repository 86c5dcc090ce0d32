#!/usr/bin/env python3
"""Derive the expected mail sessions of the public captures from tshark.

For every TCP connection with an endpoint on a default mail port, tshark
gives the endpoints; the client is the sender of the SYN, else the receiver
of the SYN-ACK, else the endpoint not on a mail port. The output (TSV on
stdout) is committed as shared_expected.tsv and read by
test_shared_captures.sh. Run: gen_shared_expected.py DIR > shared_expected.tsv
"""
import os
import subprocess
import sys

MAIL_PORTS = {25: "smtp", 2525: "smtp", 587: "submission", 465: "smtps",
              110: "pop3", 995: "pop3s", 143: "imap", 993: "imaps"}


def tshark_fields(path, fields):
    cmd = ["tshark", "-n", "-r", path, "-Y", "tcp", "-T", "fields", "-E", "separator=\t"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    return [line.split("\t") for line in out.splitlines()]


def connections(path):
    rows = tshark_fields(path, ["tcp.stream", "ip.src", "ipv6.src", "tcp.srcport",
                                "ip.dst", "ipv6.dst", "tcp.dstport", "tcp.flags.syn",
                                "tcp.flags.ack"])
    streams = {}
    for stream, ip4s, ip6s, sport, ip4d, ip6d, dport, syn, ack in rows:
        src = (ip4s or ip6s).split(",")[-1]
        dst = (ip4d or ip6d).split(",")[-1]
        info = streams.setdefault(stream, {"a": (src, int(sport)), "b": (dst, int(dport)),
                                           "client": None})
        if info["client"] is None and syn in ("1", "True"):
            info["client"] = (src, int(sport)) if ack in ("0", "False") else (dst, int(dport))
    return streams


def main():
    top = sys.argv[1]
    print("# file\tclient_ip\tclient_port\tserver_ip\tserver_port\tapp_proto")
    for root, _dirs, files in sorted(os.walk(top)):
        for name in sorted(files):
            if not name.endswith((".pcap", ".pcapng")):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, top)
            for info in connections(path).values():
                a, b = info["a"], info["b"]
                if a[1] not in MAIL_PORTS and b[1] not in MAIL_PORTS:
                    continue
                client = info["client"]
                if client is None:
                    client = a if b[1] in MAIL_PORTS and a[1] not in MAIL_PORTS else b
                    if a[1] in MAIL_PORTS and b[1] in MAIL_PORTS:
                        client = a if a[1] > b[1] else b
                server = b if client == a else a
                print(f"{rel}\t{client[0]}\t{client[1]}\t{server[0]}\t{server[1]}\t"
                      f"{MAIL_PORTS[server[1]]}")


if __name__ == "__main__":
    main()
