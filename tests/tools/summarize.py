#!/usr/bin/env python3
"""Print one compact line per session record of mailtap's JSON output.

Usage: mailtap -r FILE --json - | summarize.py
Used to compare mailtap's verdicts with tshark and with peers by eye.
"""
import json
import sys


def tls_summary(tls):
    if not tls:
        return ""
    parts = [f"fmt={tls.get('hello_format')}", f"legacy={tls.get('client_legacy_version')}",
             f"cmax={tls.get('client_max_version')}", f"ver={tls.get('version')}",
             f"cipher={tls.get('cipher')}"]
    if tls.get("client_versions"):
        parts.append("sv=" + ",".join(tls["client_versions"]))
    if tls.get("sni"):
        parts.append(f"sni={tls['sni']}")
    if tls.get("alert"):
        parts.append(f"alert={tls['alert'].get('level')}/{tls['alert'].get('description')}")
    return " tls[" + " ".join(parts) + "]"


def main():
    for line in sys.stdin:
        r = json.loads(line)
        if r.get("event_type") != "session":
            continue
        st = r.get("starttls")
        st_text = ""
        if st is not None:
            st_text = f" starttls[offered={st.get('offered')} attempted={st.get('attempted')} result={st.get('result')}]"
        auth = " ".join(f"auth[{a.get('mechanism')} {a.get('username')} {a.get('exposure')} {a.get('result')}]"
                        for a in r.get("auth", []))
        print(f"{r['src_ip']}:{r['src_port']}->{r['dest_ip']}:{r['dest_port']} {r['app_proto']}{st_text}"
              f"{tls_summary(r.get('tls'))} {auth} anomalies={','.join(r.get('anomalies', []))}"
              f" alerts={r.get('alerts')}")


if __name__ == "__main__":
    main()
