/*
 * Unit tests for TCP stream reassembly. A collecting output records the
 * delivered bytes and the gaps. Expected streams come from the segment layout
 * itself, with data starting at ISN + 1 as in RFC 9293 section 3.4.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reassembly/reassembly.h"
#include "test.h"

#define COLLECT_MAX_GAPS 64

struct gap_record {
	uint64_t at; /* stream position (delivered plus skipped bytes) where the gap starts */
	uint64_t len;
};

/* Records everything a stream outputs, and checks it against an expected stream if one is set. */
struct collector {
	uint8_t *buf;
	size_t len;
	size_t cap;
	uint64_t position; /* delivered bytes plus gap bytes */
	struct gap_record gaps[COLLECT_MAX_GAPS];
	size_t gap_count;
	uint64_t gap_bytes;
	const uint8_t *expected; /* when set, every delivered byte must match expected[position] */
	size_t expected_len;
	uint64_t mismatches;
	uint64_t calls;
};

static void collect_data(void *ctx, const uint8_t *data, size_t len)
{
	struct collector *c = ctx;

	c->calls++;
	if (c->expected != NULL) {
		if (c->position + len > c->expected_len ||
		    memcmp(c->expected + c->position, data, len) != 0)
			c->mismatches++;
	}
	if (c->len + len > c->cap) {
		size_t cap = (c->len + len) * 2;
		uint8_t *grown = realloc(c->buf, cap);

		if (grown == NULL)
			abort();
		c->buf = grown;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, data, len);
	c->len += len;
	c->position += len;
}

static void collect_gap(void *ctx, uint64_t len)
{
	struct collector *c = ctx;

	c->calls++;
	if (c->gap_count < COLLECT_MAX_GAPS) {
		c->gaps[c->gap_count].at = c->position;
		c->gaps[c->gap_count].len = len;
	}
	c->gap_count++;
	c->gap_bytes += len;
	c->position += len;
}

static void collector_reset(struct collector *c)
{
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

static struct reasm_output collector_output(struct collector *c)
{
	struct reasm_output out = {collect_data, collect_gap, c};

	return out;
}

static void budget_default(struct reasm_budget *b)
{
	struct reasm_limits limits = {256u * 1024u, 1024u, 64u * 1024u * 1024u};

	reasm_budget_init(b, &limits);
}

/* Deterministic xorshift64 generator, so a failing random case can be replayed. */
static uint64_t rng_next(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

static uint32_t rng_below(uint64_t *state, uint32_t n)
{
	return (uint32_t)(rng_next(state) % n);
}

static const uint8_t message[] = "EHLO client.example.test\r\nMAIL FROM:<alice@example.test>\r\n";
#define MESSAGE_LEN (sizeof(message) - 1)

static void test_in_order_delivery(void)
{
	struct reasm_budget b;
	struct reasm_stream s;
	struct collector c = {0};
	struct reasm_output out = collector_output(&c);

	budget_default(&b);
	reasm_stream_init(&s);
	reasm_stream_set_isn(&s, 1000);
	CHECK_EQ_INT(reasm_stream_add(&s, &b, 1001, message, 26, false, &out), 0);
	CHECK_EQ_INT(reasm_stream_add(&s, &b, 1027, message + 26, MESSAGE_LEN - 26, true, &out), 0);
	CHECK_EQ_MEM(c.buf, c.len, message, MESSAGE_LEN);
	CHECK_EQ_INT(c.gap_count, 0);
	CHECK_EQ_INT(s.bytes_delivered, MESSAGE_LEN);
	CHECK(!s.midstream);
	CHECK(reasm_stream_is_closed(&s));
	CHECK_EQ_INT(b.bytes_in_use, 0);
	CHECK_EQ_INT(b.counts[REASM_COUNT_SEGMENTS], 2);
	collector_reset(&c);
}

/* Six segments over the message, two of them overlapping their neighbours with the same bytes. */
struct layout {
	uint32_t start;
	uint32_t len;
};

static const struct layout six_segments[6] = {
	{0, 10}, {8, 12}, {20, 5}, {25, 15}, {35, 10}, {45, MESSAGE_LEN - 45},
};

static bool permutation_next(int *p, int n)
{
	int i = n - 2;
	int j = n - 1;

	while (i >= 0 && p[i] >= p[i + 1])
		i--;
	if (i < 0)
		return false;
	while (p[j] <= p[i])
		j--;
	int t = p[i];
	p[i] = p[j];
	p[j] = t;
	for (int a = i + 1, z = n - 1; a < z; a++, z--) {
		t = p[a];
		p[a] = p[z];
		p[z] = t;
	}
	return true;
}

/* Feeds the six segments in one order; returns true when the stream came out whole. */
static bool feed_six(const int *order, uint32_t isn)
{
	struct reasm_budget b;
	struct reasm_stream s;
	struct collector c = {0};
	struct reasm_output out = collector_output(&c);
	bool whole;

	budget_default(&b);
	reasm_stream_init(&s);
	reasm_stream_set_isn(&s, isn);
	for (int i = 0; i < 6; i++) {
		const struct layout *seg = &six_segments[order[i]];

		reasm_stream_add(&s, &b, isn + 1 + seg->start, message + seg->start, seg->len,
				 order[i] == 5, &out);
	}

	/* Every byte is covered, so everything is delivered before any flush. */
	whole = c.len == MESSAGE_LEN && memcmp(c.buf, message, MESSAGE_LEN) == 0;
	whole = whole && reasm_stream_is_closed(&s) && c.gap_count == 0;
	whole = whole && s.overlap_conflicts == 0 && b.bytes_in_use == 0 && s.queue == NULL;
	reasm_stream_flush(&s, &b, &out);
	whole = whole && c.len == MESSAGE_LEN && c.gap_count == 0;
	reasm_stream_release(&s, &b);
	collector_reset(&c);
	return whole;
}

static void test_six_segments_every_order(void)
{
	static const uint32_t isns[] = {1000, 0x7FFFFFF0u, 0xFFFFFFF0u, 0xFFFFFFFFu};

	for (size_t k = 0; k < sizeof(isns) / sizeof(isns[0]); k++) {
		int order[6] = {0, 1, 2, 3, 4, 5};
		int orders = 0;
		int broken = 0;

		do {
			orders++;
			if (!feed_six(order, isns[k]))
				broken++;
		} while (permutation_next(order, 6));
		CHECK_EQ_INT(orders, 720);
		CHECK_EQ_INT(broken, 0);
	}
}

static void test_two_segments_every_split(void)
{
	for (uint32_t split = 0; split <= MESSAGE_LEN; split++) {
		for (int reversed = 0; reversed < 2; reversed++) {
			struct reasm_budget b;
			struct reasm_stream s;
			struct collector c = {0};
			struct reasm_output out = collector_output(&c);

			budget_default(&b);
			reasm_stream_init(&s);
			reasm_stream_set_isn(&s, 77);
			if (reversed)
				reasm_stream_add(&s, &b, 78 + split, message + split, MESSAGE_LEN - split,
						 false, &out);
			reasm_stream_add(&s, &b, 78, message, split, false, &out);
			if (!reversed)
				reasm_stream_add(&s, &b, 78 + split, message + split, MESSAGE_LEN - split,
						 false, &out);
			CHECK_EQ_MEM(c.buf, c.len, message, MESSAGE_LEN);
			CHECK_EQ_INT(b.bytes_in_use, 0);
			collector_reset(&c);
		}
	}
}

static void test_one_byte_segments(void)
{
	struct reasm_budget b;
	struct reasm_stream s;
	struct collector c = {0};
	struct reasm_output out = collector_output(&c);

	budget_default(&b);
	reasm_stream_init(&s);
	reasm_stream_set_isn(&s, 5);

	/* Backwards: every byte but the first is queued, then the first releases them all. */
	for (uint32_t i = MESSAGE_LEN; i-- > 0;)
		reasm_stream_add(&s, &b, 6 + i, message + i, 1, false, &out);
	CHECK_EQ_MEM(c.buf, c.len, message, MESSAGE_LEN);
	CHECK_EQ_INT(s.queued_segments, 0);
	CHECK_EQ_INT(b.bytes_in_use, 0);
	collector_reset(&c);

	reasm_stream_init(&s);
	reasm_stream_set_isn(&s, 5);
	for (uint32_t i = 0; i < MESSAGE_LEN; i++)
		reasm_stream_add(&s, &b, 6 + i, message + i, 1, false, &out);
	CHECK_EQ_MEM(c.buf, c.len, message, MESSAGE_LEN);
	CHECK_EQ_INT(c.calls, MESSAGE_LEN);
	collector_reset(&c);
}

static void test_duplicates(void)
{
	struct reasm_budget b;
	struct reasm_stream s;
	struct collector c = {0};
	struct reasm_output out = collector_output(&c);

	budget_default(&b);
	reasm_stream_init(&s);
	reasm_stream_set_isn(&s, 0);

	/* An out-of-order segment twice, then the in-order one twice. */
	reasm_stream_add(&s, &b, 21, message + 20, 20, false, &out);
	reasm_stream_add(&s, &b, 21, message + 20, 20, false, &out);
	CHECK_EQ_INT(s.queued_segments, 1);
	CHECK_EQ_INT(b.bytes_in_use, 20);
	CHECK_EQ_INT(b.counts[REASM_COUNT_OVERLAPS], 1);
	reasm_stream_add(&s, &b, 1, message, 20, false, &out);
	reasm_stream_add(&s, &b, 1, message, 20, false, &out);
	CHECK_EQ_MEM(c.buf, c.len, message, 40);
	CHECK_EQ_INT(s.retransmissions, 1);
	CHECK_EQ_INT(b.counts[REASM_COUNT_RETRANSMISSIONS], 1);
	CHECK_EQ_INT(b.counts[REASM_COUNT_RETRANSMITTED_BYTES], 20);
	CHECK_EQ_INT(s.overlap_conflicts, 0);
	CHECK_EQ_INT(b.bytes_in_use, 0);

	/* A segment that straddles next_seq: its old half is dropped, its new half delivered. */
	reasm_stream_add(&s, &b, 31, message + 30, 20, false, &out);
	CHECK_EQ_MEM(c.buf, c.len, message, 50);
	CHECK_EQ_INT(b.counts[REASM_COUNT_RETRANSMITTED_BYTES], 30);
	collector_reset(&c);
}

static void test_identical_overlaps(void)
{
	struct reasm_budget b;
	struct reasm_stream s;
	struct collector c = {0};
	struct reasm_output out = collector_output(&c);

	budget_default(&b);
	reasm_stream_init(&s);
	reasm_stream_set_isn(&s, 0);

	/* Queued [10,20) and [30,40); then [5,45) fills only the holes. */
	reasm_stream_add(&s, &b, 11, message + 10, 10, false, &out);
	reasm_stream_add(&s, &b, 31, message + 30, 10, false, &out);
	reasm_stream_add(&s, &b, 6, message + 5, 40, false, &out);
	CHECK_EQ_INT(s.queued_segments, 5);
	CHECK_EQ_INT(b.bytes_in_use, 40);
	CHECK_EQ_INT(b.counts[REASM_COUNT_OVERLAPS], 2);
	CHECK_EQ_INT(c.len, 0);

	reasm_stream_add(&s, &b, 1, message, 8, false, &out);
	CHECK_EQ_MEM(c.buf, c.len, message, 45);
	CHECK_EQ_INT(s.overlap_conflicts, 0);
	CHECK_EQ_INT(b.counts[REASM_COUNT_OVERLAPS], 3);
	CHECK_EQ_INT(b.bytes_in_use, 0);
	collector_reset(&c);
}

static void test_conflicting_overlaps(void)
{
	struct reasm_budget b;
	struct reasm_stream s;
	struct collector c = {0};
	struct reasm_output out = collector_output(&c);

	budget_default(&b);
	reasm_stream_init(&s);
	reasm_stream_set_isn(&s, 100);

	/* Queued "WXYZ" at [4,8), then an in-order "abcdefghij": the queued bytes were first. */
	reasm_stream_add(&s, &b, 105, (const uint8_t *)"WXYZ", 4, false, &out);
	reasm_stream_add(&s, &b, 101, (const uint8_t *)"abcdefghij", 10, false, &out);
	CHECK_EQ_MEM(c.buf, c.len, "abcdWXYZij", 10);
	CHECK_EQ_INT(s.overlap_conflicts, 1);
	CHECK_EQ_INT(b.counts[REASM_COUNT_OVERLAP_CONFLICTS], 1);

	/* Two queued segments that disagree on [15,18): the first one wins. */
	reasm_stream_add(&s, &b, 113, (const uint8_t *)"kkkkkk", 6, false, &out);
	reasm_stream_add(&s, &b, 116, (const uint8_t *)"QQQQQQ", 6, false, &out);
	CHECK_EQ_INT(s.overlap_conflicts, 2);
	reasm_stream_add(&s, &b, 111, (const uint8_t *)"mm", 2, false, &out);
	CHECK_EQ_MEM(c.buf, c.len, "abcdWXYZijmmkkkkkkQQQ", 21);

	/* A re-sent overlap with the same bytes is not a conflict. */
	reasm_stream_add(&s, &b, 125, (const uint8_t *)"rr", 2, false, &out);
	reasm_stream_add(&s, &b, 125, (const uint8_t *)"rr", 2, false, &out);
	CHECK_EQ_INT(s.overlap_conflicts, 2);
	CHECK_EQ_INT(b.bytes_in_use, 2);
	reasm_stream_release(&s, &b);
	CHECK_EQ_INT(b.bytes_in_use, 0);
	collector_reset(&c);
}

/* Crosses 2^32 (and 2^31, where a signed compare would break) with out-of-order segments. */
static void check_wraparound_at(uint32_t isn)
{
	struct reasm_budget b;
	struct reasm_stream s;
	struct collector c = {0};
	struct reasm_output out = collector_output(&c);

	budget_default(&b);
	reasm_stream_init(&s);
	reasm_stream_set_isn(&s, isn);

	/* Byte 15 sits at sequence isn + 16, the last number before the wrap point. */
	reasm_stream_add(&s, &b, isn + 1 + 30, message + 30, 20, false, &out);
	reasm_stream_add(&s, &b, isn + 1 + 10, message + 10, 20, false, &out);
	CHECK_EQ_INT(c.len, 0);
	reasm_stream_add(&s, &b, isn + 1, message, 10, false, &out);
	CHECK_EQ_MEM(c.buf, c.len, message, 50);
	CHECK_EQ_INT(s.next_seq, (uint32_t)(isn + 51));

	/* A retransmission from before the wrap is still recognised as old. */
	reasm_stream_add(&s, &b, isn + 1, message, 10, false, &out);
	CHECK_EQ_INT(c.len, 50);
	CHECK_EQ_INT(s.retransmissions, 1);
	CHECK_EQ_INT(b.bytes_in_use, 0);
	collector_reset(&c);
}

static void test_wraparound(void)
{
	check_wraparound_at(0xFFFFFFF0u);
	check_wraparound_at(0x7FFFFFF0u);
}

static void test_midstream_pickup(void)
{
	struct reasm_budget b;
	struct reasm_stream s;
	struct collector c = {0};
	struct reasm_output out = collector_output(&c);

	budget_default(&b);
	reasm_stream_init(&s);
	reasm_stream_add(&s, &b, 5000, message + 10, 10, false, &out);
	CHECK(s.midstream);
	CHECK_EQ_INT(b.counts[REASM_COUNT_MIDSTREAM], 1);
	CHECK_EQ_MEM(c.buf, c.len, message + 10, 10);

	/* Bytes before the pickup point count as already seen. */
	reasm_stream_add(&s, &b, 4990, message, 10, false, &out);
	CHECK_EQ_INT(c.len, 10);
	CHECK_EQ_INT(s.retransmissions, 1);
	reasm_stream_add(&s, &b, 5010, message + 20, 10, false, &out);
	CHECK_EQ_MEM(c.buf, c.len, message + 10, 20);

	/* A SYN after delivery began cannot move the stream. */
	reasm_stream_set_isn(&s, 1);
	CHECK(s.midstream);
	CHECK_EQ_INT(s.next_seq, 5020);
	collector_reset(&c);
}

static void test_hole_closed_by_ack(void)
{
	struct reasm_budget b;
	struct reasm_stream s;
	struct collector c = {0};
	struct reasm_output out = collector_output(&c);

	budget_default(&b);
	reasm_stream_init(&s);
	reasm_stream_set_isn(&s, 0);
	reasm_stream_add(&s, &b, 1, message, 10, false, &out);
	reasm_stream_add(&s, &b, 21, message + 20, 10, false, &out);
	reasm_stream_add(&s, &b, 41, message + 40, 5, false, &out);

	/* The peer acknowledged byte 35: [10,20) and [30,35) are gone for good. */
	reasm_stream_ack(&s, &b, 36, &out);
	CHECK_EQ_INT(c.gap_count, 2);
	CHECK_EQ_INT(c.gaps[0].at, 10);
	CHECK_EQ_INT(c.gaps[0].len, 10);
	CHECK_EQ_INT(c.gaps[1].at, 30);
	CHECK_EQ_INT(c.gaps[1].len, 5);
	CHECK_EQ_INT(s.gaps, 2);
	CHECK_EQ_INT(s.gap_bytes, 15);
	CHECK_EQ_INT(c.len, 20);
	CHECK_EQ_MEM(c.buf + 10, 10, message + 20, 10);
	CHECK_EQ_INT(s.next_seq, 36);

	/* The late [35,40) and the queued [40,45) then flow in order. */
	reasm_stream_add(&s, &b, 36, message + 35, 5, false, &out);
	CHECK_EQ_MEM(c.buf + 20, c.len - 20, message + 35, 10);

	/* Old, equal and out-of-window ACKs change nothing. */
	reasm_stream_ack(&s, &b, 10, &out);
	reasm_stream_ack(&s, &b, 46, &out);
	reasm_stream_ack(&s, &b, 46 + REASM_WINDOW_MAX + 1, &out);
	CHECK_EQ_INT(c.gap_count, 2);
	CHECK_EQ_INT(b.counts[REASM_COUNT_OUT_OF_WINDOW], 1);

	/* One past all data may be an unseen FIN; more than one is missing data. */
	reasm_stream_ack(&s, &b, 47, &out);
	CHECK_EQ_INT(c.gap_count, 2);
	reasm_stream_ack(&s, &b, 50, &out);
	CHECK_EQ_INT(c.gap_count, 3);
	CHECK_EQ_INT(c.gaps[2].len, 4);
	CHECK_EQ_INT(b.counts[REASM_COUNT_GAP_BYTES], 19);
	collector_reset(&c);
}

static void test_hole_at_flush(void)
{
	struct reasm_budget b;
	struct reasm_stream s;
	struct collector c = {0};
	struct reasm_output out = collector_output(&c);

	budget_default(&b);
	reasm_stream_init(&s);
	reasm_stream_set_isn(&s, 900);
	reasm_stream_add(&s, &b, 901 + 5, message + 5, 5, false, &out);
	reasm_stream_add(&s, &b, 901 + 20, message + 20, 10, false, &out);
	reasm_stream_add(&s, &b, 901 + 40, message + 40, 10, true, &out);
	CHECK_EQ_INT(c.calls, 0);
	CHECK(!reasm_stream_is_closed(&s));

	reasm_stream_flush(&s, &b, &out);
	CHECK_EQ_INT(c.gap_count, 3);
	CHECK_EQ_INT(c.gaps[0].at, 0);
	CHECK_EQ_INT(c.gaps[0].len, 5);
	CHECK_EQ_INT(c.gaps[1].at, 10);
	CHECK_EQ_INT(c.gaps[1].len, 10);
	CHECK_EQ_INT(c.gaps[2].at, 30);
	CHECK_EQ_INT(c.gaps[2].len, 10);
	CHECK_EQ_INT(c.len, 25);
	CHECK_EQ_MEM(c.buf, 5, message + 5, 5);
	CHECK_EQ_MEM(c.buf + 15, 10, message + 40, 10);
	CHECK(reasm_stream_is_closed(&s));
	CHECK_EQ_INT(b.bytes_in_use, 0);
	collector_reset(&c);

	/* A FIN beyond everything seen: the missing tail is a gap too. */
	reasm_stream_init(&s);
	reasm_stream_set_isn(&s, 0);
	reasm_stream_add(&s, &b, 1, message, 10, false, &out);
	reasm_stream_add(&s, &b, 31, NULL, 0, true, &out);
	reasm_stream_flush(&s, &b, &out);
	CHECK_EQ_INT(c.gap_count, 1);
	CHECK_EQ_INT(c.gaps[0].at, 10);
	CHECK_EQ_INT(c.gaps[0].len, 20);
	CHECK(reasm_stream_is_closed(&s));
	collector_reset(&c);
}

static void test_stream_bytes_cap(void)
{
	struct reasm_limits limits = {100, 1024, 1u << 20};
	struct reasm_budget b;
	struct reasm_stream s;
	struct collector c = {0};
	struct reasm_output out = collector_output(&c);
	uint8_t data[400];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	c.expected = data;
	c.expected_len = sizeof(data);
	reasm_budget_init(&b, &limits);
	reasm_stream_init(&s);
	reasm_stream_set_isn(&s, 0);

	/* 60 bytes held at [10,70); 60 more at [100,160) would pass 100. */
	reasm_stream_add(&s, &b, 11, data + 10, 60, false, &out);
	reasm_stream_add(&s, &b, 101, data + 100, 60, false, &out);
	CHECK_EQ_INT(b.counts[REASM_COUNT_DROPS_STREAM_CAP], 1);
	CHECK(s.hit_cap);
	CHECK_EQ_INT(c.gap_count, 1);
	CHECK_EQ_INT(c.gaps[0].at, 0);
	CHECK_EQ_INT(c.gaps[0].len, 10);
	CHECK_EQ_INT(c.len, 60);
	CHECK_EQ_INT(s.queued_bytes, 60);
	CHECK_EQ_INT(b.bytes_in_use, 60);

	/* One segment larger than the cap is delivered at once after its hole. */
	reasm_stream_add(&s, &b, 201, data + 200, 150, false, &out);
	CHECK_EQ_INT(b.counts[REASM_COUNT_DROPS_STREAM_CAP], 3);
	CHECK_EQ_INT(c.position, 350);
	CHECK_EQ_INT(c.len, 270);
	CHECK_EQ_INT(b.bytes_in_use, 0);
	CHECK_EQ_INT(c.mismatches, 0);
	reasm_stream_release(&s, &b);
	CHECK_EQ_INT(b.bytes_in_use, 0);
	collector_reset(&c);
}

static void test_segment_cap(void)
{
	struct reasm_limits limits = {1u << 20, 2, 1u << 20};
	struct reasm_budget b;
	struct reasm_stream s;
	struct collector c = {0};
	struct reasm_output out = collector_output(&c);

	c.expected = message;
	c.expected_len = MESSAGE_LEN;
	reasm_budget_init(&b, &limits);
	reasm_stream_init(&s);
	reasm_stream_set_isn(&s, 0);
	reasm_stream_add(&s, &b, 1 + 10, message + 10, 5, false, &out);
	reasm_stream_add(&s, &b, 1 + 20, message + 20, 5, false, &out);
	CHECK_EQ_INT(c.calls, 0);

	/* A third range: skip to [10,15), deliver it, then hold the new one. */
	reasm_stream_add(&s, &b, 1 + 30, message + 30, 5, false, &out);
	CHECK_EQ_INT(b.counts[REASM_COUNT_DROPS_SEGMENT_CAP], 1);
	CHECK_EQ_INT(c.gap_count, 1);
	CHECK_EQ_INT(c.gaps[0].len, 10);
	CHECK_EQ_MEM(c.buf, c.len, message + 10, 5);
	CHECK_EQ_INT(s.queued_segments, 2);
	CHECK_EQ_INT(b.bytes_in_use, 10);
	CHECK_EQ_INT(c.mismatches, 0);
	reasm_stream_release(&s, &b);
	CHECK_EQ_INT(b.bytes_in_use, 0);
	CHECK_EQ_INT(s.queued_segments, 0);
	collector_reset(&c);
}

static void test_global_cap(void)
{
	struct reasm_limits limits = {1000, 1024, 100};
	struct reasm_budget b;
	struct reasm_stream s1;
	struct reasm_stream s2;
	struct collector c1 = {0};
	struct collector c2 = {0};
	struct reasm_output out1 = collector_output(&c1);
	struct reasm_output out2 = collector_output(&c2);
	uint8_t data[200];

	memset(data, 'x', sizeof(data));
	reasm_budget_init(&b, &limits);
	reasm_stream_init(&s1);
	reasm_stream_init(&s2);
	reasm_stream_set_isn(&s1, 0);
	reasm_stream_set_isn(&s2, 5000);
	reasm_stream_add(&s1, &b, 11, data, 80, false, &out1);
	CHECK_EQ_INT(b.bytes_in_use, 80);

	/* The second stream has nothing queued, so it skips straight to its own segment. */
	reasm_stream_add(&s2, &b, 5001 + 50, data, 30, false, &out2);
	CHECK_EQ_INT(b.counts[REASM_COUNT_DROPS_GLOBAL_CAP], 1);
	CHECK(s2.hit_cap);
	CHECK(!s1.hit_cap);
	CHECK_EQ_INT(c2.gap_count, 1);
	CHECK_EQ_INT(c2.gaps[0].len, 50);
	CHECK_EQ_INT(c2.len, 30);
	CHECK_EQ_INT(c1.calls, 0);
	CHECK_EQ_INT(b.bytes_in_use, 80);

	reasm_stream_release(&s1, &b);
	reasm_stream_release(&s2, &b);
	CHECK_EQ_INT(b.bytes_in_use, 0);
	collector_reset(&c1);
	collector_reset(&c2);
}

static void test_fin_handling(void)
{
	struct reasm_budget b;
	struct reasm_stream s;
	struct collector c = {0};
	struct reasm_output out = collector_output(&c);

	budget_default(&b);
	reasm_stream_init(&s);
	reasm_stream_set_isn(&s, 10);

	/* FIN arrives first, on the last segment; the stream closes when the hole fills. */
	reasm_stream_add(&s, &b, 21, message + 10, 10, true, &out);
	CHECK(!reasm_stream_is_closed(&s));
	reasm_stream_add(&s, &b, 11, message, 10, false, &out);
	CHECK(reasm_stream_is_closed(&s));
	CHECK_EQ_MEM(c.buf, c.len, message, 20);

	/* Bytes past the FIN are dropped and counted; the FIN's ACK makes no gap. */
	reasm_stream_add(&s, &b, 31, message + 20, 5, false, &out);
	CHECK_EQ_INT(c.len, 20);
	CHECK_EQ_INT(b.counts[REASM_COUNT_AFTER_FIN_BYTES], 5);
	reasm_stream_ack(&s, &b, 32, &out);
	CHECK_EQ_INT(c.gap_count, 0);
	collector_reset(&c);

	/* A segment that runs past an earlier FIN is cut at the FIN. */
	reasm_stream_init(&s);
	reasm_stream_set_isn(&s, 10);
	reasm_stream_add(&s, &b, 21, NULL, 0, true, &out);
	reasm_stream_add(&s, &b, 11, message, 15, false, &out);
	CHECK_EQ_MEM(c.buf, c.len, message, 10);
	CHECK(reasm_stream_is_closed(&s));
	CHECK_EQ_INT(b.counts[REASM_COUNT_AFTER_FIN_BYTES], 10);
	collector_reset(&c);

	/* With a hole before the FIN, a segment wholly past it is dropped, not queued. */
	reasm_stream_init(&s);
	reasm_stream_set_isn(&s, 10);
	reasm_stream_add(&s, &b, 21, NULL, 0, true, &out);
	reasm_stream_add(&s, &b, 26, message + 15, 5, false, &out);
	CHECK_EQ_INT(s.queued_segments, 0);
	CHECK_EQ_INT(b.counts[REASM_COUNT_AFTER_FIN_BYTES], 15);
	reasm_stream_add(&s, &b, 11, message, 10, false, &out);
	CHECK_EQ_MEM(c.buf, c.len, message, 10);
	CHECK(reasm_stream_is_closed(&s));
	collector_reset(&c);

	/* A FIN before data already held is ignored: the held data was seen first. */
	reasm_stream_init(&s);
	reasm_stream_set_isn(&s, 10);
	reasm_stream_add(&s, &b, 31, message + 20, 5, false, &out);
	reasm_stream_add(&s, &b, 11, message, 5, true, &out);
	CHECK(!s.has_fin);
	CHECK_EQ_INT(b.counts[REASM_COUNT_FIN_CONFLICTS], 1);

	/* An ACK up to the FIN with a hole before it skips the hole, not the FIN number. */
	reasm_stream_add(&s, &b, 36, NULL, 0, true, &out);
	reasm_stream_ack(&s, &b, 37, &out);
	CHECK_EQ_INT(c.gap_count, 1);
	CHECK_EQ_INT(c.gaps[0].len, 15);
	CHECK_EQ_INT(c.len, 10);
	CHECK(reasm_stream_is_closed(&s));
	reasm_stream_release(&s, &b);
	CHECK_EQ_INT(b.bytes_in_use, 0);
	collector_reset(&c);
}

static void test_resent_synack_new_isn(void)
{
	struct reasm_budget b;
	struct reasm_stream s;
	struct collector c = {0};
	struct reasm_output out = collector_output(&c);

	budget_default(&b);
	reasm_stream_init(&s);
	reasm_stream_set_isn(&s, 1000);
	reasm_stream_set_isn(&s, 70000);
	CHECK_EQ_INT(s.next_seq, 70001);
	reasm_stream_add(&s, &b, 70001, message, 10, false, &out);
	CHECK_EQ_MEM(c.buf, c.len, message, 10);

	/* After delivery a third ISN is ignored, and the same ISN again is harmless. */
	reasm_stream_set_isn(&s, 9000);
	reasm_stream_set_isn(&s, 70000);
	CHECK_EQ_INT(s.next_seq, 70011);
	reasm_stream_add(&s, &b, 9001, message, 10, false, &out);
	CHECK_EQ_INT(c.len, 10);
	collector_reset(&c);

	/* A stream picked up by a bare ACK is still replaced by a late SYN-ACK. */
	reasm_stream_init(&s);
	reasm_stream_add(&s, &b, 123, NULL, 0, false, &out);
	CHECK(s.midstream);
	reasm_stream_set_isn(&s, 4000);
	CHECK(!s.midstream);
	reasm_stream_add(&s, &b, 4001, message, 5, false, &out);
	CHECK_EQ_MEM(c.buf, c.len, message, 5);
	collector_reset(&c);
}

static void test_data_with_syn(void)
{
	struct reasm_budget b;
	struct reasm_stream s;
	struct collector c = {0};
	struct reasm_output out = collector_output(&c);

	budget_default(&b);
	reasm_stream_init(&s);

	/* TCP Fast Open: the SYN at 500 carries bytes from 501. */
	reasm_stream_set_isn(&s, 500);
	reasm_stream_add(&s, &b, 501, message, 12, false, &out);
	CHECK_EQ_MEM(c.buf, c.len, message, 12);

	/* The SYN itself, passed with its own seq and no payload, is harmless. */
	reasm_stream_add(&s, &b, 500, NULL, 0, false, &out);

	/* Data on the handshake's third ACK follows in order. */
	reasm_stream_add(&s, &b, 513, message + 12, 8, false, &out);
	CHECK_EQ_MEM(c.buf, c.len, message, 20);
	CHECK(!s.midstream);
	collector_reset(&c);
}

static void test_bypass(void)
{
	struct reasm_budget b;
	struct reasm_stream s;
	struct collector c = {0};
	struct reasm_output out = collector_output(&c);

	budget_default(&b);
	reasm_stream_init(&s);
	reasm_stream_set_isn(&s, 0);
	reasm_stream_add(&s, &b, 1, message, 5, false, &out);
	reasm_stream_add(&s, &b, 11, message + 10, 5, false, &out);
	CHECK_EQ_INT(b.bytes_in_use, 5);
	CHECK_EQ_INT(c.calls, 1);

	reasm_stream_bypass(&s, &b);
	CHECK_EQ_INT(b.bytes_in_use, 0);
	reasm_stream_add(&s, &b, 6, message + 5, 5, true, &out);
	reasm_stream_ack(&s, &b, 100, &out);
	reasm_stream_flush(&s, &b, &out);
	reasm_stream_set_isn(&s, 7);
	CHECK_EQ_INT(c.calls, 1);
	CHECK_EQ_INT(b.counts[REASM_COUNT_BYPASSED_SEGMENTS], 1);
	CHECK_EQ_INT(b.bytes_in_use, 0);
	collector_reset(&c);
}

static void test_invalid_arguments(void)
{
	struct reasm_budget b;
	struct reasm_stream s;
	struct collector c = {0};
	struct reasm_output out = collector_output(&c);

	budget_default(&b);
	reasm_stream_init(&s);
	reasm_stream_set_isn(&s, 0);
	CHECK_EQ_INT(reasm_stream_add(&s, &b, 1, message, REASM_WINDOW_MAX + 1, false, &out), -EINVAL);
	CHECK_EQ_INT(reasm_stream_add(&s, &b, 1, NULL, 4, false, &out), -EINVAL);
	CHECK_EQ_INT(c.calls, 0);

	/* A segment starting beyond the largest window is from another sequence space. */
	CHECK_EQ_INT(reasm_stream_add(&s, &b, 2 + REASM_WINDOW_MAX, message, 4, false, &out), 0);
	CHECK_EQ_INT(b.counts[REASM_COUNT_OUT_OF_WINDOW], 1);
	CHECK_EQ_INT(b.bytes_in_use, 0);

	/* A NULL output and NULL callbacks are allowed. */
	reasm_stream_add(&s, &b, 1, message, 4, false, NULL);
	CHECK_EQ_INT(s.bytes_delivered, 4);
	collector_reset(&c);
}

static void test_count_names(void)
{
	for (int i = 0; i < REASM_COUNT_COUNT; i++) {
		const char *name = reasm_count_name((enum reasm_count)i);

		CHECK(name != NULL);
		CHECK(name != NULL && name[0] != '\0');
		CHECK(name != NULL && strcmp(name, "unknown") != 0);
	}
	CHECK_EQ_STR(reasm_count_name(REASM_COUNT_DROPS_GLOBAL_CAP), "drops_global_cap");
	CHECK_EQ_STR(reasm_count_name(REASM_COUNT_COUNT), "unknown");
}

/* A segment of the random stream: offset and length into the source buffer. */
struct random_segment {
	uint32_t start;
	uint32_t len;
};

#define RANDOM_STREAM_LEN (100u * 1024u)
#define RANDOM_SEGMENTS_MAX 8192

/* Cuts the stream into random segments, adds random duplicates and overlapping resends, shuffles. */
static size_t random_segments_build(struct random_segment *segs, uint64_t *rng)
{
	size_t n = 0;

	for (uint32_t at = 0; at < RANDOM_STREAM_LEN;) {
		uint32_t len = 1 + rng_below(rng, 1460);

		if (len > RANDOM_STREAM_LEN - at)
			len = RANDOM_STREAM_LEN - at;
		segs[n].start = at;
		segs[n].len = len;
		n++;
		if (rng_below(rng, 8) == 0) {
			segs[n] = segs[n - 1];
			n++;
		}
		if (rng_below(rng, 8) == 0 && at >= 700) {
			segs[n].start = at - 700;
			segs[n].len = 700 + len / 2;
			n++;
		}
		at += len;
	}
	for (size_t i = n; i > 1; i--) {
		size_t j = rng_below(rng, (uint32_t)i);
		struct random_segment t = segs[i - 1];

		segs[i - 1] = segs[j];
		segs[j] = t;
	}
	return n;
}

static void fill_random(uint8_t *buf, size_t len, uint64_t *rng)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)rng_next(rng);
}

static void test_random_stream(void)
{
	static struct random_segment segs[RANDOM_SEGMENTS_MAX];
	uint8_t *data = malloc(RANDOM_STREAM_LEN);
	uint64_t rng = 0x6d61696c746170ull;

	CHECK(data != NULL);
	if (data == NULL)
		return;
	for (int round = 0; round < 20; round++) {
		struct reasm_limits limits = {RANDOM_STREAM_LEN, RANDOM_SEGMENTS_MAX, 1u << 30};
		struct reasm_budget b;
		struct reasm_stream s;
		struct collector c = {0};
		struct reasm_output out = collector_output(&c);
		uint32_t isn = (uint32_t)rng_next(&rng);
		size_t n = random_segments_build(segs, &rng);

		/* Every other round starts just below 2^32 so the stream wraps. */
		if (round % 2 == 1)
			isn = 0xFFFFFFFFu - rng_below(&rng, 50000);
		fill_random(data, RANDOM_STREAM_LEN, &rng);
		reasm_budget_init(&b, &limits);
		reasm_stream_init(&s);
		reasm_stream_set_isn(&s, isn);
		for (size_t i = 0; i < n; i++)
			reasm_stream_add(&s, &b, isn + 1 + segs[i].start, data + segs[i].start,
					 segs[i].len, false, &out);
		CHECK_EQ_MEM(c.buf, c.len, data, RANDOM_STREAM_LEN);
		CHECK_EQ_INT(c.gap_count, 0);
		CHECK_EQ_INT(s.overlap_conflicts, 0);
		CHECK(!s.hit_cap);
		CHECK_EQ_INT(b.bytes_in_use, 0);
		reasm_stream_flush(&s, &b, &out);
		CHECK_EQ_INT(c.len, RANDOM_STREAM_LEN);
		collector_reset(&c);
	}
	free(data);
}

/* With small caps the stream skips holes, but every byte delivered must sit at its true position. */
static void test_random_stream_small_caps(void)
{
	static struct random_segment segs[RANDOM_SEGMENTS_MAX];
	uint8_t *data = malloc(RANDOM_STREAM_LEN);
	uint64_t rng = 0x7265617373656dull;

	CHECK(data != NULL);
	if (data == NULL)
		return;
	for (int round = 0; round < 20; round++) {
		struct reasm_limits limits = {4096u + rng_below(&rng, 8192), 4 + rng_below(&rng, 16),
					      6000u + rng_below(&rng, 6000)};
		struct reasm_budget b;
		struct reasm_stream s;
		struct collector c = {0};
		struct reasm_output out = collector_output(&c);
		uint32_t isn = (uint32_t)rng_next(&rng);
		size_t n = random_segments_build(segs, &rng);
		bool within_caps = true;

		fill_random(data, RANDOM_STREAM_LEN, &rng);
		c.expected = data;
		c.expected_len = RANDOM_STREAM_LEN;
		reasm_budget_init(&b, &limits);
		reasm_stream_init(&s);
		reasm_stream_set_isn(&s, isn);
		for (size_t i = 0; i < n; i++) {
			reasm_stream_add(&s, &b, isn + 1 + segs[i].start, data + segs[i].start,
					 segs[i].len, false, &out);
			within_caps = within_caps && s.queued_bytes <= limits.stream_bytes &&
				      s.queued_segments <= limits.stream_segments &&
				      b.bytes_in_use <= limits.total_bytes;
		}
		CHECK(within_caps);
		CHECK(s.hit_cap);
		CHECK_EQ_INT(c.mismatches, 0);
		reasm_stream_flush(&s, &b, &out);
		CHECK_EQ_INT(c.mismatches, 0);
		CHECK_EQ_INT(b.bytes_in_use, 0);
		CHECK_EQ_INT(c.gap_bytes, s.gap_bytes);
		CHECK_EQ_INT(c.len, s.bytes_delivered);
		CHECK(c.position <= RANDOM_STREAM_LEN);
		reasm_stream_release(&s, &b);
		CHECK_EQ_INT(b.bytes_in_use, 0);
		collector_reset(&c);
	}
	free(data);
}

/* Returns true when the queue is sorted, disjoint, after next_seq and matches its byte and segment counts. */
static bool queue_is_consistent(const struct reasm_stream *s)
{
	uint64_t bytes = 0;
	uint32_t segments = 0;
	uint32_t end = 0; /* offset after next_seq where the previous range ends */

	for (const struct reasm_segment *q = s->queue; q != NULL; q = q->next) {
		uint32_t start = q->seq - s->next_seq;

		if (start == 0 || start < end || start > REASM_WINDOW_MAX || q->len == 0)
			return false;
		end = start + q->len;
		bytes += q->len;
		segments++;
	}
	return bytes == s->queued_bytes && segments == s->queued_segments;
}

/* Feeds two streams sharing one budget with random calls and checks the invariants after each. */
static void test_random_garbage(void)
{
	struct reasm_limits limits = {3000, 8, 5000};
	struct reasm_budget b;
	struct reasm_stream s[2];
	struct collector c = {0};
	struct reasm_output out = collector_output(&c);
	uint8_t junk[2048];
	uint64_t rng = 0x67617262616765ull;
	int broken = 0;

	fill_random(junk, sizeof(junk), &rng);
	reasm_budget_init(&b, &limits);
	reasm_stream_init(&s[0]);
	reasm_stream_init(&s[1]);
	for (int i = 0; i < 200000; i++) {
		struct reasm_stream *st = &s[rng_below(&rng, 2)];
		uint32_t near = st->next_seq + rng_below(&rng, 6000) - 1000;
		uint32_t seq = rng_below(&rng, 16) == 0 ? (uint32_t)rng_next(&rng) : near;
		uint32_t len = rng_below(&rng, sizeof(junk));

		switch (rng_below(&rng, 40)) {
		case 0:
			reasm_stream_set_isn(st, seq);
			break;
		case 1:
			reasm_stream_ack(st, &b, seq, &out);
			break;
		case 2:
			reasm_stream_flush(st, &b, &out);
			break;
		case 3:
			reasm_stream_release(st, &b);
			reasm_stream_init(st);
			break;
		case 4:
			if (rng_below(&rng, 50) == 0)
				reasm_stream_bypass(st, &b);
			break;
		default:
			if (reasm_stream_add(st, &b, seq, junk, len, rng_below(&rng, 30) == 0, &out) != 0)
				broken++;
			break;
		}
		if (!queue_is_consistent(&s[0]) || !queue_is_consistent(&s[1]) ||
		    b.bytes_in_use != (uint64_t)s[0].queued_bytes + s[1].queued_bytes ||
		    b.bytes_in_use > limits.total_bytes)
			broken++;
		if (st->queued_segments > limits.stream_segments || st->queued_bytes > limits.stream_bytes)
			broken++;
	}
	CHECK_EQ_INT(broken, 0);
	CHECK(b.counts[REASM_COUNT_DROPS_GLOBAL_CAP] > 0);
	CHECK(b.counts[REASM_COUNT_OVERLAP_CONFLICTS] > 0);
	reasm_stream_release(&s[0], &b);
	reasm_stream_release(&s[1], &b);
	CHECK_EQ_INT(b.bytes_in_use, 0);
	collector_reset(&c);
}

int main(void)
{
	test_in_order_delivery();
	test_six_segments_every_order();
	test_two_segments_every_split();
	test_one_byte_segments();
	test_duplicates();
	test_identical_overlaps();
	test_conflicting_overlaps();
	test_wraparound();
	test_midstream_pickup();
	test_hole_closed_by_ack();
	test_hole_at_flush();
	test_stream_bytes_cap();
	test_segment_cap();
	test_global_cap();
	test_fin_handling();
	test_resent_synack_new_isn();
	test_data_with_syn();
	test_bypass();
	test_invalid_arguments();
	test_count_names();
	test_random_stream();
	test_random_stream_small_caps();
	test_random_garbage();
	return test_finish("test_reassembly");
}
