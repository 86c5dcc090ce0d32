/*
 * Network and transport headers: IPv4 (RFC 791 section 3.1), IPv6 (RFC 8200
 * sections 3 and 4) with hop-by-hop, routing, fragment and destination
 * options headers and AH (RFC 4302 section 2.2), the TCP header (RFC 9293
 * section 3.1) and the UDP header (RFC 768). Fragments go to defrag.c.
 *
 * Lengths: the IP header's length is compared with the bytes on the wire
 * (captured plus those the snapshot length cut off). When the header claims
 * more than the wire held, the decoder trusts the wire and counts the
 * mismatch. Bytes the snapshot cut off make the payload truncated.
 *
 * Checksums are not verified: packets captured on the sending host carry
 * checksums that the network card fills in only later (checksum offload).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/cursor.h"
#include "core/limits.h"
#include "decode/decode.h"
#include "decode/decode_internal.h"
#include "decode/defrag.h"

#define IP_MAX_DATAGRAM 65535u
#define IPV4_MIN_HEADER_LEN 20u
#define IPV4_FLAG_MORE_FRAGMENTS 0x2000u
#define IPV4_OFFSET_MASK 0x1fffu
#define IPV6_HEADER_LEN 40u
#define IPV6_NEXT_HEADER_OFFSET 6u
#define IPV6_FRAGMENT_HEADER_LEN 8u
#define IPV6_FRAG_OFFSET_MASK 0xfff8u
#define IPV6_FRAG_MORE 0x0001u
#define TCP_MIN_HEADER_LEN 20u
#define UDP_HEADER_LEN 8u

#define IPPROTO_NUM_HOPOPTS 0u
#define IPPROTO_NUM_TCP 6u
#define IPPROTO_NUM_UDP 17u
#define IPPROTO_NUM_ROUTING 43u
#define IPPROTO_NUM_FRAGMENT 44u
#define IPPROTO_NUM_AH 51u
#define IPPROTO_NUM_DSTOPTS 60u

/* The rest of an IPv6 packet while its extension headers are walked. */
struct ipv6_walk {
	const uint8_t *ip_header; /* start of the IPv6 header */
	struct cursor c;      /* captured bytes from the current header on */
	uint32_t wire_len;    /* bytes from the current header on, per the IP length field */
	uint8_t next;         /* type of the current header */
	uint32_t next_field_offset; /* offset from ip_header of the field that contains next */
	uint8_t ext_count;    /* extension headers passed */
	uint32_t header_len;  /* IPv6 header and extension headers passed, in bytes */
	bool reassembled;     /* c is a reassembled datagram */
};

static uint32_t ip_min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* Returns the bytes on the wire from the cursor on: captured plus cut off, saturated at UINT32_MAX. */
static uint32_t ip_wire_bytes(const struct decode_ctx *x, uint32_t captured)
{
	uint64_t wire = (uint64_t)captured + x->missing;

	return wire > UINT32_MAX ? UINT32_MAX : (uint32_t)wire;
}

/*
 * Decodes a TCP header. captured bytes are present at data; seg_len is the
 * segment's length as the IP layer gives it. Fills the TCP part of the view.
 */
static int ip_decode_tcp(struct decode_ctx *x, const uint8_t *data, uint32_t captured,
			 uint32_t seg_len)
{
	struct packet_view *out = x->out;
	struct cursor c;
	uint8_t offset_byte;
	uint32_t header_len;

	if (seg_len < TCP_MIN_HEADER_LEN)
		return decode_fail(x, DECODE_REASON_TCP_SEGMENT_TOO_SHORT);

	cursor_init(&c, data, captured);
	if (cursor_be16(&c, &out->src_port) < 0 || cursor_be16(&c, &out->dst_port) < 0 ||
	    cursor_be32(&c, &out->seq) < 0 || cursor_be32(&c, &out->ack) < 0 ||
	    cursor_u8(&c, &offset_byte) < 0 || cursor_u8(&c, &out->tcp_flags) < 0 ||
	    cursor_be16(&c, &out->window) < 0 || cursor_skip(&c, 4) < 0)
		return decode_fail(x, DECODE_REASON_TRUNCATED_TCP);

	header_len = (uint32_t)(offset_byte >> 4) * 4u;
	if (header_len < TCP_MIN_HEADER_LEN || header_len > seg_len)
		return decode_fail(x, DECODE_REASON_BAD_TCP_DATA_OFFSET);

	/* Options are not needed downstream; only their length is checked. */
	if (cursor_skip(&c, header_len - TCP_MIN_HEADER_LEN) < 0)
		return decode_fail(x, DECODE_REASON_TRUNCATED_TCP);

	out->payload = cursor_ptr(&c);
	out->payload_len = (uint32_t)cursor_remaining(&c);
	out->payload_truncated = captured < seg_len;
	return DECODE_TCP;
}

/*
 * Decodes a UDP header (RFC 768) for the DNS answers that MTA-STS learning
 * reads. The length field must fit the datagram; bytes past it are padding.
 */
static int ip_decode_udp(struct decode_ctx *x, const uint8_t *data, uint32_t captured, uint32_t seg_len)
{
	struct packet_view *out = x->out;
	struct cursor c;
	uint16_t udp_len = 0;

	cursor_init(&c, data, captured);
	if (cursor_be16(&c, &out->src_port) < 0 || cursor_be16(&c, &out->dst_port) < 0 ||
	    cursor_be16(&c, &udp_len) < 0 || cursor_skip(&c, 2) < 0)
		return decode_fail(x, DECODE_REASON_TRUNCATED_UDP);
	if (udp_len < UDP_HEADER_LEN || udp_len > seg_len)
		return decode_fail(x, DECODE_REASON_BAD_UDP_LENGTH);

	out->payload = cursor_ptr(&c);
	out->payload_len = ip_min_u32((uint32_t)cursor_remaining(&c), udp_len - UDP_HEADER_LEN);
	out->payload_truncated = captured < udp_len;
	return DECODE_UDP;
}

/* Decodes the transport header of a complete (not fragmented) datagram. */
static int ip_decode_transport(struct decode_ctx *x, uint8_t protocol, const uint8_t *data,
			       uint32_t captured, uint32_t seg_len)
{
	if (protocol == IPPROTO_NUM_TCP)
		return ip_decode_tcp(x, data, captured, seg_len);
	if (protocol == IPPROTO_NUM_UDP)
		return ip_decode_udp(x, data, captured, seg_len);
	return DECODE_OTHER;
}

/*
 * Hands one fragment to the reassembler. Returns 0 with *whole filled when
 * the datagram is complete, else DECODE_HELD or DECODE_MALFORMED.
 */
static int ip_add_fragment(struct decode_ctx *x, struct defrag_fragment *frag, uint32_t captured,
			   struct defrag_datagram *whole)
{
	int rc;

	/* A fragment cut by the snapshot length cannot fill its place in the datagram. */
	if (captured < frag->len)
		return decode_fail(x, DECODE_REASON_FRAG_TRUNCATED);

	frag->src = x->out->src_addr;
	frag->dst = x->out->dst_addr;
	frag->ts_usec = x->ts_usec;
	rc = defrag_insert(x->decoder->defrag, frag, whole);
	if (rc == DEFRAG_HELD)
		return DECODE_HELD;
	if (rc == DEFRAG_DROPPED)
		return DECODE_MALFORMED;
	x->out->reassembled = true;
	x->out->ip_len = whole->header_len + whole->len;
	x->out->ip_header = whole->packet;
	return 0;
}

/* Fixed IPv4 header fields that the decoder needs. */
struct ipv4_header {
	uint8_t header_len;
	uint16_t total_len;
	uint16_t id;
	uint16_t flags_offset;
	uint8_t protocol;
};

static int ipv4_read_header(struct decode_ctx *x, struct cursor *c, struct ipv4_header *h)
{
	uint8_t version_ihl = 0;

	/* Type of service, TTL and checksum are skipped. */
	if (cursor_u8(c, &version_ihl) < 0 || cursor_skip(c, 1) < 0 ||
	    cursor_be16(c, &h->total_len) < 0 || cursor_be16(c, &h->id) < 0 ||
	    cursor_be16(c, &h->flags_offset) < 0 || cursor_skip(c, 1) < 0 ||
	    cursor_u8(c, &h->protocol) < 0 || cursor_skip(c, 2) < 0 ||
	    cursor_copy(c, x->out->src_addr, 4) < 0 || cursor_copy(c, x->out->dst_addr, 4) < 0)
		return decode_fail(x, DECODE_REASON_TRUNCATED_IPV4);

	if (version_ihl >> 4 != 4)
		return decode_fail(x, DECODE_REASON_BAD_IP_VERSION);

	h->header_len = (uint8_t)((version_ihl & 0x0fu) * 4u);
	if (h->header_len < IPV4_MIN_HEADER_LEN)
		return decode_fail(x, DECODE_REASON_BAD_IPV4_HEADER_LENGTH);
	return 0;
}

/*
 * Returns the datagram length to trust: the total length field, or the
 * bytes on the wire when the field claims more. A zero field is what
 * segmentation offload leaves in locally captured packets, so it also
 * falls back to the wire length.
 */
static uint32_t ipv4_trusted_length(struct decode_ctx *x, uint32_t total_len, uint32_t wire)
{
	if (total_len != 0 && total_len <= wire)
		return total_len;
	decode_count(x, DECODE_REASON_IPV4_TOTAL_LENGTH_MISMATCH);
	return ip_min_u32(wire, IP_MAX_DATAGRAM);
}

static int ipv4_decode_fragment(struct decode_ctx *x, const struct ipv4_header *h,
				const uint8_t *ip_header, struct cursor *c, uint32_t captured,
				uint32_t data_len)
{
	struct defrag_fragment frag = {0};
	struct defrag_datagram whole;
	int rc;

	frag.ip_version = 4;
	frag.id = h->id;
	frag.protocol = h->protocol;
	frag.offset = (uint32_t)(h->flags_offset & IPV4_OFFSET_MASK) * 8u;
	frag.more = (h->flags_offset & IPV4_FLAG_MORE_FRAGMENTS) != 0;
	frag.data = cursor_ptr(c);
	frag.len = data_len;
	frag.header_len = h->header_len;
	frag.header = ip_header;
	frag.max_end = IP_MAX_DATAGRAM - h->header_len;

	rc = ip_add_fragment(x, &frag, captured, &whole);
	if (rc != 0)
		return rc;
	return ip_decode_transport(x, whole.protocol, whole.data, whole.len, whole.len);
}

int decode_ipv4(struct decode_ctx *x, struct cursor *c)
{
	struct ipv4_header h = {0};
	const uint8_t *ip_header = cursor_ptr(c);
	uint32_t avail = (uint32_t)cursor_remaining(c);
	uint32_t length;
	uint32_t captured;
	int rc;

	rc = ipv4_read_header(x, c, &h);
	if (rc < 0)
		return rc;

	x->out->ip_version = 4;
	length = ipv4_trusted_length(x, h.total_len, ip_wire_bytes(x, avail));
	if (h.header_len > length)
		return decode_fail(x, DECODE_REASON_BAD_IPV4_HEADER_LENGTH);

	/* Options are skipped because the header length alone gives the payload's start. */
	if (cursor_skip(c, h.header_len - IPV4_MIN_HEADER_LEN) < 0)
		return decode_fail(x, DECODE_REASON_TRUNCATED_IPV4);

	x->out->ip_len = length;
	if (avail >= length)
		x->out->ip_header = ip_header;
	captured = ip_min_u32(avail, length) - h.header_len;
	if ((h.flags_offset & (IPV4_FLAG_MORE_FRAGMENTS | IPV4_OFFSET_MASK)) != 0)
		return ipv4_decode_fragment(x, &h, ip_header, c, captured, length - h.header_len);
	return ip_decode_transport(x, h.protocol, cursor_ptr(c), captured, length - h.header_len);
}

/* Passes one extension header other than a fragment header. */
static int ipv6_skip_extension(struct decode_ctx *x, struct ipv6_walk *w)
{
	uint8_t next = 0;
	uint8_t len_field = 0;
	uint32_t len;

	/* Every extension header is at least 8 bytes long. */
	if (w->wire_len < 8)
		return decode_fail(x, DECODE_REASON_BAD_IPV6_EXT_LENGTH);
	if (cursor_u8(&w->c, &next) < 0 || cursor_u8(&w->c, &len_field) < 0)
		return decode_fail(x, DECODE_REASON_TRUNCATED_IPV6_EXT);

	if (w->next == IPPROTO_NUM_AH)
		len = ((uint32_t)len_field + 2u) * 4u;
	else
		len = ((uint32_t)len_field + 1u) * 8u;

	if (len > w->wire_len)
		return decode_fail(x, DECODE_REASON_BAD_IPV6_EXT_LENGTH);
	if (cursor_skip(&w->c, len - 2) < 0)
		return decode_fail(x, DECODE_REASON_TRUNCATED_IPV6_EXT);

	w->next_field_offset = w->header_len;
	w->wire_len -= len;
	w->header_len += len;
	w->next = next;
	return 0;
}

/*
 * Reads a fragment header. Returns 0 to go on walking (an atomic fragment,
 * RFC 6946), 1 when a fragment was handed to the reassembler and *rc is set to
 * the result, or 2 when the reassembled datagram replaced w->c.
 */
static int ipv6_handle_fragment(struct decode_ctx *x, struct ipv6_walk *w, int *rc)
{
	struct defrag_fragment frag = {0};
	struct defrag_datagram whole;
	uint8_t next = 0;
	uint16_t offset_flags = 0;
	uint32_t header_len = w->header_len;
	uint32_t next_field_offset = w->next_field_offset;

	if (w->wire_len < IPV6_FRAGMENT_HEADER_LEN) {
		*rc = decode_fail(x, DECODE_REASON_BAD_IPV6_EXT_LENGTH);
		return 1;
	}
	if (cursor_u8(&w->c, &next) < 0 || cursor_skip(&w->c, 1) < 0 ||
	    cursor_be16(&w->c, &offset_flags) < 0 || cursor_be32(&w->c, &frag.id) < 0) {
		*rc = decode_fail(x, DECODE_REASON_TRUNCATED_IPV6_EXT);
		return 1;
	}
	w->next_field_offset = w->header_len;
	w->wire_len -= IPV6_FRAGMENT_HEADER_LEN;
	w->header_len += IPV6_FRAGMENT_HEADER_LEN;
	w->next = next;

	if ((offset_flags & (IPV6_FRAG_OFFSET_MASK | IPV6_FRAG_MORE)) == 0)
		return 0;

	/* A fragment inside a reassembled datagram has nowhere to go. */
	if (w->reassembled) {
		*rc = decode_fail(x, DECODE_REASON_FRAG_NESTED);
		return 1;
	}

	frag.ip_version = 6;
	frag.protocol = next;
	frag.offset = offset_flags & IPV6_FRAG_OFFSET_MASK;
	frag.more = (offset_flags & IPV6_FRAG_MORE) != 0;
	frag.data = cursor_ptr(&w->c);
	frag.len = w->wire_len;
	frag.header_len = header_len;
	frag.header = w->ip_header;
	frag.next_field_offset = next_field_offset;
	/* The payload length field (65535 at most) covers all but the fixed header. */
	frag.max_end = IP_MAX_DATAGRAM - (header_len - IPV6_HEADER_LEN);
	frag.ext_count = w->ext_count;

	*rc = ip_add_fragment(x, &frag, (uint32_t)cursor_remaining(&w->c), &whole);
	if (*rc != 0)
		return 1;

	cursor_init(&w->c, whole.data, whole.len);
	w->ip_header = whole.packet;
	w->wire_len = whole.len;
	w->next = whole.protocol;
	w->ext_count = whole.ext_count;
	w->header_len = whole.header_len;
	w->reassembled = true;
	return 2;
}

static bool ipv6_is_extension(uint8_t next)
{
	return next == IPPROTO_NUM_HOPOPTS || next == IPPROTO_NUM_ROUTING ||
	       next == IPPROTO_NUM_FRAGMENT || next == IPPROTO_NUM_DSTOPTS || next == IPPROTO_NUM_AH;
}

/* Walks the extension headers to the transport header and decodes it. */
static int ipv6_walk_headers(struct decode_ctx *x, struct ipv6_walk *w)
{
	int rc;

	while (ipv6_is_extension(w->next)) {
		/* A long chain is either an attack on the walker or junk. */
		if (w->ext_count >= LIMIT_IPV6_EXT_HEADERS)
			return decode_fail(x, DECODE_REASON_IPV6_EXT_TOO_MANY);
		w->ext_count++;

		if (w->next != IPPROTO_NUM_FRAGMENT) {
			rc = ipv6_skip_extension(x, w);
			if (rc < 0)
				return rc;
			continue;
		}
		if (ipv6_handle_fragment(x, w, &rc) == 1)
			return rc;
	}
	return ip_decode_transport(x, w->next, cursor_ptr(&w->c),
				   ip_min_u32((uint32_t)cursor_remaining(&w->c), w->wire_len),
				   w->wire_len);
}

int decode_ipv6(struct decode_ctx *x, struct cursor *c)
{
	struct ipv6_walk w = {0};
	const uint8_t *ip_header = cursor_ptr(c);
	uint32_t avail = (uint32_t)cursor_remaining(c);
	uint32_t version_flow = 0;
	uint16_t payload_len = 0;
	uint32_t wire_payload;

	/* Traffic class, flow label and hop limit are skipped. */
	if (cursor_be32(c, &version_flow) < 0 || cursor_be16(c, &payload_len) < 0 ||
	    cursor_u8(c, &w.next) < 0 || cursor_skip(c, 1) < 0 ||
	    cursor_copy(c, x->out->src_addr, 16) < 0 || cursor_copy(c, x->out->dst_addr, 16) < 0)
		return decode_fail(x, DECODE_REASON_TRUNCATED_IPV6);

	if (version_flow >> 28 != 6)
		return decode_fail(x, DECODE_REASON_BAD_IP_VERSION);
	x->out->ip_version = 6;

	/* Zero is a jumbogram (RFC 2675) or segmentation offload; either way the wire length rules. */
	wire_payload = ip_wire_bytes(x, avail - IPV6_HEADER_LEN);
	if (payload_len == 0 || payload_len > wire_payload) {
		decode_count(x, DECODE_REASON_IPV6_PAYLOAD_LENGTH_MISMATCH);
		w.wire_len = ip_min_u32(wire_payload, IP_MAX_DATAGRAM);
	} else {
		w.wire_len = payload_len;
	}

	x->out->ip_len = IPV6_HEADER_LEN + w.wire_len;
	if (avail >= x->out->ip_len)
		x->out->ip_header = ip_header;
	cursor_sub(c, ip_min_u32((uint32_t)cursor_remaining(c), w.wire_len), &w.c);
	w.ip_header = ip_header;
	w.header_len = IPV6_HEADER_LEN;
	w.next_field_offset = IPV6_NEXT_HEADER_OFFSET;
	return ipv6_walk_headers(x, &w);
}

int decode_ip_any(struct decode_ctx *x, struct cursor *c, bool other_on_unknown)
{
	const uint8_t *p = cursor_ptr(c);

	if (cursor_remaining(c) == 0)
		return decode_fail(x, DECODE_REASON_TRUNCATED_IP);
	if (p[0] >> 4 == 4)
		return decode_ipv4(x, c);
	if (p[0] >> 4 == 6)
		return decode_ipv6(x, c);
	if (other_on_unknown)
		return DECODE_OTHER;
	return decode_fail(x, DECODE_REASON_BAD_IP_VERSION);
}

static uint16_t fast_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static uint32_t fast_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Decodes the most common frame in one step: Ethernet II, IPv4 without
 * options and not fragmented, TCP, all of it captured. Fills out exactly as
 * decode_link() would and returns DECODE_TCP, or returns
 * DECODE_FAST_DECLINED with out untouched for the general path, which also
 * counts every malformed case. Every length is checked against caplen.
 */
int decode_ethernet_ipv4_tcp_fast(struct packet_view *out, const uint8_t *frame, uint32_t caplen, uint32_t wirelen)
{
	const uint32_t ether_len = 14;
	const uint8_t *ip;
	const uint8_t *tcp;
	uint32_t total_len;
	uint32_t tcp_header_len;

	if (frame == NULL || wirelen != caplen || caplen < ether_len + IPV4_MIN_HEADER_LEN + TCP_MIN_HEADER_LEN)
		return DECODE_FAST_DECLINED;
	ip = frame + ether_len;
	if (fast_be16(frame + 12) != 0x0800u || ip[0] != 0x45 || ip[9] != IPPROTO_NUM_TCP)
		return DECODE_FAST_DECLINED;
	if ((fast_be16(ip + 6) & (IPV4_FLAG_MORE_FRAGMENTS | IPV4_OFFSET_MASK)) != 0)
		return DECODE_FAST_DECLINED;

	/* The general path trusts the total length only when it is non-zero and within the frame. */
	total_len = fast_be16(ip + 2);
	if (total_len < IPV4_MIN_HEADER_LEN + TCP_MIN_HEADER_LEN || total_len > caplen - ether_len)
		return DECODE_FAST_DECLINED;
	tcp = ip + IPV4_MIN_HEADER_LEN;
	tcp_header_len = (uint32_t)(tcp[12] >> 4) * 4u;
	if (tcp_header_len < TCP_MIN_HEADER_LEN || tcp_header_len > total_len - IPV4_MIN_HEADER_LEN)
		return DECODE_FAST_DECLINED;

	out->ip_version = 4;
	memcpy(out->src_addr, ip + 12, 4);
	memcpy(out->dst_addr, ip + 16, 4);
	out->ip_len = total_len;
	out->ip_header = ip;
	out->src_port = fast_be16(tcp);
	out->dst_port = fast_be16(tcp + 2);
	out->seq = fast_be32(tcp + 4);
	out->ack = fast_be32(tcp + 8);
	out->tcp_flags = tcp[13];
	out->window = fast_be16(tcp + 14);
	out->payload = tcp + tcp_header_len;
	out->payload_len = total_len - IPV4_MIN_HEADER_LEN - tcp_header_len;
	out->payload_truncated = false;
	return DECODE_TCP;
}
