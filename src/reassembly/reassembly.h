/*
 * TCP stream reassembly for one direction of a connection.
 *
 * The flow table keeps two streams per connection and hands every segment of
 * a direction to reasm_stream_add(). Bytes come out in sequence order through
 * struct reasm_output; missing ranges come out as gaps. Out-of-order data is
 * copied into a queue bounded per stream and across all streams by
 * struct reasm_budget. Sequence numbers compare modulo 2^32 as RFC 1982
 * serial numbers (RFC 9293 section 3.4).
 *
 * Ownership: a stream is embedded in the flow and owns its queued segments.
 * The caller owns the payload passed in, which is copied when queued and never
 * kept past the call. Nothing here logs, because anomalies are counters.
 */
#ifndef MAILTAP_REASSEMBLY_H
#define MAILTAP_REASSEMBLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Furthest ahead of the next expected byte that a segment may start or an ACK
 * may reach: the largest window TCP window scaling allows (RFC 7323 section
 * 2.3, shift 14). Anything further is from another sequence space and is
 * counted as out of window. Segments longer than this are rejected.
 */
#define REASM_WINDOW_MAX (1u << 30)

struct reasm_limits {
	uint32_t stream_bytes;	  /* out-of-order payload bytes held per stream */
	uint32_t stream_segments; /* out-of-order segments held per stream */
	uint64_t total_bytes;	  /* out-of-order payload bytes held across all streams */
};

/* Budget-wide counters, one per event. reasm_count_name() gives their names. */
enum reasm_count {
	REASM_COUNT_SEGMENTS = 0,	  /* calls to reasm_stream_add */
	REASM_COUNT_MIDSTREAM,		  /* streams started without a SYN */
	REASM_COUNT_RETRANSMISSIONS,	  /* segments carrying bytes already delivered */
	REASM_COUNT_RETRANSMITTED_BYTES,  /* bytes dropped as already delivered */
	REASM_COUNT_OVERLAPS,		  /* segments overlapping queued data */
	REASM_COUNT_OVERLAP_CONFLICTS,	  /* overlaps whose bytes differ */
	REASM_COUNT_GAPS,		  /* missing ranges signalled */
	REASM_COUNT_GAP_BYTES,		  /* bytes in those ranges */
	REASM_COUNT_DROPS_STREAM_CAP,	  /* queue flushed past a hole: stream bytes cap */
	REASM_COUNT_DROPS_GLOBAL_CAP,	  /* queue flushed past a hole: total bytes cap */
	REASM_COUNT_DROPS_SEGMENT_CAP,	  /* queue flushed past a hole: segment cap */
	REASM_COUNT_ALLOC_FAILURES,	  /* queue flushed past a hole: malloc failed */
	REASM_COUNT_OUT_OF_WINDOW,	  /* segments or ACKs beyond REASM_WINDOW_MAX */
	REASM_COUNT_AFTER_FIN_BYTES,	  /* bytes dropped because they lie past the FIN */
	REASM_COUNT_FIN_CONFLICTS,	  /* FINs ignored because data was seen past them */
	REASM_COUNT_BYPASSED_SEGMENTS,	  /* segments seen after bypass */
	REASM_COUNT_COUNT,
};

/* Shared by every stream of one flow table: global byte accounting and counters. */
struct reasm_budget {
	struct reasm_limits limits;
	uint64_t bytes_in_use;		    /* out-of-order bytes held, all streams */
	uint64_t counts[REASM_COUNT_COUNT]; /* indexed by enum reasm_count */
};

/* Returns the snake_case name of a counter, or "unknown". */
const char *reasm_count_name(enum reasm_count c);

/* Zeroes the counters and sets the limits. */
void reasm_budget_init(struct reasm_budget *b, const struct reasm_limits *limits);

struct reasm_output {
	void (*data)(void *ctx, const uint8_t *data, size_t len); /* in-order bytes */
	void (*gap)(void *ctx, uint64_t len);			   /* len bytes missing here */
	void *ctx;
};

enum reasm_state {
	REASM_STATE_IDLE = 0, /* no SYN and no segment yet: the start is unknown */
	REASM_STATE_OPEN,     /* delivering */
	REASM_STATE_CLOSED,   /* every byte up to the FIN delivered or signalled */
	REASM_STATE_BYPASS,   /* segments are counted only */
};

/* One queued out-of-order range, owned by its stream. */
struct reasm_segment {
	struct reasm_segment *next; /* next range in sequence order */
	uint32_t seq;		    /* sequence number of data[0] */
	uint32_t len;
	uint8_t data[];
};

struct reasm_stream {
	enum reasm_state state;
	uint32_t isn;	   /* valid when has_isn */
	uint32_t next_seq; /* sequence number of the next byte to deliver */
	uint32_t fin_seq;  /* sequence number of the FIN, valid when has_fin */
	bool has_isn;
	bool has_fin;

	/* Queued ranges: sorted, disjoint and all after next_seq. Owned. */
	struct reasm_segment *queue;
	uint32_t queued_bytes;
	uint32_t queued_segments;

	/* Per-direction evidence for the session summary. */
	bool midstream; /* picked up without a SYN */
	bool hit_cap;	/* a cap or a failed allocation forced a skip */
	uint32_t gaps;
	uint64_t gap_bytes;
	uint32_t overlap_conflicts;
	uint32_t retransmissions;
	uint64_t bytes_delivered;
};

/* Sets an empty stream with an unknown start. */
void reasm_stream_init(struct reasm_stream *s);

/*
 * Records a SYN (or SYN-ACK) with this ISN: data starts at isn + 1. A resent
 * SYN-ACK with another ISN replaces it while nothing has been delivered,
 * skipped or queued; after that the stream stays in its sequence space.
 */
void reasm_stream_set_isn(struct reasm_stream *s, uint32_t isn);

/*
 * Adds one segment's payload and delivers what became in order. seq is the
 * sequence number of data[0], which for a segment carrying SYN (TCP Fast
 * Open) is the segment's seq + 1. fin marks the end of the stream at
 * seq + len. Returns 0, or -EINVAL when len exceeds REASM_WINDOW_MAX or data
 * is NULL with len > 0.
 */
int reasm_stream_add(struct reasm_stream *s, struct reasm_budget *b, uint32_t seq,
		     const uint8_t *data, uint32_t len, bool fin, const struct reasm_output *out);

/* The peer acknowledged up to ack: bytes below it that we never saw are a gap to skip now. */
void reasm_stream_ack(struct reasm_stream *s, struct reasm_budget *b, uint32_t ack,
		      const struct reasm_output *out);

/* End of flow: deliver what is queued, signalling holes (and a hole before a seen FIN) as gaps. */
void reasm_stream_flush(struct reasm_stream *s, struct reasm_budget *b, const struct reasm_output *out);

/* Frees queued segments and returns their bytes to the budget. */
void reasm_stream_release(struct reasm_stream *s, struct reasm_budget *b);

/* Stop buffering and delivering (bypass): queued data is freed, later segments only counted. */
void reasm_stream_bypass(struct reasm_stream *s, struct reasm_budget *b);

/* Returns true once every byte up to a seen FIN has been delivered or signalled. */
bool reasm_stream_is_closed(const struct reasm_stream *s);

#endif
