/*
 * Flow table. Connections hash on a canonical 5-tuple (lower endpoint
 * first) so both directions land on one entry. Each entry is on one of two
 * lists ordered by last activity. Open flows expire after the idle timeout,
 * and closed ones (FIN both ways, or RST) after the shorter closed timeout.
 * When the table is full, the least recently used entry is evicted.
 */
#include "flow/flow_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "classify/classify.h"
#include "core/session.h"
#include "decode/decode.h"
#include "flow/flow_hash.h"

/* Bytes of each direction kept while nDPI decides whether a flow is mail. */
#define FLOW_PENDING_BYTES_MAX (16u * 1024u)
#define FLOW_BUCKETS_INITIAL 4096u
/*
 * A flow moves to the tail of its list at most once per this much packet
 * time: relinking on every packet costs two cache misses on the list
 * neighbours when the table is large. Expiry still checks each flow's own
 * last_ts, so timeouts stay exact; eviction picks a flow idle for at least
 * as long as any other, give or take this interval.
 */
#define FLOW_LRU_REFRESH_USEC 1000000u
/*
 * A SYN or SYN-ACK without data goes to nDPI only with the flow's first data
 * (or at its end), because nDPI's flow state (688 bytes in nDPI 4.2) would
 * otherwise be allocated for every half-open connection of a SYN flood. Up
 * to two such packets of at most this many IP bytes are held. Longer ones
 * go to nDPI at once.
 */
#define FLOW_HELD_PACKETS 2u
#define FLOW_HELD_PACKET_MAX 128u

enum flow_list {
	FLOW_LIST_OPEN = 0,
	FLOW_LIST_CLOSED = 1,
};

enum flow_role {
	FLOW_ROLE_PENDING = 0, /* off the port map, waiting for nDPI */
	FLOW_ROLE_MAIL,	       /* analyzed; produces a session record */
	FLOW_ROLE_OTHER,       /* not mail: counted, then forgotten */
};

struct flow;

/* A payload-less SYN or SYN-ACK that nDPI has not seen yet. */
struct flow_held_packet {
	uint64_t ts_usec;
	uint32_t len;
	uint8_t ip[]; /* the IP packet, len bytes */
};

/* Context of one direction's reassembly output. */
struct flow_direction_ctx {
	struct flow_table *table;
	struct flow *flow;
	enum direction dir;
};

struct flow {
	/*
	 * The fields every packet reads or writes come first, so a bypassed
	 * packet touches three cache lines of a flow the table has not used for
	 * a while.
	 */
	struct flow *hash_next;
	struct flow_key key;
	uint8_t client_index; /* key endpoint (0 or 1) that is the client */
	bool bypassed;
	uint64_t hash;
	enum flow_list list;
	bool syn_seen;
	bool synack_seen;
	bool fin_seen[2];
	bool rst_seen;
	bool classify_done;
	uint64_t last_ts;
	uint64_t lru_ts; /* last_ts when the flow last moved to its list's tail */
	uint64_t packets[2];
	uint64_t bytes[2];
	uint64_t payload_bytes[2];

	struct flow *lru_prev;
	struct flow *lru_next;
	enum flow_role role;
	enum app_proto app_proto;
	enum session_end end;
	uint64_t flow_id;
	uint64_t first_ts;
	struct reasm_stream stream[2];		  /* by enum direction */
	struct session *session;		  /* owned; created on the first payload */
	struct app_analyzer *app;		  /* owned */
	struct classify_flow *classify;		  /* owned; freed once nDPI is done */
	uint8_t *pending[2];			  /* owned; bytes held while role is PENDING */
	uint32_t pending_len[2];
	struct flow_held_packet *held[FLOW_HELD_PACKETS]; /* owned; in arrival order, for nDPI */
};

struct flow_table {
	const struct mailtap_config *cfg;
	const struct tls_context *tls;
	struct classifier *classifier;
	const struct event_sink *sink;
	flow_session_end_fn on_end;
	void *end_ctx;

	struct flow **buckets;
	uint64_t bucket_count; /* a power of two */
	uint64_t hash_seed;
	struct flow *lru_head[2]; /* least recently used first, per enum flow_list */
	struct flow *lru_tail[2];

	struct reasm_budget budget;
	struct flow_table_stats stats;
	uint64_t now_usec;
};

static const char *const flow_count_names[FLOW_COUNT_COUNT] = {
	[FLOW_COUNT_CREATED] = "created",
	[FLOW_COUNT_ENDED_FIN] = "ended_fin",
	[FLOW_COUNT_ENDED_RST] = "ended_rst",
	[FLOW_COUNT_ENDED_TIMEOUT] = "ended_timeout",
	[FLOW_COUNT_EVICTED] = "evicted",
	[FLOW_COUNT_ENDED_OPEN] = "ended_open",
	[FLOW_COUNT_SESSIONS] = "sessions",
	[FLOW_COUNT_MAIL_BY_NDPI] = "mail_by_ndpi",
	[FLOW_COUNT_NON_MAIL_ON_MAIL_PORT] = "non_mail_on_mail_port",
	[FLOW_COUNT_BYPASSED] = "bypassed",
	[FLOW_COUNT_BYPASSED_PACKETS] = "bypassed_packets",
	[FLOW_COUNT_ALLOC_FAILURES] = "alloc_failures",
	[FLOW_COUNT_PENDING_OVERFLOW] = "pending_overflow",
};

const char *app_count_name(enum app_count c)
{
	switch (c) {
	case APP_COUNT_LINES_TOO_LONG: return "lines_too_long";
	case APP_COUNT_LITERALS_OVER_LIMIT: return "literals_over_limit";
	case APP_COUNT_TLS_HANDSHAKES_UNPARSABLE: return "tls_handshakes_unparsable";
	default: return "unknown";
	}
}

const char *flow_count_name(enum flow_count c)
{
	if ((unsigned)c >= FLOW_COUNT_COUNT)
		return "unknown";
	return flow_count_names[c];
}

/* ---- LRU lists ---- */

static void flow_lru_unlink(struct flow_table *t, struct flow *f)
{
	if (f->lru_prev != NULL)
		f->lru_prev->lru_next = f->lru_next;
	else
		t->lru_head[f->list] = f->lru_next;
	if (f->lru_next != NULL)
		f->lru_next->lru_prev = f->lru_prev;
	else
		t->lru_tail[f->list] = f->lru_prev;
	f->lru_prev = NULL;
	f->lru_next = NULL;
}

static void flow_lru_append(struct flow_table *t, struct flow *f, enum flow_list list)
{
	f->list = list;
	f->lru_ts = f->last_ts;
	f->lru_prev = t->lru_tail[list];
	f->lru_next = NULL;
	if (t->lru_tail[list] != NULL)
		t->lru_tail[list]->lru_next = f;
	else
		t->lru_head[list] = f;
	t->lru_tail[list] = f;
}

/* ---- hash buckets ---- */

static struct flow **flow_bucket(struct flow_table *t, uint64_t hash)
{
	return &t->buckets[hash & (t->bucket_count - 1)];
}

static void flow_hash_unlink(struct flow_table *t, struct flow *f)
{
	struct flow **link = flow_bucket(t, f->hash);

	while (*link != NULL && *link != f)
		link = &(*link)->hash_next;
	if (*link == f)
		*link = f->hash_next;
	f->hash_next = NULL;
}

/* Doubles the bucket array; on allocation failure the table keeps its longer chains. */
static void flow_table_grow(struct flow_table *t)
{
	uint64_t count = t->bucket_count * 2;
	struct flow **buckets = calloc(count, sizeof(*buckets));

	if (buckets == NULL)
		return;
	for (uint64_t i = 0; i < t->bucket_count; i++) {
		struct flow *f = t->buckets[i];

		while (f != NULL) {
			struct flow *next = f->hash_next;
			struct flow **head = &buckets[f->hash & (count - 1)];

			f->hash_next = *head;
			*head = f;
			f = next;
		}
	}
	free(t->buckets);
	t->buckets = buckets;
	t->bucket_count = count;
}

static struct flow *flow_find(struct flow_table *t, const struct flow_key *key, uint64_t hash)
{
	for (struct flow *f = *flow_bucket(t, hash); f != NULL; f = f->hash_next) {
		if (f->hash == hash && flow_key_equal(&f->key, key))
			return f;
	}
	return NULL;
}

/* ---- sessions ---- */

static void flow_endpoint_fill(const struct flow *f, unsigned index, struct endpoint *ep)
{
	ep->family = f->key.family;
	memcpy(ep->addr, f->key.addr[index], sizeof(ep->addr));
	ep->port = f->key.port[index];
}

static void flow_session_init(const struct flow_table *t, const struct flow *f, struct session *s)
{
	memset(s, 0, sizeof(*s));
	s->flow_id = f->flow_id;
	flow_endpoint_fill(f, f->client_index, &s->client);
	flow_endpoint_fill(f, 1u - f->client_index, &s->server);
	s->app_proto = f->app_proto;
	s->first_ts_usec = f->first_ts;
	s->mail.starttls.offered = TRISTATE_UNKNOWN;
	s->sink = t->sink;

	/* Known from the first packet on, so analyzers do not judge a start they never saw. */
	s->evidence.midstream = !f->syn_seen && !f->synack_seen;
}

static struct session *flow_get_session(struct flow_table *t, struct flow *f)
{
	if (f->session != NULL)
		return f->session;
	f->session = malloc(sizeof(*f->session));
	if (f->session == NULL) {
		t->stats.counts[FLOW_COUNT_ALLOC_FAILURES]++;
		return NULL;
	}
	flow_session_init(t, f, f->session);
	return f->session;
}

/* Copies what the flow and its streams know into the session before it is reported. */
static void flow_session_finalize(const struct flow *f, struct session *s)
{
	struct session_evidence *ev = &s->evidence;

	s->last_ts_usec = f->last_ts;
	s->end = f->end;
	for (int d = 0; d < 2; d++) {
		const struct reasm_stream *st = &f->stream[d];

		s->packets[d] = f->packets[d];
		s->bytes[d] = f->bytes[d];
		s->payload_bytes[d] = f->payload_bytes[d];
		ev->seen[d] = f->packets[d] > 0;
		ev->gaps += st->gaps;
		ev->gap_bytes += st->gap_bytes;
		ev->overlap_conflicts += st->overlap_conflicts;
		if (st->hit_cap)
			session_add_anomaly(s, ANOMALY_REASSEMBLY_LIMIT);
	}
	ev->handshake_seen = f->syn_seen && f->synack_seen;
	ev->midstream = !f->syn_seen && !f->synack_seen;
	if (ev->midstream)
		session_add_anomaly(s, ANOMALY_MID_SESSION_START);
	if ((f->payload_bytes[0] > 0 || f->payload_bytes[1] > 0) && (!ev->seen[0] || !ev->seen[1]))
		session_add_anomaly(s, ANOMALY_ONE_SIDED_CAPTURE);
	if (ev->gaps > 0)
		session_add_anomaly(s, ANOMALY_TCP_GAP);
	if (ev->overlap_conflicts > 0)
		session_add_anomaly(s, ANOMALY_TCP_OVERLAP_CONFLICT);
}

/* ---- application hand-off ---- */

static void flow_deliver_app(struct flow_table *t, struct flow *f, enum direction dir, const uint8_t *data,
			     size_t len)
{
	struct session *s;

	if (f->app == NULL) {
		s = flow_get_session(t, f);
		if (s == NULL)
			return;
		f->app = app_analyzer_new(s, t->cfg, t->tls);
		if (f->app == NULL) {
			t->stats.counts[FLOW_COUNT_ALLOC_FAILURES]++;
			return;
		}
	}
	f->session->now_usec = t->now_usec;
	app_analyzer_data(f->app, dir, data, len);
}

static void flow_pending_append(struct flow_table *t, struct flow *f, enum direction dir, const uint8_t *data,
				size_t len)
{
	uint32_t room;

	if (f->pending[dir] == NULL) {
		f->pending[dir] = malloc(FLOW_PENDING_BYTES_MAX);
		if (f->pending[dir] == NULL) {
			t->stats.counts[FLOW_COUNT_ALLOC_FAILURES]++;
			return;
		}
	}
	room = FLOW_PENDING_BYTES_MAX - f->pending_len[dir];

	/* Bytes past the cap are lost to the analyzer; count them rather than grow. */
	if (len > room) {
		t->stats.counts[FLOW_COUNT_PENDING_OVERFLOW]++;
		len = room;
	}
	memcpy(f->pending[dir] + f->pending_len[dir], data, len);
	f->pending_len[dir] += (uint32_t)len;
}

static void flow_pending_free(struct flow *f)
{
	for (int d = 0; d < 2; d++) {
		free(f->pending[d]);
		f->pending[d] = NULL;
		f->pending_len[d] = 0;
	}
}

static void flow_on_data(void *ctx, const uint8_t *data, size_t len)
{
	struct flow_direction_ctx *dc = ctx;
	struct flow *f = dc->flow;

	if (f->role == FLOW_ROLE_MAIL)
		flow_deliver_app(dc->table, f, dc->dir, data, len);
	else if (f->role == FLOW_ROLE_PENDING)
		flow_pending_append(dc->table, f, dc->dir, data, len);
}

static void flow_on_gap(void *ctx, uint64_t len)
{
	struct flow_direction_ctx *dc = ctx;
	struct flow *f = dc->flow;

	if (f->role == FLOW_ROLE_MAIL && f->app != NULL)
		app_analyzer_gap(f->app, dc->dir, len);
	else if (f->role == FLOW_ROLE_PENDING)
		f->classify_done = true; /* a hole in the held bytes: stop waiting */
}

static void flow_bypass(struct flow_table *t, struct flow *f)
{
	if (f->bypassed)
		return;
	f->bypassed = true;
	t->stats.counts[FLOW_COUNT_BYPASSED]++;
	reasm_stream_bypass(&f->stream[0], &t->budget);
	reasm_stream_bypass(&f->stream[1], &t->budget);
	flow_pending_free(f);
	classify_flow_free(f->classify);
	f->classify = NULL;
}

/* ---- classification ---- */

/* A flow off the port map that nDPI calls mail becomes a mail flow; the held bytes are replayed. */
static void flow_promote_to_mail(struct flow_table *t, struct flow *f, enum app_proto proto)
{
	f->role = FLOW_ROLE_MAIL;
	f->app_proto = proto;
	t->stats.counts[FLOW_COUNT_MAIL_BY_NDPI]++;
	for (int d = 0; d < 2; d++) {
		if (f->pending_len[d] > 0)
			flow_deliver_app(t, f, (enum direction)d, f->pending[d], f->pending_len[d]);
	}
	flow_pending_free(f);
}

/*
 * Drops what the analyzer learnt from bytes that turned out not to be mail,
 * and labels the session with the protocol nDPI found. Clear text on an
 * implicit-TLS port stays reported: it is true whatever the protocol.
 */
static void flow_mark_not_mail(struct flow *f, struct session *s, const char *protocol)
{
	bool plaintext_on_tls_port = session_has_anomaly(s, ANOMALY_PLAINTEXT_ON_TLS_PORT);

	app_analyzer_free(f->app);
	f->app = NULL;
	session_release(s);
	memset(&s->mail, 0, sizeof(s->mail));
	memset(&s->tls, 0, sizeof(s->tls));
	s->mail.starttls.offered = TRISTATE_UNKNOWN;
	s->anomalies = 0;
	s->evidence.inconclusive = NULL;
	snprintf(s->detected_protocol, sizeof(s->detected_protocol), "%s", protocol);
	session_add_anomaly(s, ANOMALY_NON_MAIL_PROTOCOL);
	if (plaintext_on_tls_port)
		session_add_anomaly(s, ANOMALY_PLAINTEXT_ON_TLS_PORT);
}

static void flow_classify_result(struct flow_table *t, struct flow *f, const struct classify_result *r)
{
	struct session *s;

	if (f->role == FLOW_ROLE_PENDING) {
		if (r->proto != APP_PROTO_UNKNOWN) {
			flow_promote_to_mail(t, f, r->proto);
		} else {
			f->role = FLOW_ROLE_OTHER;
			flow_bypass(t, f);
		}
		return;
	}

	/* On a mail port, a protocol that nDPI identifies as neither mail nor TLS is not parsed as mail. */
	if (f->role == FLOW_ROLE_MAIL && r->name[0] != '\0' && r->proto == APP_PROTO_UNKNOWN && !r->is_tls) {
		s = flow_get_session(t, f);
		if (s == NULL)
			return;
		flow_mark_not_mail(f, s, r->name);
		t->stats.counts[FLOW_COUNT_NON_MAIL_ON_MAIL_PORT]++;
		flow_bypass(t, f);
	}
}

static void flow_held_free(struct flow *f)
{
	for (unsigned i = 0; i < FLOW_HELD_PACKETS; i++) {
		free(f->held[i]);
		f->held[i] = NULL;
	}
}

/* Copies a payload-less SYN or SYN-ACK for nDPI. Returns 0, or -1 when it must be fed now. */
static int flow_hold_packet(struct flow *f, const struct packet_view *pkt)
{
	struct flow_held_packet *h;
	unsigned slot = 0;

	if (pkt->payload_len > 0 || f->classify != NULL || pkt->ip_len > FLOW_HELD_PACKET_MAX)
		return -1;
	while (slot < FLOW_HELD_PACKETS && f->held[slot] != NULL)
		slot++;
	if (slot == FLOW_HELD_PACKETS)
		return -1;
	h = malloc(sizeof(*h) + pkt->ip_len);
	if (h == NULL)
		return -1;
	h->ts_usec = pkt->ts_usec;
	h->len = pkt->ip_len;
	memcpy(h->ip, pkt->ip_header, pkt->ip_len);
	f->held[slot] = h;
	return 0;
}

/* Feeds one IP packet to nDPI and acts on its verdict once it has one. */
static void flow_classify_feed(struct flow_table *t, struct flow *f, const uint8_t *ip, uint32_t ip_len,
			       uint64_t ts_usec)
{
	struct classify_result r;

	if (classifier_feed(t->classifier, &f->classify, ip, ip_len, ts_usec, &r) != 0) {
		t->stats.counts[FLOW_COUNT_ALLOC_FAILURES]++;
		f->classify_done = true;
		return;
	}
	if (!r.done)
		return;
	f->classify_done = true;
	classify_flow_free(f->classify);
	f->classify = NULL;
	flow_classify_result(t, f, &r);
}

/* Feeds nDPI the held SYN and SYN-ACK, in order, until it decides. */
static void flow_classify_replay(struct flow_table *t, struct flow *f)
{
	for (unsigned i = 0; i < FLOW_HELD_PACKETS && f->held[i] != NULL; i++) {
		if (!f->classify_done)
			flow_classify_feed(t, f, f->held[i]->ip, f->held[i]->len, f->held[i]->ts_usec);
	}
	flow_held_free(f);
}

/*
 * True once the analyzer has recognised the protocol on a mail port by
 * itself (a greeting, an EHLO reply or a TLS hello): nDPI would only
 * confirm it, at about 20,000 instructions a packet.
 */
static bool flow_protocol_recognised(const struct flow *f)
{
	const struct session *s = f->session;

	if (f->role != FLOW_ROLE_MAIL || s == NULL)
		return false;
	return s->tls.client_hello_seen || s->tls.server_hello_seen || wire_text_is_set(&s->mail.greeting_host) ||
	       wire_text_is_set(&s->mail.capabilities);
}

static void flow_classify_packet(struct flow_table *t, struct flow *f, const struct packet_view *pkt)
{
	if (f->classify_done || t->classifier == NULL || pkt->ip_header == NULL)
		return;
	if (flow_protocol_recognised(f)) {
		f->classify_done = true;
		classify_flow_free(f->classify);
		f->classify = NULL;
		return;
	}
	if (flow_hold_packet(f, pkt) == 0)
		return;
	flow_classify_replay(t, f);
	if (!f->classify_done && !f->bypassed)
		flow_classify_feed(t, f, pkt->ip_header, pkt->ip_len, pkt->ts_usec);
}

/* ---- creation and end ---- */

static void flow_free(struct flow_table *t, struct flow *f)
{
	reasm_stream_release(&f->stream[0], &t->budget);
	reasm_stream_release(&f->stream[1], &t->budget);
	app_analyzer_free(f->app);
	classify_flow_free(f->classify);
	flow_pending_free(f);
	flow_held_free(f);
	if (f->session != NULL) {
		session_release(f->session);
		free(f->session);
	}
	free(f);
}

/* Delivers what reassembly still holds, settles the verdicts and reports the session. */
static void flow_end(struct flow_table *t, struct flow *f, enum session_end end)
{
	struct session stack_session;
	struct session *s;

	f->end = end;

	/* A flow that never carried data: nDPI gets its SYN and SYN-ACK now, as it would have on arrival. */
	if (f->held[0] != NULL && !f->bypassed && t->classifier != NULL)
		flow_classify_replay(t, f);
	if (!f->bypassed) {
		for (int d = 0; d < 2; d++) {
			struct flow_direction_ctx dc = {t, f, (enum direction)d};
			struct reasm_output out = {flow_on_data, flow_on_gap, &dc};

			reasm_stream_flush(&f->stream[d], &t->budget, &out);
		}
	}
	if (f->role == FLOW_ROLE_PENDING && f->pending_len[0] + f->pending_len[1] == 0)
		f->role = FLOW_ROLE_OTHER;
	if (f->role == FLOW_ROLE_MAIL) {
		s = f->session;
		if (s == NULL) {
			/* No payload was seen: report the connection from the flow's own facts. */
			s = &stack_session;
			flow_session_init(t, f, s);
		}
		s->now_usec = f->last_ts;

		/* The analyzers settle their verdicts knowing how the connection ended and what was captured. */
		flow_session_finalize(f, s);
		if (f->app != NULL)
			app_analyzer_finish(f->app);
		t->stats.counts[FLOW_COUNT_SESSIONS]++;
		t->stats.app[APP_COUNT_LINES_TOO_LONG] += s->caps.lines_too_long;
		t->stats.app[APP_COUNT_LITERALS_OVER_LIMIT] += s->caps.literals_over_limit;
		t->stats.app[APP_COUNT_TLS_HANDSHAKES_UNPARSABLE] += s->caps.tls_handshakes_unparsable;
		if (t->on_end != NULL)
			t->on_end(t->end_ctx, s);
		if (s == &stack_session)
			session_release(s);
	}
	flow_hash_unlink(t, f);
	flow_lru_unlink(t, f);
	t->stats.active--;
	flow_free(t, f);
}

static bool flow_port_is_mail(const struct flow_table *t, uint16_t port)
{
	return port_map_lookup(&t->cfg->ports, port) != APP_PROTO_UNKNOWN;
}

/*
 * Picks the client: the sender of a SYN, else the receiver of a SYN-ACK,
 * else the side not on a mail port, else the side on the higher port.
 */
static uint8_t flow_pick_client(const struct flow_table *t, const struct flow_key *key, uint8_t sender,
				uint8_t tcp_flags)
{
	uint8_t receiver = 1u - sender;
	bool sender_mail = flow_port_is_mail(t, key->port[sender]);
	bool receiver_mail = flow_port_is_mail(t, key->port[receiver]);

	if ((tcp_flags & TCP_FLAG_SYN) && !(tcp_flags & TCP_FLAG_ACK))
		return sender;
	if ((tcp_flags & TCP_FLAG_SYN) && (tcp_flags & TCP_FLAG_ACK))
		return receiver;
	if (receiver_mail && !sender_mail)
		return sender;
	if (sender_mail && !receiver_mail)
		return receiver;
	return key->port[sender] >= key->port[receiver] ? sender : receiver;
}

/*
 * Derives the flow id from the key and the first packet time with a fixed
 * seed, so a second run over the same capture (or a run with several
 * workers) gives the same ids. EVE flow ids stay below 2^53 so JSON
 * consumers that use doubles keep them exact.
 */
static uint64_t flow_make_id(const struct flow_key *key, uint64_t ts_usec)
{
	return flow_hash_mix(flow_key_hash(key, 0) ^ ts_usec) & ((UINT64_C(1) << 51) - 1);
}

static void flow_table_make_room(struct flow_table *t)
{
	struct flow *victim;

	if (t->stats.active < t->cfg->max_flows)
		return;
	victim = t->lru_head[FLOW_LIST_CLOSED] != NULL ? t->lru_head[FLOW_LIST_CLOSED] : t->lru_head[FLOW_LIST_OPEN];
	if (victim == NULL)
		return;
	t->stats.counts[FLOW_COUNT_EVICTED]++;
	flow_end(t, victim, victim->list == FLOW_LIST_CLOSED ? victim->end : SESSION_END_EVICTED);
}

static struct flow *flow_create(struct flow_table *t, const struct flow_key *key, uint64_t hash, uint8_t sender,
				const struct packet_view *pkt)
{
	struct flow *f;
	struct flow **head;

	flow_table_make_room(t);
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		t->stats.counts[FLOW_COUNT_ALLOC_FAILURES]++;
		return NULL;
	}
	f->key = *key;
	f->hash = hash;
	f->client_index = flow_pick_client(t, key, sender, pkt->tcp_flags);
	f->app_proto = port_map_lookup(&t->cfg->ports, key->port[1u - f->client_index]);
	f->role = f->app_proto != APP_PROTO_UNKNOWN ? FLOW_ROLE_MAIL : FLOW_ROLE_PENDING;
	if (f->role == FLOW_ROLE_PENDING && t->classifier == NULL)
		f->role = FLOW_ROLE_OTHER;
	f->first_ts = pkt->ts_usec;
	f->last_ts = pkt->ts_usec;
	f->flow_id = flow_make_id(key, pkt->ts_usec);
	reasm_stream_init(&f->stream[0]);
	reasm_stream_init(&f->stream[1]);

	head = flow_bucket(t, hash);
	f->hash_next = *head;
	*head = f;
	flow_lru_append(t, f, FLOW_LIST_OPEN);
	t->stats.active++;
	t->stats.counts[FLOW_COUNT_CREATED]++;
	if (t->stats.active > t->stats.max_active)
		t->stats.max_active = t->stats.active;
	if (t->stats.active > t->bucket_count)
		flow_table_grow(t);
	if (f->role == FLOW_ROLE_OTHER)
		flow_bypass(t, f);
	return f;
}

/* ---- packet path ---- */

static void flow_note_flags(struct flow_table *t, struct flow *f, enum direction dir, const struct packet_view *pkt)
{
	uint8_t flags = pkt->tcp_flags;

	if ((flags & TCP_FLAG_SYN) && !(flags & TCP_FLAG_ACK) && dir == DIR_TO_SERVER) {
		f->syn_seen = true;
		reasm_stream_set_isn(&f->stream[DIR_TO_SERVER], pkt->seq);
	} else if ((flags & TCP_FLAG_SYN) && (flags & TCP_FLAG_ACK) && dir == DIR_TO_CLIENT) {
		f->synack_seen = true;
		reasm_stream_set_isn(&f->stream[DIR_TO_CLIENT], pkt->seq);
	}
	if (flags & TCP_FLAG_RST) {
		f->rst_seen = true;
		f->end = SESSION_END_RST;
	}
	if (flags & TCP_FLAG_FIN) {
		f->fin_seen[dir] = true;
		if (f->fin_seen[0] && f->fin_seen[1] && f->end != SESSION_END_RST)
			f->end = SESSION_END_FIN;
	}
	if (f->list == FLOW_LIST_OPEN && (f->rst_seen || (f->fin_seen[0] && f->fin_seen[1]))) {
		flow_lru_unlink(t, f);
		flow_lru_append(t, f, FLOW_LIST_CLOSED);
	}
}

static void flow_reassemble(struct flow_table *t, struct flow *f, enum direction dir, const struct packet_view *pkt)
{
	struct flow_direction_ctx dc = {t, f, dir};
	struct flow_direction_ctx peer = {t, f, (enum direction)(1 - dir)};
	struct reasm_output out = {flow_on_data, flow_on_gap, &dc};
	struct reasm_output peer_out = {flow_on_data, flow_on_gap, &peer};
	bool fin = (pkt->tcp_flags & TCP_FLAG_FIN) != 0;
	uint32_t seq = pkt->seq;

	/* Data carried on a SYN (TCP Fast Open) starts one past the SYN's sequence number. */
	if (pkt->tcp_flags & TCP_FLAG_SYN)
		seq += 1;
	if (pkt->payload_len > 0 || fin)
		reasm_stream_add(&f->stream[dir], &t->budget, seq, pkt->payload, pkt->payload_len, fin, &out);
	/*
	 * An ACK past a hole proves the bytes are lost only when later data of that
	 * direction is queued: on a span port an ACK often arrives before the
	 * segment it acknowledges, and skipping then would invent a gap.
	 */
	if ((pkt->tcp_flags & TCP_FLAG_ACK) && !f->bypassed && f->stream[1 - dir].queue != NULL)
		reasm_stream_ack(&f->stream[1 - dir], &t->budget, pkt->ack, &peer_out);
}

/* nDPI finished (or a hole stopped it) without calling the flow mail. */
static void flow_classify_give_up(struct flow_table *t, struct flow *f)
{
	f->role = FLOW_ROLE_OTHER;
	flow_bypass(t, f);
}

/*
 * True for a segment that starts with a TLS handshake record holding a
 * ClientHello or ServerHello. Off the mail ports such a flow is not mail
 * in clear text, and nDPI 4.2 would spend tens of thousands of
 * instructions dissecting its handshake only to say so.
 */
static bool flow_payload_is_tls_hello(const struct packet_view *pkt)
{
	const uint8_t *p = pkt->payload;

	if (pkt->payload_len < 6)
		return false;
	return p[0] == 0x16 && p[1] == 0x03 && p[2] <= 0x04 && (p[5] == 0x01 || p[5] == 0x02);
}

void flow_table_process(struct flow_table *t, const struct packet_view *pkt)
{
	struct flow_key key;
	uint8_t sender;
	uint64_t hash;
	struct flow *f;
	enum direction dir;
	bool classify;

	t->now_usec = pkt->ts_usec;
	flow_table_expire(t, pkt->ts_usec);

	sender = flow_key_make(&key, pkt);
	hash = flow_key_hash(&key, t->hash_seed);
	f = flow_find(t, &key, hash);

	/* A new SYN on a closed connection starts a new one on the same ports. */
	if (f != NULL && f->list == FLOW_LIST_CLOSED && (pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN) {
		t->stats.counts[f->end == SESSION_END_RST ? FLOW_COUNT_ENDED_RST : FLOW_COUNT_ENDED_FIN]++;
		flow_end(t, f, f->end);
		f = NULL;
	}
	if (f == NULL) {
		f = flow_create(t, &key, hash, sender, pkt);
		if (f == NULL)
			return;
	}
	dir = sender == f->client_index ? DIR_TO_SERVER : DIR_TO_CLIENT;
	f->last_ts = pkt->ts_usec;
	if (f->last_ts > f->lru_ts + FLOW_LRU_REFRESH_USEC) {
		flow_lru_unlink(t, f);
		flow_lru_append(t, f, f->list);
	}
	f->packets[dir]++;
	f->bytes[dir] += pkt->ip_len;
	f->payload_bytes[dir] += pkt->payload_len;
	flow_note_flags(t, f, dir, pkt);

	if (f->bypassed) {
		t->stats.counts[FLOW_COUNT_BYPASSED_PACKETS]++;
		return;
	}
	classify = !f->classify_done && (pkt->payload_len > 0 || (pkt->tcp_flags & TCP_FLAG_SYN));

	/* A flow off the mail ports has no analyzer until nDPI calls it mail. */
	if (classify && f->role == FLOW_ROLE_PENDING) {
		if (flow_payload_is_tls_hello(pkt)) {
			flow_held_free(f);
			f->classify_done = true;
			flow_classify_give_up(t, f);
			return;
		}
		flow_classify_packet(t, f, pkt);
		if (f->bypassed)
			return;
		classify = false;
	}
	flow_reassemble(t, f, dir, pkt);

	/*
	 * On a mail port the analyzer reads the packet first: when it recognises
	 * a greeting or a TLS hello, nDPI never has to see the flow.
	 */
	if (classify && !f->bypassed && !f->classify_done)
		flow_classify_packet(t, f, pkt);
	if (f->bypassed)
		return;
	if (f->role == FLOW_ROLE_PENDING && f->classify_done)
		flow_classify_give_up(t, f);
	if (f->role == FLOW_ROLE_MAIL && f->app != NULL && app_analyzer_is_done(f->app))
		flow_bypass(t, f);
}

static void flow_expire_list(struct flow_table *t, enum flow_list list, uint64_t timeout_usec, uint64_t now_usec)
{
	while (t->lru_head[list] != NULL) {
		struct flow *f = t->lru_head[list];

		/* The list is in lru_ts order; a flow active since its last move goes to the tail now. */
		if (f->last_ts + timeout_usec >= now_usec) {
			if (f->lru_ts + timeout_usec >= now_usec)
				break;
			flow_lru_unlink(t, f);
			flow_lru_append(t, f, list);
			continue;
		}
		if (list == FLOW_LIST_OPEN) {
			t->stats.counts[FLOW_COUNT_ENDED_TIMEOUT]++;
			flow_end(t, f, SESSION_END_TIMEOUT);
		} else {
			t->stats.counts[f->end == SESSION_END_RST ? FLOW_COUNT_ENDED_RST : FLOW_COUNT_ENDED_FIN]++;
			flow_end(t, f, f->end);
		}
	}
}

void flow_table_expire(struct flow_table *t, uint64_t now_usec)
{
	flow_expire_list(t, FLOW_LIST_CLOSED, (uint64_t)t->cfg->flow_closed_timeout_s * 1000000u, now_usec);
	flow_expire_list(t, FLOW_LIST_OPEN, (uint64_t)t->cfg->flow_idle_timeout_s * 1000000u, now_usec);
}

/* Ends the least recently used flow of one list, as the end of input does. */
static void flow_flush_head(struct flow_table *t, enum flow_list list)
{
	struct flow *f = t->lru_head[list];

	if (list == FLOW_LIST_CLOSED) {
		t->stats.counts[f->end == SESSION_END_RST ? FLOW_COUNT_ENDED_RST : FLOW_COUNT_ENDED_FIN]++;
		flow_end(t, f, f->end);
	} else {
		t->stats.counts[FLOW_COUNT_ENDED_OPEN]++;
		flow_end(t, f, SESSION_END_OPEN);
	}
}

void flow_table_flush(struct flow_table *t)
{
	for (int list = 0; list < 2; list++) {
		while (t->lru_head[list] != NULL)
			flow_flush_head(t, (enum flow_list)list);
	}
}

bool flow_table_flush_peek(const struct flow_table *t, uint64_t *order)
{
	for (int list = 0; list < 2; list++) {
		if (t->lru_head[list] != NULL) {
			*order = ((uint64_t)list << 63) | (t->lru_head[list]->lru_ts & (UINT64_MAX >> 1));
			return true;
		}
	}
	return false;
}

void flow_table_flush_next(struct flow_table *t)
{
	for (int list = 0; list < 2; list++) {
		if (t->lru_head[list] != NULL) {
			flow_flush_head(t, (enum flow_list)list);
			return;
		}
	}
}

/* ---- lifecycle ---- */

struct flow_table *flow_table_new(const struct mailtap_config *cfg, const struct tls_context *tls,
				  struct classifier *classifier, const struct event_sink *sink,
				  flow_session_end_fn on_end, void *end_ctx)
{
	struct flow_table *t = calloc(1, sizeof(*t));
	struct reasm_limits limits = {cfg->reasm_stream_bytes, cfg->reasm_stream_segments, cfg->reasm_total_bytes};

	if (t == NULL)
		return NULL;
	t->bucket_count = FLOW_BUCKETS_INITIAL;
	t->buckets = calloc(t->bucket_count, sizeof(*t->buckets));
	if (t->buckets == NULL) {
		free(t);
		return NULL;
	}
	t->cfg = cfg;
	t->tls = tls;
	t->classifier = classifier;
	t->sink = sink;
	t->on_end = on_end;
	t->end_ctx = end_ctx;
	t->hash_seed = flow_hash_seed();
	reasm_budget_init(&t->budget, &limits);
	return t;
}

void flow_table_free(struct flow_table *t)
{
	if (t == NULL)
		return;
	flow_table_flush(t);
	free(t->buckets);
	free(t);
}

void flow_table_get_stats(const struct flow_table *t, struct flow_table_stats *out)
{
	*out = t->stats;
}

const struct reasm_budget *flow_table_reasm_budget(const struct flow_table *t)
{
	return &t->budget;
}
