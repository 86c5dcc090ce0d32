/*
 * Dispatcher tests: implicit-TLS ports (RFC 8314), a TLS ClientHello on a
 * plain port, midstream pickup, gaps where the TLS decision falls, and when
 * a flow may be bypassed.
 */
#include "test.h"

#include "mail_script.h"

#define PLAIN_IR "AGJvYkBleGFtcGxlLm9yZwBIdW50ZXIyLW1hZGUtdXA="

#define RANDOM32 "\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22" \
		 "\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22"
/* TLS 1.3 ClientHello and ServerHello (RFC 8446 section 4.1): one suite, supported_versions only. */
#define CLIENT_HELLO "\x16\x03\x01\x00\x36" "\x01\x00\x00\x32" "\x03\x03" RANDOM32 "\x00" \
		     "\x00\x02\x13\x01" "\x01\x00" "\x00\x07" "\x00\x2b\x00\x03\x02\x03\x04"
#define SERVER_HELLO "\x16\x03\x03\x00\x32" "\x02\x00\x00\x2e" "\x03\x03" RANDOM32 "\x00" \
		     "\x13\x01" "\x00" "\x00\x06" "\x00\x2b\x00\x02\x03\x04"

static void test_app_implicit_tls_handshake(void)
{
	static const struct script_turn turns[] = {
		CLIENT(CLIENT_HELLO),
		SERVER(SERVER_HELLO),
	};
	static const enum app_proto protos[] = {APP_PROTO_SMTPS, APP_PROTO_POP3S, APP_PROTO_IMAPS, APP_PROTO_TLS};

	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		struct script_options o = script_defaults(protos[i]);
		struct script_run r;

		script_run_all_ways(&r, TURNS(turns), &o);
		CHECK(r.s.tls.client_hello_seen);
		CHECK(r.s.tls.server_hello_seen);
		CHECK(r.done);
		CHECK_EQ_INT(r.s.anomalies, 0);
		CHECK_EQ_INT(r.events[EVENT_TLS_PLAINTEXT_ON_TLS_PORT], 0);
		script_release(&r);
	}
}

static void test_app_plaintext_on_smtps(void)
{
	/* Clear-text SMTP on 465: reported, then parsed as SMTP so credentials are still found. */
	static const struct script_turn turns[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("EHLO client.example.org\r\n"),
		SERVER("250-mx.example.net\r\n250 AUTH PLAIN\r\n"),
		CLIENT("AUTH PLAIN " PLAIN_IR "\r\n"),
		SERVER("235 ok\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTPS);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK(session_has_anomaly(&r.s, ANOMALY_PLAINTEXT_ON_TLS_PORT));
	CHECK_EQ_INT(r.events[EVENT_TLS_PLAINTEXT_ON_TLS_PORT], 1);
	CHECK_EQ_INT(r.last_aux[EVENT_TLS_PLAINTEXT_ON_TLS_PORT], DIR_TO_CLIENT);
	CHECK(session_has_anomaly(&r.s, ANOMALY_CLEARTEXT_CREDENTIALS));
	CHECK_EQ_INT(r.s.mail.auth_count, 1);
	CHECK(!r.done);
	/* Implicit-TLS ports carry no STARTTLS verdicts. */
	CHECK(!session_has_anomaly(&r.s, ANOMALY_STARTTLS_NOT_OFFERED));
	script_release(&r);
}

static void test_app_plaintext_on_tls_port_without_family(void)
{
	static const struct script_turn turns[] = {
		CLIENT("GET / HTTP/1.0\r\n\r\n"),
		SERVER("HTTP/1.0 200 OK\r\n\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_TLS);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK(session_has_anomaly(&r.s, ANOMALY_PLAINTEXT_ON_TLS_PORT));
	CHECK_EQ_INT(r.events[EVENT_TLS_PLAINTEXT_ON_TLS_PORT], 1);
	CHECK_EQ_INT(r.s.mail.auth_count, 0);
	CHECK(r.done);
	script_release(&r);
}

static void test_app_client_hello_on_plain_port(void)
{
	/* A client speaking TLS at once on port 25 is handed to the TLS analyzer, not parsed as commands. */
	static const struct script_turn turns[] = {
		CLIENT(CLIENT_HELLO),
		SERVER(SERVER_HELLO),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK(r.s.tls.client_hello_seen);
	CHECK(r.done);
	CHECK_EQ_INT(r.s.anomalies, 0);
	CHECK_EQ_INT(r.s.mail.starttls.offered, TRISTATE_UNKNOWN);
	script_release(&r);
}

static void test_app_every_protocol_creates(void)
{
	struct mailtap_config cfg;

	config_set_defaults(&cfg);
	for (int p = APP_PROTO_UNKNOWN; p < APP_PROTO_COUNT; p++) {
		struct session s;
		struct app_analyzer *a;

		memset(&s, 0, sizeof(s));
		s.app_proto = (enum app_proto)p;
		a = app_analyzer_new(&s, &cfg, script_tls_context);
		CHECK(a != NULL);
		app_analyzer_data(a, DIR_TO_CLIENT, (const uint8_t *)"+OK hello\r\n", 11);
		CHECK(!app_analyzer_is_done(a));
		app_analyzer_finish(a);
		app_analyzer_free(a);
		session_release(&s);
	}
	app_analyzer_free(NULL);
}

static void test_app_midstream_resync(void)
{
	/* Picked up mid-line: the partial first line is skipped, the rest is parsed. */
	static const char client[] = "LO client.example.org\r\nAUTH PLAIN " PLAIN_IR "\r\n";
	static const char server[] = "OK\r\n235 ok\r\n";
	struct mailtap_config cfg;
	struct session s;
	struct app_analyzer *a;

	config_set_defaults(&cfg);
	memset(&s, 0, sizeof(s));
	s.app_proto = APP_PROTO_SUBMISSION;
	s.evidence.midstream = true;
	a = app_analyzer_new(&s, &cfg, script_tls_context);
	app_analyzer_data(a, DIR_TO_SERVER, (const uint8_t *)client, sizeof(client) - 1);
	app_analyzer_data(a, DIR_TO_CLIENT, (const uint8_t *)server, sizeof(server) - 1);
	app_analyzer_finish(a);
	CHECK_EQ_INT(s.mail.auth_count, 1);
	if (s.mail.auth_count == 1) {
		CHECK(script_text_equals(&s.mail.auth[0].username, "bob@example.org"));
		CHECK_EQ_INT(s.mail.auth[0].result, AUTH_RESULT_SUCCESS);
	}
	CHECK_EQ_INT(s.mail.starttls.offered, TRISTATE_UNKNOWN);
	app_analyzer_free(a);
	session_release(&s);
}

static void test_app_gap_after_starttls(void)
{
	/* A gap where the ClientHello should start: neither ok nor no_handshake can be claimed. */
	static const struct script_turn turns[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("EHLO client.example.org\r\n"),
		SERVER("250-mx.example.net\r\n250 STARTTLS\r\n"),
		CLIENT("STARTTLS\r\n"),
		SERVER("220 go ahead\r\n"),
		CLIENT("\x01\x02\x03 rest of a record"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	o.gap_turn = 5;
	o.gap_len = 300;
	script_run(&r, TURNS(turns), &o);
	CHECK_EQ_INT(r.s.mail.starttls.result, STARTTLS_RESULT_UNKNOWN);
	CHECK(!session_has_anomaly(&r.s, ANOMALY_STARTTLS_NO_HANDSHAKE));
	CHECK(!session_has_anomaly(&r.s, ANOMALY_STARTTLS_COMMAND_INJECTION));
	CHECK(r.s.evidence.inconclusive != NULL);
	script_release(&r);
}

static void test_app_gap_at_start(void)
{
	/* A gap before the first byte of a plain port: resynchronise at the next line. */
	static const struct script_turn turns[] = {
		CLIENT("partial command\r\nAUTH PLAIN " PLAIN_IR "\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	o.gap_turn = 0;
	o.gap_len = 10;
	script_run(&r, TURNS(turns), &o);
	CHECK_EQ_INT(r.s.mail.auth_count, 1);
	script_release(&r);
}

static void test_app_empty_line_after_starttls(void)
{
	/* Even a lone LF between STARTTLS and the handshake is a byte the server would read as TLS. */
	static const struct script_turn turns[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("STARTTLS\r\n\n"),
		SERVER("220 go ahead\r\n"),
		CLIENT(CLIENT_HELLO),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK(session_has_anomaly(&r.s, ANOMALY_STARTTLS_COMMAND_INJECTION));
	CHECK_EQ_INT(r.s.mail.starttls.result, STARTTLS_RESULT_OK);
	CHECK(r.s.tls.client_hello_seen);
	script_release(&r);
}

int main(void)
{
	script_tls_context = tls_context_new();
	test_app_implicit_tls_handshake();
	test_app_plaintext_on_smtps();
	test_app_plaintext_on_tls_port_without_family();
	test_app_client_hello_on_plain_port();
	test_app_every_protocol_creates();
	test_app_midstream_resync();
	test_app_gap_after_starttls();
	test_app_gap_at_start();
	test_app_empty_line_after_starttls();
	tls_context_free(script_tls_context);
	return test_finish("test_app");
}
