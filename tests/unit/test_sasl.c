/*
 * Unit tests for SASL decoding: each mechanism's response format from its
 * RFC (or MS-NLMP for NTLM), the exchange state machine over a real session,
 * and that passwords stay out of the session unless revealing is enabled.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/session.h"
#include "mail/mail_proto.h"
#include "mail/sasl.h"
#include "test.h"

struct fixture {
	struct session s;
	struct mailtap_config cfg;
	struct mail_control mc;
	struct event_sink sink;
	int events[EVENT_TYPE_COUNT];
};

static void count_event(void *ctx, const struct event *ev)
{
	struct fixture *f = ctx;

	f->events[ev->type]++;
}

static void fixture_init(struct fixture *f, bool reveal)
{
	memset(f, 0, sizeof(*f));
	config_set_defaults(&f->cfg);
	f->cfg.reveal_credentials = reveal;
	f->sink.emit = count_event;
	f->sink.ctx = f;
	f->s.sink = &f->sink;
	f->mc.session = &f->s;
	f->mc.cfg = &f->cfg;
}

static const uint8_t *u8(const char *s)
{
	return (const uint8_t *)s;
}

static bool memory_contains(const void *hay, size_t hay_len, const char *needle)
{
	size_t n = strlen(needle);

	return hay_len >= n && memmem(hay, hay_len, needle, n) != NULL;
}

/* True when needle appears anywhere in the session or its auth records. */
static bool session_contains(const struct fixture *f, const char *needle)
{
	return memory_contains(&f->s, sizeof(f->s), needle) ||
	       memory_contains(f->s.mail.auth, f->s.mail.auth_count * sizeof(*f->s.mail.auth), needle);
}

static void check_text(const struct wire_text *t, const char *expected)
{
	CHECK_EQ_MEM(t->data, t->len, expected, strlen(expected));
}

static void test_sasl_mechanism_names(void)
{
	CHECK_EQ_INT(sasl_mechanism_from_name(u8("plain"), 5), SASL_MECH_PLAIN);
	CHECK_EQ_INT(sasl_mechanism_from_name(u8("CRAM-MD5"), 8), SASL_MECH_CRAM_MD5);
	CHECK_EQ_INT(sasl_mechanism_from_name(u8("SCRAM-SHA-256-PLUS"), 18), SASL_MECH_SCRAM);
	CHECK_EQ_INT(sasl_mechanism_from_name(u8("xoauth2"), 7), SASL_MECH_XOAUTH2);
	CHECK_EQ_INT(sasl_mechanism_from_name(u8("PLAINX"), 6), SASL_MECH_OTHER);
	CHECK_EQ_INT(sasl_mechanism_from_name(u8(""), 0), SASL_MECH_OTHER);
}

static void test_sasl_parse_plain(void)
{
	static const uint8_t msg[] = "admin\0bob\0hunter2";
	struct sasl_fields f;

	CHECK_EQ_INT(sasl_parse_plain(msg, sizeof(msg) - 1, &f), 0);
	CHECK_EQ_MEM(f.user, f.user_len, "bob", 3);
	CHECK_EQ_MEM(f.secret, f.secret_len, "hunter2", 7);
	CHECK_EQ_INT(sasl_parse_plain(msg, 9, &f), -1);
	CHECK_EQ_INT(sasl_parse_plain(msg, 0, &f), -1);
	CHECK_EQ_INT(sasl_parse_plain(u8("\0\0"), 2, &f), 0);
	CHECK_EQ_INT(f.user_len, 0);
	CHECK_EQ_INT(f.secret_len, 0);
}

static void test_sasl_parse_cram_md5(void)
{
	/* RFC 2195 section 2 example response: "tim b913a602c7eda7a495b4e6e7334d3890". */
	static const char resp[] = "tim b913a602c7eda7a495b4e6e7334d3890";
	struct sasl_fields f;

	CHECK_EQ_INT(sasl_parse_cram_md5(u8(resp), strlen(resp), &f), 0);
	CHECK_EQ_MEM(f.user, f.user_len, "tim", 3);
	CHECK(f.secret == NULL);
	CHECK_EQ_INT(sasl_parse_cram_md5(u8("nospace"), 7, &f), -1);
	CHECK_EQ_INT(sasl_parse_cram_md5(u8(" digest"), 7, &f), -1);
}

static void test_sasl_parse_digest_md5(void)
{
	static const char quoted[] = "charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\",response=d388";
	static const char token[] = "realm=x,username=dana,nc=00000001";
	static const char decoy[] = "authzid=\"x\",cnonce=\"username=evil\"";
	static const char open[] = "username=\"unterminated";
	struct sasl_fields f;

	CHECK_EQ_INT(sasl_parse_digest_md5(u8(quoted), strlen(quoted), &f), 0);
	CHECK_EQ_MEM(f.user, f.user_len, "chris", 5);
	CHECK_EQ_INT(sasl_parse_digest_md5(u8(token), strlen(token), &f), 0);
	CHECK_EQ_MEM(f.user, f.user_len, "dana", 4);
	CHECK_EQ_INT(sasl_parse_digest_md5(u8(decoy), strlen(decoy), &f), -1);
	CHECK_EQ_INT(sasl_parse_digest_md5(u8(open), strlen(open), &f), -1);
}

static void test_sasl_parse_oauth(void)
{
	static const uint8_t xo[] = "user=frank@example.org\001auth=Bearer ya29.tok\001\001";
	static const uint8_t ob[] = "n,a=grace@example.org,\001host=mail.example.org\001auth=Bearer abc.def\001\001";
	static const uint8_t nothing[] = "host=x\001\001";
	struct sasl_fields f;

	CHECK_EQ_INT(sasl_parse_oauth(xo, sizeof(xo) - 1, &f), 0);
	CHECK_EQ_MEM(f.user, f.user_len, "frank@example.org", 17);
	CHECK_EQ_MEM(f.secret, f.secret_len, "ya29.tok", 8);
	CHECK_EQ_INT(sasl_parse_oauth(ob, sizeof(ob) - 1, &f), 0);
	CHECK_EQ_MEM(f.user, f.user_len, "grace@example.org", 17);
	CHECK_EQ_MEM(f.secret, f.secret_len, "abc.def", 7);
	CHECK_EQ_INT(sasl_parse_oauth(nothing, sizeof(nothing) - 1, &f), -1);
}

static void test_sasl_parse_scram(void)
{
	/* RFC 5802 section 5 example client-first-message. */
	static const char first[] = "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL";
	static const char authzid[] = "n,a=admin,n=heidi,r=abc";
	struct sasl_fields f;

	CHECK_EQ_INT(sasl_parse_scram_first(u8(first), strlen(first), &f), 0);
	CHECK_EQ_MEM(f.user, f.user_len, "user", 4);
	CHECK_EQ_INT(sasl_parse_scram_first(u8(authzid), strlen(authzid), &f), 0);
	CHECK_EQ_MEM(f.user, f.user_len, "heidi", 5);
	CHECK_EQ_INT(sasl_parse_scram_first(u8("c=biws,r=x,p=y"), 14, &f), -1);
	CHECK_EQ_INT(sasl_parse_scram_first(u8("n,,"), 3, &f), -1);
}

/* Writes one of the 8-byte *Fields descriptors of MS-NLMP 2.2.1.3: length, maximum length, offset. */
static void put_field(uint8_t *msg, size_t at, uint16_t len, uint32_t offset)
{
	msg[at] = (uint8_t)len;
	msg[at + 1] = (uint8_t)(len >> 8);
	msg[at + 2] = (uint8_t)len;
	msg[at + 3] = (uint8_t)(len >> 8);
	for (int i = 0; i < 4; i++)
		msg[at + 4 + (size_t)i] = (uint8_t)(offset >> (8 * i));
}

/* Builds an AUTHENTICATE message; unicode strings are written as UTF-16LE of ASCII. */
static size_t build_ntlm_type3(uint8_t *msg, const char *domain, const char *user, bool unicode)
{
	static const uint8_t sig[12] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 3, 0, 0, 0};
	size_t pos = 64;
	size_t dlen = strlen(domain) * (unicode ? 2 : 1);
	size_t ulen = strlen(user) * (unicode ? 2 : 1);

	memset(msg, 0, 256);
	memcpy(msg, sig, sizeof(sig));
	put_field(msg, 12, 24, (uint32_t)(pos + dlen + ulen));	 /* LM response */
	put_field(msg, 20, 24, (uint32_t)(pos + dlen + ulen + 24)); /* NT response */
	put_field(msg, 28, (uint16_t)dlen, (uint32_t)pos);
	put_field(msg, 36, (uint16_t)ulen, (uint32_t)(pos + dlen));
	put_field(msg, 44, 0, (uint32_t)(pos + dlen + ulen + 48));
	put_field(msg, 52, 0, (uint32_t)(pos + dlen + ulen + 48));
	msg[60] = unicode ? 0x01 : 0x02; /* NTLMSSP_NEGOTIATE_UNICODE or NTLM_NEGOTIATE_OEM */
	msg[61] = 0x02;			 /* NTLMSSP_NEGOTIATE_NTLM */
	for (const char *p = domain; *p; p++) {
		msg[pos++] = (uint8_t)*p;
		if (unicode)
			msg[pos++] = 0;
	}
	for (const char *p = user; *p; p++) {
		msg[pos++] = (uint8_t)*p;
		if (unicode)
			msg[pos++] = 0;
	}
	memset(msg + pos, 0xab, 48);
	return pos + 48;
}

static void test_sasl_ntlm_unicode_and_oem(void)
{
	uint8_t msg[256];
	uint8_t user[64];
	size_t n;
	size_t len;

	len = build_ntlm_type3(msg, "EXAMPLE", "ivan", true);
	CHECK_EQ_INT(sasl_parse_ntlm_type3(msg, len, user, sizeof(user), &n), 0);
	CHECK_EQ_MEM(user, n, "EXAMPLE\\ivan", 12);

	len = build_ntlm_type3(msg, "WORKGROUP", "judy", false);
	CHECK_EQ_INT(sasl_parse_ntlm_type3(msg, len, user, sizeof(user), &n), 0);
	CHECK_EQ_MEM(user, n, "WORKGROUP\\judy", 14);

	len = build_ntlm_type3(msg, "", "kim", true);
	CHECK_EQ_INT(sasl_parse_ntlm_type3(msg, len, user, sizeof(user), &n), 0);
	CHECK_EQ_MEM(user, n, "kim", 3);
}

static void test_sasl_ntlm_utf16_surrogates(void)
{
	/* "ü" (U+00FC), then U+1F600 as the pair D83D DE00, then a lone low surrogate. */
	static const uint8_t name[] = {0xfc, 0x00, 0x3d, 0xd8, 0x00, 0xde, 0x00, 0xdc};
	static const uint8_t expected[] = {0xc3, 0xbc, 0xf0, 0x9f, 0x98, 0x80, 0xef, 0xbf, 0xbd};
	uint8_t msg[256];
	uint8_t user[64];
	size_t n;
	size_t len = build_ntlm_type3(msg, "", "abcd", true);

	memcpy(msg + 64, name, sizeof(name));
	CHECK_EQ_INT(sasl_parse_ntlm_type3(msg, len, user, sizeof(user), &n), 0);
	CHECK_EQ_MEM(user, n, expected, sizeof(expected));
}

static void test_sasl_ntlm_lying_fields(void)
{
	uint8_t msg[256];
	uint8_t user[64];
	size_t n;
	size_t len = build_ntlm_type3(msg, "EXAMPLE", "ivan", true);

	/* User name offset past the end. */
	put_field(msg, 36, 8, 0xfffffff0u);
	CHECK_EQ_INT(sasl_parse_ntlm_type3(msg, len, user, sizeof(user), &n), -1);
	/* Length running past the end. */
	put_field(msg, 36, 0xffff, 64);
	CHECK_EQ_INT(sasl_parse_ntlm_type3(msg, len, user, sizeof(user), &n), -1);
	/* A Type 1 message is not a credential. */
	len = build_ntlm_type3(msg, "EXAMPLE", "ivan", true);
	msg[8] = 1;
	CHECK_EQ_INT(sasl_parse_ntlm_type3(msg, len, user, sizeof(user), &n), -1);
	/* Bad signature. */
	msg[8] = 3;
	msg[0] = 'X';
	CHECK_EQ_INT(sasl_parse_ntlm_type3(msg, len, user, sizeof(user), &n), -1);
	/* Output room of a few bytes: truncated, never overrun. */
	len = build_ntlm_type3(msg, "EXAMPLE", "ivan", true);
	CHECK_EQ_INT(sasl_parse_ntlm_type3(msg, len, user, 5, &n), 0);
	CHECK_EQ_MEM(user, n, "EXAMP", 5);
}

static void test_sasl_ntlm_every_truncation(void)
{
	uint8_t msg[256];
	uint8_t user[64];
	size_t n;
	size_t len = build_ntlm_type3(msg, "EXAMPLE", "ivan", true);

	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *copy = malloc(cut > 0 ? cut : 1);
		int rc;

		memcpy(copy, msg, cut);
		rc = sasl_parse_ntlm_type3(copy, cut, user, sizeof(user), &n);

		/* The strings end at byte 64 + 22; from there on only the responses are missing. */
		if (cut < 64 + 22)
			CHECK_EQ_INT(rc, -1);
		free(copy);
	}
}

static void test_sasl_exchange_plain_redacted(void)
{
	struct fixture f;
	struct sasl_exchange x;
	static const char ir[] = "AGFsaWNlAHMzY3IzdC1Qdw=="; /* "\0alice\0s3cr3t-Pw" */

	fixture_init(&f, false);
	sasl_start(&x, &f.mc, u8("plain"), 5, u8(ir), strlen(ir));
	CHECK_EQ_INT(f.s.mail.auth_count, 1);
	CHECK_EQ_STR(f.s.mail.auth[0].mechanism, "PLAIN");
	check_text(&f.s.mail.auth[0].username, "alice");
	CHECK(f.s.mail.auth[0].password_seen);
	CHECK_EQ_INT(f.s.mail.auth[0].password.len, 0);
	CHECK_EQ_INT(f.s.mail.auth[0].exposure, AUTH_EXPOSURE_CLEARTEXT);
	CHECK(session_has_anomaly(&f.s, ANOMALY_CLEARTEXT_CREDENTIALS));
	CHECK(!session_contains(&f, "s3cr3t-Pw"));
	CHECK_EQ_INT(f.events[EVENT_AUTH_CLEARTEXT], 0);
	sasl_finish(&x, &f.mc, AUTH_RESULT_SUCCESS);
	CHECK_EQ_INT(f.s.mail.auth[0].result, AUTH_RESULT_SUCCESS);
	CHECK_EQ_INT(f.events[EVENT_AUTH_CLEARTEXT], 1);
	CHECK(!sasl_is_active(&x));
	session_release(&f.s);
}

static void test_sasl_exchange_plain_revealed(void)
{
	struct fixture f;
	struct sasl_exchange x;

	fixture_init(&f, true);
	sasl_start(&x, &f.mc, u8("PLAIN"), 5, NULL, 0);
	sasl_server_challenge(&x, &f.mc, u8(""), 0);
	sasl_client_line(&x, &f.mc, u8("YWRtaW4AYm9iAGh1bnRlcjItbWFkZS11cA=="), 36);
	CHECK_EQ_INT(f.s.mail.auth_count, 1);
	check_text(&f.s.mail.auth[0].username, "bob");
	check_text(&f.s.mail.auth[0].password, "hunter2-made-up");
	sasl_finish(&x, &f.mc, AUTH_RESULT_FAILURE);
	CHECK_EQ_INT(f.s.mail.auth[0].result, AUTH_RESULT_FAILURE);
	session_release(&f.s);
}

static void test_sasl_exchange_login(void)
{
	struct fixture f;
	struct sasl_exchange x;

	fixture_init(&f, false);
	sasl_start(&x, &f.mc, u8("LOGIN"), 5, NULL, 0);
	sasl_server_challenge(&x, &f.mc, u8("VXNlcm5hbWU6"), 12);
	sasl_client_line(&x, &f.mc, u8("Y2Fyb2xAZXhhbXBsZS5vcmc="), 24);
	sasl_server_challenge(&x, &f.mc, u8("UGFzc3dvcmQ6"), 12);
	sasl_client_line(&x, &f.mc, u8("VHIwdWI0ZG9yLW1hZGUtdXA="), 24);
	CHECK_EQ_INT(f.s.mail.auth_count, 1);
	check_text(&f.s.mail.auth[0].username, "carol@example.org");
	CHECK(f.s.mail.auth[0].password_seen);
	CHECK(!session_contains(&f, "Tr0ub4dor-made-up"));
	sasl_finish(&x, &f.mc, AUTH_RESULT_SUCCESS);
	session_release(&f.s);
}

static void test_sasl_exchange_login_initial_response(void)
{
	struct fixture f;
	struct sasl_exchange x;

	fixture_init(&f, true);
	sasl_start(&x, &f.mc, u8("LOGIN"), 5, u8("Y2Fyb2xAZXhhbXBsZS5vcmc="), 24);
	CHECK_EQ_INT(f.s.mail.auth_count, 1);
	CHECK(!f.s.mail.auth[0].password_seen);
	sasl_server_challenge(&x, &f.mc, u8("UGFzc3dvcmQ6"), 12);
	sasl_client_line(&x, &f.mc, u8("VHIwdWI0ZG9yLW1hZGUtdXA="), 24);
	check_text(&f.s.mail.auth[0].username, "carol@example.org");
	check_text(&f.s.mail.auth[0].password, "Tr0ub4dor-made-up");
	session_release(&f.s);
}

static void test_sasl_exchange_cancel(void)
{
	struct fixture f;
	struct sasl_exchange x;

	fixture_init(&f, false);
	sasl_start(&x, &f.mc, u8("LOGIN"), 5, NULL, 0);
	sasl_client_line(&x, &f.mc, u8("Y2Fyb2xAZXhhbXBsZS5vcmc="), 24);
	sasl_client_line(&x, &f.mc, u8("*"), 1);
	CHECK(sasl_is_active(&x));
	CHECK_EQ_INT(x.state, SASL_STATE_CANCELLED);
	sasl_client_line(&x, &f.mc, u8("VHIwdWI0ZG9yLW1hZGUtdXA="), 24);
	CHECK(!f.s.mail.auth[0].password_seen);
	sasl_finish(&x, &f.mc, AUTH_RESULT_FAILURE);
	CHECK_EQ_INT(f.s.mail.auth[0].result, AUTH_RESULT_FAILURE);
	session_release(&f.s);
}

static void test_sasl_exchange_crackable(void)
{
	struct fixture f;
	struct sasl_exchange x;
	static const char cram[] = "ZGF2ZSBiOTEzYTYwMmM3ZWRhN2E0OTViNGU2ZTczMzRkMzg5MA==";
	static const char digest[] =
		"Y2hhcnNldD11dGYtOCx1c2VybmFtZT0iZXZlIFwidGhlXCIgdXNlciIscmVhbG09ImV4YW1wbGUub3JnIixub25jZT0iT0E2"
		"TUc5dEVRR20yaGgiLG5jPTAwMDAwMDAxLGNub25jZT0iT0E2TUhYaDZWcVRyUmsiLGRpZ2VzdC11cmk9InNtdHAvbWFpbC5l"
		"eGFtcGxlLm9yZyIscmVzcG9uc2U9ZDM4OGRhZDkwZDRiYmQ3NjBhMTUyMzIxZjIxNDNhZjcscW9wPWF1dGg=";
	static const char scram[] = "biwsbj1oZWlkaSxyPWZ5a28rZDJsYmJGZ09OUnY5cWt4ZGF3TA==";

	fixture_init(&f, false);
	sasl_start(&x, &f.mc, u8("CRAM-MD5"), 8, NULL, 0);
	sasl_server_challenge(&x, &f.mc, u8("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZS5uZXQ+"), 52);
	sasl_client_line(&x, &f.mc, u8(cram), strlen(cram));
	sasl_finish(&x, &f.mc, AUTH_RESULT_SUCCESS);

	sasl_start(&x, &f.mc, u8("DIGEST-MD5"), 10, NULL, 0);
	sasl_server_challenge(&x, &f.mc, u8("cmVhbG09ImV4YW1wbGUub3JnIg=="), 28);
	sasl_client_line(&x, &f.mc, u8(digest), strlen(digest));
	sasl_server_challenge(&x, &f.mc, u8("cnNwYXV0aD0x"), 12);
	sasl_client_line(&x, &f.mc, u8(""), 0);
	sasl_finish(&x, &f.mc, AUTH_RESULT_SUCCESS);

	sasl_start(&x, &f.mc, u8("SCRAM-SHA-1"), 11, u8(scram), strlen(scram));
	sasl_client_line(&x, &f.mc, u8("Yz1iaXdzLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdM"), 44);
	sasl_finish(&x, &f.mc, AUTH_RESULT_FAILURE);

	CHECK_EQ_INT(f.s.mail.auth_count, 3);
	CHECK_EQ_STR(f.s.mail.auth[0].mechanism, "CRAM-MD5");
	check_text(&f.s.mail.auth[0].username, "dave");
	CHECK_EQ_STR(f.s.mail.auth[1].mechanism, "DIGEST-MD5");
	check_text(&f.s.mail.auth[1].username, "eve \"the\" user");
	CHECK_EQ_STR(f.s.mail.auth[2].mechanism, "SCRAM-SHA-1");
	check_text(&f.s.mail.auth[2].username, "heidi");
	CHECK_EQ_INT(f.s.mail.auth[2].result, AUTH_RESULT_FAILURE);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_INT(f.s.mail.auth[i].exposure, AUTH_EXPOSURE_CRACKABLE);
		CHECK(!f.s.mail.auth[i].password_seen);
	}
	CHECK(session_has_anomaly(&f.s, ANOMALY_CHALLENGE_RESPONSE_AUTH_IN_CLEARTEXT));
	CHECK(!session_has_anomaly(&f.s, ANOMALY_CLEARTEXT_CREDENTIALS));
	CHECK_EQ_INT(f.events[EVENT_AUTH_CLEARTEXT], 3);
	session_release(&f.s);
}

static void test_sasl_exchange_tokens(void)
{
	struct fixture f;
	struct sasl_exchange x;
	static const char xo[] = "dXNlcj1mcmFua0BleGFtcGxlLm9yZwFhdXRoPUJlYXJlciB5YTI5Lm1hZGUtdXAtdG9rZW4BAQ==";
	static const char ob[] = "bixhPWdyYWNlQGV4YW1wbGUub3JnLAFob3N0PW1haWwuZXhhbXBsZS5vcmcBcG9ydD01ODcBYXV0aD1CZWFyZXIg"
				 "YWJjLmRlZi5tYWRlLXVwAQE=";

	fixture_init(&f, false);
	sasl_start(&x, &f.mc, u8("XOAUTH2"), 7, u8(xo), strlen(xo));
	/* The client replies to the error challenge with an empty response, then the server fails it. */
	sasl_server_challenge(&x, &f.mc, u8("eyJzdGF0dXMiOiI0MDEifQ=="), 24);
	sasl_client_line(&x, &f.mc, u8(""), 0);
	sasl_finish(&x, &f.mc, AUTH_RESULT_FAILURE);
	sasl_start(&x, &f.mc, u8("OAUTHBEARER"), 11, u8(ob), strlen(ob));
	sasl_finish(&x, &f.mc, AUTH_RESULT_SUCCESS);

	CHECK_EQ_INT(f.s.mail.auth_count, 2);
	check_text(&f.s.mail.auth[0].username, "frank@example.org");
	check_text(&f.s.mail.auth[1].username, "grace@example.org");
	CHECK_EQ_INT(f.s.mail.auth[0].exposure, AUTH_EXPOSURE_TOKEN);
	CHECK_EQ_INT(f.s.mail.auth[1].exposure, AUTH_EXPOSURE_TOKEN);
	CHECK(f.s.mail.auth[0].password_seen);
	CHECK(f.s.mail.auth[1].password_seen);
	CHECK(!session_contains(&f, "ya29.made-up-token"));
	CHECK(!session_contains(&f, "abc.def.made-up"));
	CHECK(session_has_anomaly(&f.s, ANOMALY_BEARER_TOKEN_IN_CLEARTEXT));
	CHECK(!session_has_anomaly(&f.s, ANOMALY_INVALID_BASE64));
	session_release(&f.s);

	fixture_init(&f, true);
	sasl_start(&x, &f.mc, u8("XOAUTH2"), 7, u8(xo), strlen(xo));
	check_text(&f.s.mail.auth[0].password, "ya29.made-up-token");
	session_release(&f.s);
}

static void test_sasl_exchange_no_record(void)
{
	/* GSSAPI, ANONYMOUS and unknown mechanisms follow the exchange and record nothing. */
	static const char *const mechanisms[] = {"GSSAPI", "ANONYMOUS", "X-MADE-UP"};
	struct fixture f;
	struct sasl_exchange x;

	fixture_init(&f, false);
	for (int i = 0; i < 3; i++) {
		sasl_start(&x, &f.mc, u8(mechanisms[i]), strlen(mechanisms[i]), u8("YWdlbnQ="), 8);
		sasl_server_challenge(&x, &f.mc, u8("YIIB"), 4);
		sasl_client_line(&x, &f.mc, u8("YIICoQYJKoZIhvcSAQICAQBuggKQMIICjKADAgEF"), 40);
		CHECK(sasl_is_active(&x));
		sasl_finish(&x, &f.mc, AUTH_RESULT_SUCCESS);
	}
	CHECK_EQ_INT(f.s.mail.auth_count, 0);
	CHECK_EQ_INT(f.s.anomalies, 0);
}

static void test_sasl_exchange_ntlm(void)
{
	struct fixture f;
	struct sasl_exchange x;
	uint8_t msg[256];
	char b64[400];
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = build_ntlm_type3(msg, "EXAMPLE", "ivan", true);
	size_t n = 0;

	/* Encode the message by hand: 3 bytes to 4 characters, '=' padding. */
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)msg[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)msg[i + 1] << 8;
		if (i + 2 < len)
			v |= msg[i + 2];
		b64[n++] = alphabet[(v >> 18) & 63];
		b64[n++] = alphabet[(v >> 12) & 63];
		b64[n++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		b64[n++] = i + 2 < len ? alphabet[v & 63] : '=';
	}
	fixture_init(&f, false);
	/* Type 1 (NEGOTIATE) as initial response, Type 2 challenge, then Type 3. */
	sasl_start(&x, &f.mc, u8("NTLM"), 4, u8("TlRMTVNTUAABAAAAB4IIAAAAAAAAAAAAAAAAAAAAAAA="), 44);
	CHECK_EQ_INT(f.s.mail.auth_count, 0);
	sasl_server_challenge(&x, &f.mc, u8("TlRMTVNTUAACAAAAAAAAAAAAAAA="), 28);
	sasl_client_line(&x, &f.mc, u8(b64), n);
	sasl_finish(&x, &f.mc, AUTH_RESULT_SUCCESS);
	CHECK_EQ_INT(f.s.mail.auth_count, 1);
	CHECK_EQ_STR(f.s.mail.auth[0].mechanism, "NTLM");
	check_text(&f.s.mail.auth[0].username, "EXAMPLE\\ivan");
	CHECK_EQ_INT(f.s.mail.auth[0].exposure, AUTH_EXPOSURE_CRACKABLE);
	session_release(&f.s);
}

static void test_sasl_invalid_base64(void)
{
	struct fixture f;
	struct sasl_exchange x;

	fixture_init(&f, false);
	sasl_start(&x, &f.mc, u8("PLAIN"), 5, u8("not base64!"), 11);
	CHECK(session_has_anomaly(&f.s, ANOMALY_INVALID_BASE64));
	CHECK_EQ_INT(f.s.mail.auth_count, 0);
	sasl_start(&x, &f.mc, u8("PLAIN"), 5, u8("="), 1);
	CHECK_EQ_INT(f.s.mail.auth_count, 0);
	session_release(&f.s);
}

static void test_sasl_record_cap(void)
{
	struct fixture f;
	struct sasl_exchange x;

	fixture_init(&f, false);
	for (int i = 0; i < 40; i++) {
		sasl_start(&x, &f.mc, u8("PLAIN"), 5, u8("AGFsaWNlAHMzY3IzdC1Qdw=="), 24);
		sasl_finish(&x, &f.mc, AUTH_RESULT_FAILURE);
	}
	CHECK_EQ_INT(f.s.mail.auth_count, 16);
	CHECK_EQ_INT(f.s.mail.auth_dropped, 24);
	CHECK_EQ_INT(f.events[EVENT_AUTH_CLEARTEXT], 16);
	session_release(&f.s);
}

static void test_sasl_plain_every_truncation(void)
{
	/* Prefixes of a valid response never crash and never invent a password. */
	static const char ir[] = "AGFsaWNlAHMzY3IzdC1Qdw==";

	for (size_t cut = 0; cut <= strlen(ir); cut++) {
		struct fixture f;
		struct sasl_exchange x;

		fixture_init(&f, true);
		sasl_start(&x, &f.mc, u8("PLAIN"), 5, u8(ir), cut);
		if (f.s.mail.auth_count == 1 && f.s.mail.auth[0].password.len > 0)
			CHECK(memcmp(f.s.mail.auth[0].password.data, "s3cr3t-Pw", f.s.mail.auth[0].password.len) == 0);
		session_release(&f.s);
	}
}

int main(void)
{
	test_sasl_mechanism_names();
	test_sasl_parse_plain();
	test_sasl_parse_cram_md5();
	test_sasl_parse_digest_md5();
	test_sasl_parse_oauth();
	test_sasl_parse_scram();
	test_sasl_ntlm_unicode_and_oem();
	test_sasl_ntlm_utf16_surrogates();
	test_sasl_ntlm_lying_fields();
	test_sasl_ntlm_every_truncation();
	test_sasl_exchange_plain_redacted();
	test_sasl_exchange_plain_revealed();
	test_sasl_exchange_login();
	test_sasl_exchange_login_initial_response();
	test_sasl_exchange_cancel();
	test_sasl_exchange_crackable();
	test_sasl_exchange_tokens();
	test_sasl_exchange_no_record();
	test_sasl_exchange_ntlm();
	test_sasl_invalid_base64();
	test_sasl_record_cap();
	test_sasl_plain_every_truncation();
	return test_finish("test_sasl");
}
