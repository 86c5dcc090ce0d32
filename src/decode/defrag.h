/*
 * IPv4 (RFC 791 section 3.2) and IPv6 (RFC 8200 section 4.5) fragment
 * reassembly, bounded by the LIMIT_IP_FRAG_* caps. Overlapping fragments
 * keep the bytes that arrived first.
 */
#ifndef MAILTAP_DEFRAG_H
#define MAILTAP_DEFRAG_H

#include <stdbool.h>
#include <stdint.h>

struct defrag;

/* One fragment as the IP layer found it. Pointers are borrowed for the call. */
struct defrag_fragment {
	uint8_t ip_version;   /* 4 or 6 */
	const uint8_t *src;   /* 16 bytes; IPv4 in the first 4, rest zero */
	const uint8_t *dst;
	uint32_t id;          /* IPv4 identification or IPv6 fragment id */
	/* IPv4: the protocol field. IPv6: the fragment header's next header. */
	uint8_t protocol;
	uint32_t offset;      /* in bytes */
	bool more;            /* more fragments follow */
	const uint8_t *data;  /* the fragment's share of the datagram */
	uint32_t len;
	/*
	 * IP header bytes in front of the data: the IPv4 header, or the IPv6
	 * header and its unfragmentable extension headers.
	 */
	uint32_t header_len;
	const uint8_t *header; /* those header_len bytes */
	/* IPv6: offset in header of the next header field that names the fragment header. */
	uint32_t next_field_offset;
	/* Largest end (offset + len) that keeps the datagram within 65535 bytes. */
	uint32_t max_end;
	uint8_t ext_count;    /* IPv6 extension headers in front of the data */
	uint64_t ts_usec;
};

/* A reassembled datagram; the buffers belong to the defrag table and live until the next insert. */
struct defrag_datagram {
	const uint8_t *data;
	uint32_t len;
	/*
	 * The whole packet, the first fragment's header patched to describe the
	 * reassembled datagram, then data: header_len + len bytes. NULL when the
	 * header passed LIMIT_IP_FRAG_HEADER_BYTES.
	 */
	const uint8_t *packet;
	uint8_t protocol;     /* from the fragment at offset 0 */
	uint32_t header_len;  /* from the fragment at offset 0 */
	uint8_t ext_count;
};

enum defrag_result {
	DEFRAG_COMPLETE = 0,  /* out contains the whole datagram */
	DEFRAG_HELD = 1,      /* stored or ignored as a duplicate; datagram incomplete */
	DEFRAG_DROPPED = -1,  /* the fragment was rejected; the reason was counted */
};

/* Returns a new table that counts into counts (DECODE_REASON_COUNT entries, not owned), or NULL. */
struct defrag *defrag_new(uint64_t *counts);
void defrag_free(struct defrag *f);

/* Stores one fragment and returns an enum defrag_result; expires old datagrams first. */
int defrag_insert(struct defrag *f, const struct defrag_fragment *frag, struct defrag_datagram *out);

/* Drops datagrams whose first fragment is more than LIMIT_IP_FRAG_TIMEOUT_S older than now. */
void defrag_expire(struct defrag *f, uint64_t now_usec);

/* Reports the datagrams held and the fragment bytes they store. */
void defrag_usage(const struct defrag *f, uint32_t *datagrams, uint64_t *bytes);

#endif
