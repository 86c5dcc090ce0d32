/*
 * Frame builders for the decoder tests: headers are written byte by byte
 * from the field layouts of the RFCs, never by calling the decoder.
 * Addresses come from the documentation ranges (RFC 5737, RFC 3849).
 */
#ifndef MAILTAP_TEST_DECODE_FRAMES_H
#define MAILTAP_TEST_DECODE_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FRAME_MAX 70000u

struct frame {
	uint8_t bytes[FRAME_MAX];
	size_t len;
};

static const uint8_t test_ipv4_client[4] = {192, 0, 2, 10};
static const uint8_t test_ipv4_server[4] = {198, 51, 100, 25};
static const uint8_t test_ipv6_client[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
static const uint8_t test_ipv6_server[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25};

static inline void frame_reset(struct frame *f)
{
	f->len = 0;
}

static inline void frame_u8(struct frame *f, unsigned v)
{
	f->bytes[f->len++] = (uint8_t)v;
}

static inline void frame_be16(struct frame *f, unsigned v)
{
	frame_u8(f, (v >> 8) & 0xffu);
	frame_u8(f, v & 0xffu);
}

static inline void frame_be32(struct frame *f, uint32_t v)
{
	frame_be16(f, v >> 16);
	frame_be16(f, v & 0xffffu);
}

static inline void frame_le32(struct frame *f, uint32_t v)
{
	frame_u8(f, v & 0xffu);
	frame_u8(f, (v >> 8) & 0xffu);
	frame_u8(f, (v >> 16) & 0xffu);
	frame_u8(f, v >> 24);
}

static inline void frame_bytes(struct frame *f, const void *p, size_t n)
{
	if (n == 0)
		return;
	memcpy(f->bytes + f->len, p, n);
	f->len += n;
}

static inline void frame_fill(struct frame *f, unsigned v, size_t n)
{
	memset(f->bytes + f->len, (int)v, n);
	f->len += n;
}

/* Ethernet II: destination, source, type. */
static inline void frame_ethernet(struct frame *f, unsigned type)
{
	static const uint8_t dst[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
	static const uint8_t src[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

	frame_bytes(f, dst, 6);
	frame_bytes(f, src, 6);
	frame_be16(f, type);
}

/* One 802.1Q tag after a VLAN Ethernet type: priority 3, the VLAN ID, and the next type. */
static inline void frame_vlan_tag(struct frame *f, unsigned vlan_id, unsigned next_type)
{
	frame_be16(f, (3u << 13) | vlan_id);
	frame_be16(f, next_type);
}

/* The TCP segment every link-layer case carries. */
struct tcp_spec {
	uint16_t src_port, dst_port;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
	unsigned options_len; /* a multiple of 4 */
	const uint8_t *payload;
	size_t payload_len;
};

static inline size_t tcp_spec_len(const struct tcp_spec *t)
{
	return 20u + t->options_len + t->payload_len;
}

/* TCP header (RFC 9293 section 3.1), then an MSS option and NOPs as options, then the payload. */
static inline void frame_tcp(struct frame *f, const struct tcp_spec *t)
{
	size_t i;

	frame_be16(f, t->src_port);
	frame_be16(f, t->dst_port);
	frame_be32(f, t->seq);
	frame_be32(f, t->ack);
	frame_u8(f, ((20u + t->options_len) / 4u) << 4);
	frame_u8(f, t->flags);
	frame_be16(f, t->window);
	frame_be16(f, 0xbeef); /* checksum, not verified */
	frame_be16(f, 0);      /* urgent pointer */
	for (i = 0; i < t->options_len; i++) {
		static const uint8_t mss[4] = {0x02, 0x04, 0x05, 0xb4};

		frame_u8(f, i < 4 ? mss[i] : 0x01);
	}
	frame_bytes(f, t->payload, t->payload_len);
}

/*
 * IPv4 header (RFC 791 section 3.1) with a correct checksum. Options are a
 * Router Alert (RFC 2113) followed by NOPs; options_len is a multiple of 4.
 */
static inline void frame_ipv4(struct frame *f, unsigned options_len, unsigned total_len, unsigned id,
			      unsigned flags_offset, unsigned protocol)
{
	size_t start = f->len;
	uint32_t sum = 0;
	size_t i;

	frame_u8(f, 0x40u | ((20u + options_len) / 4u));
	frame_u8(f, 0);
	frame_be16(f, total_len);
	frame_be16(f, id);
	frame_be16(f, flags_offset);
	frame_u8(f, 64);
	frame_u8(f, protocol);
	frame_be16(f, 0);
	frame_bytes(f, test_ipv4_client, 4);
	frame_bytes(f, test_ipv4_server, 4);
	for (i = 0; i < options_len; i++) {
		static const uint8_t router_alert[4] = {0x94, 0x04, 0x00, 0x00};

		frame_u8(f, i < 4 ? router_alert[i] : 0x01);
	}
	for (i = start; i < f->len; i += 2)
		sum += (uint32_t)(f->bytes[i] << 8 | f->bytes[i + 1]);
	while (sum > 0xffffu)
		sum = (sum & 0xffffu) + (sum >> 16);
	f->bytes[start + 10] = (uint8_t)(~sum >> 8);
	f->bytes[start + 11] = (uint8_t)~sum;
}

/* IPv6 header (RFC 8200 section 3), traffic class 0, flow label 0x12345. */
static inline void frame_ipv6(struct frame *f, unsigned payload_len, unsigned next)
{
	frame_be32(f, 0x60012345u);
	frame_be16(f, payload_len);
	frame_u8(f, next);
	frame_u8(f, 64);
	frame_bytes(f, test_ipv6_client, 16);
	frame_bytes(f, test_ipv6_server, 16);
}

/* A hop-by-hop or destination options header of 8 bytes: next header, length 0, one PadN option. */
static inline void frame_ipv6_options(struct frame *f, unsigned next)
{
	frame_u8(f, next);
	frame_u8(f, 0);
	frame_u8(f, 0x01);
	frame_u8(f, 4);
	frame_fill(f, 0, 4);
}

#endif
