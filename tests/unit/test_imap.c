/*
 * IMAP analyzer tests: the lexical readers against RFC 3501 section 9, and
 * conversations run through the real dispatcher (whole, byte by byte, in
 * 7-byte pieces and cut after every byte). Names and passwords are made up.
 * The conversations follow the shape of the public captures: a Microsoft
 * Exchange LOGIN with quoted strings, a STARTTLS with the tag ".", and FETCH
 * responses with literals.
 *
 * tshark 4.0.17 is no reference for where literals end. It shows the ")"
 * line that closes a FETCH literal as a response with the tag ")", and the
 * bytes of a LOGIN literal as new requests. The expected values here come
 * from the RFC grammar instead.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "mail_script.h"
#include "core/limits.h"
#include "mail/imap.h"

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

static struct script_run *run_hidden;
static struct script_run *run_shown;

/*
 * Runs a script every way with credentials hidden, checks that the secret
 * is nowhere in the session, then runs it whole with credentials revealed.
 */
static void run_imap(const struct script_turn *turns, size_t n, const char *secret)
{
	struct script_options o = script_defaults(APP_PROTO_IMAP);

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

/* ---- lexical readers ------------------------------------------------------ */

static int read_astring(const char *text, struct imap_string *out, size_t *used)
{
	struct cursor c;
	int rc;

	cursor_init(&c, (const uint8_t *)text, strlen(text));
	rc = imap_read_astring(&c, out);
	*used = c.pos;
	return rc;
}

static void test_tag_forms(void)
{
	static const char *good[] = {"a001", "A.1", ".", "tag]x", "0"};
	static const char *bad[] = {"+a", "*", " a", "(a", "{1}", "\"a\"", "\x01"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const uint8_t *tag = NULL;
		size_t len = 0;
		struct cursor c;

		cursor_init(&c, (const uint8_t *)good[i], strlen(good[i]));
		CHECK_EQ_INT(imap_read_tag(&c, &tag, &len), 0);
		CHECK_EQ_INT(len, strlen(good[i]));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const uint8_t *tag = NULL;
		size_t len = 0;
		struct cursor c;

		cursor_init(&c, (const uint8_t *)bad[i], strlen(bad[i]));
		CHECK_EQ_INT(imap_read_tag(&c, &tag, &len), IMAP_ERR_MALFORMED);
	}
}

static void test_tag_stops_at_space(void)
{
	const uint8_t *tag = NULL;
	size_t len = 0;
	struct cursor c;

	cursor_init(&c, (const uint8_t *)"a+b LOGIN", 9);
	CHECK_EQ_INT(imap_read_tag(&c, &tag, &len), 0);
	CHECK_EQ_INT(len, 1);
	cursor_init(&c, (const uint8_t *)"A.12 LOGIN", 10);
	CHECK_EQ_INT(imap_read_tag(&c, &tag, &len), 0);
	CHECK_EQ_MEM(tag, len, "A.12", 4);
	CHECK_EQ_INT(c.pos, 4);
}

static void test_astring_atom(void)
{
	struct imap_string s;
	size_t used;

	CHECK_EQ_INT(read_astring("alice s3cret", &s, &used), 0);
	CHECK_EQ_INT(s.kind, IMAP_STRING_ATOM);
	CHECK_EQ_MEM(s.data, s.len, "alice", 5);
	CHECK_EQ_INT(used, 5);
	/* "]" is an ASTRING-CHAR but not an ATOM-CHAR. */
	CHECK_EQ_INT(read_astring("a]b c", &s, &used), 0);
	CHECK_EQ_MEM(s.data, s.len, "a]b", 3);
	CHECK_EQ_INT(read_astring("(x", &s, &used), IMAP_ERR_MALFORMED);
	CHECK_EQ_INT(read_astring("", &s, &used), IMAP_ERR_MALFORMED);
}

static void test_astring_quoted(void)
{
	struct imap_string s;
	uint8_t out[32];
	size_t used;

	CHECK_EQ_INT(read_astring("\"al\\\"ice\" next", &s, &used), 0);
	CHECK_EQ_INT(s.kind, IMAP_STRING_QUOTED);
	CHECK_EQ_MEM(s.data, s.len, "al\\\"ice", 7);
	CHECK_EQ_INT(used, 9);
	CHECK_EQ_INT(imap_unquote(s.data, s.len, out, sizeof(out)), 6);
	CHECK_EQ_MEM(out, 6, "al\"ice", 6);

	CHECK_EQ_INT(read_astring("\"pa\\\\ss word\"", &s, &used), 0);
	CHECK_EQ_INT(imap_unquote(s.data, s.len, out, sizeof(out)), 10);
	CHECK_EQ_MEM(out, 10, "pa\\ss word", 10);

	CHECK_EQ_INT(read_astring("\"\"", &s, &used), 0);
	CHECK_EQ_INT(s.len, 0);
	CHECK_EQ_INT(read_astring("\"open", &s, &used), IMAP_ERR_MALFORMED);
	CHECK_EQ_INT(read_astring("\"ends in backslash\\\"", &s, &used), IMAP_ERR_MALFORMED);
	CHECK_EQ_INT(read_astring("\"a\rb\"", &s, &used), IMAP_ERR_MALFORMED);
}

static void test_unquote_cap(void)
{
	uint8_t out[4];

	/* The length is the full unescaped length even when the copy is cut. */
	CHECK_EQ_INT(imap_unquote((const uint8_t *)"abc\\\\def", 8, out, sizeof(out)), 7);
	CHECK_EQ_MEM(out, 4, "abc\\", 4);
	CHECK_EQ_INT(imap_unquote((const uint8_t *)"x", 1, out, 0), 1);
}

static void test_astring_literal(void)
{
	struct imap_string s;
	size_t used;

	CHECK_EQ_INT(read_astring("{5}", &s, &used), 0);
	CHECK_EQ_INT(s.kind, IMAP_STRING_LITERAL);
	CHECK_EQ_INT(s.literal_size, 5);
	CHECK(s.literal_sync);
	CHECK_EQ_INT(used, 3);

	CHECK_EQ_INT(read_astring("{12+}", &s, &used), 0);
	CHECK_EQ_INT(s.literal_size, 12);
	CHECK(!s.literal_sync);

	CHECK_EQ_INT(read_astring("{0}", &s, &used), 0);
	CHECK_EQ_INT(s.literal_size, 0);

	CHECK_EQ_INT(read_astring("{4294967295}", &s, &used), 0);
	CHECK(s.literal_size == 4294967295u);
	CHECK_EQ_INT(read_astring("{18446744073709551615}", &s, &used), 0);
	CHECK(s.literal_size == UINT64_MAX);
}

static void test_astring_literal_lies(void)
{
	static const char *bad[] = {
		"{18446744073709551616}", /* one past 2^64 - 1 */
		"{99999999999999999999}",
		"{000000000000000000001}", /* 21 digits */
		"{}", "{+}", "{5", "{5+", "{5-}", "{ 5}", "{5} ", "{5}x", "{5++}", "{-1}", "{0x10}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct imap_string s;
		size_t used;

		CHECK_EQ_INT(read_astring(bad[i], &s, &used), IMAP_ERR_MALFORMED);
		/* A failed read leaves the cursor where it was. */
		CHECK_EQ_INT(used, 0);
	}
}

static bool line_literal(const char *text, uint64_t *size, bool *sync)
{
	return imap_line_literal((const uint8_t *)text, strlen(text), size, sync);
}

static void test_line_literal(void)
{
	uint64_t size = 0;
	bool sync = false;

	CHECK(line_literal("* 1 FETCH (BODY[] {303}", &size, &sync));
	CHECK_EQ_INT(size, 303);
	CHECK(sync);
	CHECK(line_literal("a APPEND INBOX {310+}", &size, &sync));
	CHECK_EQ_INT(size, 310);
	CHECK(!sync);
	CHECK(line_literal("a APPEND INBOX ~{8}", &size, &sync));
	CHECK_EQ_INT(size, 8);
	CHECK(line_literal("{0}", &size, &sync));
	CHECK_EQ_INT(size, 0);

	CHECK(!line_literal("a SEARCH SUBJECT \"{5}\"", &size, &sync));
	CHECK(!line_literal("a NOOP", &size, &sync));
	CHECK(!line_literal("}", &size, &sync));
	CHECK(!line_literal("{}", &size, &sync));
	CHECK(!line_literal("x {99999999999999999999}", &size, &sync));
	CHECK(!line_literal("x 5}", &size, &sync));
	CHECK(!line_literal("", &size, &sync));
}

/* Every prefix of every reader input must be read without running past it. */
static void test_readers_truncated(void)
{
	static const char *inputs[] = {"\"al\\\"ice\"", "{4294967295+}", "a]b", "{18446744073709551615}"};

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		size_t len = strlen(inputs[i]);

		for (size_t cut = 0; cut <= len; cut++) {
			uint8_t *copy = malloc(cut + 1);
			struct imap_string s;
			struct cursor c;
			uint64_t size;
			bool sync;

			memcpy(copy, inputs[i], cut);
			cursor_init(&c, copy, cut);
			if (imap_read_astring(&c, &s) == 0)
				CHECK(c.pos <= cut);
			(void)imap_line_literal(copy, cut, &size, &sync);
			free(copy);
		}
	}
}

/* ---- conversations -------------------------------------------------------- */

static void test_login_atoms(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] ready\r\n"),
		CLIENT("a001 LOGIN alice s3cret\r\n"),
		SERVER("a001 OK [CAPABILITY IMAP4rev1 IDLE] done\r\n"),
		CLIENT("a002 LOGOUT\r\n"),
		SERVER("* BYE logging out\r\na002 OK bye\r\n"),
	};

	run_imap(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "LOGIN", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	CHECK(run_hidden->s.mail.auth[0].password_seen);
	CHECK_EQ_INT(run_hidden->s.mail.auth[0].password.len, 0);
	CHECK_PASSWORD(run_shown, 0, "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_TRUE);
	CHECK(!run_hidden->s.mail.starttls.attempted);
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_CLEARTEXT_CREDENTIALS));
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_NOT_USED));
	/* The list after LOGIN omits STARTTLS as it should, which is no stripping. */
	CHECK(!session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_STRIPPED));
	CHECK_EQ_INT(run_hidden->events[EVENT_AUTH_CLEARTEXT], 1);
	release_runs();
}

static void test_login_quoted_escapes(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK IMAP4rev1 server ready\r\n"),
		CLIENT("A.1 login \"al\\\"ice\" \"pa\\\\ss word\"\r\n"),
		SERVER("A.1 NO [AUTHENTICATIONFAILED] invalid credentials\r\n"),
	};

	run_imap(TURNS(turns), "ss word");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "LOGIN", "al\"ice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_FAILURE);
	CHECK_PASSWORD(run_shown, 0, "pa\\ss word");
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_UNKNOWN);
	release_runs();
}

static void test_login_sync_literals(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n"),
		CLIENT("a2 LOGIN {5}\r\n"),
		SERVER("+ Ready for literal data\r\n"),
		CLIENT("alice {6}\r\n"),
		SERVER("+ \r\n"),
		CLIENT("s3cret\r\n"),
		SERVER("a2 OK LOGIN completed\r\n"),
	};

	run_imap(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "LOGIN", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	CHECK_PASSWORD(run_shown, 0, "s3cret");
	release_runs();
}

static void test_login_nonsync_literals(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n"),
		CLIENT("b LOGIN {5+}\r\nalice {6+}\r\ns3cret\r\n"),
		SERVER("b OK done\r\n"),
		CLIENT("c SELECT INBOX\r\n"),
		SERVER("* 2 EXISTS\r\nc OK [READ-WRITE] done\r\n"),
	};

	run_imap(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "LOGIN", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	CHECK_PASSWORD(run_shown, 0, "s3cret");
	release_runs();
}

/* The server's "+" is not in the capture: the literal still follows its announcement. */
static void test_login_literal_without_goahead(void)
{
	static const struct script_turn turns[] = {
		CLIENT("c LOGIN {5}\r\nalice {6}\r\ns3cret\r\n"),
		CLIENT("d SELECT INBOX\r\n"),
	};

	run_imap(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "LOGIN", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_UNKNOWN);
	CHECK_PASSWORD(run_shown, 0, "s3cret");
	release_runs();
}

/* A literal spanning lines without a captured "+": its CR LF bytes count toward its size. */
static void test_literal_multiline_without_goahead(void)
{
	static const struct script_turn turns[] = {
		CLIENT("a APPEND INBOX {68}\r\n"
		       "From: frank@example.org\r\nSubject: test\r\n\r\nq LOGIN mallory pw\r\n+ go\r\n"
		       "\r\n"),
		CLIENT("b LOGIN alice s3cret\r\n"),
	};

	run_imap(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "LOGIN", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_UNKNOWN);
	release_runs();
}

static void test_literal_rejected(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK ready\r\n"),
		CLIENT("d LOGIN {4294967295}\r\n"),
		SERVER("d BAD literal too large\r\n"),
		CLIENT("e LOGIN bob hunter2\r\n"),
		SERVER("e OK done\r\n"),
	};

	run_imap(TURNS(turns), "hunter2");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "LOGIN", "bob", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	CHECK(run_hidden->s.evidence.inconclusive == NULL);
	release_runs();
}

/* A literal the server accepts is skipped whatever it holds, even past the size cap. */
static void test_literal_huge_accepted(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK ready\r\n"),
		CLIENT("f APPEND INBOX {4294967295}\r\n"),
		SERVER("+ go ahead\r\n"),
		CLIENT("g LOGIN mallory pw\r\nh LOGIN mallory pw\r\n"),
	};

	run_imap(TURNS(turns), NULL);
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 0);
	CHECK(run_hidden->s.evidence.inconclusive != NULL);
	release_runs();
}

/* A size past 2^64 - 1 announces no literal, so the server replies BAD and waits for a command. */
static void test_literal_overflow(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK ready\r\n"),
		CLIENT("h LOGIN {99999999999999999999}\r\n"),
		SERVER("h BAD invalid literal\r\n"),
		CLIENT("i LOGIN {99999999999999999999+}\r\ni2 LOGIN carol tr0ub4dor\r\n"),
		SERVER("i BAD invalid literal\r\ni2 OK done\r\n"),
	};

	run_imap(TURNS(turns), "tr0ub4dor");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "LOGIN", "carol", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	release_runs();
}

static void test_literal_zero_length(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK ready\r\n"),
		CLIENT("a LOGIN {0+}\r\n {6+}\r\ns3cret\r\n"),
		SERVER("a NO empty user\r\n"),
	};

	run_imap(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "LOGIN", "", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_FAILURE);
	CHECK_PASSWORD(run_shown, 0, "s3cret");
	release_runs();
}

/* A user name literal longer than a wire_text is kept cut and marked truncated. */
static void test_literal_long_username(void)
{
	char client[600];
	char name[301];
	struct script_turn turns[3];
	struct script_options o = script_defaults(APP_PROTO_IMAP);
	int n;

	memset(name, 'u', 300);
	name[300] = '\0';
	n = snprintf(client, sizeof(client), "a LOGIN {300+}\r\n%s s3cret\r\n", name);
	CHECK(n > 0);
	CHECK((size_t)n < sizeof(client));
	turns[0] = (struct script_turn)SERVER("* OK ready\r\n");
	turns[1] = (struct script_turn){DIR_TO_SERVER, client, (size_t)n};
	turns[2] = (struct script_turn)SERVER("a OK done\r\n");

	script_run_all_ways(run_hidden, TURNS(turns), &o);
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	if (run_hidden->s.mail.auth_count == 1) {
		CHECK_EQ_INT(run_hidden->s.mail.auth[0].username.len, WIRE_TEXT_MAX);
		CHECK(run_hidden->s.mail.auth[0].username.truncated);
		CHECK_EQ_INT(run_hidden->s.mail.auth[0].result, AUTH_RESULT_SUCCESS);
	}
	script_release(run_hidden);
}

static void test_authenticate_sasl_ir(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n"),
		CLIENT("a AUTHENTICATE PLAIN AGFsaWNlAHMzY3JldA==\r\n"),
		SERVER("a OK [CAPABILITY IMAP4rev1] done\r\n"),
	};

	run_imap(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "PLAIN", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	CHECK_PASSWORD(run_shown, 0, "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_FALSE);
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_NOT_OFFERED));
	release_runs();
}

/* An empty "+ " challenge, then the response with authzid "admin" and authcid "bob" (RFC 4616). */
static void test_authenticate_empty_challenge(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK ready\r\n"),
		CLIENT("x1 authenticate plain\r\n"),
		SERVER("+ \r\n"),
		CLIENT("YWRtaW4AYm9iAGh1bnRlcjI=\r\n"),
		SERVER("x1 NO [AUTHENTICATIONFAILED] failed\r\n"),
	};

	run_imap(TURNS(turns), "hunter2");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "PLAIN", "bob", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_FAILURE);
	CHECK_PASSWORD(run_shown, 0, "hunter2");
	release_runs();
}

/* AUTHENTICATE LOGIN: "Username:" and "Password:" prompts, each answered in base64. */
static void test_authenticate_login(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK ready\r\n"),
		CLIENT("y AUTHENTICATE LOGIN\r\n"),
		SERVER("+ VXNlcm5hbWU6\r\n"),
		CLIENT("Y2Fyb2w=\r\n"),
		SERVER("+ UGFzc3dvcmQ6\r\n"),
		CLIENT("dHIwdWI0ZG9y\r\n"),
		SERVER("y OK done\r\n"),
	};

	run_imap(TURNS(turns), "tr0ub4dor");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "LOGIN", "carol", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	CHECK_PASSWORD(run_shown, 0, "tr0ub4dor");
	release_runs();
}

/* CRAM-MD5 (RFC 2195): user name in clear, the digest crackable offline. */
static void test_authenticate_cram_md5(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK ready\r\n"),
		CLIENT("k AUTHENTICATE CRAM-MD5\r\n"),
		SERVER("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZS5uZXQ+\r\n"),
		CLIENT("ZGF2ZSAzZGJjODhmMDYyNDc3NmE3MzdiMzkwOTNmNmViNjQyNw==\r\n"),
		SERVER("k OK done\r\n"),
	};

	run_imap(TURNS(turns), NULL);
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "CRAM-MD5", "dave", AUTH_EXPOSURE_CRACKABLE, AUTH_RESULT_SUCCESS);
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_CHALLENGE_RESPONSE_AUTH_IN_CLEARTEXT));
	release_runs();
}

static void test_authenticate_cancel(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK ready\r\n"),
		CLIENT("z AUTHENTICATE PLAIN\r\n"),
		SERVER("+ \r\n"),
		CLIENT("*\r\n"),
		SERVER("z BAD authentication cancelled\r\n"),
		CLIENT("z2 LOGIN alice s3cret\r\n"),
		SERVER("z2 OK done\r\n"),
	};

	run_imap(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "LOGIN", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	release_runs();
}

/* Without the server's side the exchange ends at the first line that cannot be base64. */
static void test_authenticate_one_sided(void)
{
	static const struct script_turn turns[] = {
		CLIENT("a AUTHENTICATE PLAIN\r\n"),
		CLIENT("AGFsaWNlAHMzY3JldA==\r\n"),
		CLIENT("b LOGIN bob hunter2\r\n"),
	};

	run_imap(TURNS(turns), "hunter2");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 2);
	CHECK_AUTH(run_hidden, 0, "PLAIN", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_UNKNOWN);
	CHECK_AUTH(run_hidden, 1, "LOGIN", "bob", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_UNKNOWN);
	CHECK(!script_session_contains(run_hidden, "s3cret"));
	release_runs();
}

/*
 * The post-login list comes untagged before the tagged OK, in the order
 * Dovecot uses. Without a list in the greeting it must not count as "not
 * offered", and after one that offered STARTTLS it must not count as stripped.
 */
static void test_capability_after_login(void)
{
	static const struct script_turn plain_greeting[] = {
		SERVER("* OK ready\r\n"),
		CLIENT("a3 LOGIN bob hunter2\r\n"),
		SERVER("* CAPABILITY IMAP4rev1 MOVE\r\na3 OK Logged in\r\n"),
	};
	static const struct script_turn listed_greeting[] = {
		SERVER("* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ STARTTLS AUTH=PLAIN] ready\r\n"),
		CLIENT("A002 AUTHENTICATE PLAIN AGFsaWNlAHMzY3JldA==\r\n"),
		SERVER("* CAPABILITY IMAP4rev1 SASL-IR LITERAL+ MOVE\r\nA002 OK Logged in\r\n"),
	};

	run_imap(TURNS(plain_greeting), "hunter2");
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_UNKNOWN);
	CHECK(!session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_NOT_OFFERED));
	CHECK_AUTH(run_hidden, 0, "LOGIN", "bob", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	release_runs();

	run_imap(TURNS(listed_greeting), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_TRUE);
	CHECK(!session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_STRIPPED));
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_NOT_USED));
	CHECK_AUTH(run_hidden, 0, "PLAIN", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	release_runs();
}

/* PREAUTH: already authenticated, so no credentials follow and STARTTLS cannot be used. */
static void test_preauth_greeting(void)
{
	static const struct script_turn turns[] = {
		SERVER("* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] welcome back\r\n"),
		CLIENT("a SELECT INBOX\r\n"),
		SERVER("* 3 EXISTS\r\na OK [READ-WRITE] done\r\n"),
	};

	run_imap(TURNS(turns), NULL);
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 0);
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_FALSE);
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_NOT_OFFERED));
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_PREAUTH_IN_CLEARTEXT));
	CHECK(!run_hidden->s.mail.starttls.attempted);
	release_runs();
}

/* An OK greeting is not PREAUTH, whatever text follows it. */
static void test_ok_greeting_not_preauth(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK [CAPABILITY IMAP4rev1] PREAUTH is not offered here\r\n"),
		CLIENT("a LOGOUT\r\n"),
		SERVER("* BYE\r\na OK bye\r\n"),
	};

	run_imap(TURNS(turns), NULL);
	CHECK(!session_has_anomaly(&run_hidden->s, ANOMALY_PREAUTH_IN_CLEARTEXT));
	release_runs();
}

/* The dialogue of a STARTTLS with the tag ".", then the first bytes of a TLS record. */
static void test_starttls_accepted(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n"),
		CLIENT(". CAPABILITY\r\n"),
		SERVER("* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n. OK done\r\n"),
		CLIENT(". STARTTLS\r\n"),
		SERVER(". OK Begin TLS negotiation now\r\n"),
		CLIENT("\x16\x03\x01\x00\x04\x01\x00\x00\x00"),
	};

	run_imap(TURNS(turns), NULL);
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_TRUE);
	CHECK(run_hidden->s.mail.starttls.attempted);
	CHECK_EQ_INT(run_hidden->s.mail.starttls.result, STARTTLS_RESULT_OK);
	CHECK(!session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_STRIPPED));
	CHECK(!session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_COMMAND_INJECTION));
	CHECK(!session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_RESPONSE_INJECTION));
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 0);
	release_runs();
}

static void test_starttls_refused(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"),
		CLIENT("a starttls\r\n"),
		SERVER("a NO [UNAVAILABLE] TLS not available\r\n"),
		CLIENT("b LOGIN alice s3cret\r\n"),
		SERVER("b OK done\r\n"),
	};

	run_imap(TURNS(turns), "s3cret");
	CHECK(run_hidden->s.mail.starttls.attempted);
	CHECK_EQ_INT(run_hidden->s.mail.starttls.result, STARTTLS_RESULT_REFUSED);
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_REFUSED));
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_PLAINTEXT_AFTER_STARTTLS_FAILURE));
	CHECK_EQ_INT(run_hidden->events[EVENT_STARTTLS_REFUSED], 1);
	CHECK_AUTH(run_hidden, 0, "LOGIN", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	release_runs();
}

/* A middlebox rewrote STARTTLS in the greeting's capability list. */
static void test_capability_stripped(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK [CAPABILITY IMAP4rev1 XXXXXXXA AUTH=PLAIN] ready\r\n"),
		CLIENT("a LOGIN alice s3cret\r\n"),
		SERVER("a OK done\r\n"),
	};

	run_imap(TURNS(turns), "s3cret");
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_STRIPPED));
	CHECK_EQ_INT(run_hidden->events[EVENT_STARTTLS_STRIPPED], 1);
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_FALSE);
	release_runs();
}

/* The client's STARTTLS reached the server rewritten. */
static void test_starttls_command_mangled(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"),
		CLIENT("a XXXXXXXX\r\n"),
		SERVER("a BAD unknown command\r\n"),
	};

	run_imap(TURNS(turns), NULL);
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_STRIPPED));
	CHECK(!run_hidden->s.mail.starttls.attempted);
	CHECK(!session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_NOT_USED));
	release_runs();
}

static void test_capability_untagged(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK ready\r\n"),
		CLIENT("a capability\r\n"),
		SERVER("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na OK done\r\n"),
	};

	run_imap(TURNS(turns), NULL);
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_FALSE);
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_NOT_OFFERED));
	CHECK(!session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_NOT_USED));
	release_runs();
}

/* Lines inside a FETCH literal look like a tagged reply, a "+" and a mangled capability. */
static void test_fetch_literal_skipped(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"),
		CLIENT("a5 FETCH 1 BODY[]\r\na6 LOGIN alice s3cret\r\n"),
		SERVER("* 1 FETCH (BODY[] {46}\r\n"
		       "a6 NO fake\r\n+ go\r\n* OK [CAPABILITY XXXXXXXA]\r\n"
		       " FLAGS (\\Seen))\r\n"),
		SERVER("a5 OK FETCH done\r\na6 OK LOGIN done\r\n"),
	};

	run_imap(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "LOGIN", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	CHECK(!session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_STRIPPED));
	release_runs();
}

/* A message appended with a synchronising literal contains a line that looks like LOGIN. */
static void test_append_sync_literal(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK ready\r\n"),
		CLIENT("a APPEND INBOX (\\Seen) {68}\r\n"),
		SERVER("+ Ready for literal data\r\n"),
		CLIENT("From: frank@example.org\r\nSubject: test\r\n\r\nq LOGIN mallory pw\r\n+ go\r\n"),
		CLIENT("\r\n"),
		SERVER("a OK APPEND completed\r\n"),
		CLIENT("b LOGIN alice s3cret\r\n"),
		SERVER("b OK done\r\n"),
	};

	run_imap(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "LOGIN", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	release_runs();
}

static void test_append_nonsync_literal(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n"),
		CLIENT("a APPEND INBOX {68+}\r\n"
		       "From: frank@example.org\r\nSubject: test\r\n\r\nq LOGIN mallory pw\r\n+ go\r\n"
		       "\r\nb LOGIN alice s3cret\r\n"),
		SERVER("a OK APPEND completed\r\nb OK done\r\n"),
	};

	run_imap(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "LOGIN", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	release_runs();
}

/* After COMPRESS DEFLATE is accepted (RFC 4978) the bytes are deflate data, not lines. */
static void test_compress_stops_parsing(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] ready\r\n"),
		CLIENT("a LOGIN alice s3cret\r\n"),
		SERVER("a OK done\r\n"),
		CLIENT("b COMPRESS DEFLATE\r\n"),
		SERVER("b OK DEFLATE active\r\n"),
		CLIENT("\x78\x9c\xed\r\nc LOGIN mallory pw\r\nd APPEND x {99}\r\n"),
		SERVER("\x78\x9c\xed\r\nc OK\r\n"),
	};

	run_imap(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "LOGIN", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	release_runs();
}

/* COMPRESS refused: the session goes on in clear lines. */
static void test_compress_refused(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK ready\r\n"),
		CLIENT("b COMPRESS DEFLATE\r\n"),
		SERVER("b NO not supported\r\n"),
		CLIENT("c LOGIN alice s3cret\r\n"),
		SERVER("c OK done\r\n"),
	};

	run_imap(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "LOGIN", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	release_runs();
}

/* A [CAPABILITY ...] code in an untagged OK after the greeting counts before authentication. */
static void test_capability_code_later(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK ready\r\n* OK [CAPABILITY IMAP4rev1 STARTTLS] more\r\n"),
		CLIENT("a STARTTLS\r\n"),
		SERVER("a OK begin TLS now\r\n"),
		CLIENT("\x16\x03\x01\x00\x04\x01\x00\x00\x00"),
	};

	run_imap(TURNS(turns), NULL);
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_TRUE);
	CHECK_EQ_INT(run_hidden->s.mail.starttls.result, STARTTLS_RESULT_OK);
	release_runs();
}

/* The greeting is not in the capture, but the stream's start is: capabilities are still judged. */
static void test_missing_greeting(void)
{
	static const struct script_turn turns[] = {
		CLIENT("a CAPABILITY\r\n"),
		SERVER("* CAPABILITY IMAP4rev1 STARTTLS\r\na OK done\r\n"),
		CLIENT("b LOGIN alice s3cret\r\n"),
		SERVER("b OK done\r\n"),
	};

	run_imap(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_TRUE);
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_NOT_USED));
	CHECK_AUTH(run_hidden, 0, "LOGIN", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	release_runs();
}

/* Feeds turns whole into a session picked up mid-stream (no SYN seen). */
static void run_midstream(struct script_run *r, const struct script_turn *turns, size_t n)
{
	struct app_analyzer *a;

	memset(r, 0, sizeof(*r));
	config_set_defaults(&r->cfg);
	r->s.app_proto = APP_PROTO_IMAP;
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

/* Mid-stream, an untagged OK is a status response, not a greeting to judge. */
static void test_midstream_no_greeting(void)
{
	static const struct script_turn turns[] = {
		SERVER("rest of a line\r\n* OK [CAPABILITY IMAP4rev1] still here\r\n"),
		CLIENT("rest of a line\r\nc LOGIN alice s3cret\r\n"),
		SERVER("c OK done\r\n"),
	};

	run_midstream(run_hidden, TURNS(turns));
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_UNKNOWN);
	CHECK(!session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_NOT_OFFERED));
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
	CHECK_AUTH(run_hidden, 0, "LOGIN", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
	script_release(run_hidden);
}

/* A gap in the client direction: pairing goes on by tag for what follows it. */
static void test_gap_then_login(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK ready\r\n"),
		CLIENT("a1 SELECT INBOX\r\n"),
		CLIENT("a2 LOGIN alice s3cret\r\n"),
		SERVER("a2 OK done\r\n"),
	};
	struct script_options o = script_defaults(APP_PROTO_IMAP);

	o.gap_turn = 2;
	o.gap_len = 10;
	script_run(run_hidden, TURNS(turns), &o);
	CHECK_EQ_INT(run_hidden->s.mail.auth_count, 0);
	script_release(run_hidden);

	/* A gap inside a counted literal keeps the framing, so the command after it is read. */
	{
		static const struct script_turn lit[] = {
			SERVER("* OK ready\r\n"),
			CLIENT("a APPEND INBOX {40+}\r\n0123456789"),
			CLIENT("0123456789\r\nb LOGIN alice s3cret\r\n"),
			SERVER("b OK done\r\n"),
		};

		o.gap_turn = 2;
		o.gap_len = 20;
		script_run(run_hidden, TURNS(lit), &o);
		CHECK_EQ_INT(run_hidden->s.mail.auth_count, 1);
		CHECK_AUTH(run_hidden, 0, "LOGIN", "alice", AUTH_EXPOSURE_CLEARTEXT, AUTH_RESULT_SUCCESS);
		script_release(run_hidden);
	}
}

/* Bytes from a fixed pseudo-random sequence, in both directions, must not crash anything. */
static void test_garbage(void)
{
	static const char alphabet[] = "a{}+* \"\\\r\n0123456789LOGIN";
	uint32_t state = 12345;
	char buf[4][512];
	struct script_turn turns[4];
	struct script_options o = script_defaults(APP_PROTO_IMAP);

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

static void check_imap_capabilities(const struct script_turn *turns, size_t n, const char *expected, bool truncated,
				    const char *const *earlier)
{
	struct script_options o = script_defaults(APP_PROTO_IMAP);

	script_check_capabilities(turns, n, &o, expected, truncated, earlier);
}

/* A greeting that carries the list as a response code, as GMX sends it; STARTTLS keeps the list. */
static void test_capabilities_greeting_code(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK [CAPABILITY IMAP4rev1 CHILDREN ENABLE ID IDLE LITERAL+ SASL-IR STARTTLS AUTH=LOGIN AUTH=PLAIN]"
		       " IMAP server ready\r\n"),
		CLIENT(". STARTTLS\r\n"),
		SERVER(". OK Begin TLS negotiation now\r\n"),
		CLIENT("\x16\x03\x01\x00\x04\x01\x00\x00\x00"),
	};

	check_imap_capabilities(TURNS(turns),
				"IMAP4rev1\nCHILDREN\nENABLE\nID\nIDLE\nLITERAL+\nSASL-IR\nSTARTTLS\nAUTH=LOGIN\nAUTH=PLAIN",
				false, NULL);
}

/* Greeting code, then "* CAPABILITY", then the code of a tagged OK after login: the last one stays. */
static void test_capabilities_latest_list(void)
{
	static const char *const earlier[] = {"IMAP4rev1\nSTARTTLS\nAUTH=PLAIN", "IMAP4rev1\nSTARTTLS\nAUTH=PLAIN\nID", NULL};
	static const struct script_turn turns[] = {
		SERVER("* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] ready\r\n"),
		CLIENT("a1 capability\r\n"),
		SERVER("* capability IMAP4rev1 STARTTLS AUTH=PLAIN ID\r\na1 OK done\r\n"),
		CLIENT("a2 LOGIN alice s3cret\r\n"),
		SERVER("a2 OK [CAPABILITY IMAP4rev1 MOVE  IDLE] Logged in\r\n"),
	};

	check_imap_capabilities(TURNS(turns), "IMAP4rev1\nMOVE\nIDLE", false, earlier);

	/* The post-login list is exported but not judged: STARTTLS was offered before login. */
	run_imap(TURNS(turns), "s3cret");
	CHECK_EQ_INT(run_hidden->s.mail.starttls.offered, TRISTATE_TRUE);
	CHECK(session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_NOT_USED));
	CHECK(!session_has_anomaly(&run_hidden->s, ANOMALY_STARTTLS_NOT_OFFERED));
	release_runs();
}

/* PREAUTH and a later untagged OK carry lists too; a NO with a code does not count. */
static void test_capabilities_preauth_and_untagged_ok(void)
{
	static const char *const earlier[] = {"IMAP4rev1", NULL};
	static const struct script_turn preauth[] = {
		SERVER("* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] welcome back\r\n"),
		CLIENT("a SELECT INBOX\r\n"),
		SERVER("a NO [CAPABILITY IMAP4rev1 FAKE] no such mailbox\r\n"),
	};
	static const struct script_turn untagged_ok[] = {
		SERVER("* OK [CAPABILITY IMAP4rev1] ready\r\n* OK [CAPABILITY IMAP4rev1 STARTTLS] more\r\n"),
	};

	check_imap_capabilities(TURNS(preauth), "IMAP4rev1\nSTARTTLS", false, NULL);
	check_imap_capabilities(TURNS(untagged_ok), "IMAP4rev1\nSTARTTLS", false, earlier);
}

/* Lines inside a FETCH literal are message data, so their capability code is no list. */
static void test_capabilities_not_from_literal(void)
{
	static const struct script_turn turns[] = {
		SERVER("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"),
		CLIENT("a5 FETCH 1 BODY[]\r\n"),
		SERVER("* 1 FETCH (BODY[] {40}\r\n"
		       "* CAPABILITY FAKE\r\na OK [CAPABILITY X]\r\n"
		       ")\r\na5 OK FETCH done\r\n"),
	};

	check_imap_capabilities(TURNS(turns), "IMAP4rev1\nSTARTTLS", false, NULL);
}

/* A list longer than the cap keeps whole atoms only and is marked truncated. */
static void test_capabilities_truncated(void)
{
#define ATOM_50 "X-ABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGH"
	static const struct script_turn turns[] = {
		SERVER("* OK ready\r\n"),
		CLIENT("a capability\r\n"),
		SERVER("* CAPABILITY " ATOM_50 "1 " ATOM_50 "2 " ATOM_50 "3 " ATOM_50 "4 " ATOM_50 "5 STARTTLS\r\n"
		       "a OK done\r\n"),
	};

	CHECK_EQ_INT(strlen(ATOM_50), 50);

	/* Four 51-byte atoms and three separators take 207 bytes; the fifth needs 52 more and STARTTLS is left out. */
	check_imap_capabilities(TURNS(turns), ATOM_50 "1\n" ATOM_50 "2\n" ATOM_50 "3\n" ATOM_50 "4", true, NULL);
#undef ATOM_50
}

int main(void)
{
	run_hidden = calloc(1, sizeof(*run_hidden));
	run_shown = calloc(1, sizeof(*run_shown));
	if (run_hidden == NULL || run_shown == NULL)
		return 1;

	test_capabilities_greeting_code();
	test_capabilities_latest_list();
	test_capabilities_preauth_and_untagged_ok();
	test_capabilities_not_from_literal();
	test_capabilities_truncated();

	test_tag_forms();
	test_tag_stops_at_space();
	test_astring_atom();
	test_astring_quoted();
	test_unquote_cap();
	test_astring_literal();
	test_astring_literal_lies();
	test_line_literal();
	test_readers_truncated();

	test_login_atoms();
	test_login_quoted_escapes();
	test_login_sync_literals();
	test_login_nonsync_literals();
	test_login_literal_without_goahead();
	test_literal_multiline_without_goahead();
	test_literal_rejected();
	test_literal_huge_accepted();
	test_literal_overflow();
	test_literal_zero_length();
	test_literal_long_username();
	test_authenticate_sasl_ir();
	test_authenticate_empty_challenge();
	test_authenticate_login();
	test_authenticate_cram_md5();
	test_authenticate_cancel();
	test_authenticate_one_sided();
	test_capability_after_login();
	test_preauth_greeting();
	test_ok_greeting_not_preauth();
	test_starttls_accepted();
	test_starttls_refused();
	test_capability_stripped();
	test_starttls_command_mangled();
	test_capability_untagged();
	test_fetch_literal_skipped();
	test_append_sync_literal();
	test_append_nonsync_literal();
	test_compress_stops_parsing();
	test_compress_refused();
	test_capability_code_later();
	test_missing_greeting();
	test_midstream_no_greeting();
	test_gap_then_login();
	test_garbage();

	free(run_hidden);
	free(run_shown);
	if (script_tls_context != NULL)
		tls_context_free(script_tls_context);
	return test_finish("test_imap");
}
