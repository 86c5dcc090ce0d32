/*
 * Sessions for the output tests, with every summary filled in. Wire
 * strings carry the bytes an attacker would send: CR/LF, NUL, quotes,
 * backslashes, invalid UTF-8 and an ANSI escape. Names and passwords are
 * made up.
 */
#ifndef MAILTAP_TEST_OUTPUT_FIXTURE_H
#define MAILTAP_TEST_OUTPUT_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "core/session.h"
#include "output/output.h"
#include "tls/tls_cert.h"

/*
 * CR LF, NUL, quote, backslash, a lone 0xff, overlong 0xc0 0xaf, a UTF-16
 * surrogate ed a0 80, a truncated e2 82, ESC [31m, and a valid "é".
 */
static const char fixture_nasty[] = "A\r\nB\0C\"D\\E\xff"
				    "F\xc0\xaf"
				    "G\xed\xa0\x80"
				    "H\xe2\x82"
				    "I\x1b[31mJ\xc3\xa9";
#define FIXTURE_NASTY_LEN (sizeof(fixture_nasty) - 1)

/*
 * The same string after a JSON round trip, as UTF-8: each invalid byte
 * 0xHH decodes to U+00HH (documented in docs/output.md), valid bytes stay.
 */
static const char fixture_nasty_json[] = "A\r\nB\0C\"D\\E\xc3\xbf"
					 "F\xc3\x80\xc2\xaf"
					 "G\xc3\xad\xc2\xa0\xc2\x80"
					 "H\xc3\xa2\xc2\x82"
					 "I\x1b[31mJ\xc3\xa9";
#define FIXTURE_NASTY_JSON_LEN (sizeof(fixture_nasty_json) - 1)

/* The same string through format_escape_bytes() with FORMAT_ESCAPE_QUOTES. */
static const char fixture_nasty_text[] = "A\\x0d\\x0aB\\x00C\\\"D\\\\E\\xff"
					 "F\\xc0\\xaf"
					 "G\\xed\\xa0\\x80"
					 "H\\xe2\\x82"
					 "I\\x1b[31mJ\xc3\xa9";

#define FIXTURE_PASSWORD "Tr0ub4dor-fixture"

/* 2009-10-05T06:06:07.492000 UTC, the timestamp of the EVE documentation example. */
#define FIXTURE_TS_USEC 1254722767492000ull

static inline void fixture_endpoint_v4(struct endpoint *e, uint8_t a, uint8_t b, uint8_t c, uint8_t d,
				       uint16_t port)
{
	memset(e, 0, sizeof(*e));
	e->family = 4;
	e->addr[0] = a;
	e->addr[1] = b;
	e->addr[2] = c;
	e->addr[3] = d;
	e->port = port;
}

/*
 * SMTP on port 25 from 192.0.2.10:40000 to 192.0.2.25: STARTTLS offered
 * state unknown and refused, two auth records (PLAIN with a password, and
 * CRAM-MD5 without one), TLS 1.2 with a certificate, anomalies, alerts.
 * The caller frees with session_release().
 */
static inline void fixture_session_v4(struct session *s)
{
	struct tls_cert_summary *cert = calloc(1, sizeof(*cert));

	memset(s, 0, sizeof(*s));
	s->flow_id = 7;
	fixture_endpoint_v4(&s->client, 192, 0, 2, 10, 40000);
	fixture_endpoint_v4(&s->server, 192, 0, 2, 25, 25);
	s->app_proto = APP_PROTO_SMTP;
	s->first_ts_usec = FIXTURE_TS_USEC;
	s->last_ts_usec = FIXTURE_TS_USEC + 3500000u;
	s->now_usec = s->last_ts_usec;
	s->packets[DIR_TO_SERVER] = 11;
	s->packets[DIR_TO_CLIENT] = 9;
	s->bytes[DIR_TO_SERVER] = 1200;
	s->bytes[DIR_TO_CLIENT] = 3400;
	s->end = SESSION_END_FIN;
	s->evidence.handshake_seen = true;
	s->evidence.seen[DIR_TO_SERVER] = true;
	s->evidence.seen[DIR_TO_CLIENT] = true;
	s->evidence.gaps = 2;
	s->evidence.gap_bytes = 1460;
	session_add_anomaly(s, ANOMALY_CLEARTEXT_CREDENTIALS);
	session_add_anomaly(s, ANOMALY_STARTTLS_REFUSED);
	session_add_anomaly(s, ANOMALY_TCP_GAP);
	session_add_alert(s, 1001);
	session_add_alert(s, 1202);

	s->mail.starttls.offered = TRISTATE_UNKNOWN;
	s->mail.starttls.attempted = true;
	s->mail.starttls.result = STARTTLS_RESULT_REFUSED;
	s->mail.starttls.reply_code = 454;
	s->mail.auth = calloc(2, sizeof(*s->mail.auth));
	s->mail.auth_count = s->mail.auth != NULL ? 2 : 0;
	if (s->mail.auth != NULL) {
		struct auth_record *plain = &s->mail.auth[0];
		struct auth_record *cram = &s->mail.auth[1];

		memcpy(plain->mechanism, "PLAIN", 6);
		wire_text_set(&plain->username, fixture_nasty, FIXTURE_NASTY_LEN);
		wire_text_set(&plain->password, FIXTURE_PASSWORD, strlen(FIXTURE_PASSWORD));
		plain->password_seen = true;
		plain->exposure = AUTH_EXPOSURE_CLEARTEXT;
		plain->result = AUTH_RESULT_FAILURE;
		memcpy(cram->mechanism, "CRAM-MD5", 9);
		wire_text_set(&cram->username, "alice", 5);
		cram->exposure = AUTH_EXPOSURE_CRACKABLE;
		cram->result = AUTH_RESULT_SUCCESS;
	}

	s->tls.client_hello_seen = true;
	s->tls.hello_format = TLS_HELLO_FORMAT_TLS;
	s->tls.client_legacy_version = TLS_VERSION_TLS12;
	s->tls.client_max_version = TLS_VERSION_TLS12;
	s->tls.server_hello_seen = true;
	s->tls.version = TLS_VERSION_TLS12;
	s->tls.cipher = 0x009c;
	memcpy(s->tls.ja3, "0123456789abcdef0123456789abcdef", 33);
	memcpy(s->tls.ja3s, "fedcba9876543210fedcba9876543210", 33);
	s->tls.alert_seen = true;
	s->tls.alert_level = 2;
	s->tls.alert_description = 70;
	s->tls.alert_from_server = true;
	s->tls.cert = cert;
	if (cert != NULL) {
		wire_text_set(&cert->subject, "CN=mx.example.test", 18);
		wire_text_set(&cert->issuer, fixture_nasty, FIXTURE_NASTY_LEN);
		wire_text_set(&cert->serial, "0a1b", 4);
		cert->not_before = 1254700000;
		cert->not_after = 1286236000;
		memcpy(cert->key_type, "RSA", 4);
		cert->key_bits = 2048;
		memcpy(cert->signature_algorithm, "sha256WithRSAEncryption", 24);
		memset(cert->sha256, 'a', 64);
		cert->self_signed = true;
		cert->chain_length = 1;
		cert->chain_checked = true;
		cert->chain_valid = false;
		memcpy(cert->chain_error, "self-signed certificate", 24);
		cert->hostname_checked = false;
	}
	memcpy(s->detected_protocol, "SMTP", 5);
}

/*
 * IMAPS on port 993 over IPv6, 2001:db8::1:0:0:1 port 50000 to 2001:db8::993:
 * TLS 1.3 with a hostile SNI and two ALPN values, certificate not observable.
 */
static inline void fixture_session_v6(struct session *s)
{
	static const uint8_t client[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
	static const uint8_t server[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x09, 0x93};

	memset(s, 0, sizeof(*s));
	s->flow_id = 0xfffffffffffffff0ull;
	s->client.family = 6;
	memcpy(s->client.addr, client, 16);
	s->client.port = 50000;
	s->server.family = 6;
	memcpy(s->server.addr, server, 16);
	s->server.port = 993;
	s->app_proto = APP_PROTO_IMAPS;
	s->first_ts_usec = FIXTURE_TS_USEC;
	s->last_ts_usec = FIXTURE_TS_USEC + 1;
	s->end = SESSION_END_TIMEOUT;
	s->evidence.midstream = true;
	s->evidence.seen[DIR_TO_SERVER] = true;
	s->evidence.inconclusive = "server direction missing";
	session_add_anomaly(s, ANOMALY_ONE_SIDED_CAPTURE);
	session_add_anomaly(s, ANOMALY_MID_SESSION_START);

	s->tls.client_hello_seen = true;
	s->tls.hello_format = TLS_HELLO_FORMAT_TLS;
	s->tls.client_legacy_version = TLS_VERSION_TLS12;
	s->tls.client_versions[0] = TLS_VERSION_TLS13;
	s->tls.client_versions[1] = TLS_VERSION_TLS12;
	s->tls.client_versions[2] = 0x7f1c;
	s->tls.client_versions_count = 3;
	s->tls.client_max_version = TLS_VERSION_TLS13;
	wire_text_set(&s->tls.sni, fixture_nasty, FIXTURE_NASTY_LEN);
	memcpy(s->tls.alpn[0], "imap", 4);
	s->tls.alpn_len[0] = 4;
	memcpy(s->tls.alpn[1], "x\n\x1b", 3);
	s->tls.alpn_len[1] = 3;
	s->tls.alpn_count = 2;
	s->tls.server_hello_seen = true;
	s->tls.version = TLS_VERSION_TLS13;
	s->tls.cipher = 0x1302;
	s->tls.certificate_not_observable = true;
}

/* A rendered message with wire bytes that try to end the line and forge a field. */
static const char fixture_message[] = "sni \"x\\\r\nfake=1 sid=\"9\" \xff\xc0\xaf\x1b[31m] ok";

/* An alert as the rule engine would pass it. */
static inline void fixture_alert(struct alert_info *a)
{
	a->signature_id = 1001;
	a->signature = "obsolete-tls-negotiated";
	a->severity = "high";
	a->category = "weak-tls";
	a->message = fixture_message;
}

#endif
