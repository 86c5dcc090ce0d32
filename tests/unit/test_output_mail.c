/*
 * The session record's "mail" object and evidence.history as docs/output.md
 * describes them: capability lists of every protocol, their truncation
 * flag, and the APOP greeting counts of POP3 servers.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/session.h"
#include "output/json.h"
#include "output/session_json.h"
#include "test.h"

static void make_session(struct session *s, enum app_proto proto, uint16_t port)
{
	memset(s, 0, sizeof(*s));
	s->client.family = 4;
	s->server.family = 4;
	s->server.port = port;
	s->app_proto = proto;
	s->mail.starttls.offered = TRISTATE_UNKNOWN;
}

/* Writes the session record into jb and returns its text. */
static const char *write_record(struct json_builder *jb, const struct session *s)
{
	json_reset(jb);
	session_write_json(s, false, jb);
	CHECK(!jb->failed);
	return jb->buf;
}

static void test_pop3_capabilities_listed(void)
{
	static const char list[] = "TOP\nUIDL\nSTLS\nSASL PLAIN LOGIN";
	struct json_builder jb;
	struct session s;

	json_init(&jb);
	make_session(&s, APP_PROTO_POP3, 110);
	wire_text_set(&s.mail.capabilities, list, strlen(list));
	CHECK(strstr(write_record(&jb, &s), "\"mail\":{\"capabilities\":[\"TOP\",\"UIDL\",\"STLS\",\"SASL PLAIN LOGIN\"]}") !=
	      NULL);
	json_free(&jb);
}

static void test_imap_capabilities_truncated(void)
{
	static const char list[] = "IMAP4rev1\nSTARTTLS";
	struct json_builder jb;
	struct session s;

	json_init(&jb);
	make_session(&s, APP_PROTO_IMAP, 143);
	wire_text_set(&s.mail.capabilities, list, strlen(list));
	s.mail.capabilities.truncated = true;
	CHECK(strstr(write_record(&jb, &s),
		     "\"mail\":{\"capabilities\":[\"IMAP4rev1\",\"STARTTLS\"],\"capabilities_truncated\":true}") != NULL);

	/* A list cut before its first entry is still marked truncated. */
	s.mail.capabilities.len = 0;
	CHECK(strstr(write_record(&jb, &s), "\"mail\":{\"capabilities\":[],\"capabilities_truncated\":true}") != NULL);
	json_free(&jb);
}

static void test_history_apop_counts(void)
{
	struct json_builder jb;
	struct session s;
	const char *text;

	json_init(&jb);
	make_session(&s, APP_PROTO_POP3, 110);
	s.evidence.history.known = true;
	s.evidence.history.sessions = 3;
	s.evidence.history.apop_offered = 2;
	s.evidence.history.apop_not_offered = 1;
	session_add_anomaly(&s, ANOMALY_APOP_TIMESTAMP_STRIPPED);
	text = write_record(&jb, &s);
	CHECK(strstr(text, "\"history\":{\"sessions\":3,\"starttls_offered\":0,\"starttls_not_offered\":0,"
			   "\"apop_offered\":2,\"apop_not_offered\":1}") != NULL);
	CHECK(strstr(text, "\"anomalies\":[\"apop_timestamp_stripped\"]") != NULL);

	/* A server without POP3 greetings gets no APOP counts. */
	make_session(&s, APP_PROTO_SMTP, 25);
	s.evidence.history.known = true;
	s.evidence.history.sessions = 1;
	s.evidence.history.starttls_offered = 1;
	text = write_record(&jb, &s);
	CHECK(strstr(text, "\"history\":{\"sessions\":1,\"starttls_offered\":1,\"starttls_not_offered\":0}") != NULL);
	CHECK(strstr(text, "apop") == NULL);
	json_free(&jb);
}

int main(void)
{
	test_pop3_capabilities_listed();
	test_imap_capabilities_truncated();
	test_history_apop_counts();
	return test_finish("test_output_mail");
}
