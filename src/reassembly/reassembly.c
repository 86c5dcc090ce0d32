/*
 * TCP stream reassembly, one direction (RFC 9293 sections 3.4 and 3.10.7.4).
 *
 * Sequence numbers are compared as serial numbers (RFC 1982): every position
 * is turned into an offset ahead of next_seq, so wraparound at 2^32 needs no
 * special case. Overlapping data is resolved first-data-wins: bytes already
 * delivered or queued are kept, and a later copy that differs is counted as
 * an overlap conflict. When a cap stops a segment from being queued, the
 * stream skips to its earliest held data, signals the hole as a gap and
 * delivers what follows, so memory never grows past the caps.
 */
#include "reassembly/reassembly.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Serial-number half range: an offset at or past it lies behind next_seq. */
#define REASM_SERIAL_HALF 0x80000000u

static const char *const reasm_count_names[REASM_COUNT_COUNT] = {
	[REASM_COUNT_SEGMENTS] = "segments",
	[REASM_COUNT_MIDSTREAM] = "midstream",
	[REASM_COUNT_RETRANSMISSIONS] = "retransmissions",
	[REASM_COUNT_RETRANSMITTED_BYTES] = "retransmitted_bytes",
	[REASM_COUNT_OVERLAPS] = "overlaps",
	[REASM_COUNT_OVERLAP_CONFLICTS] = "overlap_conflicts",
	[REASM_COUNT_GAPS] = "gaps",
	[REASM_COUNT_GAP_BYTES] = "gap_bytes",
	[REASM_COUNT_DROPS_STREAM_CAP] = "drops_stream_cap",
	[REASM_COUNT_DROPS_GLOBAL_CAP] = "drops_global_cap",
	[REASM_COUNT_DROPS_SEGMENT_CAP] = "drops_segment_cap",
	[REASM_COUNT_ALLOC_FAILURES] = "alloc_failures",
	[REASM_COUNT_OUT_OF_WINDOW] = "out_of_window",
	[REASM_COUNT_AFTER_FIN_BYTES] = "after_fin_bytes",
	[REASM_COUNT_FIN_CONFLICTS] = "fin_conflicts",
	[REASM_COUNT_BYPASSED_SEGMENTS] = "bypassed_segments",
};

const char *reasm_count_name(enum reasm_count c)
{
	if ((unsigned)c >= REASM_COUNT_COUNT)
		return "unknown";
	return reasm_count_names[c];
}

void reasm_budget_init(struct reasm_budget *b, const struct reasm_limits *limits)
{
	memset(b, 0, sizeof(*b));
	b->limits = *limits;
}

void reasm_stream_init(struct reasm_stream *s)
{
	memset(s, 0, sizeof(*s));
	s->state = REASM_STATE_IDLE;
}

static void reasm_set_state(struct reasm_stream *s, enum reasm_state state)
{
	s->state = state;
}

/* Returns how far seq lies ahead of next_seq, modulo 2^32. */
static uint32_t reasm_offset(const struct reasm_stream *s, uint32_t seq)
{
	return seq - s->next_seq;
}

static bool reasm_is_behind(const struct reasm_stream *s, uint32_t seq)
{
	return reasm_offset(s, seq) >= REASM_SERIAL_HALF;
}

static void reasm_emit_data(struct reasm_stream *s, const uint8_t *data, uint32_t len,
			    const struct reasm_output *out)
{
	if (len == 0)
		return;
	s->next_seq += len;
	s->bytes_delivered += len;
	if (out != NULL && out->data != NULL)
		out->data(out->ctx, data, len);
}

static void reasm_emit_gap(struct reasm_stream *s, struct reasm_budget *b, uint32_t len,
			   const struct reasm_output *out)
{
	if (len == 0)
		return;
	s->next_seq += len;
	s->gaps++;
	s->gap_bytes += len;
	b->counts[REASM_COUNT_GAPS]++;
	b->counts[REASM_COUNT_GAP_BYTES] += len;
	if (out != NULL && out->gap != NULL)
		out->gap(out->ctx, len);
}

/* Counts one overlap of new bytes with held bytes, and a conflict when they differ. */
static void reasm_compare_overlap(struct reasm_stream *s, struct reasm_budget *b,
				  const uint8_t *fresh, const uint8_t *held, uint32_t len)
{
	b->counts[REASM_COUNT_OVERLAPS]++;
	if (memcmp(fresh, held, len) == 0)
		return;
	s->overlap_conflicts++;
	b->counts[REASM_COUNT_OVERLAP_CONFLICTS]++;
}

static void reasm_queue_pop(struct reasm_stream *s, struct reasm_budget *b)
{
	struct reasm_segment *seg = s->queue;

	assert(seg != NULL);
	assert(s->queued_bytes >= seg->len);
	assert(b->bytes_in_use >= seg->len);
	s->queue = seg->next;
	s->queued_bytes -= seg->len;
	s->queued_segments--;
	b->bytes_in_use -= seg->len;
	free(seg);
}

static void reasm_check_closed(struct reasm_stream *s)
{
	if (s->state == REASM_STATE_OPEN && s->has_fin && s->next_seq == s->fin_seq)
		reasm_set_state(s, REASM_STATE_CLOSED);
}

/* Delivers queued segments while the head starts at (or before) next_seq. */
static void reasm_drain_queue(struct reasm_stream *s, struct reasm_budget *b,
			      const struct reasm_output *out)
{
	while (s->queue != NULL) {
		struct reasm_segment *head = s->queue;
		uint32_t skip = 0;

		if (reasm_is_behind(s, head->seq))
			skip = s->next_seq - head->seq;
		else if (head->seq != s->next_seq)
			break;

		/* The queue is kept after next_seq, so skip is 0 unless that invariant broke. */
		if (skip < head->len)
			reasm_emit_data(s, head->data + skip, head->len - skip, out);
		reasm_queue_pop(s, b);
	}
	reasm_check_closed(s);
}

/*
 * Delivers a segment that starts exactly at next_seq. Queued ranges that the
 * segment reaches were seen first, so they win: they are delivered in place of
 * the overlapping new bytes, which are only compared.
 */
static void reasm_deliver_in_order(struct reasm_stream *s, struct reasm_budget *b,
				   const uint8_t *data, uint32_t len, const struct reasm_output *out)
{
	while (len > 0) {
		struct reasm_segment *head = s->queue;
		uint32_t lead;
		uint32_t overlap;

		if (head == NULL || reasm_offset(s, head->seq) >= len) {
			reasm_emit_data(s, data, len, out);
			break;
		}
		lead = reasm_offset(s, head->seq);
		reasm_emit_data(s, data, lead, out);
		data += lead;
		len -= lead;

		overlap = len < head->len ? len : head->len;
		reasm_compare_overlap(s, b, data, head->data, overlap);
		data += overlap;
		len -= overlap;
		reasm_emit_data(s, head->data, head->len, out);
		reasm_queue_pop(s, b);
	}
	reasm_drain_queue(s, b, out);
}

/* Returns true when a new range of len bytes would pass a cap, and sets *cap to its counter. */
static bool reasm_find_cap(const struct reasm_stream *s, const struct reasm_budget *b, uint32_t len,
			   enum reasm_count *cap)
{
	if (s->queued_segments >= b->limits.stream_segments)
		*cap = REASM_COUNT_DROPS_SEGMENT_CAP;
	else if (s->queued_bytes > b->limits.stream_bytes ||
		 len > b->limits.stream_bytes - s->queued_bytes)
		*cap = REASM_COUNT_DROPS_STREAM_CAP;
	else if (b->bytes_in_use > b->limits.total_bytes ||
		 len > b->limits.total_bytes - b->bytes_in_use)
		*cap = REASM_COUNT_DROPS_GLOBAL_CAP;
	else
		return false;
	return true;
}

/*
 * Copies a range into a new queue entry linked at *link. Returns 0, or
 * -ENOSPC with *cap set to the counter of the cap that stopped it
 * (REASM_COUNT_ALLOC_FAILURES when malloc failed). Nothing is held then.
 */
static int reasm_queue_link(struct reasm_stream *s, struct reasm_budget *b,
			    struct reasm_segment **link, uint32_t seq, const uint8_t *data, uint32_t len,
			    enum reasm_count *cap)
{
	struct reasm_segment *seg;

	if (reasm_find_cap(s, b, len, cap))
		return -ENOSPC;
	seg = malloc(sizeof(*seg) + len);
	if (seg == NULL) {
		*cap = REASM_COUNT_ALLOC_FAILURES;
		return -ENOSPC;
	}
	seg->seq = seq;
	seg->len = len;
	memcpy(seg->data, data, len);
	seg->next = *link;
	*link = seg;
	s->queued_bytes += len;
	s->queued_segments++;
	b->bytes_in_use += len;
	return 0;
}

/*
 * A cap stopped the range at seq from being queued: skip the hole before the
 * earliest held data (the queue head, or seq itself when it comes first),
 * signal it as a gap and deliver what is contiguous. Frees at least one queue
 * entry or moves next_seq to seq, so the caller's loop always progresses.
 */
static void reasm_force_progress(struct reasm_stream *s, struct reasm_budget *b, uint32_t seq,
				 enum reasm_count cap, const struct reasm_output *out)
{
	struct reasm_segment *head = s->queue;

	b->counts[cap]++;
	s->hit_cap = true;
	if (head != NULL && reasm_offset(s, head->seq) < reasm_offset(s, seq)) {
		reasm_emit_gap(s, b, reasm_offset(s, head->seq), out);
		reasm_drain_queue(s, b, out);
		return;
	}
	reasm_emit_gap(s, b, reasm_offset(s, seq), out);
}

/*
 * Queues a segment that starts after next_seq. Only the parts that fill holes
 * between held ranges are copied. Parts over held ranges are compared and
 * dropped, because the first data wins.
 */
static void reasm_queue_insert(struct reasm_stream *s, struct reasm_budget *b, uint32_t seq,
			       const uint8_t *data, uint32_t len, const struct reasm_output *out)
{
	struct reasm_segment **link = &s->queue;

	while (len > 0) {
		struct reasm_segment *queued;
		uint32_t start = reasm_offset(s, seq);
		uint32_t piece;
		enum reasm_count cap;

		if (start == 0) {
			reasm_deliver_in_order(s, b, data, len, out);
			return;
		}
		queued = *link;
		while (queued != NULL && reasm_offset(s, queued->seq) + queued->len <= start) {
			link = &queued->next;
			queued = *link;
		}
		if (queued != NULL && reasm_offset(s, queued->seq) <= start) {
			uint32_t into = start - reasm_offset(s, queued->seq);

			piece = queued->len - into < len ? queued->len - into : len;
			reasm_compare_overlap(s, b, data, queued->data + into, piece);
		} else {
			piece = queued != NULL ? reasm_offset(s, queued->seq) - start : len;
			piece = piece < len ? piece : len;
			if (reasm_queue_link(s, b, link, seq, data, piece, &cap) != 0) {
				reasm_force_progress(s, b, seq, cap, out);
				link = &s->queue;
				continue;
			}
		}
		seq += piece;
		data += piece;
		len -= piece;
	}
}

/* Starts a stream picked up without its SYN at the first segment seen. */
static void reasm_start_midstream(struct reasm_stream *s, struct reasm_budget *b, uint32_t seq)
{
	s->next_seq = seq;
	s->midstream = true;
	b->counts[REASM_COUNT_MIDSTREAM]++;
	reasm_set_state(s, REASM_STATE_OPEN);
}

/*
 * Records the FIN position. The first FIN wins. A FIN that falls before bytes
 * already delivered or queued is counted and ignored, because those bytes
 * were seen first.
 */
static void reasm_note_fin(struct reasm_stream *s, struct reasm_budget *b, uint32_t fin_seq)
{
	const struct reasm_segment *tail = s->queue;

	if (s->has_fin) {
		if (fin_seq != s->fin_seq)
			b->counts[REASM_COUNT_FIN_CONFLICTS]++;
		return;
	}
	if (reasm_is_behind(s, fin_seq)) {
		b->counts[REASM_COUNT_FIN_CONFLICTS]++;
		return;
	}
	while (tail != NULL && tail->next != NULL)
		tail = tail->next;
	if (tail != NULL && reasm_offset(s, tail->seq) + tail->len > reasm_offset(s, fin_seq)) {
		b->counts[REASM_COUNT_FIN_CONFLICTS]++;
		return;
	}
	s->has_fin = true;
	s->fin_seq = fin_seq;
}

/* Counts a segment's bytes that were already delivered and returns how many to skip. */
static uint32_t reasm_trim_delivered(struct reasm_stream *s, struct reasm_budget *b, uint32_t seq,
				     uint32_t len)
{
	uint32_t old = s->next_seq - seq;
	uint32_t skip = old < len ? old : len;

	s->retransmissions++;
	b->counts[REASM_COUNT_RETRANSMISSIONS]++;
	b->counts[REASM_COUNT_RETRANSMITTED_BYTES] += skip;
	return skip;
}

/* Drops the part of a segment past a seen FIN and returns the length kept. */
static uint32_t reasm_trim_after_fin(struct reasm_stream *s, struct reasm_budget *b, uint32_t seq,
				     uint32_t len)
{
	uint32_t start = reasm_offset(s, seq);
	uint32_t fin = reasm_offset(s, s->fin_seq);
	uint32_t room;

	if (!s->has_fin)
		return len;
	room = start < fin ? fin - start : 0;
	if (len <= room)
		return len;
	b->counts[REASM_COUNT_AFTER_FIN_BYTES] += len - room;
	return room;
}

/* Routes a payload to delivery or to the queue after trimming what cannot be used. */
static void reasm_accept_payload(struct reasm_stream *s, struct reasm_budget *b, uint32_t seq,
				 const uint8_t *data, uint32_t len, const struct reasm_output *out)
{
	if (len == 0)
		return;
	if (reasm_is_behind(s, seq)) {
		uint32_t skip = reasm_trim_delivered(s, b, seq, len);

		seq += skip;
		data += skip;
		len -= skip;
		if (len == 0)
			return;
	}

	/* A start this far ahead belongs to another sequence space (or a bogus packet). */
	if (reasm_offset(s, seq) > REASM_WINDOW_MAX) {
		b->counts[REASM_COUNT_OUT_OF_WINDOW]++;
		return;
	}
	len = reasm_trim_after_fin(s, b, seq, len);
	if (len == 0)
		return;
	if (seq == s->next_seq)
		reasm_deliver_in_order(s, b, data, len, out);
	else
		reasm_queue_insert(s, b, seq, data, len, out);
}

int reasm_stream_add(struct reasm_stream *s, struct reasm_budget *b, uint32_t seq,
		     const uint8_t *data, uint32_t len, bool fin, const struct reasm_output *out)
{
	/* Longer payloads cannot come from one TCP segment and would break offset arithmetic. */
	if (len > REASM_WINDOW_MAX || (len > 0 && data == NULL))
		return -EINVAL;

	b->counts[REASM_COUNT_SEGMENTS]++;
	if (s->state == REASM_STATE_BYPASS) {
		b->counts[REASM_COUNT_BYPASSED_SEGMENTS]++;
		return 0;
	}
	if (s->state == REASM_STATE_IDLE)
		reasm_start_midstream(s, b, seq);
	if (fin)
		reasm_note_fin(s, b, seq + len);
	reasm_accept_payload(s, b, seq, data, len, out);
	reasm_check_closed(s);
	return 0;
}

void reasm_stream_set_isn(struct reasm_stream *s, uint32_t isn)
{
	bool untouched = s->bytes_delivered == 0 && s->gaps == 0 && s->queue == NULL;

	if (s->state == REASM_STATE_BYPASS)
		return;
	if (s->has_isn && s->isn == isn)
		return;

	/* Once bytes were delivered or queued, they fix the sequence space. */
	if (s->state != REASM_STATE_IDLE && !untouched)
		return;
	s->isn = isn;
	s->has_isn = true;
	s->next_seq = isn + 1;
	s->has_fin = false;
	s->midstream = false;
	reasm_set_state(s, REASM_STATE_OPEN);
}

/* Delivers or skips everything before target, signalling holes as gaps. */
static void reasm_skip_to(struct reasm_stream *s, struct reasm_budget *b, uint32_t target,
			  const struct reasm_output *out)
{
	while (s->next_seq != target && !reasm_is_behind(s, target)) {
		struct reasm_segment *head = s->queue;
		uint32_t hole = reasm_offset(s, target);

		if (head != NULL && reasm_offset(s, head->seq) < hole)
			hole = reasm_offset(s, head->seq);
		reasm_emit_gap(s, b, hole, out);
		reasm_drain_queue(s, b, out);
	}
}

void reasm_stream_ack(struct reasm_stream *s, struct reasm_budget *b, uint32_t ack,
		      const struct reasm_output *out)
{
	uint32_t ahead = reasm_offset(s, ack);

	if (s->state != REASM_STATE_OPEN)
		return;
	if (ahead == 0 || ahead >= REASM_SERIAL_HALF)
		return;
	if (ahead > REASM_WINDOW_MAX) {
		b->counts[REASM_COUNT_OUT_OF_WINDOW]++;
		return;
	}

	/* The FIN takes one sequence number but carries no byte. */
	if (s->has_fin && ahead > reasm_offset(s, s->fin_seq)) {
		ack = s->fin_seq;
		ahead = reasm_offset(s, ack);
	}

	/* One number past all data may be a FIN the capture missed, not a lost byte. */
	if (ahead == 1 && s->queue == NULL && !s->has_fin)
		return;

	/*
	 * TODO: a span port can show an ACK before the segment it acknowledges.
	 * That segment's bytes are then signalled as a gap and dropped as a retransmission.
	 */
	reasm_skip_to(s, b, ack, out);
	reasm_check_closed(s);
}

void reasm_stream_flush(struct reasm_stream *s, struct reasm_budget *b, const struct reasm_output *out)
{
	if (s->state != REASM_STATE_OPEN)
		return;
	reasm_drain_queue(s, b, out);
	while (s->queue != NULL)
		reasm_skip_to(s, b, s->queue->seq, out);
	if (s->has_fin)
		reasm_skip_to(s, b, s->fin_seq, out);
	reasm_check_closed(s);
}

void reasm_stream_release(struct reasm_stream *s, struct reasm_budget *b)
{
	while (s->queue != NULL)
		reasm_queue_pop(s, b);
}

void reasm_stream_bypass(struct reasm_stream *s, struct reasm_budget *b)
{
	reasm_stream_release(s, b);
	reasm_set_state(s, REASM_STATE_BYPASS);
}

bool reasm_stream_is_closed(const struct reasm_stream *s)
{
	return s->state == REASM_STATE_CLOSED;
}
