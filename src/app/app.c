/*
 * Application dispatcher: frames each direction into lines for the SMTP,
 * POP3 or IMAP analyzer and hands a direction to the TLS analyzer at the
 * byte where TLS starts. On implicit-TLS ports (RFC 8314 section 3) that is
 * byte 0; after STARTTLS (RFC 3207 section 4, RFC 2595 section 4, RFC 3501
 * section 6.2.1) it is the byte after the client's command line and after
 * the server's go-ahead line. Clear-text bytes between those points and the
 * first TLS record are STARTTLS command or response injection (the attack of
 * CVE-2011-0411).
 */
#include "app/app.h"

#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/limits.h"
#include "core/session.h"
#include "mail/line.h"
#include "mail/mail_proto.h"
#include "tls/tls.h"

/* tls_detect_record() decides within the first 3 bytes; more are held only if it ever needs them. */
#define APP_PROBE_BYTES 8

enum app_mode {
	APP_MODE_PROBE = 0, /* start of the stream: TLS or clear text? */
	APP_MODE_LINES,
	APP_MODE_AWAIT_TLS, /* after STARTTLS: each line start may be the first TLS record */
	APP_MODE_TLS,
	APP_MODE_IGNORE, /* nothing more to learn from this direction */
};

struct app_direction {
	enum app_mode mode;
	bool clear_line; /* AWAIT_TLS: the current line is clear text, probe again after it */
	struct line_reader lines;
	uint8_t probe[APP_PROBE_BYTES];
	size_t probe_len;
};

struct app_analyzer {
	struct session *session;	  /* not owned */
	const struct mailtap_config *cfg; /* not owned */
	const struct tls_context *tls_ctx; /* not owned */
	struct tls_parser *tls;		  /* owned; created when a direction turns to TLS */
	const struct mail_proto_ops *ops; /* NULL when the port carries no mail protocol */
	void *proto;			  /* owned by ops */
	struct mail_control mc;
	struct app_direction dir[2];
	bool implicit_tls;
};

static void app_feed(struct app_analyzer *a, enum direction dir, const uint8_t *data, size_t len);

static const struct mail_proto_ops *app_select_ops(enum app_proto proto)
{
	switch (app_proto_family(proto)) {
	case MAIL_FAMILY_SMTP: return smtp_proto_ops();
	case MAIL_FAMILY_POP3: return pop3_proto_ops();
	case MAIL_FAMILY_IMAP: return imap_proto_ops();
	case MAIL_FAMILY_NONE: break;
	}
	return NULL;
}

static void app_set_mode(struct app_analyzer *a, enum direction dir, enum app_mode mode)
{
	a->dir[dir].mode = mode;
	a->dir[dir].clear_line = false;
}

static void app_start_direction(struct app_analyzer *a, enum direction dir)
{
	/* Picked up mid-stream: the first bytes may be anywhere in a line or a record. */
	if (!a->session->evidence.midstream) {
		app_set_mode(a, dir, APP_MODE_PROBE);
		return;
	}
	if (a->implicit_tls || a->ops == NULL) {
		app_set_mode(a, dir, APP_MODE_IGNORE);
		return;
	}
	app_set_mode(a, dir, APP_MODE_LINES);
	line_reader_gap(&a->dir[dir].lines, 0);
}

struct app_analyzer *app_analyzer_new(struct session *s, const struct mailtap_config *cfg,
				      const struct tls_context *tls)
{
	struct app_analyzer *a = calloc(1, sizeof(*a));
	size_t line_bytes = cfg->line_bytes > 0 ? cfg->line_bytes : LIMIT_LINE_BYTES_DEFAULT;

	if (a == NULL)
		return NULL;
	a->session = s;
	a->cfg = cfg;
	a->tls_ctx = tls;
	a->implicit_tls = app_proto_is_implicit_tls(s->app_proto);
	a->ops = app_select_ops(s->app_proto);
	a->mc.session = s;
	a->mc.cfg = cfg;
	s->mail.starttls.offered = TRISTATE_UNKNOWN;
	s->mail.starttls.result = STARTTLS_RESULT_NONE;
	if (a->ops != NULL) {
		a->proto = a->ops->create(&a->mc);
		if (a->proto == NULL || line_reader_init(&a->dir[0].lines, line_bytes) != 0 ||
		    line_reader_init(&a->dir[1].lines, line_bytes) != 0) {
			app_analyzer_free(a);
			return NULL;
		}
	}
	app_start_direction(a, DIR_TO_SERVER);
	app_start_direction(a, DIR_TO_CLIENT);
	return a;
}

void app_analyzer_free(struct app_analyzer *a)
{
	if (a == NULL)
		return;
	if (a->proto != NULL)
		a->ops->free(a->proto);
	line_reader_release(&a->dir[0].lines);
	line_reader_release(&a->dir[1].lines);
	tls_parser_free(a->tls);
	free(a);
}

static void app_emit_once(struct app_analyzer *a, enum anomaly anomaly, enum event_type event, int aux)
{
	if (session_has_anomaly(a->session, anomaly))
		return;
	session_add_anomaly(a->session, anomaly);
	session_emit(a->session, event, aux);
}

/* Hands a direction to the TLS analyzer; without a parser the direction is ignored. */
static void app_enter_tls(struct app_analyzer *a, enum direction dir)
{
	if (a->tls == NULL)
		a->tls = tls_parser_new(a->session, a->tls_ctx);
	app_set_mode(a, dir, a->tls != NULL ? APP_MODE_TLS : APP_MODE_IGNORE);
}

/* Decides the start of a stream: TLS, or the clear-text protocol (an anomaly on implicit-TLS ports). */
static void app_decide_start(struct app_analyzer *a, enum direction dir, bool is_tls)
{
	if (is_tls) {
		app_enter_tls(a, dir);
		return;
	}
	if (a->implicit_tls)
		app_emit_once(a, ANOMALY_PLAINTEXT_ON_TLS_PORT, EVENT_TLS_PLAINTEXT_ON_TLS_PORT, dir);
	app_set_mode(a, dir, a->ops != NULL ? APP_MODE_LINES : APP_MODE_IGNORE);
}

/* The client goes on in clear after STARTTLS: injection, refusal or a missing handshake. */
static void app_client_clear_after_starttls(struct app_analyzer *a)
{
	struct starttls_summary *st = &a->session->mail.starttls;

	switch (st->result) {
	case STARTTLS_RESULT_UNKNOWN:
		/* Bytes pipelined behind STARTTLS before the server replied to it. */
		app_emit_once(a, ANOMALY_STARTTLS_COMMAND_INJECTION, EVENT_STARTTLS_INJECTION, DIR_TO_SERVER);
		a->dir[DIR_TO_SERVER].clear_line = true;
		return;
	case STARTTLS_RESULT_OK:
		st->result = STARTTLS_RESULT_NO_HANDSHAKE;
		app_emit_once(a, ANOMALY_STARTTLS_NO_HANDSHAKE, EVENT_STARTTLS_NO_HANDSHAKE, 0);
		if (a->dir[DIR_TO_CLIENT].mode == APP_MODE_AWAIT_TLS)
			app_set_mode(a, DIR_TO_CLIENT, APP_MODE_LINES);
		break;
	default:
		break;
	}
	app_set_mode(a, DIR_TO_SERVER, APP_MODE_LINES);
}

static void app_decide_after_starttls(struct app_analyzer *a, enum direction dir, bool is_tls)
{
	if (is_tls) {
		app_enter_tls(a, dir);
		return;
	}
	if (dir == DIR_TO_SERVER) {
		app_client_clear_after_starttls(a);
		return;
	}

	/* Server bytes after its go-ahead and before its first TLS record. */
	app_emit_once(a, ANOMALY_STARTTLS_RESPONSE_INJECTION, EVENT_STARTTLS_INJECTION, DIR_TO_CLIENT);
	a->dir[DIR_TO_CLIENT].clear_line = true;
}

/*
 * Collects the first bytes of a stream or of a line until they tell TLS
 * from clear text, then replays them to whichever side takes them.
 * Returns the bytes of data consumed.
 */
static size_t app_probe(struct app_analyzer *a, enum direction dir, const uint8_t *data, size_t len)
{
	struct app_direction *d = &a->dir[dir];
	uint8_t held[APP_PROBE_BYTES];
	size_t held_len;
	size_t used = 0;
	int kind = -1;

	while (used < len && kind < 0) {
		d->probe[d->probe_len++] = data[used++];
		kind = tls_detect_record(d->probe, d->probe_len);
		if (kind < 0 && d->probe_len == sizeof(d->probe))
			kind = 0;
	}
	if (kind < 0)
		return used;
	held_len = d->probe_len;
	memcpy(held, d->probe, held_len);
	d->probe_len = 0;
	if (d->mode == APP_MODE_PROBE)
		app_decide_start(a, dir, kind == 1);
	else
		app_decide_after_starttls(a, dir, kind == 1);
	app_feed(a, dir, held, held_len);
	return used;
}

static void app_apply_counted(struct app_analyzer *a, enum direction dir)
{
	struct mail_counted_request *req = &a->mc.counted[dir];
	struct line item;

	if (a->mc.counted_cancel[dir]) {
		a->mc.counted_cancel[dir] = false;
		line_reader_cancel_counted(&a->dir[dir].lines);
	}
	if (!req->pending)
		return;
	req->pending = false;
	line_reader_expect_counted(&a->dir[dir].lines, req->bytes, req->keep);
	if (line_reader_take_empty_counted(&a->dir[dir].lines, &item))
		a->ops->on_counted(a->proto, &a->mc, dir, &item);
}

/* Applies what the analyzer asked for while it read the last line. */
static void app_apply_requests(struct app_analyzer *a, enum direction dir)
{
	struct app_direction *d = &a->dir[dir];

	for (int i = 0; i < 2; i++) {
		if (!a->mc.tls_after_line[i])
			continue;
		a->mc.tls_after_line[i] = false;
		if (a->dir[i].mode == APP_MODE_LINES || a->dir[i].mode == APP_MODE_AWAIT_TLS)
			app_set_mode(a, (enum direction)i, APP_MODE_AWAIT_TLS);
	}
	app_apply_counted(a, DIR_TO_SERVER);
	app_apply_counted(a, DIR_TO_CLIENT);
	for (int i = 0; i < 2; i++) {
		if (a->mc.body_stop[i])
			line_reader_stop_dot_body(&a->dir[i].lines);
		if (a->mc.body_skip[i])
			(void)line_reader_skip_to_dot_line(&a->dir[i].lines);
		a->mc.body_skip[i] = false;
		a->mc.body_stop[i] = false;
	}
	if (d->mode == APP_MODE_AWAIT_TLS && line_reader_at_line_start(&d->lines))
		d->clear_line = false;
}

/* Frames at most one line or counted item and passes it on. Returns the bytes consumed. */
static size_t app_feed_lines(struct app_analyzer *a, enum direction dir, const uint8_t *data, size_t len)
{
	struct line item;
	size_t consumed = 0;
	int rc = line_reader_feed(&a->dir[dir].lines, data, len, &consumed, &item);

	if (rc != LINE_DONE)
		return len;
	if (!item.counted && item.too_long) {
		session_add_anomaly(a->mc.session, ANOMALY_LINE_TOO_LONG);
		a->mc.session->caps.lines_too_long++;
	}
	if (item.counted)
		a->ops->on_counted(a->proto, &a->mc, dir, &item);
	else
		a->ops->on_line(a->proto, &a->mc, dir, &item);
	app_apply_requests(a, dir);
	return consumed;
}

static void app_feed(struct app_analyzer *a, enum direction dir, const uint8_t *data, size_t len)
{
	while (len > 0) {
		struct app_direction *d = &a->dir[dir];
		size_t used = len;

		switch (d->mode) {
		case APP_MODE_PROBE:
			used = app_probe(a, dir, data, len);
			break;
		case APP_MODE_AWAIT_TLS:
			if (d->clear_line)
				used = app_feed_lines(a, dir, data, len);
			else
				used = app_probe(a, dir, data, len);
			break;
		case APP_MODE_LINES:
			used = app_feed_lines(a, dir, data, len);
			break;
		case APP_MODE_TLS:
			/* A direction beyond repair stays quiet; the parser ignores later bytes. */
			(void)tls_parser_feed(a->tls, dir, data, len);
			break;
		case APP_MODE_IGNORE:
			break;
		}
		data += used;
		len -= used;
	}
}

void app_analyzer_data(struct app_analyzer *a, enum direction dir, const uint8_t *data, size_t len)
{
	if (len == 0)
		return;
	a->session->evidence.seen[dir] = true;
	app_feed(a, dir, data, len);
}

/* Handles a gap that hides whether the next bytes are TLS or clear text. */
static void app_gap_while_probing(struct app_analyzer *a, enum direction dir, uint64_t len)
{
	struct app_direction *d = &a->dir[dir];
	bool after_starttls = d->mode == APP_MODE_AWAIT_TLS;

	d->probe_len = 0;
	if (after_starttls) {
		mail_set_inconclusive(&a->mc, "gap where the TLS handshake should start");
		if (a->session->mail.starttls.result == STARTTLS_RESULT_OK)
			a->session->mail.starttls.result = STARTTLS_RESULT_UNKNOWN;
	}
	if (after_starttls || a->implicit_tls || a->ops == NULL) {
		app_enter_tls(a, dir);
		if (a->tls != NULL)
			tls_parser_gap(a->tls, dir, len);
		return;
	}
	app_set_mode(a, dir, APP_MODE_LINES);
	line_reader_gap(&d->lines, len);
	a->ops->on_gap(a->proto, &a->mc, dir, len);
}

void app_analyzer_gap(struct app_analyzer *a, enum direction dir, uint64_t len)
{
	struct app_direction *d = &a->dir[dir];

	switch (d->mode) {
	case APP_MODE_TLS:
		tls_parser_gap(a->tls, dir, len);
		break;
	case APP_MODE_LINES:
		line_reader_gap(&d->lines, len);
		a->ops->on_gap(a->proto, &a->mc, dir, len);
		break;
	case APP_MODE_AWAIT_TLS:
		if (d->clear_line) {
			line_reader_gap(&d->lines, len);
			a->ops->on_gap(a->proto, &a->mc, dir, len);
			break;
		}
		app_gap_while_probing(a, dir, len);
		break;
	case APP_MODE_PROBE:
		app_gap_while_probing(a, dir, len);
		break;
	case APP_MODE_IGNORE:
		break;
	}
}

bool app_analyzer_is_done(const struct app_analyzer *a)
{
	bool any_tls = false;

	for (int i = 0; i < 2; i++) {
		if (a->dir[i].mode == APP_MODE_TLS)
			any_tls = true;
		else if (a->dir[i].mode != APP_MODE_IGNORE)
			return false;
	}

	/* Both directions ignored (clear text on a port without a mail protocol): nothing left to learn. */
	if (!any_tls)
		return true;
	return a->tls != NULL && tls_parser_is_done(a->tls);
}

/* Settles the STARTTLS verdicts that depend on what never came. */
static void app_finish_starttls(struct app_analyzer *a)
{
	struct session *s = a->session;
	struct starttls_summary *st = &s->mail.starttls;

	if (st->attempted && st->result == STARTTLS_RESULT_UNKNOWN) {
		if (!s->evidence.seen[DIR_TO_CLIENT])
			mail_set_inconclusive(&a->mc, "server direction not captured");
		else
			mail_set_inconclusive(&a->mc, "no reply to STARTTLS in the capture");
		return;
	}
	if (st->result != STARTTLS_RESULT_OK || a->dir[DIR_TO_SERVER].mode != APP_MODE_AWAIT_TLS)
		return;

	/* Go-ahead given and the client sent nothing more: only a closed connection proves no handshake came. */
	if (s->end == SESSION_END_OPEN) {
		st->result = STARTTLS_RESULT_UNKNOWN;
		mail_set_inconclusive(&a->mc, "capture ended before the TLS handshake");
		return;
	}
	st->result = STARTTLS_RESULT_NO_HANDSHAKE;
	app_emit_once(a, ANOMALY_STARTTLS_NO_HANDSHAKE, EVENT_STARTTLS_NO_HANDSHAKE, 0);
}

void app_analyzer_finish(struct app_analyzer *a)
{
	if (a->proto != NULL) {
		a->ops->finish(a->proto, &a->mc);
		mail_auth_report_pending(&a->mc);
		if (!a->implicit_tls)
			app_finish_starttls(a);
	}
	if (a->tls != NULL)
		tls_parser_finish(a->tls);
}
