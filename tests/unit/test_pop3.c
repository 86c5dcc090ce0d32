/*
 * POP3 analyzer tests: the APOP readers against RFC 1939 section 7, and
 * conversations run through the real dispatcher (whole, byte by byte, in
 * 7-byte pieces and cut after every byte). Names, passwords and tokens are
 * made up. The conversations follow the shape of the public captures: CAPA
 * with SASL, AUTH XOAUTH2, USER/PASS refused, and STLS after an APOP greeting.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "mail_script.h"
#include "core/limits.h"
#include "mail/pop3.h"

#define CHECK_AUTH(r, i, mech, user, exposure_, result_)                                        \
	do {                                                                                    \
		CHECK((r)->s.mail.auth_count > (uint32_t)(i));                                  \
		if ((r)->s.mail.auth_count > (uint32_t)(i)) {                                   \
			const struct auth_record *rec_ = &(r)->s.mail.auth[i];                   \
			CHECK_EQ_STR(rec_->mechanism, mech);                                    \
			CHECK_EQ_MEM(rec_->username.data, rec_->username.len, user, strlen(user)); \
			CHECK_EQ_INT(rec_->exposure, exposure_);                                \
			CHECK_EQ_INT(rec_->result, result_);                                    \
		}                                                                               \
	} while (0)

#define CHECK_PASSWORD(r, i, expected)                                                          \
	do {                                                                                    \
		CHECK((r)->s.mail.auth_count > (uint32_t)(i));                                  \
		if ((r)->s.mail.auth_count > (uint32_t)(i)) {                                   \
			const struct auth_record *rec_ = &(r)->s.mail.auth[i];                   \
			CHECK(rec_->password_seen);                                             \
			CHECK_EQ_MEM(rec_->password.data, rec_->password.len, expected, strlen(expected)); \
		}                                                                               \
	} while (0)

/* The digest of RFC 1939 section 7 for the timestamp below and the secret "tanstaaf". */
#define APOP_TIMESTAMP "<1896.697170952@dbc.mtview.ca.us>"
#define APOP_DIGEST "c4c9334bac560ecc979e58001b3e22fb"

static struct script_run *run_hidden;
static struct script_run *run_shown;

/*
 * Runs a script every way with credentials hidden, checks that the secret
 * is nowhere in the session, then runs it whole with credentials revealed.
 */
static void run_pop3(const struct script_turn *turns, size_t n, const char *secret)
{
	struct script_options o = script_defaults(APP_PROTO_POP3);

	script_run_all_ways(run_hidden, turns, n, &o);
	if (secret != NULL)
		CHECK(!script_session_contains(run_hidden, secret));
	o.reveal = true;
	script_run(run_shown, turns, n, &o);
}

static void release_runs(void)
{
	script_release(run_hidden);
	script_release(run_shown);
}

/* ---- APOP readers ---------------------------------------------------------- */

static bool find_timestamp(const char *text, const char **ts, size_t *len)
{
	const uint8_t *p = NULL;
	bool found = pop3_find_apop_timestamp((const uint8_t *)text, strlen(text), &p, len);

	*ts = (const char *)p;
	return found;
}

static void test_apop_timestamp(void)
{
	const char *ts = NULL;
	size_t len = 0;

	CHECK(find_timestamp("POP3 server ready " APOP_TIMESTAMP, &ts, &len));
	CHECK_EQ_MEM(ts, len, APOP_TIMESTAMP, strlen(APOP_TIMESTAMP));
	CHECK(find_timestamp("<a@b>", &ts, &len));
	CHECK_EQ_INT(len, 5);

	CHECK(!find_timestamp("POP3 server ready", &ts, &len));
	CHECK(!find_timestamp("ready <1896.697170952>", &ts, &len));
	CHECK(!find_timestamp("ready <1896@host", &ts, &len));
	CHECK(!find_timestamp("ready 1896@host>", &ts, &len));
	CHECK(!find_timestamp("", &ts, &len));
}

static int parse_apop(const char *text, const uint8_t **name, size_t *name_len, const uint8_t **digest,
		      size_t *digest_len)
{
	return pop3_parse_apop((const uint8_t *)text, strlen(text), name, name_len, digest, digest_len);
}

static void test_apop_arguments(void)
{
	const uint8_t *name;
	const uint8_t *digest;
	size_t name_len;
	size_t digest_len;

	CHECK_EQ_INT(parse_apop("frank " APOP_DIGEST, &name, &name_len, &digest, &digest_len), 0);
	CHECK_EQ_MEM(name, name_len, "frank", 5);
	CHECK_EQ_MEM(digest, digest_len, APOP_DIGEST, 32);

	CHECK_EQ_INT(parse_apop("frank c4c9334b", &name, &name_len, &digest, &digest_len), -1);
	CHECK_EQ_MEM(name, name_len, "frank", 5);
	CHECK(digest != NULL);
	CHECK_EQ_INT(parse_apop("frank c4c9334bac560ecc979e58001b3e22fz", &name, &name_len, &digest, &digest_len), -1);
	CHECK_EQ_INT(parse_apop("frank", &name, &name_len, &digest, &digest_len), -1);
	CHECK(name != NULL);
	CHECK(digest == NULL);
	CHECK_EQ_INT(parse_apop("", &name, &name_len, &digest, &digest_len), -1);
	CHECK(name == NULL);
}

/* ---- conversations ----------------------------------------------------------- */

static void test_user_pass_success(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK POP3 server ready\r\n"),
		CLIENT("USER alice\r\n"),
		SERVER("+OK\r\n"),
		CLIENT("PASS s3cret\r\n"),
		SERVER("+OK maildrop locked and ready\r\n"),
		CLIENT("QUIT\r\n"),
		SERVER("+OK bye\r\n"),
	};

	run_pop3(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "USER/PASS", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	CHECK(run_hidden->s.mail.auth[0].password_seen);
	CHECK_PASSWORD(run_shown, 0, "s3cret");
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_CLEARTEXT_CREDENTIALS));
	CHECK_EQ_INT(run_hidden->events[EVENT_AUTH_CLEARTEXT], 1);
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_UNKNOWN);
	release_runs();
}

static void test_user_pass_failure(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK mail.example.org POP3 Service Ready\r\n"),
		CLIENT("USER frank@example.org\r\n"),
		SERVER("+OK welcome here\r\n"),
		CLIENT("PASS hunter2\r\n"),
		SERVER("-ERR the password incorrect\r\n"),
		CLIENT("QUIT\r\n"),
		SERVER("+OK bye\r\n"),
	};

	run_pop3(TURNS(turns), "hunter2");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "USER/PASS", "frank@example.org", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_FAILURE);
	CHECK_PASSWORD(run_shown, 0, "hunter2");
	release_runs();
}

/* PASS takes the rest of the line, so a password may hold spaces (RFC 1939 section 7). */
static void test_pass_with_spaces_lowercase(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK ready\r\n"),
		CLIENT("user alice\r\npass correct horse battery\r\n"),
		SERVER("+OK\r\n+OK logged in\r\n"),
	};

	run_pop3(TURNS(turns), "horse");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "USER/PASS", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	CHECK_PASSWORD(run_shown, 0, "correct horse battery");
	release_runs();
}

static void test_apop_login(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK POP3 server ready " APOP_TIMESTAMP "\r\n"),
		CLIENT("APOP frank " APOP_DIGEST "\r\n"),
		SERVER("+OK maildrop has 1 message (369 octets)\r\n"),
	};

	run_pop3(TURNS(turns), APOP_DIGEST);
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "APOP", "frank", AUTH_EXPOSURE_CRACKABLE, AUTH_RESULT_SUCCESS);
	CHECK_PASSWORD(run_shown, 0, APOP_DIGEST);
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_CHALLENGE_RESPONSE_AUTH_IN_CLEARTEXT));
	CHECK(!session_has_anomaly(&run_hidden->s, ANOMALY_CLEARTEXT_CREDENTIALS));
	release_runs();
}

static void test_auth_plain_initial_response(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK ready\r\n"),
		CLIENT("AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n"),
		SERVER("+OK authenticated\r\n"),
	};

	run_pop3(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "PLAIN", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	CHECK_PASSWORD(run_shown, 0, "s3cret");
	release_runs();
}

/* An empty "+ " challenge (RFC 5034 section 4), then the response with authcid "bob". */
static void test_auth_plain_empty_challenge(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK ready\r\n"),
		CLIENT("auth plain\r\n"),
		SERVER("+ \r\n"),
		CLIENT("YWRtaW4AYm9iAGh1bnRlcjI=\r\n"),
		SERVER("-ERR [AUTH] authentication failed\r\n"),
	};

	run_pop3(TURNS(turns), "hunter2");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "PLAIN", "bob", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_FAILURE);
	CHECK_PASSWORD(run_shown, 0, "hunter2");
	release_runs();
}

static void test_auth_login(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK ready\r\n"),
		CLIENT("AUTH LOGIN\r\n"),
		SERVER("+ VXNlcm5hbWU6\r\n"),
		CLIENT("Y2Fyb2w=\r\n"),
		SERVER("+ UGFzc3dvcmQ6\r\n"),
		CLIENT("dHIwdWI0ZG9y\r\n"),
		SERVER("+OK logged in\r\n"),
	};

	run_pop3(TURNS(turns), "tr0ub4dor");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "LOGIN", "carol", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	CHECK_PASSWORD(run_shown, 0, "tr0ub4dor");
	release_runs();
}

/* CAPA with SASL mechanisms, AUTH XOAUTH2 after an empty challenge, then multi-line LIST and UIDL. */
static void test_auth_xoauth2_and_listings(void)
{
	static const struct script_turn turns[] = {
		CLIENT("CAPA\r\n"),
		SERVER("+OK Capability list follows\r\nUSER\r\nRESP-CODES\r\nTOP\r\nUIDL\r\n"
		       "SASL PLAIN XOAUTH2 OAUTHBEARER\r\n.\r\n"),
		CLIENT("AUTH XOAUTH2\r\n"),
		SERVER("+ \r\n"),
		CLIENT("dXNlcj1lcmluQGV4YW1wbGUub3JnAWF1dGg9QmVhcmVyIHlhMjkuZmFrZVRva2VuAQE=\r\n"),
		SERVER("+OK Welcome.\r\n"),
		CLIENT("STAT\r\n"),
		SERVER("+OK 1 308661\r\n"),
		CLIENT("LIST\r\n"),
		SERVER("+OK 1 messages (308661 bytes)\r\n1 308661\r\n.\r\n"),
		CLIENT("UIDL\r\n"),
		SERVER("+OK\r\n1 UniqueId123456789\r\n.\r\n"),
		CLIENT("QUIT\r\n"),
	};

	run_pop3(TURNS(turns), "fakeToken");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "XOAUTH2", "erin@example.org", AUTH_EXPOSURE_TOKEN, AUTH_RESULT_SUCCESS);
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_BEARER_TOKEN_IN_CLEARTEXT));
	/* The greeting is missing, but the client's first command shows the session's start. */
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_FALSE);
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_NOT_OFFERED));
	release_runs();
}

static void test_auth_cancel_then_user(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK ready\r\n"),
		CLIENT("AUTH PLAIN\r\n"),
		SERVER("+ \r\n"),
		CLIENT("*\r\n"),
		SERVER("-ERR authentication cancelled\r\n"),
		CLIENT("USER alice\r\n"),
		SERVER("+OK\r\n"),
		CLIENT("PASS s3cret\r\n"),
		SERVER("+OK\r\n"),
	};

	run_pop3(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "USER/PASS", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	release_runs();
}

/* AUTH EXTERNAL with the empty initial response "=" carries no credential. */
static void test_auth_empty_initial_response(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK ready\r\n"),
		CLIENT("AUTH EXTERNAL =\r\n"),
		SERVER("+OK authenticated by certificate\r\n"),
		CLIENT("STAT\r\n"),
		SERVER("+OK 0 0\r\n"),
	};

	run_pop3(TURNS(turns), NULL);
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 0);
	release_runs();
}

static void test_stls_accepted(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK Cyrus POP3 server ready " APOP_TIMESTAMP "\r\n"),
		CLIENT("CAPA\r\n"),
		SERVER("+OK list follows\r\nSTLS\r\nSASL PLAIN\r\n.\r\n"),
		CLIENT("STLS\r\n"),
		SERVER("+OK Begin TLS negotiation now\r\n"),
		CLIENT("\x16\x03\x01\x00\x04\x01\x00\x00\x00"),
	};

	run_pop3(TURNS(turns), NULL);
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_TRUE);
	CHECK(run_hidden->s.mail.starttls.attempted);
	CHECK_EQ_INT(run_hidden->s.mail.starttls.result, STARTTLS_RESULT_OK);
	CHECK(!session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_STRIPPED));
	CHECK(!session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_NOT_USED));
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 0);
	release_runs();
}

static void test_stls_refused(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK ready\r\n"),
		CLIENT("stls\r\n"),
		SERVER("-ERR TLS not available\r\n"),
		CLIENT("USER alice\r\n"),
		SERVER("+OK\r\n"),
		CLIENT("PASS s3cret\r\n"),
		SERVER("+OK\r\n"),
	};

	run_pop3(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.starttls.result, STARTTLS_RESULT_REFUSED);
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_REFUSED));
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_PLAINTEXT_AFTER_STARTTLS_FAILURE));
	CHECK_EQ_INT(run_hidden->events[EVENT_STARTTLS_REFUSED], 1);
	CHECK_AUTH(run_hidden, 0, "USER/PASS", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	release_runs();
}

static void test_capa_stls_stripped(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK ready\r\n"),
		CLIENT("CAPA\r\n"),
		SERVER("+OK\r\nUSER\r\nXXXX\r\n.\r\n"),
		CLIENT("USER alice\r\nPASS s3cret\r\n"),
		SERVER("+OK\r\n+OK\r\n"),
	};

	run_pop3(TURNS(turns), "s3cret");
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_STRIPPED));
	CHECK_EQ_INT(run_hidden->events[EVENT_STARTTLS_STRIPPED], 1);
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_FALSE);
	release_runs();
}

static void test_capa_without_stls(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK ready\r\n"),
		CLIENT("capa\r\n"),
		SERVER("+OK\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n"),
		CLIENT("QUIT\r\n"),
		SERVER("+OK\r\n"),
	};

	run_pop3(TURNS(turns), NULL);
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_FALSE);
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_NOT_OFFERED));
	CHECK(!session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_STRIPPED));
	release_runs();
}

/* A mangled STLS command: the middlebox rewrote what the client sent. */
static void test_stls_command_mangled(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK ready\r\n"),
		CLIENT("XXXX\r\n"),
		SERVER("-ERR unknown command\r\n"),
	};

	run_pop3(TURNS(turns), NULL);
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_STRIPPED));
	CHECK(!run_hidden->s.mail.starttls.attempted);
	release_runs();
}

/* Pipelined commands whose multi-line bodies contain lines that look like replies. */
static void test_pipelined_bodies(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK ready\r\n"),
		CLIENT("CAPA\r\nAUTH\r\nUSER alice\r\nPASS s3cret\r\n"),
		SERVER("+OK\r\nSTLS\r\n-ERR not a reply\r\n.\r\n"
		       "+OK\r\nPLAIN\r\n+OK not a reply\r\n.\r\n"
		       "+OK\r\n-ERR wrong password\r\n"),
	};

	run_pop3(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "USER/PASS", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_FAILURE);
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_TRUE);
	release_runs();
}

/* An empty line gets its own -ERR, so the replies after it still pair with their commands. */
static void test_empty_line_paired(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK ready\r\n"),
		CLIENT("\r\nUSER alice\r\nPASS s3cret\r\n"),
		SERVER("-ERR unknown command\r\n+OK\r\n-ERR wrong password\r\n"),
	};

	run_pop3(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "USER/PASS", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_FAILURE);
	release_runs();
}

/* RETR and TOP bodies end only at the bare ".", because ".." is a dot-stuffed line. */
static void test_retr_dot_stuffing(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK ready\r\n"),
		CLIENT("USER alice\r\nRETR 1\r\nTOP 1 0\r\nLIST 1\r\nPASS s3cret\r\n"),
		SERVER("+OK\r\n"
		       "+OK 40 octets\r\nSubject: x\r\n\r\n..\r\n-ERR fake\r\n.x\r\n.\r\n"
		       "+OK\r\nSubject: x\r\n.\r\n"
		       "+OK 1 40\r\n"
		       "-ERR wrong password\r\n"),
	};

	run_pop3(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "USER/PASS", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_FAILURE);
	release_runs();
}

static void test_one_sided_client(void)
{
	static const struct script_turn turns[] = {
		CLIENT("USER alice\r\nPASS s3cret\r\nSTAT\r\n"),
	};

	run_pop3(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "USER/PASS", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_UNKNOWN);
	release_runs();
}

static void test_error_greeting(void)
{
	static const struct script_turn turns[] = {
		SERVER("-ERR too many connections\r\n"),
	};

	run_pop3(TURNS(turns), NULL);
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 0);
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_UNKNOWN);
	release_runs();
}

/* Feeds turns whole into a session picked up mid-stream (no SYN seen). */
static void run_midstream(struct script_run *r, const struct script_turn *turns, size_t n)
{
	struct app_analyzer *a;

	memset(r, 0, sizeof(*r));
	config_set_defaults(&r->cfg);
	r->s.app_proto = APP_PROTO_POP3;
	r->s.end = SESSION_END_FIN;
	r->s.evidence.midstream = true;
	a = app_analyzer_new(&r->s, &r->cfg, NULL);
	CHECK(a != NULL);
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		app_analyzer_data(a, turns[i].dir, (const uint8_t *)turns[i].text, turns[i].len);
	app_analyzer_finish(a);
	app_analyzer_free(a);
}

/* Mid-stream, the first +OK is a reply, not a greeting, and a CAPA listing is not judged. */
static void test_midstream_pickup(void)
{
	static const struct script_turn turns[] = {
		SERVER("ial line\r\n"),
		CLIENT("ial line\r\nCAPA\r\n"),
		SERVER("+OK\r\nUSER\r\n.\r\n"),
		CLIENT("PASS s3cret\r\n"),
		SERVER("-ERR wrong password\r\n"),
	};

	run_midstream(run_hidden, TURNS(turns));
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_UNKNOWN);
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "USER/PASS", "", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_FAILURE);
	script_release(run_hidden);
}

/* After a gap in the server direction the reply cannot be paired, so the result stays unknown. */
static void test_gap_unpairs(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK ready\r\n"),
		CLIENT("USER alice\r\nPASS s3cret\r\n"),
		SERVER("+OK\r\n"),
		SERVER("-ERR wrong password\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_POP3);

	o.gap_turn = 3;
	o.gap_len = 5;
	script_run(run_hidden, TURNS(turns), &o);
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "USER/PASS", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_UNKNOWN);
	script_release(run_hidden);
}

/* More pipelined commands than the queue tracks: the verdicts are marked, nothing breaks. */
static void test_pipeline_overflow(void)
{
	char client[LIMIT_POP3_PIPELINE * 8 + 64];
	struct script_turn turns[2];
	struct script_options o = script_defaults(APP_PROTO_POP3);
	size_t n = 0;

	for (unsigned i = 0; i < LIMIT_POP3_PIPELINE + 2; i++) {
		memcpy(client + n, "NOOP\r\n", 6);
		n += 6;
	}
	turns[0] = (struct script_turn)SERVER("+OK ready\r\n");
	turns[1] = (struct script_turn){DIR_TO_SERVER, client, n};
	script_run(run_hidden, TURNS(turns), &o);
	CHECK(run_hidden->s.evidence.inconclusive != NULL);
	script_release(run_hidden);
}

/* Bytes from a fixed pseudo-random sequence, in both directions, must not crash anything. */
static void test_garbage(void)
{
	static const char alphabet[] = "+-OK ERR.\r\nUSERPASAPOTHLSX*= ";
	uint32_t state = 4242;
	char buf[4][512];
	struct script_turn turns[4];
	struct script_options o = script_defaults(APP_PROTO_POP3);

	for (int round = 0; round < 50; round++) {
		for (int t = 0; t < 4; t++) {
			for (size_t i = 0; i < sizeof(buf[t]); i++) {
				state = state * 1103515245u + 12345u;
				buf[t][i] = alphabet[(state >> 16) % (sizeof(alphabet) - 1)];
			}
			turns[t].dir = (t % 2 == 0) ? DIR_TO_CLIENT : DIR_TO_SERVER;
			turns[t].text = buf[t];
			turns[t].len = sizeof(buf[t]);
		}
		o.step = (size_t)(round % 5);
		script_run(run_hidden, TURNS(turns), &o);
		CHECK(run_hidden->s.mail.auth_count <= LIMIT_AUTH_RECORDS);
		script_release(run_hidden);
	}
}

/* ---- capability export ---------------------------------------------------- */

static void check_pop3_capabilities(const struct script_turn *turns, size_t n, const char *expected, bool truncated,
				    const char *const *earlier)
{
	struct script_options o = script_defaults(APP_PROTO_POP3);

	script_check_capabilities(turns, n, &o, expected, truncated, earlier);
}

/* The listing of pop3-stls-refused.pcap (Dovecot), one line per entry. */
static void test_capa_exported(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK Dovecot ready.\r\n"),
		CLIENT("CAPA\r\n"),
		SERVER("+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nSTLS\r\nUSER\r\n"
		       "SASL PLAIN LOGIN CRAM-MD5\r\n.\r\n"),
		CLIENT("QUIT\r\n"),
		SERVER("+OK Logging out.\r\n"),
	};

	check_pop3_capabilities(TURNS(turns),
				"CAPA\nTOP\nUIDL\nRESP-CODES\nPIPELINING\nAUTH-RESP-CODE\nSTLS\nUSER\nSASL PLAIN LOGIN CRAM-MD5",
				false, NULL);
}

/* Each complete listing replaces the last, as each EHLO reply does for SMTP; the STLS verdict uses the first. */
static void test_capa_latest_listing(void)
{
	static const char *const earlier[] = {"STLS\nUSER", NULL};
	static const struct script_turn turns[] = {
		SERVER("+OK ready\r\n"),
		CLIENT("CAPA\r\n"),
		SERVER("+OK\r\nSTLS\r\nUSER\r\n.\r\n"),
		CLIENT("USER alice\r\nPASS s3cret\r\nCAPA\r\n"),
		SERVER("+OK\r\n+OK\r\n+OK\r\nTOP\r\nUIDL\r\n.\r\n"),
	};

	check_pop3_capabilities(TURNS(turns), "TOP\nUIDL", false, earlier);
	run_pop3(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_TRUE);
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_NOT_USED));
	release_runs();
}

/* Three capability lines of 100 bytes each. */
#define CAPA_TEN "ABCDEFGHIJ"
#define CAPA_LINE_FILL CAPA_TEN CAPA_TEN CAPA_TEN CAPA_TEN CAPA_TEN CAPA_TEN CAPA_TEN CAPA_TEN CAPA_TEN "ABCDEFGH"
#define CAPA_LINE_1 "X1" CAPA_LINE_FILL
#define CAPA_LINE_2 "X2" CAPA_LINE_FILL
#define CAPA_LINE_3 "X3" CAPA_LINE_FILL

/* A listing longer than the list's cap keeps whole lines only and is marked truncated. */
static void test_capa_truncated(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK ready\r\n"),
		CLIENT("CAPA\r\n"),
		SERVER("+OK\r\n" CAPA_LINE_1 "\r\n" CAPA_LINE_2 "\r\n" CAPA_LINE_3 "\r\nSTLS\r\n.\r\n"),
	};

	CHECK_EQ_INT(strlen(CAPA_LINE_1), 100);

	/* Two lines and their separator take 201 of the 256 bytes; the third does not fit, nor does STLS after it. */
	check_pop3_capabilities(TURNS(turns), CAPA_LINE_1 "\n" CAPA_LINE_2, true, NULL);
	run_pop3(TURNS(turns), NULL);
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_TRUE);
	release_runs();
}

/* -ERR to CAPA, and a listing whose "." never came, leave no list. */
static void test_capa_incomplete_not_exported(void)
{
	static const struct script_turn refused[] = {
		SERVER("+OK ready\r\n"),
		CLIENT("CAPA\r\n"),
		SERVER("-ERR unknown command\r\n"),
		CLIENT("QUIT\r\n"),
		SERVER("+OK\r\n"),
	};
	static const struct script_turn unfinished[] = {
		SERVER("+OK ready\r\n"),
		CLIENT("CAPA\r\n"),
		SERVER("+OK\r\nSTLS\r\nUSER\r\n"),
	};
	static const char *const earlier[] = {"STLS\nUSER", NULL};
	static const struct script_turn gap[] = {
		SERVER("+OK ready\r\n"),
		CLIENT("CAPA\r\n"),
		SERVER("+OK\r\nSTLS\r\nUSER\r\n.\r\n"),
		CLIENT("CAPA\r\n"),
		SERVER("+OK\r\nTOP\r\n"),
		SERVER("UIDL\r\n.\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_POP3);

	check_pop3_capabilities(TURNS(refused), "", false, NULL);
	check_pop3_capabilities(TURNS(unfinished), "", false, NULL);

	/* A gap inside the second listing drops it, so the first one stays. */
	o.gap_turn = 5;
	o.gap_len = 100;
	script_run(run_hidden, TURNS(gap), &o);
	CHECK(script_capabilities_equal(run_hidden, earlier[0], false));
	script_release(run_hidden);
}

/* ---- APOP timestamp in the greeting ------------------------------------------ */

/*
 * Runs a script whole, byte by byte and cut after every byte, and checks
 * the recorded greeting: every complete run matches, and a cut run either
 * has no greeting yet or the same one.
 */
static void check_apop_greeting(const struct script_turn *turns, size_t n, bool seen, bool timestamp)
{
	struct script_options o = script_defaults(APP_PROTO_POP3);
	size_t total = script_total(turns, n);

	for (size_t step = 0; step <= 1; step++) {
		o.step = step;
		script_run(run_hidden, turns, n, &o);
		CHECK_EQ_INT(run_hidden->s.mail.apop.greeting_seen, seen);
		CHECK_EQ_INT(run_hidden->s.mail.apop.timestamp, timestamp);
		script_release(run_hidden);
	}
	o.step = 0;
	o.end = SESSION_END_OPEN;
	for (size_t cut = 0; cut < total; cut++) {
		const struct apop_summary *apop = &run_hidden->s.mail.apop;

		o.limit = cut;
		script_run(run_hidden, turns, n, &o);
		CHECK(!apop->greeting_seen || (seen && apop->timestamp == timestamp));
		CHECK(apop->greeting_seen || !apop->timestamp);
		script_release(run_hidden);
	}
}

static void test_apop_greeting_recorded(void)
{
	static const struct script_turn with_timestamp[] = {
		SERVER("+OK POP3 server ready " APOP_TIMESTAMP "\r\n"),
		CLIENT("APOP mrose " APOP_DIGEST "\r\n"),
		SERVER("+OK maildrop has 1 message\r\n"),
	};
	static const struct script_turn without_timestamp[] = {
		SERVER("+OK POP3 server ready\r\n"),
		CLIENT("USER mrose\r\nPASS tanstaaf\r\n"),
		SERVER("+OK\r\n+OK\r\n"),
	};
	/* No '@' between the brackets: RFC 1939 requires a msg-id, so this is no timestamp. */
	static const struct script_turn not_a_timestamp[] = {
		SERVER("+OK ready <1896.697170952>\r\n"),
	};
	static const struct script_turn error_greeting[] = {
		SERVER("-ERR too busy " APOP_TIMESTAMP "\r\n"),
	};
	static const struct script_turn no_greeting[] = {
		CLIENT("USER mrose\r\n"),
		SERVER("+OK " APOP_TIMESTAMP "\r\n"),
	};

	check_apop_greeting(TURNS(with_timestamp), true, true);
	check_apop_greeting(TURNS(without_timestamp), true, false);
	check_apop_greeting(TURNS(not_a_timestamp), true, false);
	check_apop_greeting(TURNS(error_greeting), false, false);
	check_apop_greeting(TURNS(no_greeting), false, false);
}

/* A capture that starts mid-session has no greeting, whatever the first +OK carries. */
static void test_apop_greeting_midstream(void)
{
	static const struct script_turn turns[] = {
		SERVER("+OK " APOP_TIMESTAMP "\r\n"),
	};

	run_midstream(run_hidden, TURNS(turns));
	CHECK(!run_hidden->s.mail.apop.greeting_seen);
	script_release(run_hidden);
}

int main(void)
{
	run_hidden = calloc(1, sizeof(*run_hidden));
	run_shown = calloc(1, sizeof(*run_shown));
	if (run_hidden == NULL || run_shown == NULL)
		return 1;

	test_apop_timestamp();
	test_apop_arguments();

	test_user_pass_success();
	test_user_pass_failure();
	test_pass_with_spaces_lowercase();
	test_apop_login();
	test_auth_plain_initial_response();
	test_auth_plain_empty_challenge();
	test_auth_login();
	test_auth_xoauth2_and_listings();
	test_auth_cancel_then_user();
	test_auth_empty_initial_response();
	test_stls_accepted();
	test_stls_refused();
	test_capa_stls_stripped();
	test_capa_without_stls();
	test_stls_command_mangled();
	test_pipelined_bodies();
	test_retr_dot_stuffing();
	test_empty_line_paired();
	test_one_sided_client();
	test_error_greeting();
	test_midstream_pickup();
	test_gap_unpairs();
	test_pipeline_overflow();
	test_garbage();

	test_capa_exported();
	test_capa_latest_listing();
	test_capa_truncated();
	test_capa_incomplete_not_exported();
	test_apop_greeting_recorded();
	test_apop_greeting_midstream();

	free(run_hidden);
	free(run_shown);
	if (script_tls_context != NULL)
		tls_context_free(script_tls_context);
	return test_finish("test_pop3");
}
