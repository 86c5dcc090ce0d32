/*
 * SMTP analyzer tests: conversations run through the application dispatcher
 * into a real session, each one whole, byte by byte, in 7-byte pieces and cut
 * after every byte. Expected verdicts follow RFC 5321, 3207, 4954, 2920 and
 * 3030. Names and passwords are made up.
 */
#include "test.h"

#include "mail/smtp.h"
#include "mail_script.h"

/* "alice@example.org" / "Secr3t-made-up" for AUTH LOGIN. */
#define LOGIN_USER "YWxpY2VAZXhhbXBsZS5vcmc="
#define LOGIN_PASS "U2VjcjN0LW1hZGUtdXA="
/* "\0bob@example.org\0Hunter2-made-up" for AUTH PLAIN. */
#define PLAIN_IR "AGJvYkBleGFtcGxlLm9yZwBIdW50ZXIyLW1hZGUtdXA="

/* 32 bytes of a made-up random value. */
#define RANDOM32 "\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11" \
		 "\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11"

/*
 * A TLS 1.3 ClientHello (RFC 8446 section 4.1.2): one suite
 * TLS_AES_128_GCM_SHA256, null compression, supported_versions [TLS 1.3].
 */
#define CLIENT_HELLO "\x16\x03\x01\x00\x36" "\x01\x00\x00\x32" "\x03\x03" RANDOM32 "\x00" \
		     "\x00\x02\x13\x01" "\x01\x00" "\x00\x07" "\x00\x2b\x00\x03\x02\x03\x04"
/* The matching ServerHello selecting TLS 1.3 through supported_versions. */
#define SERVER_HELLO "\x16\x03\x03\x00\x32" "\x02\x00\x00\x2e" "\x03\x03" RANDOM32 "\x00" \
		     "\x13\x01" "\x00" "\x00\x06" "\x00\x2b\x00\x02\x03\x04"

#define GREETING "220-mx.example.net ESMTP made-up server\r\n220 no unsolicited mail\r\n"
#define EHLO_REPLY_TLS "250-mx.example.net Hello client.example.org\r\n250-SIZE 52428800\r\n" \
		       "250-PIPELINING\r\n250-AUTH PLAIN LOGIN CRAM-MD5\r\n250-STARTTLS\r\n250 HELP\r\n"
#define EHLO_REPLY_NO_TLS "250-mx.example.net Hello client.example.org\r\n250-PIPELINING\r\n" \
			  "250-CHUNKING\r\n250 AUTH PLAIN LOGIN\r\n"

static void check_auth(const struct script_run *r, uint32_t i, const char *mechanism, const char *user,
		       enum auth_exposure exposure, enum auth_result result)
{
	CHECK(r->s.mail.auth_count > i);
	if (r->s.mail.auth_count <= i)
		return;
	CHECK_EQ_STR(r->s.mail.auth[i].mechanism, mechanism);
	CHECK(script_text_equals(&r->s.mail.auth[i].username, user));
	CHECK_EQ_INT(r->s.mail.auth[i].exposure, exposure);
	CHECK_EQ_INT(r->s.mail.auth[i].result, result);
}

static void test_smtp_reply_line_parse(void)
{
	struct smtp_reply_line r;

	CHECK_EQ_INT(smtp_parse_reply_line((const uint8_t *)"250-PIPELINING", 14, &r), 0);
	CHECK_EQ_INT(r.code, 250);
	CHECK_EQ_INT(r.last, false);
	CHECK_EQ_MEM(r.text, r.text_len, "PIPELINING", 10);
	CHECK_EQ_INT(smtp_parse_reply_line((const uint8_t *)"354", 3, &r), 0);
	CHECK_EQ_INT(r.last, true);
	CHECK_EQ_INT(smtp_parse_reply_line((const uint8_t *)"25", 2, &r), -1);
	CHECK_EQ_INT(smtp_parse_reply_line((const uint8_t *)"2a0 x", 5, &r), -1);
	CHECK_EQ_INT(smtp_parse_reply_line((const uint8_t *)"250x", 4, &r), -1);
}

static void test_smtp_bdat_parse(void)
{
	uint64_t n;
	bool last;

	CHECK_EQ_INT(smtp_parse_bdat((const uint8_t *)"86 LAST", 7, &n, &last), 0);
	CHECK_EQ_INT(n, 86);
	CHECK_EQ_INT(last, true);
	CHECK_EQ_INT(smtp_parse_bdat((const uint8_t *)"0", 1, &n, &last), 0);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(last, false);
	CHECK_EQ_INT(smtp_parse_bdat((const uint8_t *)"18446744073709551615", 20, &n, &last), 0);
	CHECK(n == UINT64_MAX);
	CHECK_EQ_INT(smtp_parse_bdat((const uint8_t *)"18446744073709551616", 20, &n, &last), -1);
	CHECK_EQ_INT(smtp_parse_bdat((const uint8_t *)"99999999999999999999", 20, &n, &last), -1);
	CHECK_EQ_INT(smtp_parse_bdat((const uint8_t *)"12 FIRST", 8, &n, &last), -1);
	CHECK_EQ_INT(smtp_parse_bdat((const uint8_t *)"-1", 2, &n, &last), -1);
	CHECK_EQ_INT(smtp_parse_bdat((const uint8_t *)"", 0, &n, &last), -1);
}

static void test_smtp_auth_login_starttls_not_used(void)
{
	/* Modelled on a real Outlook session: STARTTLS offered, AUTH LOGIN in clear, then a message. */
	static const struct script_turn turns[] = {
		SERVER(GREETING),
		CLIENT("EHLO client.example.org\r\n"),
		SERVER(EHLO_REPLY_TLS),
		CLIENT("AUTH LOGIN\r\n"),
		SERVER("334 VXNlcm5hbWU6\r\n"),
		CLIENT(LOGIN_USER "\r\n"),
		SERVER("334 UGFzc3dvcmQ6\r\n"),
		CLIENT(LOGIN_PASS "\r\n"),
		SERVER("235 Authentication succeeded\r\n"),
		CLIENT("MAIL FROM: <alice@example.org>\r\n"),
		SERVER("250 OK\r\n"),
		CLIENT("RCPT TO: <dan@example.net>\r\n"),
		SERVER("250 Accepted\r\n"),
		CLIENT("DATA\r\n"),
		SERVER("354 Enter message, ending with \".\" on a line by itself\r\n"),
		CLIENT("Subject: test\r\n\r\nAUTH PLAIN " PLAIN_IR "\r\n..leading dot\r\n.\r\n"),
		SERVER("250 OK id=made-up\r\n"),
		CLIENT("QUIT\r\n"),
		SERVER("221 bye\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK(script_text_equals(&r.s.mail.greeting_host, "mx.example.net"));
	CHECK(script_text_equals(&r.s.mail.helo, "client.example.org"));
	CHECK(script_text_equals(&r.s.mail.capabilities,
				 "SIZE 52428800\nPIPELINING\nAUTH PLAIN LOGIN CRAM-MD5\nSTARTTLS\nHELP"));
	CHECK_EQ_INT(r.s.mail.auth_count, 1);
	check_auth(&r, 0, "LOGIN", "alice@example.org", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	CHECK(r.s.mail.auth[0].password_seen);
	CHECK_EQ_INT(r.s.mail.auth[0].password.len, 0);
	CHECK(!script_session_contains(&r, "Secr3t-made-up"));
	CHECK_EQ_INT(r.s.mail.starttls.offered, TRISTATE_TRUE);
	CHECK_EQ_INT(r.s.mail.starttls.attempted, false);
	CHECK_EQ_INT(r.s.mail.starttls.result, STARTTLS_RESULT_NONE);
	CHECK(session_has_anomaly(&r.s, ANOMALY_CLEARTEXT_CREDENTIALS));
	CHECK(session_has_anomaly(&r.s, ANOMALY_STARTTLS_NOT_USED));
	CHECK(!session_has_anomaly(&r.s, ANOMALY_STARTTLS_NOT_OFFERED));
	CHECK_EQ_INT(r.events[EVENT_AUTH_CLEARTEXT], 1);
	CHECK_EQ_INT(r.last_aux[EVENT_AUTH_CLEARTEXT], 0);
	CHECK(r.s.evidence.inconclusive == NULL);
	script_release(&r);

	o.reveal = true;
	script_run(&r, TURNS(turns), &o);
	CHECK(script_text_equals(&r.s.mail.auth[0].password, "Secr3t-made-up"));
	script_release(&r);
}

static void test_smtp_starttls_ok(void)
{
	static const struct script_turn turns[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("EHLO client.example.org\r\n"),
		SERVER(EHLO_REPLY_TLS),
		CLIENT("STARTTLS\r\n"),
		SERVER("220 2.0.0 Ready to start TLS\r\n"),
		CLIENT(CLIENT_HELLO),
		SERVER(SERVER_HELLO),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK_EQ_INT(r.s.mail.starttls.offered, TRISTATE_TRUE);
	CHECK_EQ_INT(r.s.mail.starttls.attempted, true);
	CHECK_EQ_INT(r.s.mail.starttls.result, STARTTLS_RESULT_OK);
	CHECK_EQ_INT(r.s.mail.starttls.reply_code, 220);
	CHECK(r.s.tls.client_hello_seen);
	CHECK(r.s.tls.server_hello_seen);
	CHECK_EQ_INT(r.s.tls.version, TLS_VERSION_TLS13);
	CHECK(r.done);
	CHECK_EQ_INT(r.s.anomalies, 0);
	CHECK_EQ_INT(r.events[EVENT_STARTTLS_INJECTION], 0);
	CHECK_EQ_INT(r.events[EVENT_TLS_CLIENT_HELLO], 1);
	script_release(&r);
}

static void test_smtp_starttls_lowercase_pipelined(void)
{
	/* Lower-case commands; the ClientHello arrives in the same segment as nothing else. */
	static const struct script_turn turns[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("ehlo client.example.org\r\n"),
		SERVER("250-mx.example.net\r\n250-starttls\r\n250 8BITMIME\r\n"),
		CLIENT("starttls\r\n"),
		SERVER("220 go ahead\r\n"),
		CLIENT(CLIENT_HELLO),
		SERVER(SERVER_HELLO),
	};
	struct script_options o = script_defaults(APP_PROTO_SUBMISSION);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK_EQ_INT(r.s.mail.starttls.offered, TRISTATE_TRUE);
	CHECK_EQ_INT(r.s.mail.starttls.result, STARTTLS_RESULT_OK);
	CHECK(r.s.tls.client_hello_seen);
	CHECK_EQ_INT(r.s.anomalies, 0);
	script_release(&r);
}

static void test_smtp_starttls_refused_then_auth(void)
{
	static const struct script_turn turns[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("EHLO client.example.org\r\n"),
		SERVER(EHLO_REPLY_TLS),
		CLIENT("STARTTLS\r\n"),
		SERVER("454 4.7.0 TLS not available due to temporary reason\r\n"),
		CLIENT("AUTH PLAIN " PLAIN_IR "\r\n"),
		SERVER("535 5.7.8 Authentication credentials invalid\r\n"),
		CLIENT("QUIT\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK_EQ_INT(r.s.mail.starttls.attempted, true);
	CHECK_EQ_INT(r.s.mail.starttls.result, STARTTLS_RESULT_REFUSED);
	CHECK_EQ_INT(r.s.mail.starttls.reply_code, 454);
	CHECK(session_has_anomaly(&r.s, ANOMALY_STARTTLS_REFUSED));
	CHECK(session_has_anomaly(&r.s, ANOMALY_PLAINTEXT_AFTER_STARTTLS_FAILURE));
	CHECK(!session_has_anomaly(&r.s, ANOMALY_STARTTLS_COMMAND_INJECTION));
	CHECK(!session_has_anomaly(&r.s, ANOMALY_STARTTLS_NOT_USED));
	CHECK_EQ_INT(r.events[EVENT_STARTTLS_REFUSED], 1);
	check_auth(&r, 0, "PLAIN", "bob@example.org", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_FAILURE);
	CHECK(!script_session_contains(&r, "Hunter2-made-up"));
	script_release(&r);
}

static void test_smtp_starttls_command_injection(void)
{
	/* A command pipelined behind STARTTLS in the same segment (CVE-2011-0411 pattern). */
	static const struct script_turn turns[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("EHLO client.example.org\r\n"),
		SERVER(EHLO_REPLY_TLS),
		CLIENT("STARTTLS\r\nRSET\r\n"),
		SERVER("220 Ready to start TLS\r\n"),
		CLIENT(CLIENT_HELLO),
		SERVER(SERVER_HELLO),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK(session_has_anomaly(&r.s, ANOMALY_STARTTLS_COMMAND_INJECTION));
	CHECK(!session_has_anomaly(&r.s, ANOMALY_STARTTLS_RESPONSE_INJECTION));
	CHECK_EQ_INT(r.events[EVENT_STARTTLS_INJECTION], 1);
	CHECK_EQ_INT(r.last_aux[EVENT_STARTTLS_INJECTION], DIR_TO_SERVER);
	CHECK_EQ_INT(r.s.mail.starttls.result, STARTTLS_RESULT_OK);
	CHECK(r.s.tls.client_hello_seen);
	script_release(&r);
}

static void test_smtp_starttls_response_injection(void)
{
	static const struct script_turn turns[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("EHLO client.example.org\r\n"),
		SERVER(EHLO_REPLY_TLS),
		CLIENT("STARTTLS\r\n"),
		SERVER("220 Ready to start TLS\r\n250 injected\r\n"),
		CLIENT(CLIENT_HELLO),
		SERVER(SERVER_HELLO),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK(session_has_anomaly(&r.s, ANOMALY_STARTTLS_RESPONSE_INJECTION));
	CHECK(!session_has_anomaly(&r.s, ANOMALY_STARTTLS_COMMAND_INJECTION));
	CHECK_EQ_INT(r.last_aux[EVENT_STARTTLS_INJECTION], DIR_TO_CLIENT);
	CHECK(r.s.tls.server_hello_seen);
	script_release(&r);
}

static void test_smtp_starttls_no_handshake(void)
{
	/* The go-ahead is followed by clear-text commands instead of a ClientHello. */
	static const struct script_turn turns[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("EHLO client.example.org\r\n"),
		SERVER(EHLO_REPLY_TLS),
		CLIENT("STARTTLS\r\n"),
		SERVER("220 Ready to start TLS\r\n"),
		CLIENT("MAIL FROM:<alice@example.org>\r\n"),
		SERVER("250 OK\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK_EQ_INT(r.s.mail.starttls.result, STARTTLS_RESULT_NO_HANDSHAKE);
	CHECK(session_has_anomaly(&r.s, ANOMALY_STARTTLS_NO_HANDSHAKE));
	CHECK(!session_has_anomaly(&r.s, ANOMALY_STARTTLS_RESPONSE_INJECTION));
	CHECK(!session_has_anomaly(&r.s, ANOMALY_STARTTLS_COMMAND_INJECTION));
	CHECK_EQ_INT(r.events[EVENT_STARTTLS_NO_HANDSHAKE], 1);
	script_release(&r);
}

static void test_smtp_starttls_closed_after_go_ahead(void)
{
	static const struct script_turn turns[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("EHLO client.example.org\r\n"),
		SERVER(EHLO_REPLY_TLS),
		CLIENT("STARTTLS\r\n"),
		SERVER("220 Ready to start TLS\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	/* The connection closed: no handshake came. */
	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK_EQ_INT(r.s.mail.starttls.result, STARTTLS_RESULT_NO_HANDSHAKE);
	CHECK(session_has_anomaly(&r.s, ANOMALY_STARTTLS_NO_HANDSHAKE));
	script_release(&r);

	/* The capture ended with the connection open: nothing is claimed. */
	o.end = SESSION_END_OPEN;
	script_run(&r, TURNS(turns), &o);
	CHECK_EQ_INT(r.s.mail.starttls.result, STARTTLS_RESULT_UNKNOWN);
	CHECK(!session_has_anomaly(&r.s, ANOMALY_STARTTLS_NO_HANDSHAKE));
	CHECK(r.s.evidence.inconclusive != NULL);
	script_release(&r);
}

static void test_smtp_starttls_not_offered(void)
{
	static const struct script_turn turns[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("EHLO client.example.org\r\n"),
		SERVER(EHLO_REPLY_NO_TLS),
		CLIENT("QUIT\r\n"),
		SERVER("221 bye\r\n"),
	};
	static const struct script_turn helo_only[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("HELO client.example.org\r\n"),
		SERVER("250 mx.example.net\r\n"),
		CLIENT("MAIL FROM:<alice@example.org>\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK_EQ_INT(r.s.mail.starttls.offered, TRISTATE_FALSE);
	CHECK(session_has_anomaly(&r.s, ANOMALY_STARTTLS_NOT_OFFERED));
	CHECK(!session_has_anomaly(&r.s, ANOMALY_STARTTLS_STRIPPED));
	script_release(&r);

	/* HELO gives no capability list: whether STARTTLS was offered stays unknown. */
	script_run_all_ways(&r, TURNS(helo_only), &o);
	CHECK_EQ_INT(r.s.mail.starttls.offered, TRISTATE_UNKNOWN);
	CHECK_EQ_INT(r.s.anomalies, 0);
	CHECK(script_text_equals(&r.s.mail.helo, "client.example.org"));
	script_release(&r);
}

static void test_smtp_starttls_stripped(void)
{
	static const struct script_turn caps[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("EHLO client.example.org\r\n"),
		SERVER("250-mx.example.net\r\n250-PIPELINING\r\n250-XXXXXXXA\r\n250 8BITMIME\r\n"),
		CLIENT("AUTH PLAIN " PLAIN_IR "\r\n"),
		SERVER("235 ok\r\n"),
	};
	static const struct script_turn command[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("EHLO client.example.org\r\n"),
		SERVER(EHLO_REPLY_TLS),
		CLIENT("XXXXXXXX\r\n"),
		SERVER("500 5.5.1 command unrecognized\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	script_run_all_ways(&r, TURNS(caps), &o);
	CHECK(session_has_anomaly(&r.s, ANOMALY_STARTTLS_STRIPPED));
	CHECK(!session_has_anomaly(&r.s, ANOMALY_STARTTLS_NOT_OFFERED));
	CHECK_EQ_INT(r.events[EVENT_STARTTLS_STRIPPED], 1);
	CHECK_EQ_INT(r.s.mail.starttls.offered, TRISTATE_FALSE);
	check_auth(&r, 0, "PLAIN", "bob@example.org", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	script_release(&r);

	script_run_all_ways(&r, TURNS(command), &o);
	CHECK(session_has_anomaly(&r.s, ANOMALY_STARTTLS_STRIPPED));
	CHECK_EQ_INT(r.events[EVENT_STARTTLS_STRIPPED], 1);
	CHECK_EQ_INT(r.s.mail.starttls.attempted, false);
	script_release(&r);
}

static void test_smtp_pipelined_data(void)
{
	/* RFC 2920: MAIL, RCPT and DATA in one segment; the message contains command-like lines. */
	static const struct script_turn turns[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("EHLO client.example.org\r\n"),
		SERVER(EHLO_REPLY_NO_TLS),
		CLIENT("MAIL FROM:<alice@example.org> REQUIRETLS\r\nRCPT TO:<dan@example.net>\r\nDATA\r\n"),
		SERVER("250 OK\r\n250 OK\r\n354 go ahead\r\n"),
		CLIENT("STARTTLS\r\nAUTH PLAIN " PLAIN_IR "\r\n.\r\n"),
		SERVER("250 queued\r\n"),
		CLIENT("AUTH LOGIN " LOGIN_USER "\r\n"),
		SERVER("334 UGFzc3dvcmQ6\r\n"),
		CLIENT(LOGIN_PASS "\r\n"),
		SERVER("535 no\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK_EQ_INT(r.s.mail.starttls.attempted, false);
	CHECK_EQ_INT(r.s.mail.auth_count, 1);
	check_auth(&r, 0, "LOGIN", "alice@example.org", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_FAILURE);
	CHECK(r.s.mail.auth[0].password_seen);
	script_release(&r);
}

static void test_smtp_data_rejected(void)
{
	/* DATA rejected with 554: the next line is a command again, not message text. */
	static const struct script_turn turns[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("HELO client.example.org\r\n"),
		SERVER("250 mx.example.net\r\n"),
		CLIENT("DATA\r\n"),
		SERVER("554 5.5.1 No valid recipients\r\n"),
		CLIENT("AUTH PLAIN " PLAIN_IR "\r\n"),
		SERVER("235 ok\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	check_auth(&r, 0, "PLAIN", "bob@example.org", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	script_release(&r);
}

static void test_smtp_bdat_chunks(void)
{
	/* RFC 3030: chunk bytes are never commands; BDAT 0 LAST and the next command share a segment. */
	static const struct script_turn turns[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("EHLO client.example.org\r\n"),
		SERVER(EHLO_REPLY_NO_TLS),
		CLIENT("MAIL FROM:<alice@example.org>\r\nRCPT TO:<dan@example.net>\r\n"),
		SERVER("250 OK\r\n250 OK\r\n"),
		CLIENT("BDAT 57\r\nAUTH PLAIN " PLAIN_IR "\r\n"),
		CLIENT("BDAT 0 LAST\r\nAUTH LOGIN " LOGIN_USER "\r\n"),
		SERVER("250 57 octets\r\n250 message ok\r\n334 UGFzc3dvcmQ6\r\n"),
		CLIENT("*\r\n"),
		SERVER("501 cancelled\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	CHECK_EQ_INT(strlen("AUTH PLAIN " PLAIN_IR "\r\n"), 57);
	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK_EQ_INT(r.s.mail.auth_count, 1);
	check_auth(&r, 0, "LOGIN", "alice@example.org", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_FAILURE);
	CHECK(!r.s.mail.auth[0].password_seen);
	script_release(&r);
}

static void test_smtp_bdat_lying_size(void)
{
	/* A chunk size past 2^64-1 is rejected and the line stays a command line; a huge valid one is counted. */
	static const struct script_turn bad[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("BDAT 99999999999999999999 LAST\r\nAUTH PLAIN " PLAIN_IR "\r\n"),
	};
	static const struct script_turn huge[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("BDAT 18446744073709551615\r\nAUTH PLAIN " PLAIN_IR "\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	script_run_all_ways(&r, TURNS(bad), &o);
	CHECK_EQ_INT(r.s.mail.auth_count, 1);
	script_release(&r);
	script_run_all_ways(&r, TURNS(huge), &o);
	CHECK_EQ_INT(r.s.mail.auth_count, 0);
	script_release(&r);
}

static void test_smtp_auth_mechanisms(void)
{
	static const struct script_turn turns[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("EHLO client.example.org\r\n"),
		SERVER(EHLO_REPLY_TLS),
		CLIENT("AUTH CRAM-MD5\r\n"),
		SERVER("334 PDEyMzQ1LjY3ODkwQG14LmV4YW1wbGUubmV0Pg==\r\n"),
		CLIENT("Y2Fyb2wgMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\r\n"),
		SERVER("535 5.7.8 bad\r\n"),
		CLIENT("AUTH PLAIN\r\n"),
		SERVER("334 \r\n"),
		CLIENT(PLAIN_IR "\r\n"),
		SERVER("235 2.7.0 Authentication successful\r\n"),
		CLIENT("AUTH GSSAPI YIIB\r\n"),
		SERVER("334 YIIC\r\n"),
		CLIENT("\r\n"),
		SERVER("334 BQQF\r\n"),
		CLIENT("BQQFAA==\r\n"),
		SERVER("235 ok\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SUBMISSION);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK_EQ_INT(r.s.mail.auth_count, 2);
	check_auth(&r, 0, "CRAM-MD5", "carol", AUTH_EXPOSURE_CRACKABLE, AUTH_RESULT_FAILURE);
	check_auth(&r, 1, "PLAIN", "bob@example.org", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	CHECK(session_has_anomaly(&r.s, ANOMALY_CHALLENGE_RESPONSE_AUTH_IN_CLEARTEXT));
	CHECK(session_has_anomaly(&r.s, ANOMALY_CLEARTEXT_CREDENTIALS));
	CHECK(!session_has_anomaly(&r.s, ANOMALY_INVALID_BASE64));
	CHECK_EQ_INT(r.events[EVENT_AUTH_CLEARTEXT], 2);
	script_release(&r);
}

static void test_smtp_auth_token_and_digest(void)
{
	/* XOAUTH2 rejected through an error challenge and an empty response; DIGEST-MD5 with rspauth. */
	static const struct script_turn turns[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("EHLO client.example.org\r\n"),
		SERVER("250-mx.example.net\r\n250 AUTH XOAUTH2 DIGEST-MD5\r\n"),
		CLIENT("AUTH XOAUTH2 dXNlcj1mcmFua0BleGFtcGxlLm9yZwFhdXRoPUJlYXJlciB5YTI5Lm1hZGUtdXAtdG9rZW4BAQ==\r\n"),
		SERVER("334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIn0=\r\n"),
		CLIENT("\r\n"),
		SERVER("535 5.7.8 Username and Password not accepted\r\n"),
		CLIENT("AUTH DIGEST-MD5\r\n"),
		SERVER("334 cmVhbG09Im14LmV4YW1wbGUubmV0Iixub25jZT0iT0E2TUc5dEVRR20yaGgiLHFvcD0iYXV0aCIsYWxnb3JpdGhtPW1k"
		       "NS1zZXNzLGNoYXJzZXQ9dXRmLTg=\r\n"),
		CLIENT("dXNlcm5hbWU9ImRhbmEiLHJlYWxtPSJteC5leGFtcGxlLm5ldCIsbm9uY2U9Ik9BNk1HOXRFUUdtMmhoIixuYz0wMDAwMDAw"
		       "MSxjbm9uY2U9Ik9BNk1IWGg2VnFUclJrIixkaWdlc3QtdXJpPSJzbXRwL214LmV4YW1wbGUubmV0IixyZXNwb25zZT1kMzg4ZGFk"
		       "OTBkNGJiZDc2MGExNTIzMjFmMjE0M2FmNyxxb3A9YXV0aA==\r\n"),
		SERVER("334 cnNwYXV0aD1lYTQwZjYwMzM1YzQyN2I1NTI3Yjg0ZGJhYmNkZmZmZA==\r\n"),
		CLIENT("\r\n"),
		SERVER("235 2.7.0 ok\r\n"),
		CLIENT("AUTH X-MADE-UP\r\n"),
		SERVER("504 5.5.4 Unrecognized authentication type\r\n"),
		CLIENT("QUIT\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SUBMISSION);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK_EQ_INT(r.s.mail.auth_count, 2);
	check_auth(&r, 0, "XOAUTH2", "frank@example.org", AUTH_EXPOSURE_TOKEN, AUTH_RESULT_FAILURE);
	check_auth(&r, 1, "DIGEST-MD5", "dana", AUTH_EXPOSURE_CRACKABLE, AUTH_RESULT_SUCCESS);
	CHECK(r.s.mail.auth_count < 1 || r.s.mail.auth[0].password_seen);
	CHECK(!script_session_contains(&r, "ya29.made-up-token"));
	CHECK(session_has_anomaly(&r.s, ANOMALY_BEARER_TOKEN_IN_CLEARTEXT));
	CHECK(session_has_anomaly(&r.s, ANOMALY_CHALLENGE_RESPONSE_AUTH_IN_CLEARTEXT));
	CHECK(!session_has_anomaly(&r.s, ANOMALY_INVALID_BASE64));
	CHECK_EQ_INT(r.events[EVENT_AUTH_CLEARTEXT], 2);
	script_release(&r);
}

static void test_smtp_auth_login_client_only(void)
{
	/* Only the client side was captured: LOGIN's two responses, then commands again. */
	static const struct script_turn turns[] = {
		CLIENT("EHLO client.example.org\r\n"),
		CLIENT("AUTH LOGIN\r\n"),
		CLIENT(LOGIN_USER "\r\n"),
		CLIENT(LOGIN_PASS "\r\n"),
		CLIENT("MAIL FROM:<alice@example.org>\r\n"),
		CLIENT("AUTH PLAIN " PLAIN_IR "\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SUBMISSION);
	struct script_run r;

	o.reveal = true;
	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK_EQ_INT(r.s.mail.auth_count, 2);
	check_auth(&r, 0, "LOGIN", "alice@example.org", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_UNKNOWN);
	check_auth(&r, 1, "PLAIN", "bob@example.org", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_UNKNOWN);
	CHECK(r.s.mail.auth_count < 2 || script_text_equals(&r.s.mail.auth[0].password, "Secr3t-made-up"));
	CHECK(r.s.mail.auth_count < 2 || script_text_equals(&r.s.mail.auth[1].password, "Hunter2-made-up"));
	CHECK(!session_has_anomaly(&r.s, ANOMALY_INVALID_BASE64));
	script_release(&r);
}

static void test_smtp_auth_reply_missing(void)
{
	/* The server direction is missing: the credentials are seen, the result stays unknown. */
	static const struct script_turn turns[] = {
		CLIENT("EHLO client.example.org\r\n"),
		CLIENT("AUTH PLAIN " PLAIN_IR "\r\n"),
		CLIENT("STARTTLS\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	check_auth(&r, 0, "PLAIN", "bob@example.org", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_UNKNOWN);
	CHECK_EQ_INT(r.events[EVENT_AUTH_CLEARTEXT], 1);
	CHECK_EQ_INT(r.s.mail.starttls.offered, TRISTATE_UNKNOWN);
	CHECK_EQ_INT(r.s.mail.starttls.result, STARTTLS_RESULT_UNKNOWN);
	CHECK_EQ_STR(r.s.evidence.inconclusive, "server direction not captured");
	script_release(&r);
}

static void test_smtp_line_too_long(void)
{
	static char long_line[10000];
	struct script_turn turns[3] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		{DIR_TO_SERVER, long_line, 0},
		CLIENT("AUTH PLAIN " PLAIN_IR "\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	memcpy(long_line, "MAIL FROM:<", 11);
	memset(long_line + 11, 'a', sizeof(long_line) - 13);
	memcpy(long_line + sizeof(long_line) - 2, "\r\n", 2);
	turns[1].len = sizeof(long_line);
	script_run(&r, turns, 3, &o);
	CHECK(session_has_anomaly(&r.s, ANOMALY_LINE_TOO_LONG));
	check_auth(&r, 0, "PLAIN", "bob@example.org", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_UNKNOWN);
	script_release(&r);
}

static void test_smtp_gap_during_auth(void)
{
	static const struct script_turn turns[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("AUTH LOGIN\r\n"),
		SERVER("334 VXNlcm5hbWU6\r\n"),
		CLIENT(LOGIN_USER "\r\n"),
		SERVER("334 UGFzc3dvcmQ6\r\n"),
		CLIENT(LOGIN_PASS "\r\n"),
		SERVER("235 ok\r\n"),
		CLIENT("MAIL FROM:<alice@example.org>\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	/* The server's 235 is lost in a gap: the result must stay unknown. */
	o.gap_turn = 6;
	o.gap_len = 100;
	script_run(&r, turns, 6, &o);
	{
		struct script_run whole;

		script_run(&whole, TURNS(turns), &o);
		check_auth(&whole, 0, "LOGIN", "alice@example.org", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_UNKNOWN);
		CHECK(whole.s.evidence.inconclusive != NULL);
		script_release(&whole);
	}
	script_release(&r);
}

static void test_smtp_greeting_missing(void)
{
	/* The capture lacks the greeting: the first 250 is the EHLO reply; bare LF line ends, mixed case. */
	static const struct script_turn turns[] = {
		CLIENT("EHLO\n"),
		SERVER("250\n"),
		CLIENT("rset\nstaRttLs\n"),
		SERVER("250\n"),
		SERVER("220\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK_EQ_INT(r.s.mail.starttls.offered, TRISTATE_FALSE);
	CHECK_EQ_INT(r.s.mail.starttls.attempted, true);
	CHECK_EQ_INT(r.s.mail.starttls.reply_code, 220);
	CHECK_EQ_INT(r.s.mail.starttls.result, STARTTLS_RESULT_NO_HANDSHAKE);
	CHECK_EQ_INT(r.s.mail.greeting_host.len, 0);
	script_release(&r);
}

static void test_smtp_greeting_rejects(void)
{
	/* A 554 greeting (RFC 5321 section 3.1) is not the reply to the client's EHLO. */
	static const struct script_turn turns[] = {
		SERVER("554 mx.example.net no service for you\r\n"),
		CLIENT("EHLO client.example.org\r\n"),
		SERVER("503 bad sequence\r\n"),
		CLIENT("QUIT\r\n"),
		SERVER("221 bye\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK_EQ_INT(r.s.mail.starttls.offered, TRISTATE_UNKNOWN);
	CHECK_EQ_INT(r.s.anomalies, 0);
	CHECK_EQ_INT(r.s.mail.greeting_host.len, 0);
	script_release(&r);
}

static void test_smtp_gap_hides_data_end(void)
{
	/*
	 * The "." is lost in a client gap (turn 6); the server's reply shows that
	 * the message ended. The reader drops the first line after the gap (RSET)
	 * because it cannot know where that line began.
	 */
	static const struct script_turn turns[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("HELO client.example.org\r\n"),
		SERVER("250 mx.example.net\r\n"),
		CLIENT("MAIL FROM:<alice@example.org>\r\nRCPT TO:<dan@example.net>\r\nDATA\r\n"),
		SERVER("250 ok\r\n250 ok\r\n354 go ahead\r\n"),
		CLIENT("Subject: part one\r\n"),
		CLIENT(""),
		SERVER("250 queued\r\n"),
		CLIENT("RSET\r\n"),
		SERVER("250 flushed\r\n"),
		CLIENT("AUTH PLAIN " PLAIN_IR "\r\n"),
		SERVER("235 ok\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	o.gap_turn = 6;
	o.gap_len = 4000;
	script_run(&r, TURNS(turns), &o);
	CHECK_EQ_INT(r.s.mail.auth_count, 1);
	check_auth(&r, 0, "PLAIN", "bob@example.org", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	script_release(&r);
}

static void test_smtp_requiretls_in_clear(void)
{
	/* RFC 8689: REQUIRETLS listed and used in a clear-text session. */
	static const struct script_turn turns[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("EHLO client.example.org\r\n"),
		SERVER("250-mx.example.net\r\n250-REQUIRETLS\r\n250 STARTTLS\r\n"),
		CLIENT("MAIL FROM:<alice@example.org> BODY=8BITMIME REQUIRETLS\r\n"),
		SERVER("250 ok\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK(r.s.mail.requiretls.offered_in_clear);
	CHECK(r.s.mail.requiretls.mail_in_clear);
	CHECK(!r.s.mail.requiretls.tls_required_no);
	CHECK(session_has_anomaly(&r.s, ANOMALY_REQUIRETLS_IN_CLEARTEXT));
	script_release(&r);
}

static void test_smtp_tls_required_no_header(void)
{
	/* Only the header section counts; the same text in the body does not. */
	static const struct script_turn in_body[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("HELO client.example.org\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<dan@example.net>\r\nDATA\r\n"),
		SERVER("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
		CLIENT("Subject: hi\r\n\r\nTLS-Required: No\r\n.\r\n"),
		SERVER("250 queued\r\n"),
	};
	static const struct script_turn in_header[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("HELO client.example.org\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<dan@example.net>\r\nDATA\r\n"),
		SERVER("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
		CLIENT("Subject: hi\r\ntls-required:  NO \r\n\r\nbody\r\n.\r\n"),
		SERVER("250 queued\r\n"),
	};
	static const struct script_turn in_bdat[] = {
		SERVER("220 mx.example.net ESMTP\r\n"),
		CLIENT("EHLO client.example.org\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<dan@example.net>\r\n"),
		SERVER("250-mx.example.net\r\n250 CHUNKING\r\n250 ok\r\n250 ok\r\n"),
		CLIENT("BDAT 33\r\nSubject: hi\r\nTLS-Required: No\r\n\r\n"),
		CLIENT("BDAT 6 LAST\r\nbody\r\n"),
		SERVER("250 ok\r\n250 ok\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	script_run_all_ways(&r, TURNS(in_body), &o);
	CHECK(!r.s.mail.requiretls.tls_required_no);
	CHECK(!session_has_anomaly(&r.s, ANOMALY_TLS_REQUIRED_NO_IN_CLEARTEXT));
	script_release(&r);

	script_run_all_ways(&r, TURNS(in_header), &o);
	CHECK(r.s.mail.requiretls.tls_required_no);
	CHECK(session_has_anomaly(&r.s, ANOMALY_TLS_REQUIRED_NO_IN_CLEARTEXT));
	CHECK(!r.s.mail.requiretls.mail_in_clear);
	script_release(&r);

	CHECK_EQ_INT(strlen("Subject: hi\r\nTLS-Required: No\r\n\r\n"), 33);
	script_run_all_ways(&r, TURNS(in_bdat), &o);
	CHECK(r.s.mail.requiretls.tls_required_no);
	CHECK(session_has_anomaly(&r.s, ANOMALY_TLS_REQUIRED_NO_IN_CLEARTEXT));
	script_release(&r);
}

static void test_smtp_garbage(void)
{
	/* Random bytes on both directions: no crash, no credentials invented. */
	uint8_t junk[2][3000];
	uint32_t seed = 99;
	struct script_turn turns[4];
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	for (int d = 0; d < 2; d++) {
		for (size_t i = 0; i < sizeof(junk[d]); i++) {
			seed = seed * 1103515245u + 12345u;
			junk[d][i] = (uint8_t)(seed >> 16);
			if (junk[d][i] % 23 == 0)
				junk[d][i] = '\n';
		}
	}
	junk[1][0] = '2';
	turns[0] = (struct script_turn){DIR_TO_CLIENT, (const char *)junk[1], 1500};
	turns[1] = (struct script_turn){DIR_TO_SERVER, (const char *)junk[0], 1500};
	turns[2] = (struct script_turn){DIR_TO_CLIENT, (const char *)junk[1] + 1500, 1500};
	turns[3] = (struct script_turn){DIR_TO_SERVER, (const char *)junk[0] + 1500, 1500};
	o.step = 1;
	script_run(&r, turns, 4, &o);
	CHECK_EQ_INT(r.s.mail.auth_count, 0);
	script_release(&r);
}

/* A server that rejects EHLO has no ESMTP extensions, so STARTTLS was not offered. */
static void test_smtp_ehlo_rejected_not_offered(void)
{
	static const struct script_turn turns[] = {
		SERVER("220 mx.example.net Sendmail ready\r\n"),
		CLIENT("EHLO client.example.org\r\n"),
		SERVER("500 Command unrecognized\r\n"),
		CLIENT("HELO client.example.org\r\n"),
		SERVER("250 mx.example.net Hello\r\n"),
		CLIENT("MAIL FROM:<alice@example.org>\r\n"),
		SERVER("250 OK\r\n"),
		CLIENT("QUIT\r\n"),
		SERVER("221 bye\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_SMTP);
	struct script_run r;

	script_run_all_ways(&r, TURNS(turns), &o);
	CHECK_EQ_INT(r.s.mail.starttls.offered, TRISTATE_FALSE);
	CHECK(session_has_anomaly(&r.s, ANOMALY_STARTTLS_NOT_OFFERED));
	CHECK(!session_has_anomaly(&r.s, ANOMALY_STARTTLS_NOT_USED));
	script_release(&r);
}

int main(void)
{
	test_smtp_reply_line_parse();
	test_smtp_bdat_parse();
	test_smtp_auth_login_starttls_not_used();
	test_smtp_starttls_ok();
	test_smtp_starttls_lowercase_pipelined();
	test_smtp_starttls_refused_then_auth();
	test_smtp_starttls_command_injection();
	test_smtp_starttls_response_injection();
	test_smtp_starttls_no_handshake();
	test_smtp_starttls_closed_after_go_ahead();
	test_smtp_starttls_not_offered();
	test_smtp_ehlo_rejected_not_offered();
	test_smtp_starttls_stripped();
	test_smtp_pipelined_data();
	test_smtp_data_rejected();
	test_smtp_bdat_chunks();
	test_smtp_bdat_lying_size();
	test_smtp_auth_mechanisms();
	test_smtp_auth_token_and_digest();
	test_smtp_auth_login_client_only();
	test_smtp_auth_reply_missing();
	test_smtp_line_too_long();
	test_smtp_gap_during_auth();
	test_smtp_greeting_missing();
	test_smtp_greeting_rejects();
	test_smtp_gap_hides_data_end();
	test_smtp_requiretls_in_clear();
	test_smtp_tls_required_no_header();
	test_smtp_garbage();
	tls_context_free(script_tls_context);
	return test_finish("test_smtp");
}
