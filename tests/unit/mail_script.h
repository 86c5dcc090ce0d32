/*
 * Script runner for mail protocol tests: a conversation written as
 * {direction, text} turns is fed through the real application dispatcher
 * (app_analyzer_*) into a real struct session, whole, in pieces of any size,
 * or cut after any number of bytes. Include after test.h.
 */
#ifndef MAILTAP_TEST_MAIL_SCRIPT_H
#define MAILTAP_TEST_MAIL_SCRIPT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "core/config.h"
#include "core/session.h"
#include "tls/tls.h"

struct script_turn {
	enum direction dir;
	const char *text;
	size_t len;
};

#define CLIENT(s) {DIR_TO_SERVER, (s), sizeof(s) - 1}
#define SERVER(s) {DIR_TO_CLIENT, (s), sizeof(s) - 1}
#define TURNS(a) (a), (sizeof(a) / sizeof((a)[0]))

struct script_run {
	struct session s;
	struct mailtap_config cfg;
	struct event_sink sink;
	int events[EVENT_TYPE_COUNT];
	int last_aux[EVENT_TYPE_COUNT];
	bool done; /* app_analyzer_is_done() after the last byte */
};

/* How a script is run. */
struct script_options {
	enum app_proto proto;
	bool reveal;
	enum session_end end; /* how the connection ended; SESSION_END_OPEN for a cut capture */
	size_t step;	      /* feed pieces of this many bytes; 0 feeds each turn whole */
	size_t limit;	      /* stop after this many bytes in total; SIZE_MAX for all */
	int gap_turn;	      /* signal a gap of gap_len bytes before this turn; -1 for none */
	uint64_t gap_len;
};

static struct tls_context *script_tls_context;

static inline void script_count_event(void *ctx, const struct event *ev)
{
	struct script_run *r = ctx;

	r->events[ev->type]++;
	r->last_aux[ev->type] = ev->aux;
}

static inline struct script_options script_defaults(enum app_proto proto)
{
	struct script_options o;

	memset(&o, 0, sizeof(o));
	o.proto = proto;
	o.end = SESSION_END_FIN;
	o.limit = SIZE_MAX;
	o.gap_turn = -1;
	return o;
}

static inline size_t script_total(const struct script_turn *turns, size_t n)
{
	size_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += turns[i].len;
	return total;
}

/* Feeds one turn, in pieces of o->step bytes, stopping at *budget bytes. */
static inline void script_feed_turn(struct app_analyzer *a, const struct script_turn *t, const struct script_options *o,
			     size_t *budget)
{
	size_t len = t->len < *budget ? t->len : *budget;
	size_t pos = 0;

	while (pos < len) {
		size_t n = o->step == 0 || o->step > len - pos ? len - pos : o->step;
		/* A private copy, so a read past the piece shows up under ASan. */
		uint8_t *piece = malloc(n);

		memcpy(piece, t->text + pos, n);
		app_analyzer_data(a, t->dir, piece, n);
		free(piece);
		pos += n;
	}
	*budget -= len;
}

static inline void script_run(struct script_run *r, const struct script_turn *turns, size_t n, const struct script_options *o)
{
	struct app_analyzer *a;
	size_t budget = o->limit;

	memset(r, 0, sizeof(*r));
	config_set_defaults(&r->cfg);
	r->cfg.reveal_credentials = o->reveal;
	r->sink.emit = script_count_event;
	r->sink.ctx = r;
	r->s.sink = &r->sink;
	r->s.app_proto = o->proto;
	r->s.end = o->end;
	if (script_tls_context == NULL)
		script_tls_context = tls_context_new();
	a = app_analyzer_new(&r->s, &r->cfg, script_tls_context);
	CHECK(a != NULL);
	if (a == NULL)
		return;
	for (size_t i = 0; i < n && budget > 0; i++) {
		if ((int)i == o->gap_turn)
			app_analyzer_gap(a, turns[i].dir, o->gap_len);
		script_feed_turn(a, &turns[i], o, &budget);
	}
	r->done = app_analyzer_is_done(a);
	app_analyzer_finish(a);
	app_analyzer_free(a);
}

static inline void script_release(struct script_run *r)
{
	session_release(&r->s);
}

static inline bool script_text_equals(const struct wire_text *t, const char *expected)
{
	return t->len == strlen(expected) && memcmp(t->data, expected, t->len) == 0;
}

/* True when needle appears anywhere in the session or its auth records. */
static inline bool script_session_contains(const struct script_run *r, const char *needle)
{
	size_t n = strlen(needle);
	size_t auth_bytes = r->s.mail.auth_count * sizeof(*r->s.mail.auth);

	if (memmem(&r->s, sizeof(r->s), needle, n) != NULL)
		return true;
	return auth_bytes > 0 && memmem(r->s.mail.auth, auth_bytes, needle, n) != NULL;
}

/* Checks that two runs of the same script reached the same verdicts. */
static inline void script_check_same(const struct script_run *a, const struct script_run *b)
{
	CHECK_EQ_INT(a->s.anomalies, b->s.anomalies);
	CHECK_EQ_INT(a->s.mail.starttls.offered, b->s.mail.starttls.offered);
	CHECK_EQ_INT(a->s.mail.starttls.attempted, b->s.mail.starttls.attempted);
	CHECK_EQ_INT(a->s.mail.starttls.result, b->s.mail.starttls.result);
	CHECK_EQ_INT(a->s.mail.auth_count, b->s.mail.auth_count);
	for (uint32_t i = 0; i < a->s.mail.auth_count && i < b->s.mail.auth_count; i++) {
		const struct auth_record *x = &a->s.mail.auth[i];
		const struct auth_record *y = &b->s.mail.auth[i];

		CHECK_EQ_STR(x->mechanism, y->mechanism);
		CHECK_EQ_MEM(x->username.data, x->username.len, y->username.data, y->username.len);
		CHECK_EQ_INT(x->result, y->result);
		CHECK_EQ_INT(x->password_seen, y->password_seen);
	}
	for (int i = 0; i < EVENT_TYPE_COUNT; i++)
		CHECK_EQ_INT(a->events[i], b->events[i]);
	CHECK_EQ_INT(a->done, b->done);
}

/* Checks that a run of a cut capture claims nothing the whole capture does not. */
static inline void script_check_subset(const struct script_run *part, const struct script_run *full)
{
	const struct starttls_summary *p = &part->s.mail.starttls;
	const struct starttls_summary *f = &full->s.mail.starttls;

	/*
	 * NOTE: tls_handshake_failed is left out: the TLS analyzer raises it for
	 * a ClientHello without ServerHello even when the capture was cut.
	 */
	CHECK_EQ_INT(part->s.anomalies & ~full->s.anomalies & ~((anomaly_set)1u << ANOMALY_TLS_HANDSHAKE_FAILED), 0);
	CHECK(p->offered == f->offered || p->offered == TRISTATE_UNKNOWN);
	CHECK(p->result == f->result || p->result == STARTTLS_RESULT_UNKNOWN || p->result == STARTTLS_RESULT_NONE);
	CHECK(part->s.mail.auth_count <= full->s.mail.auth_count);
	for (uint32_t i = 0; i < part->s.mail.auth_count && i < full->s.mail.auth_count; i++) {
		const struct auth_record *x = &part->s.mail.auth[i];
		const struct auth_record *y = &full->s.mail.auth[i];

		CHECK_EQ_STR(x->mechanism, y->mechanism);
		CHECK(x->username.len == 0 ||
		      (x->username.len == y->username.len && memcmp(x->username.data, y->username.data, x->username.len) == 0));
		CHECK(x->result == y->result || x->result == AUTH_RESULT_UNKNOWN);
		CHECK(!x->password_seen || y->password_seen);
	}
	for (int i = 0; i < EVENT_TYPE_COUNT; i++)
		CHECK(part->events[i] <= full->events[i]);
}

/*
 * Runs a script whole, byte by byte and in 7-byte pieces (which must agree),
 * and cut after every byte (which must claim nothing more). Leaves the whole
 * run in *full for the caller's own checks.
 */
static inline void script_run_all_ways(struct script_run *full, const struct script_turn *turns, size_t n,
				const struct script_options *o)
{
	struct script_options opt = *o;
	struct script_run *other = malloc(sizeof(*other));
	size_t total = script_total(turns, n);

	script_run(full, turns, n, o);
	opt.step = 1;
	script_run(other, turns, n, &opt);
	script_check_same(other, full);
	script_release(other);
	opt.step = 7;
	script_run(other, turns, n, &opt);
	script_check_same(other, full);
	script_release(other);

	opt.step = 0;
	opt.end = SESSION_END_OPEN;
	for (size_t cut = 0; cut < total; cut++) {
		opt.limit = cut;
		script_run(other, turns, n, &opt);
		script_check_subset(other, full);
		script_release(other);
	}
	free(other);
}

static inline bool script_capabilities_equal(const struct script_run *r, const char *list, bool truncated)
{
	const struct wire_text *t = &r->s.mail.capabilities;

	return script_text_equals(t, list) && t->truncated == truncated;
}

/*
 * Runs a script whole, in 1- and 7-byte pieces and cut after every byte,
 * and checks session->mail.capabilities (entries joined by LF). Every
 * complete run stores expected, with the truncated flag as given. A cut run
 * stores no list, expected, or one of earlier (NULL-terminated): the lists
 * the script sends before the last one.
 */
static inline void script_check_capabilities(const struct script_turn *turns, size_t n, const struct script_options *o,
					     const char *expected, bool truncated, const char *const *earlier)
{
	static const size_t steps[] = {0, 1, 7};
	struct script_options opt = *o;
	struct script_run *r = malloc(sizeof(*r));
	size_t total = script_total(turns, n);

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		opt.step = steps[i];
		script_run(r, turns, n, &opt);
		if (!script_capabilities_equal(r, expected, truncated))
			fprintf(stderr, "fed in pieces of %zu bytes (0: whole turns), the capabilities are \"%.*s\"\n",
				steps[i], (int)r->s.mail.capabilities.len, r->s.mail.capabilities.data);
		CHECK(script_capabilities_equal(r, expected, truncated));
		script_release(r);
	}

	opt.step = 0;
	opt.end = SESSION_END_OPEN;
	for (size_t cut = 0; cut < total; cut++) {
		bool allowed;

		opt.limit = cut;
		script_run(r, turns, n, &opt);
		allowed = script_capabilities_equal(r, "", false) || script_capabilities_equal(r, expected, truncated);
		for (size_t k = 0; earlier != NULL && earlier[k] != NULL && !allowed; k++)
			allowed = script_capabilities_equal(r, earlier[k], false);
		if (!allowed)
			fprintf(stderr, "cut after %zu bytes, the capabilities are \"%.*s\"\n", cut,
				(int)r->s.mail.capabilities.len, r->s.mail.capabilities.data);
		CHECK(allowed);
		script_release(r);
	}
	free(r);
}

#endif
