#!/usr/bin/env python3
"""Drive the test SMTP sessions of the live-capture tests.

Usage: mail_client.py HOST PORT SCENARIO
  cleartext-auth  EHLO, AUTH PLAIN with made-up credentials, MAIL, QUIT in clear
  starttls        EHLO, STARTTLS, TLS handshake, EHLO, QUIT inside TLS
  stripped        EHLO against a server that advertises XXXXXXXA, then AUTH in clear
"""
import smtplib
import ssl
import sys

USER = "alice@example.test"
PASSWORD = "Tr0ub4dor-live-test"


def main():
    host, port, scenario = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    smtp = smtplib.SMTP(host, port, timeout=10)
    smtp.ehlo("client.example.test")
    if scenario == "starttls":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        smtp.starttls(context=context)
        smtp.ehlo("client.example.test")
    else:
        smtp.login(USER, PASSWORD)
        smtp.mail("alice@example.test")
    smtp.quit()


if __name__ == "__main__":
    main()
