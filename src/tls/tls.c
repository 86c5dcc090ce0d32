/*
 * TLS analyzer. It reads the record layer of each direction (RFC 8446
 * section 5.1, RFC 5246 section 6.2) and the handshake message stream
 * carried in it (RFC 8446 section 4). A message may span records, and a
 * record may carry several messages. It also reads SSL 2.0 framed hellos
 * and alerts (RFC 8446 section 6). What each complete message means for
 * the session is in tls_session.c, hello parsing in tls_hello.c and
 * tls_sslv2.c, certificates in tls_cert.c and fingerprints in
 * tls_fingerprint.c.
 */
#include "tls/tls.h"

#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/session.h"
#include "tls/tls_internal.h"

enum tls_direction_state {
	TLS_DIRECTION_START = 0, /* the first bytes have not been recognised as TLS yet */
	TLS_DIRECTION_HEADER,	 /* reading a record header */
	TLS_DIRECTION_BODY,	 /* inside a record body */
	TLS_DIRECTION_STOPPED,	 /* gap, malformed, or nothing more to learn: bytes ignored */
};

/* One handshake message (or SSL 2.0 record) being gathered from record bodies. */
struct tls_message_buffer {
	uint8_t header[TLS_HANDSHAKE_HEADER_LEN];
	size_t header_len;
	uint32_t len;	  /* body length announced by the header */
	size_t have;	  /* body bytes received so far */
	uint8_t *data;	  /* owned; grows with the bytes received, never past len */
	size_t cap;
	bool skipping;	  /* over LIMIT_TLS_HANDSHAKE_BYTES: counted, not kept */
	uint16_t record_version; /* version of the record where the message began */
};

struct tls_direction {
	enum tls_direction_state state;
	uint8_t header[TLS_RECORD_HEADER_LEN];
	size_t header_len;
	bool began_sslv2;   /* the first record had an SSL 2.0 header */
	bool record_sslv2;  /* the current record has an SSL 2.0 header */
	uint8_t content_type;
	uint16_t record_version;
	size_t record_left;
	bool encrypted;	    /* after this side's ChangeCipherSpec, records are ciphertext */
	bool ccs_seen;
	uint8_t alert[2];
	size_t alert_len;
	struct tls_message_buffer message;
	uint64_t bytes;
	bool gap;
	bool malformed;
};

struct tls_parser {
	struct session *session;	/* not owned */
	const struct tls_context *ctx;	/* not owned */
	struct tls_direction dir[2];	/* indexed by enum direction */
	bool done;
	bool finished;
};

struct tls_context *tls_context_new(void)
{
	struct tls_context *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		return NULL;
	/* Without a readable system store, chains are reported as not checked. */
	(void)tls_cert_load_store(ctx);
	pthread_mutex_init(&ctx->fingerprint_lock, NULL);
	return ctx;
}

void tls_context_free(struct tls_context *ctx)
{
	if (ctx == NULL)
		return;
	tls_cert_free_store(ctx);
	pthread_mutex_destroy(&ctx->fingerprint_lock);
	free(ctx);
}

struct tls_parser *tls_parser_new(struct session *s, const struct tls_context *ctx)
{
	struct tls_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->session = s;
	p->ctx = ctx;
	return p;
}

void tls_parser_free(struct tls_parser *p)
{
	if (p == NULL)
		return;
	free(p->dir[0].message.data);
	free(p->dir[1].message.data);
	free(p);
}

int tls_detect_record(const uint8_t *data, size_t len)
{
	if (len == 0)
		return -1;

	/* SSL 2.0 framing: a 2-byte header with the high bit set, then the message type. */
	if (data[0] & 0x80u) {
		if (len < 3)
			return -1;
		return data[2] == SSLV2_MSG_CLIENT_HELLO || data[2] == SSLV2_MSG_SERVER_HELLO;
	}
	if (data[0] != TLS_CONTENT_HANDSHAKE && data[0] != TLS_CONTENT_ALERT)
		return 0;
	if (len < 2)
		return -1;
	if (data[1] != 0x03)
		return 0;
	if (len < 3)
		return -1;
	return data[2] <= 0x04;
}

/* Changes a direction's state; every transition of the record reader goes through here. */
static void tls_set_state(struct tls_direction *d, enum tls_direction_state state)
{
	d->state = state;
}

static void tls_set_done(struct tls_parser *p)
{
	p->done = true;
	if (p->session->tls.server_hello_seen)
		p->session->tls.handshake_complete = true;
}

/* Dispatches one complete handshake message; returns -1 when a hello is malformed. */
static int tls_on_message(struct tls_parser *p, enum direction dir, uint8_t type,
			  const struct tls_message_buffer *m)
{
	int rc = 0;

	if (dir == DIR_TO_SERVER && type == TLS_HANDSHAKE_CLIENT_HELLO)
		return tls_session_client_hello(p->session, p->ctx, m->data, m->len, m->record_version);
	if (dir == DIR_TO_CLIENT && type == TLS_HANDSHAKE_SERVER_HELLO) {
		rc = tls_session_server_hello(p->session, m->data, m->len);
		if (rc > 0)
			tls_set_done(p);
	}
	if (dir == DIR_TO_CLIENT && type == TLS_HANDSHAKE_CERTIFICATE)
		tls_session_certificate(p->session, p->ctx, m->data, m->len);
	return rc < 0 ? -1 : 0;
}

/* Appends to the message buffer; it grows with the bytes received, never from the header's length alone. */
static int tls_message_append(struct tls_message_buffer *m, const uint8_t *data, size_t n, size_t max)
{
	if (m->have + n > m->cap) {
		size_t cap = m->cap < 1024 ? 1024 : m->cap * 2;
		uint8_t *grown;

		if (cap < m->have + n)
			cap = m->have + n;
		if (cap > max)
			cap = max;
		grown = realloc(m->data, cap);
		if (grown == NULL)
			return -1;
		m->data = grown;
		m->cap = cap;
	}
	memcpy(m->data + m->have, data, n);
	m->have += n;
	return 0;
}

static void tls_message_reset(struct tls_message_buffer *m)
{
	m->header_len = 0;
	m->len = 0;
	m->have = 0;
	m->skipping = false;
}

/* Reads a complete 4-byte handshake header: the type, then a 24-bit length checked against the cap. */
static void tls_message_begin(struct tls_parser *p, struct tls_direction *d)
{
	struct tls_message_buffer *m = &d->message;

	m->len = ((uint32_t)m->header[1] << 16) | ((uint32_t)m->header[2] << 8) | m->header[3];
	m->record_version = d->record_version;
	if (m->len > LIMIT_TLS_HANDSHAKE_BYTES) {
		m->skipping = true;
		p->session->tls.oversized_messages++;
		tls_session_mark_inconclusive(p->session, "TLS handshake message over the size limit");
	}
}

/* Feeds handshake-protocol bytes of one record; returns -1 when a message is malformed. */
static int tls_read_handshake(struct tls_parser *p, enum direction dir, struct cursor *c)
{
	struct tls_direction *d = &p->dir[dir];
	struct tls_message_buffer *m = &d->message;

	while (cursor_remaining(c) > 0) {
		size_t take;
		const uint8_t *chunk;

		if (m->header_len < TLS_HANDSHAKE_HEADER_LEN) {
			cursor_u8(c, &m->header[m->header_len++]);
			if (m->header_len == TLS_HANDSHAKE_HEADER_LEN)
				tls_message_begin(p, d);
		} else {
			take = m->len - m->have;
			if (take > cursor_remaining(c))
				take = cursor_remaining(c);
			cursor_bytes(c, take, &chunk);
			if (m->skipping)
				m->have += take;
			else if (tls_message_append(m, chunk, take, m->len) < 0) {
				/* Out of memory: the message is skipped and counted like an oversized one. */
				m->skipping = true;
				m->have += take;
				p->session->tls.oversized_messages++;
			}
		}
		if (m->header_len == TLS_HANDSHAKE_HEADER_LEN && m->have == m->len) {
			int rc = m->skipping ? 0 : tls_on_message(p, dir, m->header[0], m);

			tls_message_reset(m);
			if (rc < 0)
				return -1;
		}
	}
	return 0;
}

static void tls_read_alerts(struct tls_parser *p, enum direction dir, struct cursor *c)
{
	struct tls_direction *d = &p->dir[dir];

	while (cursor_u8(c, &d->alert[d->alert_len]) == 0) {
		d->alert_len++;
		if (d->alert_len == 2) {
			tls_session_alert(p->session, dir, d->alert[0], d->alert[1]);
			d->alert_len = 0;
		}
	}
}

static void tls_on_change_cipher_spec(struct tls_parser *p, struct tls_direction *d)
{
	const struct tls_summary *sum = &p->session->tls;

	d->ccs_seen = true;
	/*
	 * After a HelloRetryRequest the CCS is the TLS 1.3 compatibility dummy
	 * (RFC 8446 appendix D.4), and the next hellos are still in clear.
	 */
	if (!sum->hello_retry_request_seen)
		d->encrypted = true;
	if (p->dir[0].ccs_seen && p->dir[1].ccs_seen && sum->server_hello_seen)
		tls_set_done(p);
}

/* Handles one piece of a record body by content type; returns -1 when it is malformed. */
static int tls_read_record_content(struct tls_parser *p, enum direction dir, struct cursor *c)
{
	struct tls_direction *d = &p->dir[dir];

	if (d->record_sslv2)
		return tls_message_append(&d->message, cursor_ptr(c), cursor_remaining(c), 0x7fffu);
	switch (d->content_type) {
	case TLS_CONTENT_HANDSHAKE:
		if (!d->encrypted)
			return tls_read_handshake(p, dir, c);
		break;
	case TLS_CONTENT_ALERT:
		if (!d->encrypted)
			tls_read_alerts(p, dir, c);
		break;
	case TLS_CONTENT_APPLICATION_DATA:
		/* Early data can precede the ServerHello; only later data ends the handshake. */
		if (dir == DIR_TO_CLIENT || p->session->tls.server_hello_seen)
			tls_set_done(p);
		break;
	default:
		break;
	}
	return 0;
}

static int tls_read_record_body(struct tls_parser *p, enum direction dir, struct cursor *c)
{
	struct tls_direction *d = &p->dir[dir];
	struct cursor piece;
	size_t take = d->record_left < cursor_remaining(c) ? d->record_left : cursor_remaining(c);
	int rc;

	cursor_sub(c, take, &piece);
	d->record_left -= take;
	rc = tls_read_record_content(p, dir, &piece);
	if (rc < 0 || d->record_left > 0)
		return rc;
	tls_set_state(d, TLS_DIRECTION_HEADER);
	d->header_len = 0;
	if (d->record_sslv2) {
		rc = tls_session_sslv2_record(p->session, dir, d->message.data, d->message.have);
		tls_message_reset(&d->message);
		if (rc > 0)
			tls_set_done(p);
	}
	return rc < 0 ? -1 : 0;
}

/* Checks a complete record header and enters its body; returns -1 when it is not a record. */
static int tls_begin_record(struct tls_parser *p, struct tls_direction *d)
{
	if (d->record_sslv2) {
		d->record_left = ((size_t)(d->header[0] & 0x7fu) << 8) | d->header[1];
		d->message.have = 0;
	} else {
		d->content_type = d->header[0];
		d->record_version = (uint16_t)((d->header[1] << 8) | d->header[2]);
		d->record_left = ((size_t)d->header[3] << 8) | d->header[4];

		/* Content types 20-24 with major version 3 are the only TLS records (RFC 8446 5.1). */
		if (d->content_type < TLS_CONTENT_CHANGE_CIPHER_SPEC || d->content_type > TLS_CONTENT_HEARTBEAT ||
		    d->header[1] != 0x03 || d->record_left > TLS_RECORD_MAX_LEN)
			return -1;
		if (d->content_type == TLS_CONTENT_CHANGE_CIPHER_SPEC)
			tls_on_change_cipher_spec(p, d);
	}
	tls_set_state(d, d->record_left > 0 ? TLS_DIRECTION_BODY : TLS_DIRECTION_HEADER);
	d->header_len = 0;
	return 0;
}

static int tls_read_record_header(struct tls_parser *p, struct tls_direction *d, struct cursor *c)
{
	size_t need;

	if (d->header_len == 0) {
		uint8_t first = cursor_ptr(c)[0];

		d->record_sslv2 = (first & 0x80u) != 0;
		/* SSL 2.0 framing is only believed in a direction that began with it. */
		if (d->record_sslv2 && !d->began_sslv2)
			return -1;
	}
	need = d->record_sslv2 ? SSLV2_HEADER_LEN : TLS_RECORD_HEADER_LEN;
	while (d->header_len < need && cursor_u8(c, &d->header[d->header_len]) == 0)
		d->header_len++;
	if (d->header_len < need)
		return 0;
	return tls_begin_record(p, d);
}

/*
 * Recognises the first record of a direction, keeping up to 3 bytes across
 * calls. Returns 1 when recognised, 0 when not TLS, -1 when more bytes are
 * needed (all of c was kept).
 * NOTE: when the decision takes two calls, a 0 result leaves the bytes kept
 * from the earlier call consumed; tls_detect_record() on the caller's side
 * avoids that.
 */
static int tls_read_first_bytes(struct tls_direction *d, struct cursor *c)
{
	uint8_t probe[3];
	size_t have = d->header_len;
	size_t take = 3 - have < cursor_remaining(c) ? 3 - have : cursor_remaining(c);
	int rc;

	memcpy(probe, d->header, have);
	memcpy(probe + have, cursor_ptr(c), take);
	rc = tls_detect_record(probe, have + take);
	if (rc < 0) {
		cursor_copy(c, d->header + have, take);
		d->header_len = have + take;
		return -1;
	}
	if (rc == 0) {
		d->header_len = 0;
		return 0;
	}
	d->began_sslv2 = (probe[0] & 0x80u) != 0;
	d->record_sslv2 = d->began_sslv2;
	tls_set_state(d, TLS_DIRECTION_HEADER);
	return 1;
}

/* Frees the message buffers once nothing more will be parsed; a bypassed flow keeps no copies. */
static void tls_release_buffers(struct tls_parser *p)
{
	for (size_t i = 0; i < 2; i++) {
		free(p->dir[i].message.data);
		p->dir[i].message.data = NULL;
		p->dir[i].message.cap = 0;
	}
}

static void tls_stop_direction(struct tls_parser *p, struct tls_direction *d, const char *reason)
{
	tls_set_state(d, TLS_DIRECTION_STOPPED);
	if (!p->done)
		tls_session_mark_inconclusive(p->session, reason);
}

int tls_parser_feed(struct tls_parser *p, enum direction dir, const uint8_t *data, size_t len)
{
	struct tls_direction *d;
	struct cursor c;

	if (p == NULL || (dir != DIR_TO_SERVER && dir != DIR_TO_CLIENT))
		return TLS_ERR_MALFORMED;
	d = &p->dir[dir];
	if (d->malformed)
		return TLS_ERR_MALFORMED;
	cursor_init(&c, data, len);
	if (len > 0 && d->state == TLS_DIRECTION_START) {
		int rc = tls_read_first_bytes(d, &c);

		if (rc == 0)
			return TLS_ERR_NOT_TLS;
		if (rc < 0)
			return 0;
	}
	d->bytes += len;
	while (cursor_remaining(&c) > 0 && d->state != TLS_DIRECTION_STOPPED && !p->done) {
		int rc = d->state == TLS_DIRECTION_BODY ? tls_read_record_body(p, dir, &c)
							: tls_read_record_header(p, d, &c);

		if (rc < 0) {
			d->malformed = true;
			p->session->caps.tls_handshakes_unparsable++;
			tls_stop_direction(p, d, "TLS handshake not parsable");
			return TLS_ERR_MALFORMED;
		}
	}
	if (tls_parser_is_done(p))
		tls_release_buffers(p);
	return 0;
}

void tls_parser_gap(struct tls_parser *p, enum direction dir, uint64_t len)
{
	struct tls_direction *d;

	(void)len;
	if (p == NULL || (dir != DIR_TO_SERVER && dir != DIR_TO_CLIENT))
		return;
	d = &p->dir[dir];
	d->gap = true;
	tls_stop_direction(p, d, "gap in the TLS handshake");
}

bool tls_parser_is_done(const struct tls_parser *p)
{
	return p->done ||
	       (p->dir[0].state == TLS_DIRECTION_STOPPED && p->dir[1].state == TLS_DIRECTION_STOPPED);
}

void tls_parser_finish(struct tls_parser *p)
{
	struct session *s = p->session;
	const struct tls_direction *server = &p->dir[DIR_TO_CLIENT];

	if (p->finished)
		return;
	p->finished = true;
	if (!s->tls.client_hello_seen || s->tls.server_hello_seen)
		return;

	/* Without the server's side, a missing ServerHello proves nothing. */
	if (server->gap || server->malformed) {
		tls_session_mark_inconclusive(p->session, "gap before the TLS ServerHello");
		return;
	}
	if (server->bytes == 0 && !s->evidence.seen[DIR_TO_CLIENT]) {
		tls_session_mark_inconclusive(p->session, "server side of the TLS handshake not captured");
		return;
	}

	/* A connection still open when the capture ended may yet have got its ServerHello. */
	if (s->end == SESSION_END_OPEN && !s->tls.alert_seen) {
		tls_session_mark_inconclusive(p->session, "capture ended before the TLS ServerHello");
		return;
	}
	session_add_anomaly(s, ANOMALY_TLS_HANDSHAKE_FAILED);
}
