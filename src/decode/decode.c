/*
 * Decoder entry points: the decoder's lifetime, the reason counters and the
 * start of each decode. The layers live in decode_link.c (link layers),
 * decode_ip.c (IPv4, IPv6, TCP, UDP) and defrag.c (fragment reassembly).
 */
#include "decode/decode.h"

#include <stdlib.h>
#include <string.h>

#include "decode/decode_internal.h"
#include "decode/defrag.h"

static const char *const decode_reason_names[DECODE_REASON_COUNT] = {
	[DECODE_REASON_UNSUPPORTED_LINKTYPE] = "unsupported_linktype",
	[DECODE_REASON_TRUNCATED_ETHERNET] = "truncated_ethernet",
	[DECODE_REASON_TRUNCATED_VLAN] = "truncated_vlan",
	[DECODE_REASON_VLAN_TOO_DEEP] = "vlan_too_deep",
	[DECODE_REASON_TRUNCATED_MPLS] = "truncated_mpls",
	[DECODE_REASON_MPLS_TOO_DEEP] = "mpls_too_deep",
	[DECODE_REASON_TRUNCATED_PPPOE] = "truncated_pppoe",
	[DECODE_REASON_BAD_PPPOE_HEADER] = "bad_pppoe_header",
	[DECODE_REASON_TRUNCATED_PPP] = "truncated_ppp",
	[DECODE_REASON_TRUNCATED_SLL] = "truncated_sll",
	[DECODE_REASON_TRUNCATED_SLL2] = "truncated_sll2",
	[DECODE_REASON_TRUNCATED_LOOPBACK] = "truncated_loopback",
	[DECODE_REASON_TRUNCATED_HDLC] = "truncated_hdlc",
	[DECODE_REASON_TRUNCATED_IP] = "truncated_ip",
	[DECODE_REASON_BAD_IP_VERSION] = "bad_ip_version",
	[DECODE_REASON_TRUNCATED_IPV4] = "truncated_ipv4",
	[DECODE_REASON_BAD_IPV4_HEADER_LENGTH] = "bad_ipv4_header_length",
	[DECODE_REASON_IPV4_TOTAL_LENGTH_MISMATCH] = "ipv4_total_length_mismatch",
	[DECODE_REASON_TRUNCATED_IPV6] = "truncated_ipv6",
	[DECODE_REASON_IPV6_PAYLOAD_LENGTH_MISMATCH] = "ipv6_payload_length_mismatch",
	[DECODE_REASON_TRUNCATED_IPV6_EXT] = "truncated_ipv6_ext",
	[DECODE_REASON_BAD_IPV6_EXT_LENGTH] = "bad_ipv6_ext_length",
	[DECODE_REASON_IPV6_EXT_TOO_MANY] = "ipv6_ext_too_many",
	[DECODE_REASON_TRUNCATED_TCP] = "truncated_tcp",
	[DECODE_REASON_TCP_SEGMENT_TOO_SHORT] = "tcp_segment_too_short",
	[DECODE_REASON_BAD_TCP_DATA_OFFSET] = "bad_tcp_data_offset",
	[DECODE_REASON_TRUNCATED_UDP] = "truncated_udp",
	[DECODE_REASON_BAD_UDP_LENGTH] = "bad_udp_length",
	[DECODE_REASON_FRAG_BAD_LENGTH] = "frag_bad_length",
	[DECODE_REASON_FRAG_TRUNCATED] = "frag_truncated",
	[DECODE_REASON_FRAG_TOO_LARGE] = "frag_too_large",
	[DECODE_REASON_FRAG_INCONSISTENT_END] = "frag_inconsistent_end",
	[DECODE_REASON_FRAG_NESTED] = "frag_nested",
	[DECODE_REASON_FRAG_OVERLAP] = "frag_overlap",
	[DECODE_REASON_FRAG_OVERLAP_CONFLICT] = "frag_overlap_conflict",
	[DECODE_REASON_FRAG_TOO_MANY_FRAGMENTS] = "frag_too_many_fragments",
	[DECODE_REASON_FRAG_TIMEOUT] = "frag_timeout",
	[DECODE_REASON_FRAG_EVICTED] = "frag_evicted",
	[DECODE_REASON_FRAG_NO_MEMORY] = "frag_no_memory",
};

struct decoder *decoder_new(void)
{
	struct decoder *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->defrag = defrag_new(d->counts);
	if (d->defrag == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

void decoder_free(struct decoder *d)
{
	if (d == NULL)
		return;
	defrag_free(d->defrag);
	free(d);
}

int decoder_decode(struct decoder *d, int linktype, const uint8_t *frame, uint32_t caplen,
		   uint32_t wirelen, uint64_t ts_usec, struct packet_view *out)
{
	struct decode_ctx x;
	struct cursor c;

	memset(out, 0, sizeof(*out));
	out->ts_usec = ts_usec;
	if (linktype == DECODE_LINKTYPE_ETHERNET &&
	    decode_ethernet_ipv4_tcp_fast(out, frame, caplen, wirelen) == DECODE_TCP)
		return DECODE_TCP;
	x.decoder = d;
	x.out = out;
	x.missing = wirelen > caplen ? wirelen - caplen : 0;
	x.ts_usec = ts_usec;
	cursor_init(&c, frame, frame == NULL ? 0 : caplen);
	return decode_link(&x, linktype, &c);
}

void decoder_expire(struct decoder *d, uint64_t now_usec)
{
	defrag_expire(d->defrag, now_usec);
}

bool decoder_linktype_supported(int linktype)
{
	switch (linktype) {
	case DECODE_LINKTYPE_NULL:
	case DECODE_LINKTYPE_ETHERNET:
	case DECODE_LINKTYPE_PPP:
	case DECODE_LINKTYPE_DLT_RAW_12:
	case DECODE_LINKTYPE_DLT_RAW_14:
	case DECODE_LINKTYPE_PPP_HDLC:
	case DECODE_LINKTYPE_RAW:
	case DECODE_LINKTYPE_C_HDLC:
	case DECODE_LINKTYPE_LOOP:
	case DECODE_LINKTYPE_LINUX_SLL:
	case DECODE_LINKTYPE_IPV4:
	case DECODE_LINKTYPE_IPV6:
	case DECODE_LINKTYPE_LINUX_SLL2:
		return true;
	default:
		return false;
	}
}

void decoder_frag_usage(const struct decoder *d, uint32_t *datagrams, uint64_t *bytes)
{
	defrag_usage(d->defrag, datagrams, bytes);
}

const char *decode_reason_name(enum decode_reason r)
{
	if ((unsigned)r >= DECODE_REASON_COUNT || decode_reason_names[r] == NULL)
		return "unknown";
	return decode_reason_names[r];
}

const uint64_t *decoder_reason_counts(const struct decoder *d)
{
	return d->counts;
}

void decode_count(struct decode_ctx *x, enum decode_reason r)
{
	x->decoder->counts[r]++;
}

int decode_fail(struct decode_ctx *x, enum decode_reason r)
{
	decode_count(x, r);
	return DECODE_MALFORMED;
}
