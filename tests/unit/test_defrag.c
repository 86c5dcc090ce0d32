/*
 * Fragment reassembly tests through the decoder's public API: raw IPv4 and
 * IPv6 fragments in order, reversed, shuffled, split at every 8-byte
 * boundary, overlapping with identical and with different bytes, never
 * completing, and past every cap.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "test.h"
#include "test_decode_frames.h"

#define LINKTYPE_RAW 101
#define TS_START 1700000000000000ull
#define USEC_PER_SEC 1000000ull
#define IPPROTO_NUM_TCP 6u
#define IPPROTO_NUM_UDP 17u

static struct frame frame_buf;

/* The datagram's transport bytes: a TCP header and a patterned payload. */
static uint8_t transport[2048];
static size_t transport_len;
static uint8_t payload_bytes[2048];

static void build_transport(size_t payload_len)
{
	struct tcp_spec t = {
		.src_port = 50000,
		.dst_port = 587,
		.seq = 0x11223344u,
		.ack = 0x55667788u,
		.flags = TCP_FLAG_ACK,
		.window = 512,
		.options_len = 0,
		.payload = payload_bytes,
		.payload_len = payload_len,
	};
	size_t i;

	for (i = 0; i < payload_len; i++)
		payload_bytes[i] = (uint8_t)(i * 7u + 3u);
	frame_reset(&frame_buf);
	frame_tcp(&frame_buf, &t);
	memcpy(transport, frame_buf.bytes, frame_buf.len);
	transport_len = frame_buf.len;
}

static uint64_t count_of(const struct decoder *d, enum decode_reason r)
{
	return decoder_reason_counts(d)[r];
}

static uint64_t total_counts(const struct decoder *d)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < DECODE_REASON_COUNT; i++)
		sum += decoder_reason_counts(d)[i];
	return sum;
}

static uint32_t held_datagrams(const struct decoder *d)
{
	uint32_t datagrams;
	uint64_t bytes;

	decoder_frag_usage(d, &datagrams, &bytes);
	return datagrams;
}

static uint64_t held_bytes(const struct decoder *d)
{
	uint32_t datagrams;
	uint64_t bytes;

	decoder_frag_usage(d, &datagrams, &bytes);
	return bytes;
}

/* Decodes frame_buf from a heap copy of its exact size, cut to caplen bytes. */
static int decode_frame(struct decoder *d, size_t caplen, uint64_t ts, struct packet_view *v)
{
	uint8_t *copy = malloc(caplen > 0 ? caplen : 1);
	int rc;

	if (copy == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	memcpy(copy, frame_buf.bytes, caplen);
	rc = decoder_decode(d, LINKTYPE_RAW, copy, (uint32_t)caplen, (uint32_t)frame_buf.len, ts, v);
	/* A reassembled view points into the decoder, so the frame can go now. */
	free(copy);
	return rc;
}

/* One IPv4 fragment of data (len bytes at offset off) with identification id. */
static int send_v4(struct decoder *d, const uint8_t *data, size_t off, size_t len, bool more,
		   unsigned id, unsigned protocol, uint64_t ts, struct packet_view *v)
{
	frame_reset(&frame_buf);
	frame_ipv4(&frame_buf, 0, (unsigned)(20 + len), id, (more ? 0x2000u : 0u) | (unsigned)(off / 8),
		   protocol);
	frame_bytes(&frame_buf, data + off, len);
	return decode_frame(d, frame_buf.len, ts, v);
}

/*
 * Checks the rebuilt packet of a reassembled IPv4 view: the header that the
 * builder writes for an unfragmented datagram (checksum included), then
 * the transport bytes.
 */
static void check_packet_v4(const struct packet_view *v, unsigned id, const uint8_t *expected_transport)
{
	static struct frame expected;

	frame_reset(&expected);
	frame_ipv4(&expected, 0, (unsigned)(20 + transport_len), id, 0, IPPROTO_NUM_TCP);
	frame_bytes(&expected, expected_transport, transport_len);
	CHECK(v->ip_header != NULL);
	if (v->ip_header != NULL)
		CHECK_EQ_MEM(v->ip_header, v->ip_len, expected.bytes, expected.len);
}

/* Checks a view against the test datagram after reassembly. */
static void check_reassembled(const struct packet_view *v, int ip_version, uint32_t ip_len,
			      const uint8_t *expected_transport)
{
	CHECK_EQ_INT(v->ip_version, ip_version);
	if (ip_version == 4) {
		CHECK_EQ_MEM(v->src_addr, 4, test_ipv4_client, 4);
		CHECK_EQ_MEM(v->dst_addr, 4, test_ipv4_server, 4);
	} else {
		CHECK_EQ_MEM(v->src_addr, 16, test_ipv6_client, 16);
		CHECK_EQ_MEM(v->dst_addr, 16, test_ipv6_server, 16);
	}
	CHECK_EQ_INT(v->src_port, 50000);
	CHECK_EQ_INT(v->dst_port, 587);
	CHECK_EQ_INT(v->seq, 0x11223344u);
	CHECK_EQ_INT(v->ack, 0x55667788u);
	CHECK_EQ_INT(v->tcp_flags, TCP_FLAG_ACK);
	CHECK_EQ_INT(v->window, 512);
	CHECK_EQ_INT(v->reassembled, true);
	CHECK_EQ_INT(v->payload_truncated, false);
	CHECK_EQ_INT(v->ip_len, ip_len);
	CHECK_EQ_MEM(v->payload, v->payload_len, expected_transport + 20, transport_len - 20);
}

/*
 * Sends the datagram as fragments of size chunk (a multiple of 8) in the
 * order given by order[], a permutation of the fragment indexes, and
 * checks that only the last one completes it.
 */
static void send_in_order(struct decoder *d, size_t chunk, const size_t *order, size_t count,
			  unsigned id)
{
	size_t i;

	for (i = 0; i < count; i++) {
		struct packet_view v;
		size_t off = order[i] * chunk;
		size_t len = off + chunk < transport_len ? chunk : transport_len - off;
		bool more = off + len < transport_len;
		int rc = send_v4(d, transport, off, len, more, id, IPPROTO_NUM_TCP, TS_START, &v);

		if (i + 1 < count) {
			CHECK_EQ_INT(rc, DECODE_HELD);
			continue;
		}
		CHECK_EQ_INT(rc, DECODE_TCP);
		if (rc == DECODE_TCP) {
			check_reassembled(&v, 4, (uint32_t)(20 + transport_len), transport);
			check_packet_v4(&v, id, transport);
		}
	}
}

static void test_v4_orders(void)
{
	static const size_t chunks[] = {8, 16, 24, 40, 64, 104, 312};
	struct decoder *d = decoder_new();
	size_t order[64];
	size_t c;
	size_t i;
	uint32_t state = 99;

	build_transport(300);
	for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		size_t count = (transport_len + chunks[c] - 1) / chunks[c];

		for (i = 0; i < count; i++)
			order[i] = i;
		send_in_order(d, chunks[c], order, count, (unsigned)(100 + c));
		for (i = 0; i < count; i++)
			order[i] = count - 1 - i;
		send_in_order(d, chunks[c], order, count, (unsigned)(200 + c));
		/* A Fisher-Yates shuffle driven by a fixed linear congruential sequence. */
		for (i = count; i > 1; i--) {
			size_t j;
			size_t tmp;

			state = state * 1103515245u + 12345u;
			j = (state >> 8) % i;
			tmp = order[i - 1];
			order[i - 1] = order[j];
			order[j] = tmp;
		}
		send_in_order(d, chunks[c], order, count, (unsigned)(300 + c));
	}
	CHECK_EQ_INT(total_counts(d), 0);
	CHECK_EQ_INT(held_datagrams(d), 0);
	CHECK_EQ_INT(held_bytes(d), 0);
	decoder_free(d);
}

/* Two fragments cut at every 8-byte boundary, sent in both orders. */
static void test_v4_every_split(void)
{
	struct decoder *d = decoder_new();
	struct packet_view v;
	size_t cut;

	build_transport(200);
	for (cut = 8; cut < transport_len; cut += 8) {
		CHECK_EQ_INT(send_v4(d, transport, 0, cut, true, 1, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
		CHECK_EQ_INT(send_v4(d, transport, cut, transport_len - cut, false, 1, IPPROTO_NUM_TCP, TS_START, &v),
			     DECODE_TCP);
		check_reassembled(&v, 4, (uint32_t)(20 + transport_len), transport);

		CHECK_EQ_INT(send_v4(d, transport, cut, transport_len - cut, false, 2, IPPROTO_NUM_TCP, TS_START, &v),
			     DECODE_HELD);
		CHECK_EQ_INT(send_v4(d, transport, 0, cut, true, 2, IPPROTO_NUM_TCP, TS_START, &v), DECODE_TCP);
		check_reassembled(&v, 4, (uint32_t)(20 + transport_len), transport);
	}
	CHECK_EQ_INT(total_counts(d), 0);
	decoder_free(d);
}

static void test_v4_overlap_identical(void)
{
	struct decoder *d = decoder_new();
	struct packet_view v;

	build_transport(100); /* 120 bytes */
	CHECK_EQ_INT(send_v4(d, transport, 0, 64, true, 5, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(send_v4(d, transport, 32, 64, true, 5, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	/* An exact duplicate of the first fragment is dropped as fully covered. */
	CHECK_EQ_INT(send_v4(d, transport, 0, 64, true, 5, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(send_v4(d, transport, 88, 32, false, 5, IPPROTO_NUM_TCP, TS_START, &v), DECODE_TCP);
	check_reassembled(&v, 4, 140, transport);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_OVERLAP), 3);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_OVERLAP_CONFLICT), 0);
	CHECK_EQ_INT(held_datagrams(d), 0);
	decoder_free(d);
}

/* Bytes [from, to) of the transport with every byte inverted. */
static void make_altered(uint8_t *altered, size_t from, size_t to)
{
	size_t i;

	memcpy(altered, transport, transport_len);
	for (i = from; i < to; i++)
		altered[i] = (uint8_t)~altered[i];
}

static void test_v4_overlap_conflict(void)
{
	struct decoder *d = decoder_new();
	struct packet_view v;
	uint8_t altered[2048];
	uint8_t expected[2048];

	build_transport(100); /* 120 bytes */
	make_altered(altered, 0, transport_len);

	/* The later fragment lies inside the first: the first's bytes stay. */
	CHECK_EQ_INT(send_v4(d, transport, 0, 48, true, 6, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(send_v4(d, altered, 16, 16, true, 6, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(send_v4(d, transport, 48, 72, false, 6, IPPROTO_NUM_TCP, TS_START, &v), DECODE_TCP);
	check_reassembled(&v, 4, 140, transport);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_OVERLAP), 1);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_OVERLAP_CONFLICT), 1);

	/* The altered fragment arrives first, inside the later one: its bytes stay. */
	CHECK_EQ_INT(send_v4(d, altered, 24, 16, true, 7, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(send_v4(d, transport, 0, 48, true, 7, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(send_v4(d, transport, 48, 72, false, 7, IPPROTO_NUM_TCP, TS_START, &v), DECODE_TCP);
	make_altered(expected, 24, 40);
	check_reassembled(&v, 4, 140, expected);
	check_packet_v4(&v, 7, expected);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_OVERLAP_CONFLICT), 2);

	/* A later fragment overlaps the end of an earlier one and goes on past it. */
	CHECK_EQ_INT(send_v4(d, transport, 0, 32, true, 8, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(send_v4(d, altered, 16, 48, true, 8, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(send_v4(d, transport, 64, 56, false, 8, IPPROTO_NUM_TCP, TS_START, &v), DECODE_TCP);
	make_altered(expected, 32, 64);
	check_reassembled(&v, 4, 140, expected);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_OVERLAP), 3);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_OVERLAP_CONFLICT), 3);

	/* Rewriting the ports at offset 0 after the fact (RFC 1858) changes nothing. */
	CHECK_EQ_INT(send_v4(d, transport, 0, 24, true, 9, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(send_v4(d, altered, 0, 8, true, 9, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(send_v4(d, transport, 24, 96, false, 9, IPPROTO_NUM_TCP, TS_START, &v), DECODE_TCP);
	check_reassembled(&v, 4, 140, transport);
	CHECK_EQ_INT(held_datagrams(d), 0);
	decoder_free(d);
}

/* A last fragment that lies inside a stored fragment still completes the datagram. */
static void test_v4_duplicate_last(void)
{
	struct decoder *d = decoder_new();
	struct packet_view v;

	build_transport(100);
	CHECK_EQ_INT(send_v4(d, transport, 0, 120, true, 10, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(send_v4(d, transport, 112, 8, false, 10, IPPROTO_NUM_TCP, TS_START, &v), DECODE_TCP);
	check_reassembled(&v, 4, 140, transport);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_OVERLAP), 1);
	decoder_free(d);
}

static void test_v4_timeout(void)
{
	struct decoder *d = decoder_new();
	struct packet_view v;
	uint64_t timeout = LIMIT_IP_FRAG_TIMEOUT_S * USEC_PER_SEC;

	build_transport(100);
	CHECK_EQ_INT(send_v4(d, transport, 0, 64, true, 11, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	decoder_expire(d, TS_START + timeout);
	CHECK_EQ_INT(held_datagrams(d), 1);
	CHECK_EQ_INT(held_bytes(d), 64);
	decoder_expire(d, TS_START + timeout + 1);
	CHECK_EQ_INT(held_datagrams(d), 0);
	CHECK_EQ_INT(held_bytes(d), 0);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_TIMEOUT), 1);
	/* The rest arrives too late to find its first part. */
	CHECK_EQ_INT(send_v4(d, transport, 64, 56, false, 11, IPPROTO_NUM_TCP, TS_START + timeout + 2, &v),
		     DECODE_HELD);
	CHECK_EQ_INT(held_datagrams(d), 1);

	/* A later fragment of another datagram expires the old one on its way in. */
	CHECK_EQ_INT(send_v4(d, transport, 0, 64, true, 12, IPPROTO_NUM_TCP, TS_START + 3 * timeout, &v),
		     DECODE_HELD);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_TIMEOUT), 2);
	CHECK_EQ_INT(held_datagrams(d), 1);
	/* Packet time going backwards (a second file) expires nothing. */
	decoder_expire(d, TS_START);
	CHECK_EQ_INT(held_datagrams(d), 1);
	decoder_free(d);
}

static void test_v4_datagram_cap(void)
{
	struct decoder *d = decoder_new();
	struct packet_view v;
	unsigned id;

	build_transport(100);
	for (id = 0; id <= LIMIT_IP_FRAG_DATAGRAMS; id++)
		CHECK_EQ_INT(send_v4(d, transport, 0, 64, true, id, IPPROTO_NUM_TCP, TS_START + id, &v),
			     DECODE_HELD);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_EVICTED), 1);
	CHECK_EQ_INT(held_datagrams(d), LIMIT_IP_FRAG_DATAGRAMS);
	CHECK_EQ_INT(held_bytes(d), 64ull * LIMIT_IP_FRAG_DATAGRAMS);

	/* The oldest datagram was evicted; the newest completes. */
	CHECK_EQ_INT(send_v4(d, transport, 64, 56, false, 0, IPPROTO_NUM_TCP, TS_START + id, &v),
		     DECODE_HELD);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_EVICTED), 2);
	CHECK_EQ_INT(send_v4(d, transport, 64, 56, false, LIMIT_IP_FRAG_DATAGRAMS, IPPROTO_NUM_TCP,
			     TS_START + id, &v),
		     DECODE_TCP);
	check_reassembled(&v, 4, 140, transport);

	/* Expiring the 4095 left walks every bucket chain, colliding entries included. */
	CHECK_EQ_INT(held_datagrams(d), LIMIT_IP_FRAG_DATAGRAMS - 1);
	decoder_expire(d, TS_START + id + LIMIT_IP_FRAG_TIMEOUT_S * USEC_PER_SEC + 1);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_TIMEOUT), LIMIT_IP_FRAG_DATAGRAMS - 1);
	CHECK_EQ_INT(held_datagrams(d), 0);
	CHECK_EQ_INT(held_bytes(d), 0);
	decoder_free(d);
}

static void test_v4_bytes_cap(void)
{
	static uint8_t big[60000];
	const size_t frag_len = sizeof(big);
	const unsigned fit = LIMIT_IP_FRAG_TOTAL_BYTES / sizeof(big);
	struct decoder *d = decoder_new();
	struct packet_view v;
	unsigned id;

	memset(big, 0x5a, sizeof(big));
	for (id = 0; id < fit + 10; id++)
		CHECK_EQ_INT(send_v4(d, big, 0, frag_len, true, id, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_EVICTED), 10);
	CHECK_EQ_INT(held_datagrams(d), fit);
	CHECK_EQ_INT(held_bytes(d), (uint64_t)fit * frag_len);
	CHECK(held_bytes(d) <= LIMIT_IP_FRAG_TOTAL_BYTES);
	decoder_free(d);
}

/*
 * The datagram that needs room is the oldest one, so the next oldest goes
 * instead. Its bytes are zeros, so the reassembled TCP header has a data
 * offset of 0, which proves that reassembly ran.
 */
static void test_v4_bytes_cap_keeps_current(void)
{
	static uint8_t big[65536];
	const unsigned fit = (LIMIT_IP_FRAG_TOTAL_BYTES - 8) / 60000u;
	struct decoder *d = decoder_new();
	struct packet_view v;
	unsigned id;

	CHECK_EQ_INT(send_v4(d, big, 0, 8, true, 0, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	for (id = 1; id <= fit; id++)
		CHECK_EQ_INT(send_v4(d, big, 0, 60000, true, id, IPPROTO_NUM_TCP, TS_START + id, &v), DECODE_HELD);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_EVICTED), 0);

	CHECK_EQ_INT(send_v4(d, big, 8, 60000, true, 0, IPPROTO_NUM_TCP, TS_START + id, &v), DECODE_HELD);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_EVICTED), 1);
	CHECK_EQ_INT(held_datagrams(d), fit);
	CHECK_EQ_INT(send_v4(d, big, 60008, 8, false, 0, IPPROTO_NUM_TCP, TS_START + id, &v), DECODE_MALFORMED);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_BAD_TCP_DATA_OFFSET), 1);
	decoder_free(d);
}

/*
 * The first fragment's 60-byte header leaves room for 65475 data bytes. A
 * last fragment with a 20-byte header passes its own check (65512 + 20),
 * but the whole datagram would be 60 + 65512 bytes.
 */
static void test_v4_first_header_too_large(void)
{
	static uint8_t data[65536];
	struct decoder *d = decoder_new();
	struct packet_view v;

	frame_reset(&frame_buf);
	frame_ipv4(&frame_buf, 40, 60 + 65472, 40, 0x2000, IPPROTO_NUM_TCP);
	frame_bytes(&frame_buf, data, 65472);
	CHECK_EQ_INT(decode_frame(d, frame_buf.len, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(send_v4(d, data, 65472, 40, false, 40, IPPROTO_NUM_TCP, TS_START, &v), DECODE_MALFORMED);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_TOO_LARGE), 1);
	CHECK_EQ_INT(held_datagrams(d), 0);
	decoder_free(d);
}

static void test_v4_fragment_cap(void)
{
	struct decoder *d = decoder_new();
	struct packet_view v;
	static uint8_t zeros[2048];
	unsigned i;

	/* Every other 8-byte slot, so the datagram never completes. */
	for (i = 0; i < LIMIT_IP_FRAG_PER_DATAGRAM; i++)
		CHECK_EQ_INT(send_v4(d, zeros, 16 * i, 8, true, 13, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(held_datagrams(d), 1);
	CHECK_EQ_INT(send_v4(d, zeros, 16 * i, 8, true, 13, IPPROTO_NUM_TCP, TS_START, &v), DECODE_MALFORMED);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_TOO_MANY_FRAGMENTS), 1);
	CHECK_EQ_INT(held_datagrams(d), 0);
	CHECK_EQ_INT(held_bytes(d), 0);
	decoder_free(d);
}

static void test_v4_bad_fragments(void)
{
	static uint8_t data[65536 + 64];
	struct decoder *d = decoder_new();
	struct packet_view v;

	/* Ends past 65535 bytes of datagram: 65528 + 16 + 20. The datagram is dropped too. */
	CHECK_EQ_INT(send_v4(d, data, 0, 64, true, 20, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(send_v4(d, data, 65528, 16, false, 20, IPPROTO_NUM_TCP, TS_START, &v), DECODE_MALFORMED);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_TOO_LARGE), 1);
	CHECK_EQ_INT(held_datagrams(d), 0);
	/* 65528 + 7 + 20 is still too large; 65488 + 24 + 20 = 65532 fits. */
	CHECK_EQ_INT(send_v4(d, data, 65528, 7, false, 21, IPPROTO_NUM_TCP, TS_START, &v), DECODE_MALFORMED);
	CHECK_EQ_INT(send_v4(d, data, 65488, 24, false, 22, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_TOO_LARGE), 2);

	/* Two last fragments that disagree about the end. */
	CHECK_EQ_INT(send_v4(d, data, 64, 16, false, 23, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(send_v4(d, data, 64, 24, false, 23, IPPROTO_NUM_TCP, TS_START, &v), DECODE_MALFORMED);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_INCONSISTENT_END), 1);
	/* A middle fragment past the known end. */
	CHECK_EQ_INT(send_v4(d, data, 64, 16, false, 24, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(send_v4(d, data, 72, 16, true, 24, IPPROTO_NUM_TCP, TS_START, &v), DECODE_MALFORMED);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_INCONSISTENT_END), 2);

	/* A fragment with more to follow must carry a multiple of 8 bytes. */
	CHECK_EQ_INT(send_v4(d, data, 0, 12, true, 25, IPPROTO_NUM_TCP, TS_START, &v), DECODE_MALFORMED);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_BAD_LENGTH), 1);

	/* A fragment cut by the snapshot length. */
	frame_reset(&frame_buf);
	frame_ipv4(&frame_buf, 0, 20 + 64, 26, 0x2000, IPPROTO_NUM_TCP);
	frame_bytes(&frame_buf, data, 64);
	CHECK_EQ_INT(decode_frame(d, frame_buf.len - 1, TS_START, &v), DECODE_MALFORMED);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_TRUNCATED), 1);
	decoder_free(d);
}

static void test_v4_keys(void)
{
	struct decoder *d = decoder_new();
	struct packet_view v;

	build_transport(100);
	/* Same identification, different protocol: two datagrams (RFC 791 keys on the protocol). */
	CHECK_EQ_INT(send_v4(d, transport, 0, 64, true, 30, IPPROTO_NUM_TCP, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(send_v4(d, transport, 64, 56, false, 30, IPPROTO_NUM_UDP, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(held_datagrams(d), 2);
	/*
	 * The UDP datagram completes and goes to the UDP decoder, not the TCP
	 * one: its bytes are a TCP header, whose sequence number is no valid
	 * UDP length.
	 */
	CHECK_EQ_INT(send_v4(d, transport, 0, 64, true, 30, IPPROTO_NUM_UDP, TS_START, &v), DECODE_MALFORMED);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_BAD_UDP_LENGTH), 1);
	CHECK_EQ_INT(held_datagrams(d), 1);
	decoder_free(d);
}

/*
 * One IPv6 fragment: IPv6 header, a hop-by-hop header (unfragmentable),
 * the fragment header, then len bytes of the fragmentable part at off.
 */
static int send_v6(struct decoder *d, const uint8_t *data, size_t off, size_t len, bool more,
		   uint32_t id, unsigned next, uint64_t ts, struct packet_view *v)
{
	frame_reset(&frame_buf);
	frame_ipv6(&frame_buf, (unsigned)(8 + 8 + len), 0);
	frame_ipv6_options(&frame_buf, 44);
	frame_u8(&frame_buf, next);
	frame_u8(&frame_buf, 0);
	frame_be16(&frame_buf, (unsigned)off | (more ? 1u : 0u));
	frame_be32(&frame_buf, id);
	frame_bytes(&frame_buf, data + off, len);
	return decode_frame(d, frame_buf.len, ts, v);
}

static void test_v6_fragments(void)
{
	struct decoder *d = decoder_new();
	struct packet_view v;
	/* The fragmentable part: a destination options header, then the TCP segment. */
	uint8_t part[2048];
	size_t part_len;
	size_t cut;
	static struct frame expected;

	build_transport(300);
	frame_reset(&frame_buf);
	frame_ipv6_options(&frame_buf, 6);
	memcpy(part, frame_buf.bytes, 8);
	memcpy(part + 8, transport, transport_len);
	part_len = 8 + transport_len;

	/* The rebuilt packet: IPv6 header, hop-by-hop naming the destination options, then the part. */
	frame_reset(&expected);
	frame_ipv6(&expected, (unsigned)(8 + part_len), 0);
	frame_ipv6_options(&expected, 60);
	frame_bytes(&expected, part, part_len);

	for (cut = 8; cut < part_len; cut += 8) {
		CHECK_EQ_INT(send_v6(d, part, 0, cut, true, 0x80000001u, 60, TS_START, &v), DECODE_HELD);
		CHECK_EQ_INT(send_v6(d, part, cut, part_len - cut, false, 0x80000001u, 60, TS_START, &v), DECODE_TCP);
		check_reassembled(&v, 6, (uint32_t)(40 + 8 + part_len), part + 8);
		CHECK(v.ip_header != NULL);
		if (v.ip_header != NULL)
			CHECK_EQ_MEM(v.ip_header, v.ip_len, expected.bytes, expected.len);

		CHECK_EQ_INT(send_v6(d, part, cut, part_len - cut, false, 0x80000002u, 6, TS_START, &v), DECODE_HELD);
		CHECK_EQ_INT(send_v6(d, part, 0, cut, true, 0x80000002u, 60, TS_START, &v), DECODE_TCP);
		check_reassembled(&v, 6, (uint32_t)(40 + 8 + part_len), part + 8);
	}
	CHECK_EQ_INT(total_counts(d), 0);

	/* The destination options header names a fragment header next, inside the reassembled datagram. */
	part[0] = 44;
	CHECK_EQ_INT(send_v6(d, part, 0, 64, true, 3, 60, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(send_v6(d, part, 64, part_len - 64, false, 3, 60, TS_START, &v), DECODE_MALFORMED);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_NESTED), 1);
	CHECK_EQ_INT(held_datagrams(d), 0);
	decoder_free(d);
}

static void test_v6_too_large(void)
{
	static uint8_t data[65536 + 64];
	struct decoder *d = decoder_new();
	struct packet_view v;

	/* The hop-by-hop header's 8 bytes count against the 65535-byte payload: 8 + 65520 + 8 = 65536. */
	CHECK_EQ_INT(send_v6(d, data, 65520, 8, false, 5, 6, TS_START, &v), DECODE_MALFORMED);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_TOO_LARGE), 1);
	CHECK_EQ_INT(send_v6(d, data, 65520, 7, false, 6, 6, TS_START, &v), DECODE_HELD);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_FRAG_TOO_LARGE), 1);
	decoder_free(d);
}

/*
 * Random fragments over a few keys, IPv4 and IPv6, with random offsets,
 * lengths and flags. Whatever arrives, results stay in range, a view comes
 * only from reassembly, and the stored bytes stay under the cap.
 */
static void test_random_fragments(void)
{
	static uint8_t data[65536 + 2048];
	struct decoder *d = decoder_new();
	uint32_t state = 4242;
	uint64_t results[4] = {0};
	int round;

	for (round = 0; round < (int)sizeof(data); round++)
		data[round] = (uint8_t)(round * 13);
	for (round = 0; round < 20000; round++) {
		struct packet_view v;
		size_t off;
		size_t len;
		bool more;
		unsigned id;
		int rc;

		state = state * 1103515245u + 12345u;
		off = ((state >> 8) % 16) * 8;
		if ((state & 0x3000u) == 0)
			off = ((state >> 4) % 8192) * 8;
		state = state * 1103515245u + 12345u;
		len = ((state >> 8) % 8 + 1) * 8;
		if ((state & 0x300000u) == 0)
			len = (state >> 8) % 600;
		more = (state & 0x70000u) != 0;
		id = (state >> 24) % 4;
		if (round % 2 == 0)
			rc = send_v4(d, data, off, len, more, id, IPPROTO_NUM_TCP, TS_START + (uint64_t)round * 1000u, &v);
		else
			rc = send_v6(d, data, off, len, more, id, 6, TS_START + (uint64_t)round * 1000u, &v);
		CHECK(rc == DECODE_TCP || rc == DECODE_OTHER || rc == DECODE_HELD || rc == DECODE_MALFORMED);
		results[rc + 1]++;
		/* Offset 0 without more fragments is a whole datagram (an atomic fragment in IPv6). */
		if (rc == DECODE_TCP)
			CHECK_EQ_INT(v.reassembled, off != 0 || more);
		CHECK(held_bytes(d) <= LIMIT_IP_FRAG_TOTAL_BYTES);
		CHECK(held_datagrams(d) <= 8);
	}
	printf("random fragments: %llu malformed, %llu tcp, %llu other, %llu held\n",
	       (unsigned long long)results[0], (unsigned long long)results[1],
	       (unsigned long long)results[2], (unsigned long long)results[3]);
	decoder_free(d);
}

/* Sends one IPv6 fragment behind a hop-by-hop header of 264 bytes. */
static int send_v6_long_header(struct decoder *d, size_t off, size_t len, bool more, struct packet_view *v)
{
	frame_reset(&frame_buf);
	frame_ipv6(&frame_buf, (unsigned)(264 + 8 + len), 0);
	frame_u8(&frame_buf, 44);
	frame_u8(&frame_buf, 32); /* (32 + 1) * 8 = 264 bytes */
	frame_u8(&frame_buf, 0x01);
	frame_u8(&frame_buf, 255);
	frame_fill(&frame_buf, 0, 255);
	frame_u8(&frame_buf, 0x01);
	frame_u8(&frame_buf, 3);
	frame_fill(&frame_buf, 0, 3);
	frame_u8(&frame_buf, IPPROTO_NUM_TCP);
	frame_u8(&frame_buf, 0);
	frame_be16(&frame_buf, (unsigned)off | (more ? 1u : 0u));
	frame_be32(&frame_buf, 77);
	frame_bytes(&frame_buf, transport + off, len);
	return decode_frame(d, frame_buf.len, TS_START, v);
}

/* A header past LIMIT_IP_FRAG_HEADER_BYTES is not kept, so the segment decodes but the packet is not rebuilt. */
static void test_v6_long_header(void)
{
	struct decoder *d = decoder_new();
	struct packet_view v;

	build_transport(100);
	CHECK_EQ_INT(send_v6_long_header(d, 0, 64, true, &v), DECODE_HELD);
	CHECK_EQ_INT(send_v6_long_header(d, 64, transport_len - 64, false, &v), DECODE_TCP);
	check_reassembled(&v, 6, (uint32_t)(40 + 264 + transport_len), transport);
	CHECK(v.ip_header == NULL);
	decoder_free(d);
}

int main(void)
{
	test_v4_orders();
	test_v4_every_split();
	test_v4_overlap_identical();
	test_v4_overlap_conflict();
	test_v4_duplicate_last();
	test_v4_timeout();
	test_v4_datagram_cap();
	test_v4_bytes_cap();
	test_v4_bytes_cap_keeps_current();
	test_v4_first_header_too_large();
	test_v4_fragment_cap();
	test_v4_bad_fragments();
	test_v4_keys();
	test_v6_fragments();
	test_v6_too_large();
	test_v6_long_header();
	test_random_fragments();
	return test_finish("test_defrag");
}
