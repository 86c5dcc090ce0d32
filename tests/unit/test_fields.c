/*
 * The rule field table: every event type's fields are well formed, each
 * reader returns what the session stores (and "absent" when it stores
 * nothing), and values render as the documented text.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/anomaly.h"
#include "core/session.h"
#include "detect/fields.h"
#include "tls/tls_cert.h"
#include "test.h"

static void read_named(const struct event *ev, const char *name, struct field_value *v)
{
	const struct field_def *def = field_find(ev->type, name);

	CHECK(def != NULL);
	if (def == NULL) {
		fprintf(stderr, "no field %s for %s\n", name, event_type_name(ev->type));
		memset(v, 0, sizeof(*v));
		return;
	}
	field_read(def, ev, v);
}

/* Reads a field and renders it; "-" when absent. */
static const char *render_named(const struct event *ev, const char *name, char *buf, size_t size)
{
	struct field_value v;

	read_named(ev, name, &v);
	field_format(&v, buf, size, NULL);
	return buf;
}

static void test_table_well_formed(void)
{
	for (int t = 0; t < EVENT_TYPE_COUNT; t++) {
		const struct field_def *def;
		unsigned count = 0;

		for (unsigned i = 0; (def = field_at((enum event_type)t, i)) != NULL; i++) {
			count++;
			CHECK(def->read != NULL);
			CHECK(def->description != NULL);
			CHECK(def->description == NULL || def->description[0] != '\0');
			/* Names are unique within an event, so field_find returns this very entry. */
			CHECK(field_find((enum event_type)t, def->name) == def);
			CHECK(def->values == NULL || def->type == FIELD_STRING ||
			      def->type == FIELD_STRING_LIST);
		}
		CHECK(count >= 8);
		CHECK(field_find((enum event_type)t, "src_ip") != NULL);
		CHECK(field_find((enum event_type)t, "flow_id") != NULL);
		CHECK(field_find((enum event_type)t, "no_such_field") == NULL);
	}
	CHECK(field_at(EVENT_TYPE_COUNT, 0) == NULL);
	CHECK(field_find(EVENT_TLS_CLIENT_HELLO, "cipher") == NULL);
	CHECK(field_find(EVENT_TLS_SERVER_HELLO, "cipher") != NULL);
	CHECK_EQ_STR(field_type_name(FIELD_STRING_LIST), "string list");
	CHECK_EQ_STR(field_type_name(FIELD_VERSION), "version");
}

static void test_anomaly_values_match_vocabulary(void)
{
	const struct field_def *def = field_find(EVENT_SESSION, "anomalies");
	int count = 0;

	CHECK(def != NULL);
	CHECK(def == NULL || def->values != NULL);
	if (def == NULL || def->values == NULL)
		return;
	for (; def->values[count] != NULL; count++)
		CHECK_EQ_STR(def->values[count], anomaly_name((enum anomaly)count));
	CHECK_EQ_INT(count, ANOMALY_COUNT);
}

static void session_make(struct session *s)
{
	memset(s, 0, sizeof(*s));
	s->flow_id = 0x8000000000000005ull;
	s->client.family = 6;
	inet_pton(AF_INET6, "2001:db8::10", s->client.addr);
	s->client.port = 50000;
	s->server.family = 4;
	inet_pton(AF_INET, "198.51.100.25", s->server.addr);
	s->server.port = 143;
	s->app_proto = APP_PROTO_IMAP;
	s->mail.starttls.offered = TRISTATE_UNKNOWN;
	s->mail.starttls.result = STARTTLS_RESULT_REFUSED;
}

static void test_read_common(void)
{
	struct session s;
	struct event ev = {.type = EVENT_STARTTLS_REFUSED, .session = &s};
	char buf[128];

	session_make(&s);
	CHECK_EQ_STR(render_named(&ev, "src_ip", buf, sizeof(buf)), "2001:db8::10");
	CHECK_EQ_STR(render_named(&ev, "dest_ip", buf, sizeof(buf)), "198.51.100.25");
	CHECK_EQ_STR(render_named(&ev, "src_port", buf, sizeof(buf)), "50000");
	CHECK_EQ_STR(render_named(&ev, "dest_port", buf, sizeof(buf)), "143");
	CHECK_EQ_STR(render_named(&ev, "app_proto", buf, sizeof(buf)), "imap");
	CHECK_EQ_STR(render_named(&ev, "flow_id", buf, sizeof(buf)), "5");
	CHECK_EQ_STR(render_named(&ev, "anomalies", buf, sizeof(buf)), "");
	CHECK_EQ_STR(render_named(&ev, "detected_protocol", buf, sizeof(buf)), "-");
	/* offered is unknown in the capture, so absent; the rest is read as stored. */
	CHECK_EQ_STR(render_named(&ev, "offered", buf, sizeof(buf)), "-");
	CHECK_EQ_STR(render_named(&ev, "attempted", buf, sizeof(buf)), "false");
	CHECK_EQ_STR(render_named(&ev, "result", buf, sizeof(buf)), "refused");
	CHECK_EQ_STR(render_named(&ev, "reply_code", buf, sizeof(buf)), "-");
	s.mail.starttls.offered = TRISTATE_TRUE;
	s.mail.starttls.reply_code = 454;
	CHECK_EQ_STR(render_named(&ev, "offered", buf, sizeof(buf)), "true");
	CHECK_EQ_STR(render_named(&ev, "reply_code", buf, sizeof(buf)), "454");
	/* Implicit TLS has no STARTTLS. */
	s.app_proto = APP_PROTO_IMAPS;
	CHECK_EQ_STR(render_named(&ev, "offered", buf, sizeof(buf)), "-");
	CHECK_EQ_STR(render_named(&ev, "result", buf, sizeof(buf)), "-");
	snprintf(s.detected_protocol, sizeof(s.detected_protocol), "HTTP");
	CHECK_EQ_STR(render_named(&ev, "detected_protocol", buf, sizeof(buf)), "HTTP");
	s.client.family = 0;
	CHECK_EQ_STR(render_named(&ev, "src_ip", buf, sizeof(buf)), "-");
}

static void test_read_without_session(void)
{
	struct event ev = {.type = EVENT_SESSION, .session = NULL};
	const struct field_def *def;

	for (unsigned i = 0; (def = field_at(EVENT_SESSION, i)) != NULL; i++) {
		struct field_value v;

		field_read(def, &ev, &v);
		CHECK(!v.present);
	}
}

/*
 * Sets every byte of the TLS summary and certificate to 0xff (lengths and
 * counts past their arrays), then gives the bools and enums valid values.
 */
static void fill_tls(struct tls_summary *tls, struct tls_cert_summary *cert)
{
	memset(tls, 0xff, sizeof(*tls));
	memset(cert, 0xff, sizeof(*cert));
	tls->client_hello_seen = true;
	tls->hello_format = TLS_HELLO_FORMAT_SSLV2;
	tls->fallback_scsv = true;
	tls->sni.truncated = true;
	tls->server_hello_seen = true;
	tls->hello_retry_request_seen = true;
	tls->alert_seen = true;
	tls->alert_from_server = true;
	tls->handshake_complete = true;
	tls->certificate_not_observable = true;
	tls->cert = cert;
	cert->subject.truncated = true;
	cert->issuer.truncated = true;
	cert->serial.truncated = true;
	cert->hostname.truncated = true;
	cert->self_signed = true;
	cert->chain_checked = true;
	cert->chain_valid = false;
	cert->hostname_checked = true;
	cert->hostname_valid = false;
}

/* Every field of every event reads without fault from an empty and a filled session. */
static void test_read_all_fields(void)
{
	struct tls_cert_summary cert;
	struct auth_record auth;
	struct session s;

	for (int filled = 0; filled < 2; filled++) {
		session_make(&s);
		if (filled) {
			fill_tls(&s.tls, &cert);
			memset(&auth, 0xff, sizeof(auth));
			auth.username.truncated = true;
			auth.password.truncated = true;
			auth.password_seen = true;
			auth.exposure = AUTH_EXPOSURE_TOKEN;
			auth.result = AUTH_RESULT_FAILURE;
			s.mail.auth = &auth;
			s.mail.auth_count = 1;
			s.anomalies = ~(anomaly_set)0;
		}
		for (int t = 0; t < EVENT_TYPE_COUNT; t++) {
			struct event ev = {.type = (enum event_type)t, .session = &s, .aux = 0};
			const struct field_def *def;

			for (unsigned i = 0; (def = field_at(ev.type, i)) != NULL; i++) {
				struct field_value v;
				char buf[4096];

				field_read(def, &ev, &v);
				CHECK(v.type == def->type);
				CHECK(field_format(&v, buf, sizeof(buf), NULL) == strlen(buf));
				CHECK(v.item_count <= FIELD_LIST_MAX);
			}
		}
	}
}

static void test_read_client_hello(void)
{
	struct session s;
	struct event ev = {.type = EVENT_TLS_CLIENT_HELLO, .session = &s};
	char buf[256];

	session_make(&s);
	CHECK_EQ_STR(render_named(&ev, "version", buf, sizeof(buf)), "-");
	CHECK_EQ_STR(render_named(&ev, "hello_format", buf, sizeof(buf)), "-");
	CHECK_EQ_STR(render_named(&ev, "ja3", buf, sizeof(buf)), "-");
	s.tls.client_hello_seen = true;
	s.tls.hello_format = TLS_HELLO_FORMAT_SSLV2;
	s.tls.record_version = 0x0002;
	s.tls.client_legacy_version = TLS_VERSION_TLS10;
	s.tls.client_versions[0] = TLS_VERSION_TLS13;
	s.tls.client_versions[1] = 0x7f1c;
	s.tls.client_versions[2] = TLS_VERSION_TLS12;
	s.tls.client_versions_count = 3;
	s.tls.client_max_version = TLS_VERSION_TLS13;
	s.tls.client_cipher_count = 31;
	s.tls.fallback_scsv = true;
	snprintf(s.tls.alpn[0], sizeof(s.tls.alpn[0]), "smtp");
	s.tls.alpn_len[0] = 4;
	snprintf(s.tls.alpn[1], sizeof(s.tls.alpn[1]), "imap");
	s.tls.alpn_len[1] = 4;
	s.tls.alpn_count = 2;
	snprintf(s.tls.ja3, sizeof(s.tls.ja3), "d00857e0c8e7a7f35e446508c6233460");
	CHECK_EQ_STR(render_named(&ev, "version", buf, sizeof(buf)), "TLSv1.3");
	CHECK_EQ_STR(render_named(&ev, "legacy_version", buf, sizeof(buf)), "TLSv1.0");
	CHECK_EQ_STR(render_named(&ev, "record_version", buf, sizeof(buf)), "SSLv2");
	CHECK_EQ_STR(render_named(&ev, "versions", buf, sizeof(buf)), "TLSv1.3,0x7F1C,TLSv1.2");
	CHECK_EQ_STR(render_named(&ev, "hello_format", buf, sizeof(buf)), "sslv2");
	CHECK_EQ_STR(render_named(&ev, "alpn", buf, sizeof(buf)), "smtp,imap");
	CHECK_EQ_STR(render_named(&ev, "cipher_count", buf, sizeof(buf)), "31");
	CHECK_EQ_STR(render_named(&ev, "fallback_scsv", buf, sizeof(buf)), "true");
	CHECK_EQ_STR(render_named(&ev, "ja3", buf, sizeof(buf)), "d00857e0c8e7a7f35e446508c6233460");
	CHECK_EQ_STR(render_named(&ev, "sni", buf, sizeof(buf)), "-");
	/* A count larger than the arrays is capped, never read past them. */
	s.tls.client_versions_count = 200;
	s.tls.alpn_count = 200;
	s.tls.alpn_len[0] = 200;
	{
		struct field_value v;

		read_named(&ev, "versions", &v);
		CHECK_EQ_INT(v.item_count, TLS_SUMMARY_MAX_VERSIONS);
		read_named(&ev, "alpn", &v);
		CHECK_EQ_INT(v.item_count, TLS_SUMMARY_MAX_ALPN);
		CHECK_EQ_INT(v.items[0].len, TLS_SUMMARY_ALPN_LEN);
	}
}

static void test_read_server_hello_and_alert(void)
{
	struct session s;
	struct event ev = {.type = EVENT_TLS_SERVER_HELLO, .session = &s};
	char buf[256];

	session_make(&s);
	s.tls.client_hello_seen = true;
	s.tls.client_max_version = TLS_VERSION_TLS13;
	s.tls.server_hello_seen = true;
	s.tls.server_legacy_version = TLS_VERSION_TLS12;
	s.tls.version = TLS_VERSION_TLS12;
	s.tls.cipher = 0xc02f;
	s.tls.hello_retry_request_seen = true;
	CHECK_EQ_STR(render_named(&ev, "version", buf, sizeof(buf)), "TLSv1.2");
	CHECK_EQ_STR(render_named(&ev, "legacy_version", buf, sizeof(buf)), "TLSv1.2");
	CHECK_EQ_STR(render_named(&ev, "client_max_version", buf, sizeof(buf)), "TLSv1.3");
	CHECK_EQ_STR(render_named(&ev, "hello_retry_request", buf, sizeof(buf)), "true");
	CHECK(strcmp(render_named(&ev, "cipher", buf, sizeof(buf)), "-") != 0);
	CHECK(strcmp(render_named(&ev, "cipher_grade", buf, sizeof(buf)), "-") != 0);

	/* IANA suite 0xC02F (RFC 5289) is an AEAD suite. */
	CHECK_EQ_STR(render_named(&ev, "cipher", buf, sizeof(buf)), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
	CHECK_EQ_STR(render_named(&ev, "cipher_grade", buf, sizeof(buf)), "good");
	CHECK_EQ_STR(render_named(&ev, "hello_count", buf, sizeof(buf)), "0");
	/* 0x0A0A is a GREASE value (RFC 8701), never a real suite. */
	s.tls.cipher = 0x0a0a;
	CHECK_EQ_STR(render_named(&ev, "cipher", buf, sizeof(buf)), "0x0A0A");

	/* A tls.alert event describes its own alert in aux; the session keeps the first one. */
	ev.type = EVENT_TLS_ALERT;
	ev.aux = (DIR_TO_CLIENT << 16) | (2 << 8) | 70; /* fatal protocol_version, RFC 8446 6 */
	CHECK_EQ_STR(render_named(&ev, "level", buf, sizeof(buf)), "fatal");
	CHECK_EQ_STR(render_named(&ev, "description", buf, sizeof(buf)), "protocol_version");
	CHECK_EQ_STR(render_named(&ev, "source", buf, sizeof(buf)), "server");
	CHECK_EQ_STR(render_named(&ev, "version", buf, sizeof(buf)), "TLSv1.2");
	ev.aux = (DIR_TO_SERVER << 16) | (1 << 8) | 0; /* warning close_notify */
	CHECK_EQ_STR(render_named(&ev, "level", buf, sizeof(buf)), "warning");
	CHECK_EQ_STR(render_named(&ev, "description", buf, sizeof(buf)), "close_notify");
	CHECK_EQ_STR(render_named(&ev, "source", buf, sizeof(buf)), "client");
	ev.aux = (9 << 8) | 255;
	CHECK_EQ_STR(render_named(&ev, "level", buf, sizeof(buf)), "9");
	CHECK_EQ_STR(render_named(&ev, "description", buf, sizeof(buf)), "255");

	ev.type = EVENT_SESSION;
	CHECK_EQ_STR(render_named(&ev, "tls.alert.description", buf, sizeof(buf)), "-");
	s.tls.alert_seen = true;
	s.tls.alert_level = 2;
	s.tls.alert_description = 40;
	CHECK_EQ_STR(render_named(&ev, "tls.alert.level", buf, sizeof(buf)), "fatal");
	CHECK_EQ_STR(render_named(&ev, "tls.alert.description", buf, sizeof(buf)), "handshake_failure");
}

static void test_read_certificate(void)
{
	struct tls_cert_summary cert;
	struct session s;
	struct event ev = {.type = EVENT_TLS_CERTIFICATE, .session = &s};
	char buf[256];

	session_make(&s);
	CHECK_EQ_STR(render_named(&ev, "valid", buf, sizeof(buf)), "-");
	CHECK_EQ_STR(render_named(&ev, "subject", buf, sizeof(buf)), "-");
	memset(&cert, 0, sizeof(cert));
	s.tls.cert = &cert;
	wire_text_set(&cert.subject, "CN=mail.example.org", 19);
	wire_text_set(&cert.issuer, "CN=Example CA", 13);
	wire_text_set(&cert.hostname, "mail.example.org", 16);
	cert.key_bits = 2048;
	snprintf(cert.key_type, sizeof(cert.key_type), "RSA");
	cert.not_after = 1767225600; /* 2026-01-01T00:00:00Z */
	/* Neither check ran: validity is unknown. */
	CHECK_EQ_STR(render_named(&ev, "valid", buf, sizeof(buf)), "-");
	CHECK_EQ_STR(render_named(&ev, "error", buf, sizeof(buf)), "-");
	cert.chain_checked = true;
	cert.chain_valid = true;
	cert.hostname_checked = true;
	cert.hostname_valid = true;
	CHECK_EQ_STR(render_named(&ev, "valid", buf, sizeof(buf)), "true");
	cert.hostname_valid = false;
	CHECK_EQ_STR(render_named(&ev, "valid", buf, sizeof(buf)), "false");
	CHECK_EQ_STR(render_named(&ev, "error", buf, sizeof(buf)), "hostname mismatch");
	cert.chain_valid = false;
	snprintf(cert.chain_error, sizeof(cert.chain_error), "self-signed certificate");
	cert.self_signed = true;
	CHECK_EQ_STR(render_named(&ev, "error", buf, sizeof(buf)), "self-signed certificate");
	CHECK_EQ_STR(render_named(&ev, "chain_valid", buf, sizeof(buf)), "false");
	CHECK_EQ_STR(render_named(&ev, "hostname_valid", buf, sizeof(buf)), "false");
	CHECK_EQ_STR(render_named(&ev, "self_signed", buf, sizeof(buf)), "true");
	CHECK_EQ_STR(render_named(&ev, "subject", buf, sizeof(buf)), "CN=mail.example.org");
	CHECK_EQ_STR(render_named(&ev, "issuer", buf, sizeof(buf)), "CN=Example CA");
	CHECK_EQ_STR(render_named(&ev, "hostname", buf, sizeof(buf)), "mail.example.org");
	CHECK_EQ_STR(render_named(&ev, "key_type", buf, sizeof(buf)), "RSA");
	CHECK_EQ_STR(render_named(&ev, "key_bits", buf, sizeof(buf)), "2048");
	CHECK_EQ_STR(render_named(&ev, "not_after", buf, sizeof(buf)), "1767225600");
	CHECK_EQ_STR(render_named(&ev, "sha256", buf, sizeof(buf)), "-");
}

static void test_read_injection(void)
{
	struct session s;
	struct event ev = {.type = EVENT_STARTTLS_INJECTION, .session = &s, .aux = DIR_TO_SERVER};
	char buf[64];

	session_make(&s);
	CHECK_EQ_STR(render_named(&ev, "injection", buf, sizeof(buf)), "command");
	CHECK_EQ_STR(render_named(&ev, "direction", buf, sizeof(buf)), "client_to_server");
	ev.aux = DIR_TO_CLIENT;
	CHECK_EQ_STR(render_named(&ev, "injection", buf, sizeof(buf)), "response");
	CHECK_EQ_STR(render_named(&ev, "direction", buf, sizeof(buf)), "server_to_client");
	CHECK(field_find(EVENT_STARTTLS_REFUSED, "injection") == NULL);
}

static void test_read_session_auth(void)
{
	struct auth_record auth[2];
	struct session s;
	struct event ev = {.type = EVENT_SESSION, .session = &s};
	char buf[256];

	session_make(&s);
	CHECK_EQ_STR(render_named(&ev, "auth.mechanism", buf, sizeof(buf)), "");
	CHECK_EQ_STR(render_named(&ev, "auth.count", buf, sizeof(buf)), "0");
	memset(auth, 0, sizeof(auth));
	snprintf(auth[0].mechanism, sizeof(auth[0].mechanism), "USER/PASS");
	wire_text_set(&auth[0].username, "frank", 5);
	snprintf(auth[1].mechanism, sizeof(auth[1].mechanism), "XOAUTH2");
	wire_text_set(&auth[1].username, "grace", 5);
	auth[1].exposure = AUTH_EXPOSURE_TOKEN;
	s.mail.auth = auth;
	s.mail.auth_count = 2;
	s.mail.auth_dropped = 3;
	s.evidence.inconclusive = "server direction not seen";
	s.evidence.gaps = 2;
	session_add_anomaly(&s, ANOMALY_CLEARTEXT_CREDENTIALS);
	session_add_anomaly(&s, ANOMALY_BEARER_TOKEN_IN_CLEARTEXT);
	CHECK_EQ_STR(render_named(&ev, "auth.mechanism", buf, sizeof(buf)), "USER/PASS,XOAUTH2");
	CHECK_EQ_STR(render_named(&ev, "auth.exposure", buf, sizeof(buf)), "cleartext,token");
	CHECK_EQ_STR(render_named(&ev, "auth.username", buf, sizeof(buf)), "frank,grace");
	CHECK_EQ_STR(render_named(&ev, "auth.count", buf, sizeof(buf)), "5");
	CHECK_EQ_STR(render_named(&ev, "anomalies", buf, sizeof(buf)),
		     "cleartext_credentials,bearer_token_in_cleartext");
	CHECK_EQ_STR(render_named(&ev, "evidence.inconclusive", buf, sizeof(buf)),
		     "server direction not seen");
	CHECK_EQ_STR(render_named(&ev, "evidence.gaps", buf, sizeof(buf)), "2");
	CHECK_EQ_STR(render_named(&ev, "tls.version", buf, sizeof(buf)), "-");
}

static void test_format_cut(void)
{
	struct field_value v;
	char buf[8];
	bool cut = false;

	memset(&v, 0, sizeof(v));
	v.type = FIELD_STRING;
	v.present = true;
	v.str = "abc\x01xyz";
	v.len = 7;
	/* "abc" fits, "\x01" needs 4 more bytes and the NUL: it stops before the escape. */
	CHECK_EQ_INT(field_format(&v, buf, 7, &cut), 3);
	CHECK_EQ_STR(buf, "abc");
	CHECK(cut);
	CHECK_EQ_INT(field_format(&v, buf, 8, &cut), 7);
	CHECK_EQ_STR(buf, "abc\\x01");
	CHECK(cut);
	CHECK_EQ_INT(field_format(&v, buf, 0, &cut), 0);
	v.len = 3;
	CHECK_EQ_INT(field_format(&v, buf, sizeof(buf), &cut), 3);
	CHECK(!cut);
	v.type = FIELD_INTEGER;
	v.integer = -42;
	CHECK_EQ_INT(field_format(&v, buf, sizeof(buf), NULL), 3);
	CHECK_EQ_STR(buf, "-42");
	v.type = FIELD_VERSION;
	v.version = 0x0a0a;
	field_format(&v, buf, sizeof(buf), NULL);
	CHECK_EQ_STR(buf, "0x0A0A");
	v.present = false;
	field_format(&v, buf, sizeof(buf), NULL);
	CHECK_EQ_STR(buf, "-");
}

int main(void)
{
	test_table_well_formed();
	test_anomaly_values_match_vocabulary();
	test_read_common();
	test_read_without_session();
	test_read_all_fields();
	test_read_client_hello();
	test_read_server_hello_and_alert();
	test_read_certificate();
	test_read_injection();
	test_read_session_auth();
	test_format_cut();
	return test_finish("test_fields");
}
