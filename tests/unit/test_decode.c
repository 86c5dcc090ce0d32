/*
 * Decoder tests: one frame per link layer built byte by byte, every field of
 * the view checked, every frame cut at every offset (by the snapshot length
 * and with lying lengths), headers whose lengths lie, and mutated garbage.
 * Frames are copied into heap buffers of their exact size so that a read
 * past the end shows up under AddressSanitizer.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "decode/decode_internal.h"
#include "test.h"
#include "test_decode_frames.h"

#define TEST_TS_USEC 1700000000123456ull

static const uint8_t test_payload[] = "EHLO client.example.org\r\n";

static struct frame frame_buf;

static struct tcp_spec test_segment(void)
{
	struct tcp_spec t = {
		.src_port = 49152,
		.dst_port = 25,
		.seq = 0x01020304u,
		.ack = 0xa0b0c0d0u,
		.flags = TCP_FLAG_PSH | TCP_FLAG_ACK,
		.window = 0x7210,
		.options_len = 12,
		.payload = test_payload,
		.payload_len = sizeof(test_payload) - 1,
	};
	return t;
}

/* Appends the standard IPv4 or IPv6 packet carrying the test segment. */
static void frame_ip_tcp(struct frame *f, int ip_version)
{
	struct tcp_spec t = test_segment();

	if (ip_version == 4)
		frame_ipv4(f, 8, (unsigned)(28 + tcp_spec_len(&t)), 0x1234, 0x4000, 6);
	else
		frame_ipv6(f, (unsigned)tcp_spec_len(&t), 6);
	frame_tcp(f, &t);
}

static size_t ip_tcp_header_len(int ip_version)
{
	return (ip_version == 4 ? 28u : 40u) + 32u;
}

static uint64_t total_counts(const struct decoder *d)
{
	const uint64_t *counts = decoder_reason_counts(d);
	uint64_t sum = 0;
	int i;

	for (i = 0; i < DECODE_REASON_COUNT; i++)
		sum += counts[i];
	return sum;
}

static uint64_t count_of(const struct decoder *d, enum decode_reason r)
{
	return decoder_reason_counts(d)[r];
}

/* Decodes the first caplen bytes of bytes from a heap copy of exactly that size. */
static int decode_copy(struct decoder *d, int linktype, const uint8_t *bytes, size_t caplen,
		       size_t wirelen, struct packet_view *v, uint8_t **copy)
{
	*copy = malloc(caplen > 0 ? caplen : 1);
	if (*copy == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	memcpy(*copy, bytes, caplen);
	return decoder_decode(d, linktype, *copy, (uint32_t)caplen, (uint32_t)wirelen, TEST_TS_USEC, v);
}

static int decode_whole(struct decoder *d, int linktype, const struct frame *f, struct packet_view *v,
			uint8_t **copy)
{
	return decode_copy(d, linktype, f->bytes, f->len, f->len, v, copy);
}

/* Checks every field of a view that carries the test segment over ip_version. */
static void check_view(const struct packet_view *v, int ip_version, uint32_t ip_len,
		       size_t payload_len, bool truncated)
{
	static const uint8_t zero[12];
	struct tcp_spec t = test_segment();

	CHECK_EQ_INT(v->ts_usec, TEST_TS_USEC);
	CHECK_EQ_INT(v->ip_version, ip_version);
	if (ip_version == 4) {
		CHECK_EQ_MEM(v->src_addr, 4, test_ipv4_client, 4);
		CHECK_EQ_MEM(v->dst_addr, 4, test_ipv4_server, 4);
		CHECK_EQ_MEM(v->src_addr + 4, 12, zero, 12);
		CHECK_EQ_MEM(v->dst_addr + 4, 12, zero, 12);
	} else {
		CHECK_EQ_MEM(v->src_addr, 16, test_ipv6_client, 16);
		CHECK_EQ_MEM(v->dst_addr, 16, test_ipv6_server, 16);
	}
	CHECK_EQ_INT(v->src_port, t.src_port);
	CHECK_EQ_INT(v->dst_port, t.dst_port);
	CHECK_EQ_INT(v->seq, t.seq);
	CHECK_EQ_INT(v->ack, t.ack);
	CHECK_EQ_INT(v->tcp_flags, t.flags);
	CHECK_EQ_INT(v->window, t.window);
	CHECK_EQ_INT(v->ip_len, ip_len);
	CHECK_EQ_INT(v->payload_truncated, truncated);
	CHECK(v->payload != NULL);
	if (v->payload != NULL)
		CHECK_EQ_MEM(v->payload, v->payload_len, t.payload, payload_len);
	CHECK_EQ_INT(v->reassembled, false);
}

/* One link-layer case: writes the link header(s) for ip_version and names the VLAN IDs expected. */
struct link_case {
	const char *name;
	int linktype;
	void (*build)(struct frame *f, int ip_version);
	bool ipv4, ipv6;
	uint8_t vlan_count;
	uint16_t vlan_ids[2];
};

static unsigned ethertype_of(int ip_version)
{
	return ip_version == 4 ? 0x0800u : 0x86ddu;
}

static void build_ethernet(struct frame *f, int ip_version)
{
	frame_ethernet(f, ethertype_of(ip_version));
}

static void build_vlan(struct frame *f, int ip_version)
{
	frame_ethernet(f, 0x8100);
	frame_vlan_tag(f, 100, ethertype_of(ip_version));
}

static void build_qinq_88a8(struct frame *f, int ip_version)
{
	frame_ethernet(f, 0x88a8);
	frame_vlan_tag(f, 200, 0x8100);
	frame_vlan_tag(f, 300, ethertype_of(ip_version));
}

static void build_qinq_9100(struct frame *f, int ip_version)
{
	frame_ethernet(f, 0x9100);
	frame_vlan_tag(f, 4094, 0x8100);
	frame_vlan_tag(f, 1, ethertype_of(ip_version));
}

/* Two MPLS labels (RFC 3032): label 16 then label 1000 with the bottom-of-stack bit. */
static void build_mpls(struct frame *f, int ip_version)
{
	(void)ip_version;
	frame_ethernet(f, 0x8847);
	frame_be32(f, (16u << 12) | (0u << 9) | 64u);
	frame_be32(f, (1000u << 12) | (5u << 9) | 0x100u | 63u);
}

/* PPPoE session (RFC 2516): version/type 0x11, code 0, session 0x0042, length, PPP protocol. */
static void build_pppoe(struct frame *f, int ip_version)
{
	size_t payload = 2 + (ip_version == 4 ? 28u : 40u) + 32u + sizeof(test_payload) - 1;

	frame_ethernet(f, 0x8864);
	frame_u8(f, 0x11);
	frame_u8(f, 0x00);
	frame_be16(f, 0x0042);
	frame_be16(f, (unsigned)payload);
	frame_be16(f, ip_version == 4 ? 0x0021u : 0x0057u);
}

/* Linux cooked v1: packet type 0 (to us), ARPHRD_ETHER, address length 6, 8 address bytes, protocol. */
static void build_sll(struct frame *f, int ip_version)
{
	static const uint8_t address[8] = {0x02, 0, 0, 0, 0, 0x01, 0, 0};

	frame_be16(f, 0);
	frame_be16(f, 1);
	frame_be16(f, 6);
	frame_bytes(f, address, 8);
	frame_be16(f, ethertype_of(ip_version));
}

/*
 * Linux cooked v2: protocol, reserved, interface index 3, ARPHRD_ETHER,
 * packet type 4 (outgoing), address length 6, address.
 */
static void build_sll2(struct frame *f, int ip_version)
{
	static const uint8_t address[8] = {0x02, 0, 0, 0, 0, 0x01, 0, 0};

	frame_be16(f, ethertype_of(ip_version));
	frame_be16(f, 0);
	frame_be32(f, 3);
	frame_be16(f, 1);
	frame_u8(f, 4);
	frame_u8(f, 6);
	frame_bytes(f, address, 8);
}

static void build_raw(struct frame *f, int ip_version)
{
	(void)f;
	(void)ip_version;
}

/* BSD loopback written by a little-endian host: AF_INET 2, AF_INET6 30 (Darwin). */
static void build_null_le(struct frame *f, int ip_version)
{
	frame_le32(f, ip_version == 4 ? 2u : 30u);
}

/* BSD loopback written by a big-endian host: AF_INET 2, AF_INET6 24 (NetBSD, OpenBSD). */
static void build_null_be(struct frame *f, int ip_version)
{
	frame_be32(f, ip_version == 4 ? 2u : 24u);
}

/* BSD loopback, FreeBSD's AF_INET6 28, little-endian. */
static void build_null_freebsd(struct frame *f, int ip_version)
{
	frame_le32(f, ip_version == 4 ? 2u : 28u);
}

/* DLT_LOOP: the family in network byte order. */
static void build_loop(struct frame *f, int ip_version)
{
	frame_be32(f, ip_version == 4 ? 2u : 24u);
}

/* PPP in HDLC-like framing (RFC 1662): address 0xff, control 0x03, protocol. */
static void build_ppp_framed(struct frame *f, int ip_version)
{
	frame_u8(f, 0xff);
	frame_u8(f, 0x03);
	frame_be16(f, ip_version == 4 ? 0x0021u : 0x0057u);
}

/* PPP without address and control, protocol field compressed to one byte (RFC 1661 section 6.5). */
static void build_ppp_compressed(struct frame *f, int ip_version)
{
	frame_u8(f, ip_version == 4 ? 0x21u : 0x57u);
}

/* Cisco HDLC: address 0x0f, control 0, Ethernet type. */
static void build_cisco_hdlc(struct frame *f, int ip_version)
{
	frame_u8(f, 0x0f);
	frame_u8(f, 0x00);
	frame_be16(f, ethertype_of(ip_version));
}

static const struct link_case link_cases[] = {
	{"ethernet", 1, build_ethernet, true, true, 0, {0, 0}},
	{"vlan", 1, build_vlan, true, true, 1, {100, 0}},
	{"qinq_88a8", 1, build_qinq_88a8, true, true, 2, {200, 300}},
	{"qinq_9100", 1, build_qinq_9100, true, true, 2, {4094, 1}},
	{"mpls", 1, build_mpls, true, true, 0, {0, 0}},
	{"pppoe", 1, build_pppoe, true, true, 0, {0, 0}},
	{"sll", 113, build_sll, true, true, 0, {0, 0}},
	{"sll2", 276, build_sll2, true, true, 0, {0, 0}},
	{"raw_101", 101, build_raw, true, true, 0, {0, 0}},
	{"raw_12", 12, build_raw, true, true, 0, {0, 0}},
	{"raw_14", 14, build_raw, true, true, 0, {0, 0}},
	{"ipv4_228", 228, build_raw, true, false, 0, {0, 0}},
	{"ipv6_229", 229, build_raw, false, true, 0, {0, 0}},
	{"null_le", 0, build_null_le, true, true, 0, {0, 0}},
	{"null_be", 0, build_null_be, true, true, 0, {0, 0}},
	{"null_freebsd", 0, build_null_freebsd, true, true, 0, {0, 0}},
	{"loop", 108, build_loop, true, true, 0, {0, 0}},
	{"ppp_framed", 9, build_ppp_framed, true, true, 0, {0, 0}},
	{"ppp_compressed", 9, build_ppp_compressed, true, true, 0, {0, 0}},
	{"ppp_serial", 50, build_ppp_framed, true, true, 0, {0, 0}},
	{"ppp_serial_cisco", 50, build_cisco_hdlc, true, true, 0, {0, 0}},
	{"cisco_hdlc", 104, build_cisco_hdlc, true, true, 0, {0, 0}},
};

static void test_link_case_whole(struct decoder *d, const struct link_case *lc, int ip_version)
{
	struct packet_view v;
	uint8_t *copy;
	size_t link_len;
	uint64_t before = total_counts(d);
	int rc;

	frame_reset(&frame_buf);
	lc->build(&frame_buf, ip_version);
	link_len = frame_buf.len;
	frame_ip_tcp(&frame_buf, ip_version);

	rc = decode_whole(d, lc->linktype, &frame_buf, &v, &copy);
	if (rc != DECODE_TCP)
		fprintf(stderr, "case %s over IPv%d\n", lc->name, ip_version);
	CHECK_EQ_INT(rc, DECODE_TCP);
	check_view(&v, ip_version, (uint32_t)(frame_buf.len - link_len), sizeof(test_payload) - 1, false);
	CHECK(v.payload == copy + frame_buf.len - (sizeof(test_payload) - 1));
	CHECK(v.ip_header == copy + link_len);
	CHECK_EQ_INT(v.vlan_count, lc->vlan_count);
	CHECK_EQ_INT(v.vlan_ids[0], lc->vlan_ids[0]);
	CHECK_EQ_INT(v.vlan_ids[1], lc->vlan_ids[1]);
	CHECK_EQ_INT(total_counts(d), before);
	free(copy);
}

/*
 * Cuts the frame at every offset. With the snapshot length doing the cut,
 * a frame that still contains the TCP header gives a truncated view, and a
 * shorter one is malformed with exactly one reason counted. With wirelen
 * cut as well (the IP length lies), the shorter payload is trusted.
 */
static void test_link_case_cuts(struct decoder *d, const struct link_case *lc, int ip_version)
{
	size_t link_len;
	size_t headers;
	size_t cut;

	frame_reset(&frame_buf);
	lc->build(&frame_buf, ip_version);
	link_len = frame_buf.len;
	frame_ip_tcp(&frame_buf, ip_version);
	headers = link_len + ip_tcp_header_len(ip_version);

	for (cut = 0; cut < frame_buf.len; cut++) {
		struct packet_view v;
		uint8_t *copy;
		uint64_t before = total_counts(d);
		int rc = decode_copy(d, lc->linktype, frame_buf.bytes, cut, frame_buf.len, &v, &copy);

		if (cut >= headers) {
			CHECK_EQ_INT(rc, DECODE_TCP);
			check_view(&v, ip_version, (uint32_t)(frame_buf.len - link_len), cut - headers, true);
			/* nDPI must not read the ip_len bytes that the frame does not have. */
			CHECK(v.ip_header == NULL);
			CHECK_EQ_INT(total_counts(d), before);
		} else {
			CHECK_EQ_INT(rc, DECODE_MALFORMED);
			CHECK_EQ_INT(total_counts(d), before + 1);
		}
		free(copy);

		before = total_counts(d);
		rc = decode_copy(d, lc->linktype, frame_buf.bytes, cut, cut, &v, &copy);
		if (cut >= headers) {
			CHECK_EQ_INT(rc, DECODE_TCP);
			check_view(&v, ip_version, (uint32_t)(cut - link_len), cut - headers, false);
			CHECK(v.ip_header == copy + link_len);
			CHECK_EQ_INT(total_counts(d), before + 1);
		} else {
			CHECK_EQ_INT(rc, DECODE_MALFORMED);
			CHECK(total_counts(d) > before);
		}
		free(copy);
	}
}

static void test_link_cases(void)
{
	struct decoder *d = decoder_new();
	size_t i;

	CHECK(d != NULL);
	if (d == NULL)
		return;
	for (i = 0; i < sizeof(link_cases) / sizeof(link_cases[0]); i++) {
		const struct link_case *lc = &link_cases[i];

		CHECK(decoder_linktype_supported(lc->linktype));
		if (lc->ipv4) {
			test_link_case_whole(d, lc, 4);
			test_link_case_cuts(d, lc, 4);
		}
		if (lc->ipv6) {
			test_link_case_whole(d, lc, 6);
			test_link_case_cuts(d, lc, 6);
		}
	}
	decoder_free(d);
}

/* Decodes frame_buf whole and checks the result and the one reason it should count. */
static void expect_result(int linktype, int expected, enum decode_reason reason)
{
	struct decoder *d = decoder_new();
	struct packet_view v;
	uint8_t *copy;
	int rc;

	rc = decode_whole(d, linktype, &frame_buf, &v, &copy);
	CHECK_EQ_INT(rc, expected);
	if (reason != DECODE_REASON_COUNT) {
		CHECK_EQ_INT(count_of(d, reason), 1);
		CHECK_EQ_INT(total_counts(d), 1);
	} else {
		CHECK_EQ_INT(total_counts(d), 0);
	}
	free(copy);
	decoder_free(d);
}

static void build_vlan_stack(unsigned tags)
{
	unsigned i;

	frame_reset(&frame_buf);
	frame_ethernet(&frame_buf, 0x8100);
	for (i = 0; i < tags; i++)
		frame_vlan_tag(&frame_buf, i + 1, i + 1 < tags ? 0x8100u : 0x0800u);
	frame_ip_tcp(&frame_buf, 4);
}

static void test_vlan_depth(void)
{
	struct decoder *d = decoder_new();
	struct packet_view v;
	uint8_t *copy;
	unsigned i;

	build_vlan_stack(LIMIT_VLAN_DEPTH);
	CHECK_EQ_INT(decode_whole(d, 1, &frame_buf, &v, &copy), DECODE_TCP);
	CHECK_EQ_INT(v.vlan_count, LIMIT_VLAN_DEPTH);
	for (i = 0; i < LIMIT_VLAN_DEPTH; i++)
		CHECK_EQ_INT(v.vlan_ids[i], i + 1);
	free(copy);
	decoder_free(d);

	build_vlan_stack(LIMIT_VLAN_DEPTH + 1);
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_VLAN_TOO_DEEP);
	build_vlan_stack(100);
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_VLAN_TOO_DEEP);
}

static void test_mpls_cases(void)
{
	unsigned i;

	/* Nine labels, none at the bottom of the stack until the last. */
	frame_reset(&frame_buf);
	frame_ethernet(&frame_buf, 0x8847);
	for (i = 0; i < LIMIT_MPLS_DEPTH + 1; i++)
		frame_be32(&frame_buf, (16u + i) << 12 | (i == LIMIT_MPLS_DEPTH ? 0x100u : 0u) | 64u);
	frame_ip_tcp(&frame_buf, 4);
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_MPLS_TOO_DEEP);

	/* A payload that is neither IPv4 nor IPv6: a pseudowire control word. */
	frame_reset(&frame_buf);
	frame_ethernet(&frame_buf, 0x8848);
	frame_be32(&frame_buf, 16u << 12 | 0x100u | 64u);
	frame_be32(&frame_buf, 0);
	frame_ethernet(&frame_buf, 0x0800);
	frame_ip_tcp(&frame_buf, 4);
	expect_result(1, DECODE_OTHER, DECODE_REASON_COUNT);
}

static void test_not_tcp(void)
{
	/* ARP. */
	frame_reset(&frame_buf);
	frame_ethernet(&frame_buf, 0x0806);
	frame_fill(&frame_buf, 0, 28);
	expect_result(1, DECODE_OTHER, DECODE_REASON_COUNT);

	/* An 802.3 frame: the type field is a length. */
	frame_reset(&frame_buf);
	frame_ethernet(&frame_buf, 46);
	frame_fill(&frame_buf, 0xaa, 46);
	expect_result(1, DECODE_OTHER, DECODE_REASON_COUNT);

	/* A UDP header with a zero length field (RFC 768 counts the header in it). */
	frame_reset(&frame_buf);
	frame_ethernet(&frame_buf, 0x0800);
	frame_ipv4(&frame_buf, 0, 28, 1, 0, 17);
	frame_fill(&frame_buf, 0, 8);
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_BAD_UDP_LENGTH);

	/* IPv6 with no next header (59), and ESP (50) behind a hop-by-hop header. */
	frame_reset(&frame_buf);
	frame_ipv6(&frame_buf, 0 + 8, 0);
	frame_ipv6_options(&frame_buf, 59);
	expect_result(101, DECODE_OTHER, DECODE_REASON_COUNT);
	frame_reset(&frame_buf);
	frame_ipv6(&frame_buf, 16, 50);
	frame_fill(&frame_buf, 0x55, 16);
	expect_result(101, DECODE_OTHER, DECODE_REASON_COUNT);

	/* A loopback family that is not IP (AF_APPLETALK 16), and PPP LCP (0xc021). */
	frame_reset(&frame_buf);
	frame_le32(&frame_buf, 16);
	frame_ip_tcp(&frame_buf, 4);
	expect_result(0, DECODE_OTHER, DECODE_REASON_COUNT);
	frame_reset(&frame_buf);
	frame_be16(&frame_buf, 0xc021);
	frame_fill(&frame_buf, 0, 8);
	expect_result(9, DECODE_OTHER, DECODE_REASON_COUNT);
}

/* UDP datagrams come back with ports and payload, for the DNS answers that MTA-STS learning reads. */
static void test_udp(void)
{
	struct decoder *d = decoder_new();
	struct packet_view v;
	uint8_t *copy;

	/* A DNS response from port 53 with a 4-byte payload and 2 bytes of Ethernet padding. */
	frame_reset(&frame_buf);
	frame_ethernet(&frame_buf, 0x0800);
	frame_ipv4(&frame_buf, 0, 32, 1, 0, 17);
	frame_be16(&frame_buf, 53);
	frame_be16(&frame_buf, 40000);
	frame_be16(&frame_buf, 12);
	frame_be16(&frame_buf, 0);
	frame_be32(&frame_buf, 0xdeadbeef);
	frame_fill(&frame_buf, 0, 2);
	CHECK_EQ_INT(decode_whole(d, 1, &frame_buf, &v, &copy), DECODE_UDP);
	CHECK_EQ_INT(v.src_port, 53);
	CHECK_EQ_INT(v.dst_port, 40000);
	CHECK_EQ_INT(v.payload_len, 4);
	CHECK(v.payload != NULL);
	if (v.payload != NULL) {
		CHECK_EQ_INT(v.payload[0], 0xde);
		CHECK_EQ_INT(v.payload[3], 0xef);
	}
	CHECK(!v.payload_truncated);
	free(copy);
	decoder_free(d);

	/* A length field larger than the datagram. */
	frame_reset(&frame_buf);
	frame_ethernet(&frame_buf, 0x0800);
	frame_ipv4(&frame_buf, 0, 28, 1, 0, 17);
	frame_be16(&frame_buf, 53);
	frame_be16(&frame_buf, 40000);
	frame_be16(&frame_buf, 100);
	frame_be16(&frame_buf, 0);
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_BAD_UDP_LENGTH);

	/* A header cut short. */
	frame_reset(&frame_buf);
	frame_ethernet(&frame_buf, 0x0800);
	frame_ipv4(&frame_buf, 0, 24, 1, 0, 17);
	frame_be16(&frame_buf, 53);
	frame_be16(&frame_buf, 40000);
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_TRUNCATED_UDP);
}

static void test_unsupported_linktype(void)
{
	frame_reset(&frame_buf);
	frame_ip_tcp(&frame_buf, 4);
	/* 105 is IEEE 802.11, which the decoder does not read. */
	CHECK(!decoder_linktype_supported(105));
	CHECK(!decoder_linktype_supported(-1));
	expect_result(105, DECODE_MALFORMED, DECODE_REASON_UNSUPPORTED_LINKTYPE);
	expect_result(-1, DECODE_MALFORMED, DECODE_REASON_UNSUPPORTED_LINKTYPE);
}

static void test_ip_version_mismatch(void)
{
	/* The Ethernet type is IPv4 but the header's version is 6. */
	frame_reset(&frame_buf);
	frame_ethernet(&frame_buf, 0x0800);
	frame_ip_tcp(&frame_buf, 6);
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_BAD_IP_VERSION);

	/* The Ethernet type is IPv6 but the header's version is 4. */
	frame_reset(&frame_buf);
	frame_ethernet(&frame_buf, 0x86dd);
	frame_ip_tcp(&frame_buf, 4);
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_BAD_IP_VERSION);

	/* LINKTYPE_IPV4 carrying IPv6, and raw IP with version 5. */
	frame_reset(&frame_buf);
	frame_ip_tcp(&frame_buf, 6);
	expect_result(228, DECODE_MALFORMED, DECODE_REASON_BAD_IP_VERSION);
	frame_buf.bytes[0] = 0x55;
	expect_result(101, DECODE_MALFORMED, DECODE_REASON_BAD_IP_VERSION);

	/* An empty raw frame has no version to read. */
	frame_reset(&frame_buf);
	expect_result(101, DECODE_MALFORMED, DECODE_REASON_TRUNCATED_IP);
}

/* Builds Ethernet + IPv4 with the given header fields around the test segment. */
static void build_ipv4_fields(unsigned ihl_words, unsigned total_len, unsigned tcp_offset_words)
{
	struct tcp_spec t = test_segment();
	size_t tcp_at;

	frame_reset(&frame_buf);
	frame_ethernet(&frame_buf, 0x0800);
	frame_ipv4(&frame_buf, 8, total_len, 0x1234, 0x4000, 6);
	frame_buf.bytes[14] = (uint8_t)(0x40u | ihl_words);
	tcp_at = frame_buf.len;
	frame_tcp(&frame_buf, &t);
	frame_buf.bytes[tcp_at + 12] = (uint8_t)(tcp_offset_words << 4);
}

static void test_ipv4_lengths(void)
{
	struct decoder *d;
	struct packet_view v;
	uint8_t *copy;
	unsigned full = 28 + 32 + (unsigned)sizeof(test_payload) - 1;

	build_ipv4_fields(7, full, 8);
	expect_result(1, DECODE_TCP, DECODE_REASON_COUNT);

	/* IHL below 5, and an IHL of 15 (60 bytes) that passes the total length of 40. */
	build_ipv4_fields(4, full, 8);
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_BAD_IPV4_HEADER_LENGTH);
	build_ipv4_fields(15, 40, 8);
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_BAD_IPV4_HEADER_LENGTH);
	/* Total length shorter than the header. */
	build_ipv4_fields(7, 20, 8);
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_BAD_IPV4_HEADER_LENGTH);

	/* Total length larger than the frame: the frame wins and the mismatch is counted. */
	build_ipv4_fields(7, full + 100, 8);
	d = decoder_new();
	CHECK_EQ_INT(decode_whole(d, 1, &frame_buf, &v, &copy), DECODE_TCP);
	check_view(&v, 4, full, sizeof(test_payload) - 1, false);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_IPV4_TOTAL_LENGTH_MISMATCH), 1);
	free(copy);

	/* Zero, as segmentation offload leaves it: same. */
	build_ipv4_fields(7, 0, 8);
	CHECK_EQ_INT(decode_whole(d, 1, &frame_buf, &v, &copy), DECODE_TCP);
	check_view(&v, 4, full, sizeof(test_payload) - 1, false);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_IPV4_TOTAL_LENGTH_MISMATCH), 2);
	free(copy);

	/* Ethernet padding after the datagram is not payload and not a mismatch. */
	build_ipv4_fields(7, full - 5, 8);
	CHECK_EQ_INT(decode_whole(d, 1, &frame_buf, &v, &copy), DECODE_TCP);
	check_view(&v, 4, full - 5, sizeof(test_payload) - 6, false);
	CHECK_EQ_INT(total_counts(d), 2);
	free(copy);

	/* A wire length near 4 GiB: a zero total length falls back to the largest datagram, cut by the snapshot. */
	build_ipv4_fields(7, 0, 8);
	CHECK_EQ_INT(decode_copy(d, 1, frame_buf.bytes, frame_buf.len, UINT32_MAX, &v, &copy), DECODE_TCP);
	check_view(&v, 4, 65535, sizeof(test_payload) - 1, true);
	CHECK(v.ip_header == NULL);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_IPV4_TOTAL_LENGTH_MISMATCH), 3);
	free(copy);

	/* Snapshot cut inside the payload of a frame whose total length is larger still. */
	build_ipv4_fields(7, full, 8);
	CHECK_EQ_INT(decode_copy(d, 1, frame_buf.bytes, frame_buf.len - 10, frame_buf.len, &v, &copy),
		     DECODE_TCP);
	check_view(&v, 4, full, sizeof(test_payload) - 11, true);
	free(copy);
	decoder_free(d);
}

static void test_tcp_offsets(void)
{
	unsigned full = 28 + 32 + (unsigned)sizeof(test_payload) - 1;

	/* Data offset below 5 words, and one past the end of the segment. */
	build_ipv4_fields(7, full, 4);
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_BAD_TCP_DATA_OFFSET);
	build_ipv4_fields(7, 28 + 40, 15);
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_BAD_TCP_DATA_OFFSET);
	/* A segment of 10 bytes cannot hold a TCP header. */
	build_ipv4_fields(7, 28 + 10, 8);
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_TCP_SEGMENT_TOO_SHORT);
}

/*
 * Cuts frame_buf (Ethernet carrying the test segment) at every offset by
 * the snapshot length: malformed while the cut is inside the first headers
 * bytes, a truncated view after that.
 */
static void expect_cuts(size_t headers)
{
	struct decoder *d = decoder_new();
	size_t cut;

	for (cut = 0; cut < frame_buf.len; cut++) {
		struct packet_view v;
		uint8_t *copy;
		int rc = decode_copy(d, 1, frame_buf.bytes, cut, frame_buf.len, &v, &copy);

		if (cut >= headers) {
			CHECK_EQ_INT(rc, DECODE_TCP);
			CHECK_EQ_INT(v.payload_truncated, true);
			CHECK_EQ_INT(v.payload_len, cut - headers);
		} else {
			CHECK_EQ_INT(rc, DECODE_MALFORMED);
		}
		free(copy);
	}
	CHECK_EQ_INT(total_counts(d), headers);
	decoder_free(d);
}

/* Builds Ethernet + IPv6 + the given extension header bytes + the test segment. */
static void build_ipv6_ext(const uint8_t *ext, size_t ext_len, unsigned first_next, int payload_delta)
{
	struct tcp_spec t = test_segment();

	frame_reset(&frame_buf);
	frame_ethernet(&frame_buf, 0x86dd);
	frame_ipv6(&frame_buf, (unsigned)((int)(ext_len + tcp_spec_len(&t)) + payload_delta), first_next);
	frame_bytes(&frame_buf, ext, ext_len);
	frame_tcp(&frame_buf, &t);
}

/* Decodes frame_buf and checks the view carries the test segment. */
static void expect_ipv6_tcp(void)
{
	struct decoder *d = decoder_new();
	struct packet_view v;
	uint8_t *copy;

	CHECK_EQ_INT(decode_whole(d, 1, &frame_buf, &v, &copy), DECODE_TCP);
	check_view(&v, 6, (uint32_t)(frame_buf.len - 14), sizeof(test_payload) - 1, false);
	CHECK_EQ_INT(total_counts(d), 0);
	free(copy);
	decoder_free(d);
}

static void test_ipv6_extensions(void)
{
	/* Hop-by-hop: next 6, length 0, PadN of 4. */
	static const uint8_t hop[] = {6, 0, 1, 4, 0, 0, 0, 0};
	/* Routing type 2 (RFC 6275): next 6, length 2 (24 bytes), segments left 1, reserved, one address. */
	static const uint8_t routing[24] = {6, 2, 2, 1, 0, 0, 0, 0, 0x20, 0x01, 0x0d, 0xb8};
	/* Destination options: next 6, length 1 (16 bytes), PadN of 12. */
	static const uint8_t dest[16] = {6, 1, 1, 12};
	/* AH: next 6, payload length 4 ((4 + 2) * 4 = 24 bytes), SPI 0x100, sequence 7, 12-byte ICV. */
	static const uint8_t ah[24] = {6, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 7, 0xaa, 0xbb};
	/* Atomic fragment (RFC 6946): next 6, offset 0, M clear, id 0xdeadbeef. */
	static const uint8_t atomic[8] = {6, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef};
	/* All five chained: hop-by-hop, routing, fragment, AH, destination options. */
	static const uint8_t chain[] = {
		43, 0, 1, 4, 0, 0, 0, 0,
		44, 2, 2, 1, 0, 0, 0, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		51, 0, 0, 0, 0, 0, 0, 1,
		60, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		6, 0, 1, 4, 0, 0, 0, 0,
	};
	uint8_t many[8 * (LIMIT_IPV6_EXT_HEADERS + 1)];
	struct tcp_spec t = test_segment();
	unsigned i;

	build_ipv6_ext(hop, sizeof(hop), 0, 0);
	expect_ipv6_tcp();
	build_ipv6_ext(routing, sizeof(routing), 43, 0);
	expect_ipv6_tcp();
	build_ipv6_ext(dest, sizeof(dest), 60, 0);
	expect_ipv6_tcp();
	build_ipv6_ext(ah, sizeof(ah), 51, 0);
	expect_ipv6_tcp();
	build_ipv6_ext(atomic, sizeof(atomic), 44, 0);
	expect_ipv6_tcp();
	build_ipv6_ext(chain, sizeof(chain), 0, 0);
	expect_ipv6_tcp();

	/* The limit of destination options headers passes; one more is too many. */
	for (i = 0; i < LIMIT_IPV6_EXT_HEADERS + 1; i++) {
		memset(many + 8 * i, 0, 8);
		many[8 * i] = 60;
		many[8 * i + 2] = 1;
		many[8 * i + 3] = 4;
	}
	many[8 * (LIMIT_IPV6_EXT_HEADERS - 1)] = 6;
	build_ipv6_ext(many, 8 * LIMIT_IPV6_EXT_HEADERS, 60, 0);
	expect_ipv6_tcp();
	many[8 * (LIMIT_IPV6_EXT_HEADERS - 1)] = 60;
	many[8 * LIMIT_IPV6_EXT_HEADERS] = 6;
	build_ipv6_ext(many, sizeof(many), 60, 0);
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_IPV6_EXT_TOO_MANY);

	/* Every cut of the chain by the snapshot length: malformed until the TCP header is whole. */
	build_ipv6_ext(chain, sizeof(chain), 0, 0);
	expect_cuts(14 + 40 + sizeof(chain) + 32);

	/* Payload lengths too short for a hop-by-hop header and for a fragment header. */
	build_ipv6_ext(hop, sizeof(hop), 0, 4 - (int)(sizeof(hop) + tcp_spec_len(&t)));
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_BAD_IPV6_EXT_LENGTH);
	build_ipv6_ext(atomic, sizeof(atomic), 44, 4 - (int)(sizeof(atomic) + tcp_spec_len(&t)));
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_BAD_IPV6_EXT_LENGTH);

	/* A routing header whose length (255: 2048 bytes) passes the payload length. */
	build_ipv6_ext(routing, sizeof(routing), 43, 0);
	frame_buf.bytes[54 + 1] = 255;
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_BAD_IPV6_EXT_LENGTH);
	/* An AH header whose length passes the payload length. */
	build_ipv6_ext(ah, sizeof(ah), 51, 0);
	frame_buf.bytes[54 + 1] = 200;
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_BAD_IPV6_EXT_LENGTH);
}

static void test_ipv6_lengths(void)
{
	struct decoder *d = decoder_new();
	struct packet_view v;
	uint8_t *copy;
	struct tcp_spec t = test_segment();
	uint32_t full = 40 + (uint32_t)tcp_spec_len(&t);

	/* Payload length larger than the frame, and zero: the frame wins, counted each time. */
	build_ipv6_ext(NULL, 0, 6, 50);
	CHECK_EQ_INT(decode_whole(d, 1, &frame_buf, &v, &copy), DECODE_TCP);
	check_view(&v, 6, full, sizeof(test_payload) - 1, false);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_IPV6_PAYLOAD_LENGTH_MISMATCH), 1);
	free(copy);
	build_ipv6_ext(NULL, 0, 6, -(int)tcp_spec_len(&t));
	CHECK_EQ_INT(decode_whole(d, 1, &frame_buf, &v, &copy), DECODE_TCP);
	check_view(&v, 6, full, sizeof(test_payload) - 1, false);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_IPV6_PAYLOAD_LENGTH_MISMATCH), 2);
	free(copy);

	/* Payload length shorter than the frame: the rest is padding. */
	build_ipv6_ext(NULL, 0, 6, -3);
	CHECK_EQ_INT(decode_whole(d, 1, &frame_buf, &v, &copy), DECODE_TCP);
	check_view(&v, 6, full - 3, sizeof(test_payload) - 4, false);
	CHECK_EQ_INT(total_counts(d), 2);
	free(copy);
	decoder_free(d);
}

static void test_reason_names(void)
{
	int i;
	int j;

	for (i = 0; i < DECODE_REASON_COUNT; i++) {
		const char *name = decode_reason_name((enum decode_reason)i);

		CHECK(strcmp(name, "unknown") != 0);
		CHECK(strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(name));
		for (j = 0; j < i; j++)
			CHECK(strcmp(name, decode_reason_name((enum decode_reason)j)) != 0);
	}
	CHECK_EQ_STR(decode_reason_name(DECODE_REASON_COUNT), "unknown");
	CHECK_EQ_STR(decode_reason_name(DECODE_REASON_VLAN_TOO_DEEP), "vlan_too_deep");
	CHECK_EQ_STR(decode_reason_name(DECODE_REASON_FRAG_OVERLAP), "frag_overlap");
}

/* A small linear congruential generator, so garbage runs repeat exactly. */
static uint32_t test_random(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 8;
}

/*
 * Decodes random bytes and mutated copies of valid frames for every link
 * type. Whatever the result, a TCP view must point inside the frame.
 */
static void test_garbage(void)
{
	struct decoder *d = decoder_new();
	uint32_t state = 12345;
	size_t i;
	int round;
	uint64_t results[4] = {0};

	for (round = 0; round < 400; round++) {
		for (i = 0; i < sizeof(link_cases) / sizeof(link_cases[0]); i++) {
			const struct link_case *lc = &link_cases[i];
			struct packet_view v;
			uint8_t *copy;
			size_t flips;
			size_t caplen;
			int rc;

			frame_reset(&frame_buf);
			lc->build(&frame_buf, lc->ipv4 && (round & 1) ? 4 : 6);
			frame_ip_tcp(&frame_buf, lc->ipv4 && (round & 1) ? 4 : 6);
			for (flips = 1 + test_random(&state) % 4; flips > 0; flips--)
				frame_buf.bytes[test_random(&state) % frame_buf.len] = (uint8_t)test_random(&state);
			if (round % 4 == 3) {
				for (flips = 0; flips < frame_buf.len; flips++)
					frame_buf.bytes[flips] = (uint8_t)test_random(&state);
			}

			caplen = test_random(&state) % (frame_buf.len + 1);
			rc = decode_copy(d, lc->linktype, frame_buf.bytes, caplen, frame_buf.len, &v, &copy);
			CHECK(rc == DECODE_TCP || rc == DECODE_OTHER || rc == DECODE_HELD || rc == DECODE_MALFORMED);
			results[rc + 1]++;
			if (rc == DECODE_TCP && !v.reassembled) {
				CHECK(v.payload >= copy);
				CHECK(v.payload + v.payload_len <= copy + caplen);
			}
			free(copy);
		}
	}
	printf("garbage: %llu malformed, %llu tcp, %llu other, %llu held\n",
	       (unsigned long long)results[0], (unsigned long long)results[1],
	       (unsigned long long)results[2], (unsigned long long)results[3]);
	decoder_free(d);
}

static void test_pppoe_cases(void)
{
	struct decoder *d = decoder_new();
	struct packet_view v;
	uint8_t *copy;
	size_t full;

	/* Ethernet padding after the PPP frame is cut off by the PPPoE length. */
	frame_reset(&frame_buf);
	build_pppoe(&frame_buf, 4);
	frame_ip_tcp(&frame_buf, 4);
	full = frame_buf.len;
	frame_fill(&frame_buf, 0, 12);
	CHECK_EQ_INT(decode_whole(d, 1, &frame_buf, &v, &copy), DECODE_TCP);
	check_view(&v, 4, (uint32_t)(full - 22), sizeof(test_payload) - 1, false);
	CHECK_EQ_INT(total_counts(d), 0);
	free(copy);

	/*
	 * An IPv4 total length 8 bytes past the PPPoE length, on a frame that the
	 * snapshot cut inside the padding: the bytes cut off were padding, so the
	 * PPPoE length bounds the datagram and the payload is whole.
	 */
	frame_buf.bytes[22 + 3] = (uint8_t)(frame_buf.bytes[22 + 3] + 8);
	CHECK_EQ_INT(decode_copy(d, 1, frame_buf.bytes, frame_buf.len - 4, frame_buf.len, &v, &copy), DECODE_TCP);
	check_view(&v, 4, (uint32_t)(full - 22), sizeof(test_payload) - 1, false);
	CHECK_EQ_INT(count_of(d, DECODE_REASON_IPV4_TOTAL_LENGTH_MISMATCH), 1);
	free(copy);
	decoder_free(d);

	/* Version 2, and the discovery code PADI (0x09) on the session type. */
	frame_reset(&frame_buf);
	build_pppoe(&frame_buf, 4);
	frame_ip_tcp(&frame_buf, 4);
	frame_buf.bytes[14] = 0x21;
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_BAD_PPPOE_HEADER);
	frame_buf.bytes[14] = 0x11;
	frame_buf.bytes[15] = 0x09;
	expect_result(1, DECODE_MALFORMED, DECODE_REASON_BAD_PPPOE_HEADER);
}

static void test_sll_netlink(void)
{
	/* ARPHRD_NETLINK (824): the protocol field is a netlink family, here 0x0800 by chance. */
	frame_reset(&frame_buf);
	build_sll(&frame_buf, 4);
	frame_buf.bytes[2] = 0x03;
	frame_buf.bytes[3] = 0x38;
	frame_ip_tcp(&frame_buf, 4);
	expect_result(113, DECODE_OTHER, DECODE_REASON_COUNT);
	frame_reset(&frame_buf);
	build_sll2(&frame_buf, 4);
	frame_buf.bytes[8] = 0x03;
	frame_buf.bytes[9] = 0x38;
	frame_ip_tcp(&frame_buf, 4);
	expect_result(276, DECODE_OTHER, DECODE_REASON_COUNT);
}

/* Decodes through decode_link() alone, the path every frame took before the fast path existed. */
static int decode_general(struct decoder *d, const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
			  struct packet_view *out)
{
	struct decode_ctx x;
	struct cursor c;

	memset(out, 0, sizeof(*out));
	out->ts_usec = 7;
	x.decoder = d;
	x.out = out;
	x.missing = wirelen > caplen ? wirelen - caplen : 0;
	x.ts_usec = 7;
	cursor_init(&c, frame, caplen);
	return decode_link(&x, DECODE_LINKTYPE_ETHERNET, &c);
}

/* Compares the fast path with the general one on one frame: same result, same view, same counters. */
static void check_fast_matches_general(const uint8_t *frame, uint32_t caplen, uint32_t wirelen)
{
	struct decoder *fast = decoder_new();
	struct decoder *general = decoder_new();
	struct packet_view a;
	struct packet_view b;
	int rc_fast;
	int rc_general;

	if (fast == NULL || general == NULL)
		abort();
	rc_fast = decoder_decode(fast, DECODE_LINKTYPE_ETHERNET, frame, caplen, wirelen, 7, &a);
	rc_general = decode_general(general, frame, caplen, wirelen, &b);
	CHECK_EQ_INT(rc_fast, rc_general);
	if (rc_fast == DECODE_TCP && rc_general == DECODE_TCP)
		CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	CHECK(memcmp(decoder_reason_counts(fast), decoder_reason_counts(general),
		     sizeof(uint64_t) * DECODE_REASON_COUNT) == 0);
	decoder_free(fast);
	decoder_free(general);
}

/*
 * The Ethernet/IPv4/TCP fast path must agree with the general decoder on
 * every frame: each header byte set to values that hit its checks, every
 * truncation, and frames cut by the snapshot length.
 */
static void test_fast_path_matches_general(void)
{
	static const uint8_t base[] = {
		/* Ethernet: destination, source, type IPv4 */
		0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00,
		/* IPv4: 20-byte header, total length 62, DF, TCP */
		0x45, 0x00, 0x00, 0x3e, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00,
		198, 18, 77, 1, 198, 18, 77, 2,
		/* TCP: ports 40000 -> 25, seq, ack, data offset 8 (12 bytes of options), ACK|PSH */
		0x9c, 0x40, 0x00, 0x19, 0, 0, 0x10, 0, 0, 0, 0x20, 0, 0x80, 0x18, 0x01, 0x00, 0, 0, 0, 0,
		1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2,
		/* payload "EHLO x\r\n" + 2 bytes, then Ethernet padding */
		'E', 'H', 'L', 'O', ' ', 'x', '\r', '\n', 'a', 'b', 0, 0, 0, 0,
	};
	static const uint8_t values[] = {0x00, 0x01, 0x06, 0x11, 0x20, 0x3e, 0x40, 0x45, 0x46, 0x50, 0x80, 0xf0, 0xff};
	uint8_t frame[sizeof(base)];
	uint32_t len = (uint32_t)sizeof(base);

	check_fast_matches_general(base, len, len);
	for (uint32_t i = 0; i < 14 + 20 + 32; i++) {
		for (size_t v = 0; v < sizeof(values); v++) {
			memcpy(frame, base, sizeof(base));
			frame[i] = values[v];
			check_fast_matches_general(frame, len, len);
		}
	}
	for (uint32_t caplen = 0; caplen <= len; caplen++) {
		check_fast_matches_general(base, caplen, caplen);
		check_fast_matches_general(base, caplen, len);
	}
}

int main(void)
{
	test_link_cases();
	test_vlan_depth();
	test_mpls_cases();
	test_not_tcp();
	test_udp();
	test_unsupported_linktype();
	test_ip_version_mismatch();
	test_pppoe_cases();
	test_sll_netlink();
	test_ipv4_lengths();
	test_tcp_offsets();
	test_ipv6_extensions();
	test_ipv6_lengths();
	test_reason_names();
	test_garbage();
	test_fast_path_matches_general();
	return test_finish("test_decode");
}
