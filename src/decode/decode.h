/*
 * Packet decoder: turns one captured frame into a view of its TCP segment.
 *
 * Link layers: Ethernet with 802.1Q/QinQ tags, MPLS and PPPoE sessions,
 * Linux cooked captures (SLL, SLL2), raw IP, BSD loopback (DLT_NULL,
 * DLT_LOOP), PPP and Cisco HDLC. Network layers: IPv4 (RFC 791) with
 * options, IPv6 (RFC 8200) with extension headers, and reassembly of IPv4
 * and IPv6 fragments. Transport: the TCP header (RFC 9293), options skipped,
 * and the UDP header (RFC 768).
 *
 * The packet path does not allocate; only the fragment reassembler does,
 * within the LIMIT_IP_FRAG_* caps of core/limits.h.
 */
#ifndef MAILTAP_DECODE_H
#define MAILTAP_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/limits.h"

#define TCP_FLAG_FIN 0x01u
#define TCP_FLAG_SYN 0x02u
#define TCP_FLAG_RST 0x04u
#define TCP_FLAG_PSH 0x08u
#define TCP_FLAG_ACK 0x10u
#define TCP_FLAG_URG 0x20u
#define TCP_FLAG_ECE 0x40u
#define TCP_FLAG_CWR 0x80u

/* pcap link-layer header types (https://www.tcpdump.org/linktypes.html). */
#define DECODE_LINKTYPE_NULL 0
#define DECODE_LINKTYPE_ETHERNET 1
#define DECODE_LINKTYPE_PPP 9
#define DECODE_LINKTYPE_DLT_RAW_12 12
#define DECODE_LINKTYPE_DLT_RAW_14 14
#define DECODE_LINKTYPE_PPP_HDLC 50
#define DECODE_LINKTYPE_RAW 101
#define DECODE_LINKTYPE_C_HDLC 104
#define DECODE_LINKTYPE_LOOP 108
#define DECODE_LINKTYPE_LINUX_SLL 113
#define DECODE_LINKTYPE_IPV4 228
#define DECODE_LINKTYPE_IPV6 229
#define DECODE_LINKTYPE_LINUX_SLL2 276

/* One decoded TCP segment. Pointers are valid until the next decoder_decode call. */
struct packet_view {
	uint64_t ts_usec;
	uint8_t ip_version;     /* 4 or 6 */
	uint8_t src_addr[16];   /* IPv4 in the first 4 bytes, rest zero */
	uint8_t dst_addr[16];
	uint16_t src_port, dst_port;
	uint32_t seq, ack;
	uint8_t tcp_flags;      /* TCP_FLAG_* bits */
	uint16_t window;
	const uint8_t *payload; /* TCP payload, points into the frame or the defrag buffer */
	uint32_t payload_len;
	uint32_t ip_len;        /* IP header + payload bytes, for counters */
	/*
	 * The IP packet (ip_len bytes), for nDPI: in the frame, or rebuilt by
	 * reassembly. NULL when the frame has fewer than ip_len bytes, or when
	 * a reassembled datagram's header passed LIMIT_IP_FRAG_HEADER_BYTES.
	 */
	const uint8_t *ip_header;
	bool payload_truncated; /* caplen cut the payload short (snaplen) */

	/* 802.1Q/802.1ad VLAN IDs (12 bits), outermost first; vlan_count of them are set. */
	uint16_t vlan_ids[LIMIT_VLAN_DEPTH];
	uint8_t vlan_count;
	bool reassembled;       /* the segment came out of IP fragment reassembly */
};

enum decode_result {
	DECODE_TCP = 0,        /* out contains a TCP segment */
	DECODE_OTHER = 1,      /* valid but neither TCP nor UDP (ICMP, ARP, non-IP): ignored */
	DECODE_HELD = 2,       /* an IP fragment was stored; no packet yet */
	DECODE_UDP = 3,        /* out contains a UDP datagram: ports and payload only */
	DECODE_MALFORMED = -1, /* counted by reason in the stats */
};

/*
 * Counted events. Each DECODE_MALFORMED result counts the reason for the
 * drop. Length mismatches that the decoder works around, fragment overlaps,
 * evictions and timeouts are counted as they happen, whatever the result.
 */
enum decode_reason {
	DECODE_REASON_UNSUPPORTED_LINKTYPE = 0,
	DECODE_REASON_TRUNCATED_ETHERNET,
	DECODE_REASON_TRUNCATED_VLAN,
	DECODE_REASON_VLAN_TOO_DEEP,
	DECODE_REASON_TRUNCATED_MPLS,
	DECODE_REASON_MPLS_TOO_DEEP,
	DECODE_REASON_TRUNCATED_PPPOE,
	DECODE_REASON_BAD_PPPOE_HEADER,
	DECODE_REASON_TRUNCATED_PPP,
	DECODE_REASON_TRUNCATED_SLL,
	DECODE_REASON_TRUNCATED_SLL2,
	DECODE_REASON_TRUNCATED_LOOPBACK,
	DECODE_REASON_TRUNCATED_HDLC,
	DECODE_REASON_TRUNCATED_IP,
	DECODE_REASON_BAD_IP_VERSION,
	DECODE_REASON_TRUNCATED_IPV4,
	DECODE_REASON_BAD_IPV4_HEADER_LENGTH,
	DECODE_REASON_IPV4_TOTAL_LENGTH_MISMATCH,
	DECODE_REASON_TRUNCATED_IPV6,
	DECODE_REASON_IPV6_PAYLOAD_LENGTH_MISMATCH,
	DECODE_REASON_TRUNCATED_IPV6_EXT,
	DECODE_REASON_BAD_IPV6_EXT_LENGTH,
	DECODE_REASON_IPV6_EXT_TOO_MANY,
	DECODE_REASON_TRUNCATED_TCP,
	DECODE_REASON_TCP_SEGMENT_TOO_SHORT,
	DECODE_REASON_BAD_TCP_DATA_OFFSET,
	DECODE_REASON_TRUNCATED_UDP,
	DECODE_REASON_BAD_UDP_LENGTH,
	DECODE_REASON_FRAG_BAD_LENGTH,
	DECODE_REASON_FRAG_TRUNCATED,
	DECODE_REASON_FRAG_TOO_LARGE,
	DECODE_REASON_FRAG_INCONSISTENT_END,
	DECODE_REASON_FRAG_NESTED,
	DECODE_REASON_FRAG_OVERLAP,
	DECODE_REASON_FRAG_OVERLAP_CONFLICT,
	DECODE_REASON_FRAG_TOO_MANY_FRAGMENTS,
	DECODE_REASON_FRAG_TIMEOUT,
	DECODE_REASON_FRAG_EVICTED,
	DECODE_REASON_FRAG_NO_MEMORY,
	DECODE_REASON_COUNT
};

struct decoder; /* owns the fragment tables and their buffers */

/* Returns a new decoder, or NULL when memory runs out. */
struct decoder *decoder_new(void);
void decoder_free(struct decoder *d);

/*
 * Decodes one frame of the given pcap link type. caplen bytes are present
 * at frame; wirelen is the frame's length on the wire (larger when the
 * snapshot length cut it). Returns an enum decode_result; on DECODE_TCP,
 * out describes the segment, and on DECODE_UDP the datagram's addresses,
 * ports and payload. The decoder may keep a copy of fragment data
 * but never keeps the frame pointer.
 */
int decoder_decode(struct decoder *d, int linktype, const uint8_t *frame, uint32_t caplen,
		   uint32_t wirelen, uint64_t ts_usec, struct packet_view *out);

/* Drops incomplete datagrams older than the timeout, in packet time. */
void decoder_expire(struct decoder *d, uint64_t now_usec);

bool decoder_linktype_supported(int linktype);

/* Reports the IP datagrams waiting for fragments and the fragment bytes they hold. */
void decoder_frag_usage(const struct decoder *d, uint32_t *datagrams, uint64_t *bytes);

/* Returns the stable snake_case name of a reason, or "unknown" when out of range. */
const char *decode_reason_name(enum decode_reason r);

/* Returns the counters, DECODE_REASON_COUNT entries indexed by enum decode_reason. */
const uint64_t *decoder_reason_counts(const struct decoder *d);

#endif
