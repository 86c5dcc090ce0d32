/*
 * Rule matching: every operator on every field type, version order (RFC
 * 8446 and RFC 6101 wire values), combinators, thresholds in packet time,
 * message rendering, and the shipped rules on hand-built sessions.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/session.h"
#include "detect/rules.h"
#include "tls/tls_cert.h"
#include "test.h"

#define USEC 1000000ull

/* A submission session from 192.0.2.10:49152 to 198.51.100.25:587 that negotiated TLS 1.3. */
static void session_make_tls13(struct session *s)
{
	memset(s, 0, sizeof(*s));
	s->flow_id = 77;
	s->client.family = 4;
	inet_pton(AF_INET, "192.0.2.10", s->client.addr);
	s->client.port = 49152;
	s->server.family = 4;
	inet_pton(AF_INET, "198.51.100.25", s->server.addr);
	s->server.port = 587;
	s->app_proto = APP_PROTO_SUBMISSION;
	s->mail.starttls.offered = TRISTATE_TRUE;
	s->mail.starttls.attempted = true;
	s->mail.starttls.result = STARTTLS_RESULT_OK;
	s->mail.starttls.reply_code = 220;
	s->tls.client_hello_seen = true;
	s->tls.hello_format = TLS_HELLO_FORMAT_TLS;
	s->tls.record_version = TLS_VERSION_TLS10;
	s->tls.client_legacy_version = TLS_VERSION_TLS12;
	s->tls.client_versions[0] = TLS_VERSION_TLS13;
	s->tls.client_versions[1] = TLS_VERSION_TLS12;
	s->tls.client_versions_count = 2;
	s->tls.client_max_version = TLS_VERSION_TLS13;
	s->tls.client_cipher_count = 17;
	wire_text_set(&s->tls.sni, "mail.example.org", 16);
	s->tls.server_hello_seen = true;
	s->tls.server_legacy_version = TLS_VERSION_TLS12;
	s->tls.version = TLS_VERSION_TLS13;
	s->tls.cipher = 0x1302; /* TLS_AES_256_GCM_SHA384 */
	s->tls.handshake_complete = true;
	s->tls.certificate_not_observable = true;
}

static struct event event_make(const struct session *s, enum event_type type, uint64_t ts, int aux)
{
	struct event ev = {.type = type, .session = s, .ts_usec = ts, .aux = aux};

	return ev;
}

/* Loads one rule for event with the condition text; NULL (and a message) if it does not load. */
static struct rule_set *load_condition(const char *event, const char *condition)
{
	char text[2048];
	struct rule_errors errs;
	struct rule_set *set;

	snprintf(text, sizeof(text),
		 "rules:\n  - id: 1\n    name: t\n    event: %s\n    severity: low\n    when: %s\n", event,
		 condition);
	set = rule_set_load_buffer("case", text, strlen(text), &errs);
	if (set == NULL) {
		fprintf(stderr, "condition %s did not load:\n", condition);
		rule_errors_print(&errs, stderr);
	}
	rule_errors_free(&errs);
	return set;
}

struct condition_case {
	const char *condition;
	bool expected;
};

/* Evaluates each condition against ev and checks the verdict, naming the failing case. */
static void check_conditions(const char *event_name, const struct event *ev,
			     const struct condition_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct rule_set *set = load_condition(event_name, cases[i].condition);
		bool got;

		CHECK(set != NULL);
		if (set == NULL)
			continue;
		got = rule_matches(rule_set_at(set, 0), ev);
		if (got != cases[i].expected)
			fprintf(stderr, "%s on %s: got %d, expected %d\n", cases[i].condition, event_name,
				got, cases[i].expected);
		CHECK(got == cases[i].expected);
		rule_set_free(set);
	}
}

static void test_match_string(void)
{
	static const struct condition_case cases[] = {
		{"{sni: {eq: mail.example.org}}", true},
		{"{sni: mail.example.org}", true},
		{"{sni: {eq: mail.example.or}}", false},
		{"{sni: {ne: smtp.example.org}}", true},
		{"{sni: {ne: mail.example.org}}", false},
		{"{sni: {in: [a.example, mail.example.org]}}", true},
		{"{sni: [a.example, b.example]}", false},
		{"{sni: {not_in: [a.example, b.example]}}", true},
		{"{sni: {not_in: [mail.example.org]}}", false},
		{"{sni: {contains: example}}", true},
		{"{sni: {contains: Example}}", false},
		{"{sni: {regex: \"^mail\\\\.[a-z]+\\\\.org$\"}}", true},
		{"{sni: {regex: \"^smtp\"}}", false},
		{"{sni: {exists: true}}", true},
		{"{sni: {exists: false}}", false},
		{"{app_proto: submission}", true},
		{"{app_proto: {in: [smtp, smtps]}}", false},
		{"{src_ip: 192.0.2.10}", true},
		{"{dest_ip: {regex: \"^198\\\\.51\\\\.100\\\\.\"}}", true},
	};
	struct session s;
	struct event ev;

	session_make_tls13(&s);
	ev = event_make(&s, EVENT_TLS_SERVER_HELLO, 0, 0);
	check_conditions("tls.server_hello", &ev, cases, sizeof(cases) / sizeof(cases[0]));
}

/* A test on a field the event does not carry is false, ne and not_in included. */
static void test_match_absent(void)
{
	static const struct condition_case cases[] = {
		{"{sni: {eq: mail.example.org}}", false},
		{"{sni: {ne: mail.example.org}}", false},
		{"{sni: {not_in: [a.example]}}", false},
		{"{sni: {exists: false}}", true},
		{"{sni: {exists: true}}", false},
		{"{not: {sni: {exists: true}}}", true},
		{"{version: {lt: TLSv1.2}}", false},
		{"{version: {ge: SSLv2}}", false},
		{"{cipher_grade: good}", false},
	};
	struct session s;
	struct event ev;

	memset(&s, 0, sizeof(s));
	s.app_proto = APP_PROTO_SMTPS;
	ev = event_make(&s, EVENT_TLS_SERVER_HELLO, 0, 0);
	check_conditions("tls.server_hello", &ev, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_match_integer(void)
{
	static const struct condition_case cases[] = {
		{"{dest_port: 587}", true},
		{"{dest_port: {eq: 25}}", false},
		{"{dest_port: {ne: 25}}", true},
		{"{dest_port: {in: [25, 587]}}", true},
		{"{dest_port: {not_in: [25, 587]}}", false},
		{"{dest_port: {lt: 588}}", true},
		{"{dest_port: {lt: 587}}", false},
		{"{dest_port: {le: 587}}", true},
		{"{dest_port: {gt: 586}}", true},
		{"{dest_port: {gt: 587}}", false},
		{"{dest_port: {ge: 587}}", true},
		{"{dest_port: {ge: 588}}", false},
		{"{cipher_count: {gt: -1}}", true},
		{"{flow_id: 77}", true},
		{"{src_port: {gt: 1023, lt: 49153}}", true},
	};
	struct session s;
	struct event ev;

	session_make_tls13(&s);
	ev = event_make(&s, EVENT_TLS_CLIENT_HELLO, 0, 0);
	check_conditions("tls.client_hello", &ev, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_match_bool(void)
{
	static const struct condition_case cases[] = {
		{"{fallback_scsv: false}", true},
		{"{fallback_scsv: {eq: true}}", false},
		{"{fallback_scsv: {ne: true}}", true},
		{"{fallback_scsv: {exists: true}}", true},
	};
	struct session s;
	struct event ev;

	session_make_tls13(&s);
	ev = event_make(&s, EVENT_TLS_CLIENT_HELLO, 0, 0);
	check_conditions("tls.client_hello", &ev, cases, sizeof(cases) / sizeof(cases[0]));
}

/* Version conditions against one negotiated version. */
static void check_version(uint16_t version, const struct condition_case *cases, size_t count)
{
	struct session s;
	struct event ev;

	session_make_tls13(&s);
	s.tls.version = version;
	ev = event_make(&s, EVENT_TLS_SERVER_HELLO, 0, 0);
	check_conditions("tls.server_hello", &ev, cases, count);
}

static void test_match_version_order(void)
{
	static const struct condition_case tls11[] = {
		{"{version: {lt: TLSv1.2}}", true},
		{"{version: {le: TLSv1.1}}", true},
		{"{version: {lt: TLSv1.1}}", false},
		{"{version: {gt: TLSv1.0}}", true},
		{"{version: {ge: TLSv1.2}}", false},
		{"{version: {eq: TLSv1.1}}", true},
		{"{version: {ne: TLSv1.1}}", false},
		{"{version: {in: [TLSv1.0, TLSv1.1]}}", true},
		{"{version: {not_in: [TLSv1.0, TLSv1.1]}}", false},
		{"{version: 0x0302}", true},
	};
	static const struct condition_case ssl3[] = {
		{"{version: {lt: TLSv1.0}}", true},
		{"{version: {gt: SSLv2}}", true},
		{"{version: {le: SSLv3}}", true},
		{"{version: {ge: TLSv1.0}}", false},
	};
	static const struct condition_case ssl2[] = {
		{"{version: {lt: SSLv3}}", true},
		{"{version: {le: SSLv3}}", true},
		{"{version: SSLv2}", true},
	};
	/* Draft 28 of TLS 1.3 (0x7f1c) ranks as TLS 1.3 but is not the value 0x0304. */
	static const struct condition_case draft[] = {
		{"{version: {ge: TLSv1.3}}", true},
		{"{version: {le: TLSv1.3}}", true},
		{"{version: {gt: TLSv1.2}}", true},
		{"{version: {lt: TLSv1.2}}", false},
		{"{version: {eq: TLSv1.3}}", false},
		{"{version: {eq: 0x7f1c}}", true},
	};
	/* An unassigned value has no place in the order, so no ordering test holds. */
	static const struct condition_case unknown[] = {
		{"{version: {lt: TLSv1.2}}", false},
		{"{version: {ge: TLSv1.2}}", false},
		{"{version: {ne: TLSv1.2}}", true},
		{"{version: 0x1234}", true},
	};

	check_version(TLS_VERSION_TLS11, tls11, sizeof(tls11) / sizeof(tls11[0]));
	check_version(TLS_VERSION_SSL3, ssl3, sizeof(ssl3) / sizeof(ssl3[0]));
	check_version(TLS_VERSION_SSL2, ssl2, sizeof(ssl2) / sizeof(ssl2[0]));
	check_version(0x7f1c, draft, sizeof(draft) / sizeof(draft[0]));
	check_version(0x1234, unknown, sizeof(unknown) / sizeof(unknown[0]));
}

static void test_match_list(void)
{
	static const struct condition_case cases[] = {
		{"{anomalies: {contains: starttls_stripped}}", true},
		{"{anomalies: starttls_stripped}", true},
		{"{anomalies: {contains: weak_cipher}}", false},
		{"{anomalies: {in: [weak_cipher, cleartext_credentials]}}", true},
		{"{anomalies: {in: [weak_cipher, tcp_gap]}}", false},
		{"{anomalies: {not_in: [weak_cipher, tcp_gap]}}", true},
		{"{anomalies: {not_in: [starttls_stripped]}}", false},
		{"{anomalies: {regex: \"^starttls_\"}}", true},
		{"{anomalies: {regex: \"^tls_\"}}", false},
		{"{anomalies: {exists: true}}", true},
		{"{auth.mechanism: {contains: PLAIN}}", true},
		{"{auth.mechanism: {contains: LOGIN}}", false},
		{"{auth.exposure: {in: [crackable, token]}}", true},
		{"{auth.username: {contains: alice}}", true},
		/* The second user name contains a NUL byte, and the regex also matches the bytes after it. */
		{"{auth.username: {regex: \"tail$\"}}", true},
		{"{auth.username: {regex: \"^b\"}}", true},
		{"{tls.client_versions: {contains: TLSv1.3}}", true},
		{"{tls.client_versions: {contains: TLSv1.1}}", false},
		{"{auth.count: 2}", true},
	};
	struct auth_record auth[2];
	struct session s;
	struct event ev;

	session_make_tls13(&s);
	memset(auth, 0, sizeof(auth));
	snprintf(auth[0].mechanism, sizeof(auth[0].mechanism), "PLAIN");
	wire_text_set(&auth[0].username, "alice", 5);
	auth[0].exposure = AUTH_EXPOSURE_CLEARTEXT;
	snprintf(auth[1].mechanism, sizeof(auth[1].mechanism), "CRAM-MD5");
	wire_text_set(&auth[1].username, "bob\0tail", 8);
	auth[1].exposure = AUTH_EXPOSURE_CRACKABLE;
	s.mail.auth = auth;
	s.mail.auth_count = 2;
	session_add_anomaly(&s, ANOMALY_STARTTLS_STRIPPED);
	session_add_anomaly(&s, ANOMALY_CLEARTEXT_CREDENTIALS);
	ev = event_make(&s, EVENT_SESSION, 0, 0);
	check_conditions("session", &ev, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_match_combinators(void)
{
	static const struct condition_case cases[] = {
		{"{all: [{dest_port: 587}, {sni: mail.example.org}]}", true},
		{"{all: [{dest_port: 587}, {sni: other.example}]}", false},
		{"{any: [{dest_port: 25}, {sni: mail.example.org}]}", true},
		{"{any: [{dest_port: 25}, {sni: other.example}]}", false},
		{"{not: {dest_port: 25}}", true},
		{"{not: {dest_port: 587}}", false},
		{"{dest_port: 587, sni: other.example}", false},
		{"{dest_port: 587, not: {any: [{version: TLSv1.0}, {version: TLSv1.1}]}}", true},
		{"{any: [{not: {cipher_grade: good}}, {all: [{version: TLSv1.3}, {hello_retry_request: false}]}]}",
		 true},
	};
	struct session s;
	struct event ev;

	session_make_tls13(&s);
	ev = event_make(&s, EVENT_TLS_SERVER_HELLO, 0, 0);
	check_conditions("tls.server_hello", &ev, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_match_auth_event(void)
{
	static const struct condition_case cases[] = {
		{"{mechanism: PLAIN, exposure: cleartext, result: success}", true},
		{"{username: {contains: \"carol\"}}", true},
		{"{password_seen: true}", true},
	};
	static const struct condition_case stale[] = {
		{"{mechanism: {exists: false}}", true},
		{"{exposure: cleartext}", false},
	};
	struct auth_record auth;
	struct session s;
	struct event ev;

	session_make_tls13(&s);
	memset(&auth, 0, sizeof(auth));
	snprintf(auth.mechanism, sizeof(auth.mechanism), "PLAIN");
	wire_text_set(&auth.username, "carol", 5);
	auth.password_seen = true;
	auth.result = AUTH_RESULT_SUCCESS;
	s.mail.auth = &auth;
	s.mail.auth_count = 1;
	ev = event_make(&s, EVENT_AUTH_CLEARTEXT, 0, 0);
	check_conditions("auth.cleartext", &ev, cases, sizeof(cases) / sizeof(cases[0]));
	/* An index past the records reads as no record at all. */
	ev = event_make(&s, EVENT_AUTH_CLEARTEXT, 0, 1);
	check_conditions("auth.cleartext", &ev, stale, sizeof(stale) / sizeof(stale[0]));
	ev = event_make(&s, EVENT_AUTH_CLEARTEXT, 0, -1);
	check_conditions("auth.cleartext", &ev, stale, sizeof(stale) / sizeof(stale[0]));
}

struct fired {
	uint32_t ids[64];
	unsigned count;
};

static void record_fired(const struct rule *rule, const struct event *ev, void *ctx)
{
	struct fired *f = ctx;

	(void)ev;
	if (f->count < 64)
		f->ids[f->count++] = rule->id;
}

static unsigned match_count(const struct rule_set *set, struct rule_state *state, const struct event *ev)
{
	struct fired f = {.count = 0};

	rule_set_match(set, state, ev, record_fired, &f);
	return f.count;
}

static struct rule_set *load_threshold(const char *threshold)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "rules:\n  - id: 9\n    name: t\n    event: starttls.stripped\n    severity: low\n"
		 "    threshold: %s\n",
		 threshold);
	return rule_set_load_buffer("threshold", text, strlen(text), NULL);
}

static void test_threshold_limit(void)
{
	struct rule_set *set = load_threshold("{track: by_src, count: 2, seconds: 10}");
	struct rule_state *state = rule_state_new(0);
	struct session a;
	struct session b;
	struct event ev;

	CHECK(set != NULL);
	CHECK(state != NULL);
	if (set == NULL || state == NULL)
		goto out;
	session_make_tls13(&a);
	session_make_tls13(&b);
	inet_pton(AF_INET, "192.0.2.11", b.client.addr);
	ev = event_make(&a, EVENT_STARTTLS_STRIPPED, 100 * USEC, 0);
	CHECK_EQ_INT(match_count(set, state, &ev), 1);
	ev.ts_usec = 101 * USEC;
	CHECK_EQ_INT(match_count(set, state, &ev), 1);
	ev.ts_usec = 109 * USEC;
	CHECK_EQ_INT(match_count(set, state, &ev), 0);
	/* Another client has its own counter. */
	ev = event_make(&b, EVENT_STARTTLS_STRIPPED, 109 * USEC, 0);
	CHECK_EQ_INT(match_count(set, state, &ev), 1);
	/* Packet time stepping back stays in the current window. */
	ev = event_make(&a, EVENT_STARTTLS_STRIPPED, 50 * USEC, 0);
	CHECK_EQ_INT(match_count(set, state, &ev), 0);
	ev.ts_usec = 110 * USEC - 1;
	CHECK_EQ_INT(match_count(set, state, &ev), 0);
	/* Ten seconds after the window opened, a new window starts. */
	ev.ts_usec = 110 * USEC;
	CHECK_EQ_INT(match_count(set, state, &ev), 1);
	/* Without a state, thresholds are ignored. */
	CHECK_EQ_INT(match_count(set, NULL, &ev), 1);
out:
	rule_state_free(state);
	rule_set_free(set);
}

static void test_threshold_every_nth(void)
{
	struct rule_set *set = load_threshold("{track: by_dst, count: 3, seconds: 60, type: threshold}");
	struct rule_state *state = rule_state_new(0);
	unsigned pattern[7];
	struct session s;
	struct event ev;

	CHECK(set != NULL);
	CHECK(state != NULL);
	if (set == NULL || state == NULL)
		goto out;
	session_make_tls13(&s);
	for (unsigned i = 0; i < 7; i++) {
		ev = event_make(&s, EVENT_STARTTLS_STRIPPED, (1 + i) * USEC, 0);
		pattern[i] = match_count(set, state, &ev);
	}
	for (unsigned i = 0; i < 7; i++)
		CHECK_EQ_INT(pattern[i], (i + 1) % 3 == 0 ? 1 : 0);
out:
	rule_state_free(state);
	rule_set_free(set);
}

static void test_threshold_both(void)
{
	struct rule_set *set = load_threshold("{track: global, count: 2, seconds: 5, type: both}");
	struct rule_state *state = rule_state_new(0);
	struct session a;
	struct session b;
	struct event ev;

	CHECK(set != NULL);
	CHECK(state != NULL);
	if (set == NULL || state == NULL)
		goto out;
	session_make_tls13(&a);
	session_make_tls13(&b);
	b.flow_id = 78;
	inet_pton(AF_INET, "203.0.113.9", b.client.addr);
	/* global: different clients share the counter. */
	ev = event_make(&a, EVENT_STARTTLS_STRIPPED, 1 * USEC, 0);
	CHECK_EQ_INT(match_count(set, state, &ev), 0);
	ev = event_make(&b, EVENT_STARTTLS_STRIPPED, 2 * USEC, 0);
	CHECK_EQ_INT(match_count(set, state, &ev), 1);
	ev.ts_usec = 3 * USEC;
	CHECK_EQ_INT(match_count(set, state, &ev), 0);
	ev.ts_usec = 6 * USEC;
	CHECK_EQ_INT(match_count(set, state, &ev), 0);
	ev.ts_usec = 7 * USEC;
	CHECK_EQ_INT(match_count(set, state, &ev), 1);
out:
	rule_state_free(state);
	rule_set_free(set);
}

static void test_threshold_by_flow(void)
{
	struct rule_set *set = load_threshold("{track: by_flow, count: 1, seconds: 3600}");
	struct rule_state *state = rule_state_new(0);
	struct session a;
	struct session b;
	struct event ev;

	CHECK(set != NULL);
	CHECK(state != NULL);
	if (set == NULL || state == NULL)
		goto out;
	session_make_tls13(&a);
	session_make_tls13(&b);
	b.flow_id = 78;
	ev = event_make(&a, EVENT_STARTTLS_STRIPPED, 1 * USEC, 0);
	CHECK_EQ_INT(match_count(set, state, &ev), 1);
	CHECK_EQ_INT(match_count(set, state, &ev), 0);
	ev = event_make(&b, EVENT_STARTTLS_STRIPPED, 1 * USEC, 0);
	CHECK_EQ_INT(match_count(set, state, &ev), 1);
out:
	rule_state_free(state);
	rule_set_free(set);
}

/* A table of 4 entries is one bucket: the fifth key evicts the least recently used one. */
static void test_threshold_eviction(void)
{
	struct rule_set *set = load_threshold("{track: by_src, count: 1, seconds: 3600}");
	struct rule_state *state = rule_state_new(4);
	struct session s;
	struct event ev;

	CHECK(set != NULL);
	CHECK(state != NULL);
	if (set == NULL || state == NULL)
		goto out;
	session_make_tls13(&s);
	for (uint8_t i = 1; i <= 5; i++) {
		s.client.addr[3] = i;
		ev = event_make(&s, EVENT_STARTTLS_STRIPPED, i * USEC, 0);
		CHECK_EQ_INT(match_count(set, state, &ev), 1);
	}
	CHECK_EQ_INT(rule_state_evictions(state), 1);
	/* Client .1 was evicted, so its next match alerts again; .5 is still suppressed. */
	s.client.addr[3] = 5;
	ev = event_make(&s, EVENT_STARTTLS_STRIPPED, 10 * USEC, 0);
	CHECK_EQ_INT(match_count(set, state, &ev), 0);
	s.client.addr[3] = 1;
	ev = event_make(&s, EVENT_STARTTLS_STRIPPED, 11 * USEC, 0);
	CHECK_EQ_INT(match_count(set, state, &ev), 1);
out:
	rule_state_free(state);
	rule_set_free(set);
}

static void test_match_index_and_disabled(void)
{
	static const char text[] = "rules:\n"
				   "  - {id: 1, name: a, event: starttls.stripped, severity: low}\n"
				   "  - {id: 2, name: b, event: starttls.refused, severity: low}\n"
				   "  - {id: 3, name: c, event: starttls.stripped, severity: low, enabled: false}\n"
				   "  - {id: 4, name: d, event: starttls.stripped, severity: low}\n";
	struct rule_set *set = rule_set_load_buffer("index", text, strlen(text), NULL);
	struct fired f = {.count = 0};
	struct session s;
	struct event ev;

	CHECK(set != NULL);
	if (set == NULL)
		return;
	session_make_tls13(&s);
	ev = event_make(&s, EVENT_STARTTLS_STRIPPED, 0, 0);
	CHECK_EQ_INT(rule_set_match(set, NULL, &ev, record_fired, &f), 2);
	CHECK_EQ_INT(f.count, 2);
	CHECK_EQ_INT(f.ids[0], 1);
	CHECK_EQ_INT(f.ids[1], 4);
	ev.type = EVENT_TYPE_COUNT;
	CHECK_EQ_INT(rule_set_match(set, NULL, &ev, record_fired, &f), 0);
	rule_set_free(set);
}

static void test_render_message(void)
{
	static const char text[] =
		"rules:\n"
		"  - id: 1\n"
		"    name: t\n"
		"    event: auth.cleartext\n"
		"    severity: low\n"
		"    message: \"{{{mechanism}}} for {username} {src_ip}:{src_port} -> {dest_ip} {anomalies} {app_proto}\"\n";
	struct rule_set *set = rule_set_load_buffer("render", text, strlen(text), NULL);
	struct auth_record auth;
	struct session s;
	struct event ev;
	char buf[256];
	size_t len;

	CHECK(set != NULL);
	if (set == NULL)
		return;
	session_make_tls13(&s);
	s.server.family = 6;
	inet_pton(AF_INET6, "2001:db8::25", s.server.addr);
	session_add_anomaly(&s, ANOMALY_CLEARTEXT_CREDENTIALS);
	session_add_anomaly(&s, ANOMALY_TCP_GAP);
	memset(&auth, 0, sizeof(auth));
	snprintf(auth.mechanism, sizeof(auth.mechanism), "LOGIN");
	wire_text_set(&auth.username, "dave\r\n\x1b[31m\\", 12);
	s.mail.auth = &auth;
	s.mail.auth_count = 1;
	ev = event_make(&s, EVENT_AUTH_CLEARTEXT, 0, 0);
	len = rule_render_message(rule_set_at(set, 0), &ev, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "{LOGIN} for dave\\x0D\\x0A\\x1B[31m\\x5C 192.0.2.10:49152 -> 2001:db8::25 "
			  "cleartext_credentials,tcp_gap submission");
	CHECK_EQ_INT(len, strlen(buf));
	/* A small buffer cuts the text and keeps it terminated; escapes are never split. */
	len = rule_render_message(rule_set_at(set, 0), &ev, buf, 20);
	CHECK_EQ_STR(buf, "{LOGIN} for dave");
	CHECK_EQ_INT(len, 16);
	len = rule_render_message(rule_set_at(set, 0), &ev, buf, 1);
	CHECK_EQ_STR(buf, "");
	CHECK_EQ_INT(len, 0);
	/* An absent field renders as "-". */
	s.mail.auth_count = 0;
	rule_render_message(rule_set_at(set, 0), &ev, buf, sizeof(buf));
	CHECK(strncmp(buf, "{-} for - ", 10) == 0);
	rule_set_free(set);
}

/* Finds the rules path from this file's path, which CMake passes to the compiler whole. */
static struct rule_set *load_default_rules(void)
{
	const char *tail = strstr(__FILE__, "tests/unit/");
	int dir_len = tail != NULL ? (int)(tail - __FILE__) : 0;
	struct rule_errors errs;
	struct rule_set *set;
	char path[1024];

	snprintf(path, sizeof(path), "%.*srules/default.yaml", dir_len, __FILE__);
	set = rule_set_load(path, &errs);
	if (set == NULL)
		rule_errors_print(&errs, stderr);
	rule_errors_free(&errs);
	return set;
}

/* Runs the default rules on one event and checks the ids that fire, in order. */
static void check_default_fires(const struct rule_set *set, const struct event *ev, const uint32_t *want,
				unsigned want_count)
{
	struct fired f = {.count = 0};

	rule_set_match(set, NULL, ev, record_fired, &f);
	CHECK_EQ_INT(f.count, want_count);
	for (unsigned i = 0; i < f.count && i < want_count; i++)
		CHECK_EQ_INT(f.ids[i], want[i]);
	if (f.count != want_count) {
		fprintf(stderr, "%s fired:", event_type_name(ev->type));
		for (unsigned i = 0; i < f.count; i++)
			fprintf(stderr, " %u", f.ids[i]);
		fprintf(stderr, "\n");
	}
}

static void test_default_rules_clean_tls13(const struct rule_set *set)
{
	static const enum event_type raised[] = {EVENT_TLS_CLIENT_HELLO, EVENT_TLS_SERVER_HELLO,
						 EVENT_TLS_CERTIFICATE, EVENT_SESSION};
	struct session s;

	session_make_tls13(&s);
	for (size_t i = 0; i < sizeof(raised) / sizeof(raised[0]); i++) {
		struct event ev = event_make(&s, raised[i], 0, 0);

		check_default_fires(set, &ev, NULL, 0);
	}
}

static void test_default_rules_tls10(const struct rule_set *set)
{
	/* 0x002F is CBC with an SHA-1 MAC, graded weak, so 1021 fires as well. */
	static const uint32_t server_ids[] = {1010, 1021};
	static const uint32_t client_ids[] = {1011};
	struct session s;
	struct event ev;
	char buf[256];

	session_make_tls13(&s);
	s.tls.client_versions_count = 0;
	s.tls.client_legacy_version = TLS_VERSION_TLS10;
	s.tls.client_max_version = TLS_VERSION_TLS10;
	s.tls.version = TLS_VERSION_TLS10;
	s.tls.server_legacy_version = TLS_VERSION_TLS10;
	s.tls.cipher = 0x002f; /* TLS_RSA_WITH_AES_128_CBC_SHA */
	ev = event_make(&s, EVENT_TLS_SERVER_HELLO, 0, 0);
	check_default_fires(set, &ev, server_ids, 2);
	if (rule_set_find(set, 1021) != NULL) {
		rule_render_message(rule_set_find(set, 1021), &ev, buf, sizeof(buf));
		CHECK_EQ_STR(buf, "198.51.100.25:587 negotiated TLS_RSA_WITH_AES_128_CBC_SHA with 192.0.2.10");
	}
	ev = event_make(&s, EVENT_TLS_CLIENT_HELLO, 0, 0);
	check_default_fires(set, &ev, client_ids, 1);
}

static void test_default_rules_sslv2(const struct rule_set *set)
{
	static const uint32_t hello_ids[] = {1002, 1003};
	/* Every SSL 2.0 cipher kind is insecure, so the cipher rule fires too. */
	static const uint32_t server_ids[] = {1001, 1020};
	struct session s;
	struct event ev;

	session_make_tls13(&s);
	s.tls.hello_format = TLS_HELLO_FORMAT_SSLV2;
	s.tls.client_versions_count = 0;
	s.tls.client_legacy_version = TLS_VERSION_SSL2;
	s.tls.client_max_version = TLS_VERSION_SSL2;
	s.tls.version = TLS_VERSION_SSL2;
	ev = event_make(&s, EVENT_TLS_CLIENT_HELLO, 0, 0);
	check_default_fires(set, &ev, hello_ids, 2);
	ev = event_make(&s, EVENT_TLS_SERVER_HELLO, 0, 0);
	check_default_fires(set, &ev, server_ids, 2);
}

static void test_default_rules_plain(const struct rule_set *set)
{
	static const uint32_t ids[] = {1030};
	struct auth_record auth;
	struct session s;
	struct event ev;
	char buf[512];

	session_make_tls13(&s);
	memset(&s.tls, 0, sizeof(s.tls));
	s.app_proto = APP_PROTO_SMTP;
	s.server.port = 25;
	s.mail.starttls.offered = TRISTATE_FALSE;
	s.mail.starttls.attempted = false;
	s.mail.starttls.result = STARTTLS_RESULT_NONE;
	memset(&auth, 0, sizeof(auth));
	snprintf(auth.mechanism, sizeof(auth.mechanism), "PLAIN");
	wire_text_set(&auth.username, "erin", 4);
	auth.password_seen = true;
	auth.exposure = AUTH_EXPOSURE_CLEARTEXT;
	auth.result = AUTH_RESULT_SUCCESS;
	s.mail.auth = &auth;
	s.mail.auth_count = 1;
	session_add_anomaly(&s, ANOMALY_CLEARTEXT_CREDENTIALS);
	ev = event_make(&s, EVENT_AUTH_CLEARTEXT, 0, 0);
	check_default_fires(set, &ev, ids, 1);
	if (rule_set_find(set, 1030) != NULL) {
		rule_render_message(rule_set_find(set, 1030), &ev, buf, sizeof(buf));
		CHECK_EQ_STR(buf, "192.0.2.10 sent the password of \"erin\" in clear text to "
				  "198.51.100.25:25 (smtp PLAIN, result success)");
	}
}

static void test_default_rules_stripped(const struct rule_set *set)
{
	static const uint32_t ids[] = {1040};
	struct session s;
	struct event ev;

	session_make_tls13(&s);
	memset(&s.tls, 0, sizeof(s.tls));
	s.mail.starttls.offered = TRISTATE_UNKNOWN;
	s.mail.starttls.attempted = false;
	s.mail.starttls.result = STARTTLS_RESULT_NONE;
	session_add_anomaly(&s, ANOMALY_STARTTLS_STRIPPED);
	ev = event_make(&s, EVENT_STARTTLS_STRIPPED, 0, 0);
	check_default_fires(set, &ev, ids, 1);
}

static void test_default_rules_injection(const struct rule_set *set)
{
	static const uint32_t command_ids[] = {1042};
	static const uint32_t response_ids[] = {1043};
	struct session s;
	struct event ev;

	session_make_tls13(&s);
	ev = event_make(&s, EVENT_STARTTLS_INJECTION, 0, DIR_TO_SERVER);
	check_default_fires(set, &ev, command_ids, 1);
	ev = event_make(&s, EVENT_STARTTLS_INJECTION, 0, DIR_TO_CLIENT);
	check_default_fires(set, &ev, response_ids, 1);
}


/* Runs the default rules on one event of a session and checks that exactly rule want fires. */
static void check_default_one(const struct rule_set *set, const struct session *s, enum event_type type,
			      int aux, uint32_t want)
{
	struct event ev = event_make(s, type, 0, aux);

	check_default_fires(set, &ev, &want, 1);
}

static void test_default_rules_ciphers(const struct rule_set *set)
{
	struct session s;

	session_make_tls13(&s);
	s.tls.version = TLS_VERSION_TLS12;
	s.tls.client_max_version = TLS_VERSION_TLS12;
	s.tls.cipher = 0x0005; /* TLS_RSA_WITH_RC4_128_SHA, prohibited by RFC 7465 */
	check_default_one(set, &s, EVENT_TLS_SERVER_HELLO, 0, 1020);
	s.tls.cipher = 0x000a; /* TLS_RSA_WITH_3DES_EDE_CBC_SHA */
	check_default_one(set, &s, EVENT_TLS_SERVER_HELLO, 0, 1021);
	/* TLS 1.2 with an AEAD suite is only noted when the client offered TLS 1.3. */
	s.tls.cipher = 0xc02f;
	check_default_fires(set, &(struct event){.type = EVENT_TLS_SERVER_HELLO, .session = &s}, NULL, 0);
	s.tls.client_max_version = TLS_VERSION_TLS13;
	check_default_one(set, &s, EVENT_TLS_SERVER_HELLO, 0, 1012);
}

static void test_default_rules_credentials(const struct rule_set *set)
{
	struct auth_record auth;
	struct session s;

	session_make_tls13(&s);
	memset(&auth, 0, sizeof(auth));
	snprintf(auth.mechanism, sizeof(auth.mechanism), "CRAM-MD5");
	wire_text_set(&auth.username, "heidi", 5);
	auth.exposure = AUTH_EXPOSURE_CRACKABLE;
	s.mail.auth = &auth;
	s.mail.auth_count = 1;
	check_default_one(set, &s, EVENT_AUTH_CLEARTEXT, 0, 1031);
	snprintf(auth.mechanism, sizeof(auth.mechanism), "XOAUTH2");
	auth.exposure = AUTH_EXPOSURE_TOKEN;
	check_default_one(set, &s, EVENT_AUTH_CLEARTEXT, 0, 1032);
}

static void test_default_rules_starttls(const struct rule_set *set)
{
	struct session s;

	session_make_tls13(&s);
	memset(&s.tls, 0, sizeof(s.tls));
	s.mail.starttls.result = STARTTLS_RESULT_REFUSED;
	s.mail.starttls.reply_code = 454;
	check_default_one(set, &s, EVENT_STARTTLS_REFUSED, 0, 1041);
	s.mail.starttls.result = STARTTLS_RESULT_NO_HANDSHAKE;
	check_default_one(set, &s, EVENT_STARTTLS_NO_HANDSHAKE, 0, 1044);
	s.mail.starttls.attempted = false;
	s.mail.starttls.result = STARTTLS_RESULT_NONE;
	session_add_anomaly(&s, ANOMALY_STARTTLS_NOT_USED);
	check_default_one(set, &s, EVENT_SESSION, 0, 1045);
	s.anomalies = 0;
	s.mail.starttls.offered = TRISTATE_FALSE;
	session_add_anomaly(&s, ANOMALY_STARTTLS_NOT_OFFERED);
	check_default_one(set, &s, EVENT_SESSION, 0, 1046);
}

static void test_default_rules_tls_failures(const struct rule_set *set)
{
	struct tls_cert_summary cert;
	struct session s;

	session_make_tls13(&s);
	s.app_proto = APP_PROTO_IMAPS;
	s.server.port = 993;
	memset(&s.tls, 0, sizeof(s.tls));
	session_add_anomaly(&s, ANOMALY_PLAINTEXT_ON_TLS_PORT);
	check_default_one(set, &s, EVENT_TLS_PLAINTEXT_ON_TLS_PORT, 0, 1050);

	session_make_tls13(&s);
	s.tls.server_hello_seen = false;
	session_add_anomaly(&s, ANOMALY_TLS_HANDSHAKE_FAILED);
	check_default_one(set, &s, EVENT_SESSION, 0, 1070);

	session_make_tls13(&s);
	s.tls.version = TLS_VERSION_TLS12;
	s.tls.client_max_version = TLS_VERSION_TLS12;
	s.tls.cipher = 0xc02f;
	s.tls.certificate_not_observable = false;
	memset(&cert, 0, sizeof(cert));
	cert.chain_checked = true;
	cert.chain_valid = false;
	snprintf(cert.chain_error, sizeof(cert.chain_error), "certificate has expired");
	s.tls.cert = &cert;
	check_default_one(set, &s, EVENT_TLS_CERTIFICATE, 0, 1060);
	cert.chain_valid = true;
	check_default_fires(set, &(struct event){.type = EVENT_TLS_CERTIFICATE, .session = &s}, NULL, 0);
}

static void test_default_rules(void)
{
	struct rule_set *set = load_default_rules();

	CHECK(set != NULL);
	if (set == NULL)
		return;
	for (size_t i = 0; i < rule_set_count(set); i++) {
		const struct rule *r = rule_set_at(set, i);

		CHECK(r->id >= 1000);
		CHECK(r->id <= 1999);
		CHECK(r->description[0] != '\0');
		CHECK(strncmp(r->reference, "RFC ", 4) == 0);
	}
	test_default_rules_clean_tls13(set);
	test_default_rules_tls10(set);
	test_default_rules_sslv2(set);
	test_default_rules_plain(set);
	test_default_rules_stripped(set);
	test_default_rules_injection(set);
	test_default_rules_ciphers(set);
	test_default_rules_credentials(set);
	test_default_rules_starttls(set);
	test_default_rules_tls_failures(set);
	rule_set_free(set);
}

int main(void)
{
	test_match_string();
	test_match_absent();
	test_match_integer();
	test_match_bool();
	test_match_version_order();
	test_match_list();
	test_match_combinators();
	test_match_auth_event();
	test_threshold_limit();
	test_threshold_every_nth();
	test_threshold_both();
	test_threshold_by_flow();
	test_threshold_eviction();
	test_match_index_and_disabled();
	test_render_message();
	test_default_rules();
	return test_finish("test_rules_match");
}
