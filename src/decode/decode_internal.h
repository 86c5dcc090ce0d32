/*
 * Shared between the decoder's files: the decoder itself, the state of one
 * decoder_decode call, and the entry points of each layer.
 */
#ifndef MAILTAP_DECODE_INTERNAL_H
#define MAILTAP_DECODE_INTERNAL_H

#include <stdint.h>

#include "core/cursor.h"
#include "decode/decode.h"

struct defrag;

struct decoder {
	uint64_t counts[DECODE_REASON_COUNT];
	struct defrag *defrag; /* owned */
};

/* State of one decoder_decode call. */
struct decode_ctx {
	struct decoder *decoder;
	struct packet_view *out;
	/* Frame bytes the snapshot length cut off the end: wirelen - caplen, or 0. */
	uint32_t missing;
	uint64_t ts_usec;
};

/* Counts reason r and returns DECODE_MALFORMED. */
int decode_fail(struct decode_ctx *x, enum decode_reason r);
void decode_count(struct decode_ctx *x, enum decode_reason r);

/* Each layer reads from c, positioned at its header, and returns an enum decode_result. */
int decode_link(struct decode_ctx *x, int linktype, struct cursor *c);
int decode_ethertype(struct decode_ctx *x, struct cursor *c, uint16_t type);
/* Picks IPv4 or IPv6 from the version nibble; unknown is DECODE_OTHER when other_on_unknown. */
int decode_ip_any(struct decode_ctx *x, struct cursor *c, bool other_on_unknown);
int decode_ipv4(struct decode_ctx *x, struct cursor *c);
int decode_ipv6(struct decode_ctx *x, struct cursor *c);

/* Returned by the fast path for any frame it leaves to the general path. */
#define DECODE_FAST_DECLINED 100
int decode_ethernet_ipv4_tcp_fast(struct packet_view *out, const uint8_t *frame, uint32_t caplen, uint32_t wirelen);

#endif
