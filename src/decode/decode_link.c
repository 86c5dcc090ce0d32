/*
 * Link layers, from the pcap link type down to the IP header.
 * Ethernet II uses the IEEE 802.3 type field. VLAN tags are 802.1Q and
 * 802.1ad, plus the older 0x9100 QinQ type. Then MPLS label stacks (RFC
 * 3032), PPPoE sessions (RFC 2516), PPP (RFC 1661, with the HDLC-like
 * framing of RFC 1662), Cisco HDLC, Linux cooked captures v1 and v2, BSD
 * loopback and raw IP. Header layouts follow
 * https://www.tcpdump.org/linktypes.html.
 */
#include <stdbool.h>
#include <stdint.h>

#include "core/cursor.h"
#include "core/limits.h"
#include "decode/decode.h"
#include "decode/decode_internal.h"

#define ETHERTYPE_IPV4 0x0800u
#define ETHERTYPE_IPV6 0x86ddu
#define ETHERTYPE_VLAN 0x8100u
#define ETHERTYPE_QINQ 0x88a8u
#define ETHERTYPE_QINQ_OLD 0x9100u
#define ETHERTYPE_MPLS_UNICAST 0x8847u
#define ETHERTYPE_MPLS_MULTICAST 0x8848u
#define ETHERTYPE_PPPOE_SESSION 0x8864u

#define ETHERNET_ADDRESSES_LEN 12u
#define SLL_HEADER_LEN 16u
#define SLL2_HEADER_LEN 20u
#define SLL_HATYPE_NETLINK 824u

#define MPLS_BOTTOM_OF_STACK 0x100u

#define PPP_ADDRESS_ALL_STATIONS 0xffu
#define PPP_CONTROL_UI 0x03u
#define PPP_PROTOCOL_IPV4 0x0021u
#define PPP_PROTOCOL_IPV6 0x0057u
#define PPPOE_VERSION_TYPE 0x11u
#define PPPOE_CODE_SESSION 0x00u

#define CISCO_HDLC_UNICAST 0x0fu
#define CISCO_HDLC_MULTICAST 0x8fu

/* BSD address families as loopback captures store them. */
#define LOOPBACK_AF_INET 2u
#define LOOPBACK_AF_INET6_BSD 24u
#define LOOPBACK_AF_INET6_FREEBSD 28u
#define LOOPBACK_AF_INET6_DARWIN 30u

static int link_pop_vlan(struct decode_ctx *x, struct cursor *c, uint16_t *type)
{
	uint16_t tci;
	struct packet_view *out = x->out;

	/* Stacks deeper than any real network would only burn time and hide the payload. */
	if (out->vlan_count >= LIMIT_VLAN_DEPTH)
		return decode_fail(x, DECODE_REASON_VLAN_TOO_DEEP);

	if (cursor_be16(c, &tci) < 0 || cursor_be16(c, type) < 0)
		return decode_fail(x, DECODE_REASON_TRUNCATED_VLAN);

	out->vlan_ids[out->vlan_count++] = tci & 0x0fffu;
	return 0;
}

/*
 * Pops the MPLS label stack and guesses the payload from its first nibble,
 * since MPLS carries no payload type. Returns an enum decode_result.
 */
static int link_decode_mpls(struct decode_ctx *x, struct cursor *c)
{
	uint32_t entry = 0;
	unsigned depth = 0;

	while ((entry & MPLS_BOTTOM_OF_STACK) == 0) {
		/* A stack this deep is not a real label path. */
		if (depth == LIMIT_MPLS_DEPTH)
			return decode_fail(x, DECODE_REASON_MPLS_TOO_DEEP);

		if (cursor_be32(c, &entry) < 0)
			return decode_fail(x, DECODE_REASON_TRUNCATED_MPLS);
		depth++;
	}
	if (cursor_remaining(c) == 0)
		return decode_fail(x, DECODE_REASON_TRUNCATED_MPLS);

	/* TODO: Ethernet pseudowires (RFC 4448, with or without control word) are returned as DECODE_OTHER. */
	return decode_ip_any(x, c, true);
}

/* Reads a PPP protocol field, one byte when compressed (RFC 1661 section 6.5), and decodes IP. */
static int link_decode_ppp_protocol(struct decode_ctx *x, struct cursor *c)
{
	uint8_t first;
	uint8_t second;
	uint16_t protocol;

	if (cursor_u8(c, &first) < 0)
		return decode_fail(x, DECODE_REASON_TRUNCATED_PPP);

	if ((first & 1u) != 0) {
		protocol = first;
	} else {
		if (cursor_u8(c, &second) < 0)
			return decode_fail(x, DECODE_REASON_TRUNCATED_PPP);
		protocol = (uint16_t)(first << 8 | second);
	}

	if (protocol == PPP_PROTOCOL_IPV4)
		return decode_ipv4(x, c);
	if (protocol == PPP_PROTOCOL_IPV6)
		return decode_ipv6(x, c);
	return DECODE_OTHER;
}

/* Skips the optional address and control bytes of RFC 1662 framing, then decodes the protocol. */
static int link_decode_ppp(struct decode_ctx *x, struct cursor *c)
{
	const uint8_t *p = cursor_ptr(c);

	/* 0xff opens the address field: no two-byte protocol starts with it, and 0x00ff compressed is reserved. */
	if (cursor_remaining(c) >= 1 && p[0] == PPP_ADDRESS_ALL_STATIONS) {
		if (cursor_skip(c, 2) < 0)
			return decode_fail(x, DECODE_REASON_TRUNCATED_PPP);
	}
	return link_decode_ppp_protocol(x, c);
}

/* Cisco HDLC: address, control, then an Ethernet type. */
static int link_decode_cisco_hdlc(struct decode_ctx *x, struct cursor *c)
{
	uint16_t type;

	if (cursor_skip(c, 2) < 0 || cursor_be16(c, &type) < 0)
		return decode_fail(x, DECODE_REASON_TRUNCATED_HDLC);
	return decode_ethertype(x, c, type);
}

/* DLT_PPP_SERIAL carries PPP in HDLC-like framing or Cisco HDLC, distinguished by the address byte. */
static int link_decode_ppp_serial(struct decode_ctx *x, struct cursor *c)
{
	const uint8_t *p = cursor_ptr(c);

	if (cursor_remaining(c) >= 1 && (p[0] == CISCO_HDLC_UNICAST || p[0] == CISCO_HDLC_MULTICAST))
		return link_decode_cisco_hdlc(x, c);
	return link_decode_ppp(x, c);
}

/*
 * RFC 2516 section 4: a session header of 6 bytes, then PPP. The length
 * field bounds the PPP frame, so Ethernet padding after it is cut off.
 */
static int link_decode_pppoe(struct decode_ctx *x, struct cursor *c)
{
	uint8_t version_type;
	uint8_t code;
	uint16_t session;
	uint16_t length;
	struct cursor ppp;

	if (cursor_u8(c, &version_type) < 0 || cursor_u8(c, &code) < 0 ||
	    cursor_be16(c, &session) < 0 || cursor_be16(c, &length) < 0)
		return decode_fail(x, DECODE_REASON_TRUNCATED_PPPOE);

	/* Other versions and codes are discovery packets or not PPPoE at all. */
	if (version_type != PPPOE_VERSION_TYPE || code != PPPOE_CODE_SESSION)
		return decode_fail(x, DECODE_REASON_BAD_PPPOE_HEADER);

	if (length < cursor_remaining(c)) {
		cursor_sub(c, length, &ppp);
		/* The bytes the snapshot cut off were padding after the PPP frame. */
		x->missing = 0;
		return link_decode_ppp_protocol(x, &ppp);
	}
	return link_decode_ppp_protocol(x, c);
}

/*
 * Decodes what follows an Ethernet type field, peeling VLAN tags in a loop.
 * Types up to 1500 are 802.3 lengths (LLC frames), which are not IP.
 */
int decode_ethertype(struct decode_ctx *x, struct cursor *c, uint16_t type)
{
	int rc;

	for (;;) {
		switch (type) {
		case ETHERTYPE_IPV4:
			return decode_ipv4(x, c);
		case ETHERTYPE_IPV6:
			return decode_ipv6(x, c);
		case ETHERTYPE_VLAN:
		case ETHERTYPE_QINQ:
		case ETHERTYPE_QINQ_OLD:
			rc = link_pop_vlan(x, c, &type);
			if (rc < 0)
				return rc;
			break;
		case ETHERTYPE_MPLS_UNICAST:
		case ETHERTYPE_MPLS_MULTICAST:
			return link_decode_mpls(x, c);
		case ETHERTYPE_PPPOE_SESSION:
			return link_decode_pppoe(x, c);
		default:
			return DECODE_OTHER;
		}
	}
}

static int link_decode_ethernet(struct decode_ctx *x, struct cursor *c)
{
	uint16_t type;

	if (cursor_skip(c, ETHERNET_ADDRESSES_LEN) < 0 || cursor_be16(c, &type) < 0)
		return decode_fail(x, DECODE_REASON_TRUNCATED_ETHERNET);
	return decode_ethertype(x, c, type);
}

/* Linux cooked v1: packet type, ARPHRD type, address length, 8 address bytes, protocol. */
static int link_decode_sll(struct decode_ctx *x, struct cursor *c)
{
	uint16_t packet_type;
	uint16_t hatype;
	uint16_t protocol;

	if (cursor_be16(c, &packet_type) < 0 || cursor_be16(c, &hatype) < 0 ||
	    cursor_skip(c, SLL_HEADER_LEN - 6) < 0 || cursor_be16(c, &protocol) < 0)
		return decode_fail(x, DECODE_REASON_TRUNCATED_SLL);

	/* On netlink captures the protocol field is a netlink family, not an Ethernet type. */
	if (hatype == SLL_HATYPE_NETLINK)
		return DECODE_OTHER;
	return decode_ethertype(x, c, protocol);
}

/*
 * Linux cooked v2: protocol, reserved, interface index, ARPHRD type,
 * packet type, address length, 8 address bytes.
 */
static int link_decode_sll2(struct decode_ctx *x, struct cursor *c)
{
	uint16_t protocol;
	uint16_t hatype;

	if (cursor_be16(c, &protocol) < 0 || cursor_skip(c, 6) < 0 || cursor_be16(c, &hatype) < 0 ||
	    cursor_skip(c, SLL2_HEADER_LEN - 10) < 0)
		return decode_fail(x, DECODE_REASON_TRUNCATED_SLL2);

	/* On netlink captures the protocol field is a netlink family, not an Ethernet type. */
	if (hatype == SLL_HATYPE_NETLINK)
		return DECODE_OTHER;
	return decode_ethertype(x, c, protocol);
}

static int link_decode_family(struct decode_ctx *x, struct cursor *c, uint32_t family)
{
	if (family == LOOPBACK_AF_INET)
		return decode_ipv4(x, c);
	if (family == LOOPBACK_AF_INET6_BSD || family == LOOPBACK_AF_INET6_FREEBSD ||
	    family == LOOPBACK_AF_INET6_DARWIN)
		return decode_ipv6(x, c);
	return DECODE_OTHER;
}

/*
 * DLT_NULL stores the family in the byte order of the capturing host, which
 * the file does not record. The values are small, so the order that gives a
 * known value is the right one.
 */
static int link_decode_null(struct decode_ctx *x, struct cursor *c)
{
	uint32_t family;
	struct cursor peek = *c;

	if (cursor_le32(&peek, &family) < 0)
		return decode_fail(x, DECODE_REASON_TRUNCATED_LOOPBACK);
	if (family > 0xffffu)
		cursor_be32(c, &family);
	else
		*c = peek;
	return link_decode_family(x, c, family);
}

/* DLT_LOOP stores the family in network byte order. */
static int link_decode_loop(struct decode_ctx *x, struct cursor *c)
{
	uint32_t family;

	if (cursor_be32(c, &family) < 0)
		return decode_fail(x, DECODE_REASON_TRUNCATED_LOOPBACK);
	return link_decode_family(x, c, family);
}

int decode_link(struct decode_ctx *x, int linktype, struct cursor *c)
{
	switch (linktype) {
	case DECODE_LINKTYPE_ETHERNET:
		return link_decode_ethernet(x, c);
	case DECODE_LINKTYPE_LINUX_SLL:
		return link_decode_sll(x, c);
	case DECODE_LINKTYPE_LINUX_SLL2:
		return link_decode_sll2(x, c);
	case DECODE_LINKTYPE_DLT_RAW_12:
	case DECODE_LINKTYPE_DLT_RAW_14:
	case DECODE_LINKTYPE_RAW:
		return decode_ip_any(x, c, false);
	case DECODE_LINKTYPE_IPV4:
		return decode_ipv4(x, c);
	case DECODE_LINKTYPE_IPV6:
		return decode_ipv6(x, c);
	case DECODE_LINKTYPE_NULL:
		return link_decode_null(x, c);
	case DECODE_LINKTYPE_LOOP:
		return link_decode_loop(x, c);
	case DECODE_LINKTYPE_PPP:
		return link_decode_ppp(x, c);
	case DECODE_LINKTYPE_PPP_HDLC:
		return link_decode_ppp_serial(x, c);
	case DECODE_LINKTYPE_C_HDLC:
		return link_decode_cisco_hdlc(x, c);
	default:
		return decode_fail(x, DECODE_REASON_UNSUPPORTED_LINKTYPE);
	}
}
