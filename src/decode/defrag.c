/*
 * IP fragment reassembly for IPv4 (RFC 791 section 3.2, keyed on source,
 * destination, protocol and identification) and IPv6 (RFC 8200 section 4.5,
 * keyed on source, destination and fragment id).
 *
 * Each datagram keeps a copy of its fragments in a list sorted by offset.
 * When the pieces cover the whole datagram, they are copied into one output
 * buffer in reverse order of arrival, so where fragments overlap the bytes
 * that arrived first win. Overlaps are counted, and also counted as
 * conflicts when the overlapping bytes differ.
 *
 * Caps: LIMIT_IP_FRAG_DATAGRAMS datagrams and LIMIT_IP_FRAG_TOTAL_BYTES
 * stored bytes in total (the oldest datagram is evicted to make room),
 * LIMIT_IP_FRAG_PER_DATAGRAM pieces per datagram (the datagram is dropped),
 * and LIMIT_IP_FRAG_TIMEOUT_S seconds of packet time from a datagram's
 * first fragment.
 */
#include "decode/defrag.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/limits.h"
#include "decode/decode.h"

#define DEFRAG_BUCKETS 4096u
#define DEFRAG_MAX_DATA 65535u
#define USEC_PER_SEC 1000000u

struct defrag_piece {
	struct defrag_piece *next; /* next piece by offset */
	uint32_t offset;
	uint32_t len;
	uint32_t arrival;          /* index among the datagram's stored pieces, in arrival order */
	uint8_t data[];
};

struct defrag_key {
	uint8_t src[16];
	uint8_t dst[16];
	uint32_t id;
	uint8_t ip_version;
	uint8_t protocol;          /* IPv4 only; RFC 8200 does not key IPv6 on it */
};

struct defrag_entry {
	struct defrag_key key;
	uint32_t hash;
	struct defrag_entry *hash_next;
	struct defrag_entry *older;    /* age list, by creation */
	struct defrag_entry *newer;
	struct defrag_piece *pieces;   /* owned, sorted by offset */
	uint32_t piece_count;
	uint32_t bytes;                /* data bytes stored in pieces */
	uint64_t first_ts_usec;
	bool has_end;
	uint32_t end;                  /* datagram data length, known from the last fragment */
	bool has_first;
	uint8_t protocol;              /* from the fragment at offset 0 */
	uint32_t header_len;           /* from the fragment at offset 0 */
	uint8_t ext_count;             /* from the fragment at offset 0 */
	uint32_t max_end;              /* from the fragment at offset 0 */
	uint32_t next_field_offset;    /* from the fragment at offset 0 */
	bool has_header;               /* header contains header_len bytes */
	uint8_t header[LIMIT_IP_FRAG_HEADER_BYTES]; /* from the fragment at offset 0 */
};

struct defrag {
	uint64_t *counts;              /* not owned: the decoder's reason counters */
	struct defrag_entry *buckets[DEFRAG_BUCKETS];
	struct defrag_entry *oldest;
	struct defrag_entry *newest;
	uint32_t entry_count;
	uint64_t bytes;
	uint32_t hash_seed;
	/* The last reassembled packet: room for a kept header, then the data. */
	uint8_t output[LIMIT_IP_FRAG_HEADER_BYTES + DEFRAG_MAX_DATA];
};

struct defrag *defrag_new(uint64_t *counts)
{
	struct defrag *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->counts = counts;
	/*
	 * A per-table seed makes bucket placement harder to predict from
	 * outside. Chains stay bounded by the table cap either way.
	 */
	if (getrandom(&f->hash_seed, sizeof(f->hash_seed), GRND_NONBLOCK) != sizeof(f->hash_seed))
		f->hash_seed = (uint32_t)(uintptr_t)f;
	return f;
}

static void defrag_free_pieces(struct defrag_entry *e)
{
	struct defrag_piece *p = e->pieces;

	while (p != NULL) {
		struct defrag_piece *next = p->next;

		free(p);
		p = next;
	}
}

void defrag_free(struct defrag *f)
{
	struct defrag_entry *e;

	if (f == NULL)
		return;
	e = f->oldest;
	while (e != NULL) {
		struct defrag_entry *newer = e->newer;

		defrag_free_pieces(e);
		free(e);
		e = newer;
	}
	free(f);
}

static void defrag_count(struct defrag *f, enum decode_reason r)
{
	f->counts[r]++;
}

/* FNV-1a over the key fields, started from the table's seed. */
static uint32_t defrag_hash(const struct defrag *f, const struct defrag_key *k)
{
	uint32_t h = 2166136261u ^ f->hash_seed;
	uint8_t tail[6] = {(uint8_t)(k->id >> 24), (uint8_t)(k->id >> 16), (uint8_t)(k->id >> 8),
			   (uint8_t)k->id, k->ip_version, k->protocol};
	size_t i;

	for (i = 0; i < sizeof(k->src); i++)
		h = (h ^ k->src[i]) * 16777619u;
	for (i = 0; i < sizeof(k->dst); i++)
		h = (h ^ k->dst[i]) * 16777619u;
	for (i = 0; i < sizeof(tail); i++)
		h = (h ^ tail[i]) * 16777619u;
	return h;
}

static bool defrag_key_equal(const struct defrag_key *a, const struct defrag_key *b)
{
	return a->id == b->id && a->ip_version == b->ip_version && a->protocol == b->protocol &&
	       memcmp(a->src, b->src, sizeof(a->src)) == 0 && memcmp(a->dst, b->dst, sizeof(a->dst)) == 0;
}

static struct defrag_entry *defrag_find(struct defrag *f, const struct defrag_key *k, uint32_t hash)
{
	struct defrag_entry *e = f->buckets[hash % DEFRAG_BUCKETS];

	while (e != NULL && !(e->hash == hash && defrag_key_equal(&e->key, k)))
		e = e->hash_next;
	return e;
}

/* Unlinks and frees one datagram, counting reason unless it is DECODE_REASON_COUNT. */
static void defrag_drop(struct defrag *f, struct defrag_entry *e, enum decode_reason reason)
{
	struct defrag_entry **link = &f->buckets[e->hash % DEFRAG_BUCKETS];

	while (*link != e)
		link = &(*link)->hash_next;
	*link = e->hash_next;

	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		f->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		f->newest = e->older;

	if (reason != DECODE_REASON_COUNT)
		defrag_count(f, reason);
	f->entry_count--;
	f->bytes -= e->bytes;
	defrag_free_pieces(e);
	free(e);
}

void defrag_expire(struct defrag *f, uint64_t now_usec)
{
	const uint64_t timeout = (uint64_t)LIMIT_IP_FRAG_TIMEOUT_S * USEC_PER_SEC;

	/*
	 * Creation order follows packet time (unless time went back between
	 * files), so the first datagram that is young enough ends the scan.
	 */
	while (f->oldest != NULL && now_usec > f->oldest->first_ts_usec &&
	       now_usec - f->oldest->first_ts_usec > timeout)
		defrag_drop(f, f->oldest, DECODE_REASON_FRAG_TIMEOUT);
}

/* Creates an empty datagram, evicting the oldest one when the table is full. */
static struct defrag_entry *defrag_create(struct defrag *f, const struct defrag_key *k,
					  uint32_t hash, uint64_t ts_usec)
{
	struct defrag_entry *e;
	struct defrag_entry **bucket = &f->buckets[hash % DEFRAG_BUCKETS];

	if (f->entry_count >= LIMIT_IP_FRAG_DATAGRAMS)
		defrag_drop(f, f->oldest, DECODE_REASON_FRAG_EVICTED);

	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		defrag_count(f, DECODE_REASON_FRAG_NO_MEMORY);
		return NULL;
	}
	memcpy(&e->key, k, sizeof(*k));
	e->hash = hash;
	e->first_ts_usec = ts_usec;
	e->hash_next = *bucket;
	*bucket = e;
	e->older = f->newest;
	if (f->newest != NULL)
		f->newest->newer = e;
	else
		f->oldest = e;
	f->newest = e;
	f->entry_count++;
	return e;
}

/*
 * Checks a fragment on its own. Returns 0, or DEFRAG_DROPPED with the
 * reason counted; a fragment that makes the datagram too large also drops
 * the datagram e (which may be NULL).
 */
static int defrag_check_fragment(struct defrag *f, struct defrag_entry *e,
				 const struct defrag_fragment *frag)
{
	/* RFC 791 and RFC 8200: every fragment but the last carries a multiple of 8 bytes. */
	if (frag->more && (frag->len == 0 || frag->len % 8 != 0)) {
		defrag_count(f, DECODE_REASON_FRAG_BAD_LENGTH);
		return DEFRAG_DROPPED;
	}

	/* Reassembly would build a datagram larger than IP can express. */
	if (frag->offset + frag->len > frag->max_end) {
		if (e != NULL)
			defrag_drop(f, e, DECODE_REASON_COUNT);
		defrag_count(f, DECODE_REASON_FRAG_TOO_LARGE);
		return DEFRAG_DROPPED;
	}
	return 0;
}

/*
 * Records the datagram's end from the last fragment and checks every
 * fragment against it. Returns 0, or DEFRAG_DROPPED after dropping e when
 * the fragments disagree about the end.
 */
static int defrag_check_end(struct defrag *f, struct defrag_entry *e,
			    const struct defrag_fragment *frag)
{
	uint32_t frag_end = frag->offset + frag->len;
	const struct defrag_piece *p;
	bool consistent = true;

	if (!frag->more) {
		if (e->has_end && e->end != frag_end)
			consistent = false;
		for (p = e->pieces; p != NULL; p = p->next) {
			if (p->offset + p->len > frag_end)
				consistent = false;
		}
	} else if (e->has_end && frag_end > e->end) {
		consistent = false;
	}

	if (!consistent) {
		defrag_drop(f, e, DECODE_REASON_FRAG_INCONSISTENT_END);
		return DEFRAG_DROPPED;
	}
	if (!frag->more) {
		e->has_end = true;
		e->end = frag_end;
	}
	return 0;
}

/*
 * Compares a fragment with the stored pieces and counts overlaps. Returns
 * true when one stored piece already contains all of the fragment's bytes, so
 * that first-data-wins leaves nothing to store.
 */
static bool defrag_check_overlap(struct defrag *f, const struct defrag_entry *e,
				 const struct defrag_fragment *frag)
{
	uint32_t frag_end = frag->offset + frag->len;
	const struct defrag_piece *p;
	bool overlap = false;
	bool conflict = false;
	bool contained = false;

	for (p = e->pieces; p != NULL; p = p->next) {
		uint32_t piece_end = p->offset + p->len;
		uint32_t lo = p->offset > frag->offset ? p->offset : frag->offset;
		uint32_t hi = piece_end < frag_end ? piece_end : frag_end;

		if (lo >= hi)
			continue;
		overlap = true;
		if (memcmp(p->data + (lo - p->offset), frag->data + (lo - frag->offset), hi - lo) != 0)
			conflict = true;
		if (p->offset <= frag->offset && piece_end >= frag_end)
			contained = true;
	}

	if (overlap)
		defrag_count(f, DECODE_REASON_FRAG_OVERLAP);
	if (conflict)
		defrag_count(f, DECODE_REASON_FRAG_OVERLAP_CONFLICT);
	return contained;
}

/* Evicts the oldest datagrams other than keep until len more bytes fit. Returns 0 or -1. */
static int defrag_make_room(struct defrag *f, const struct defrag_entry *keep, uint32_t len)
{
	while (f->bytes + len > LIMIT_IP_FRAG_TOTAL_BYTES) {
		struct defrag_entry *victim = f->oldest;

		if (victim == keep)
			victim = victim->newer;
		if (victim == NULL)
			return -1;
		defrag_drop(f, victim, DECODE_REASON_FRAG_EVICTED);
	}
	return 0;
}

/* Copies the fragment into a new piece, in offset order. Returns 0 or -1 when memory runs out. */
static int defrag_store(struct defrag *f, struct defrag_entry *e, const struct defrag_fragment *frag)
{
	struct defrag_piece *piece = malloc(sizeof(*piece) + frag->len);
	struct defrag_piece **link = &e->pieces;

	if (piece == NULL)
		return -1;
	piece->offset = frag->offset;
	piece->len = frag->len;
	piece->arrival = e->piece_count;
	memcpy(piece->data, frag->data, frag->len);

	while (*link != NULL && (*link)->offset <= frag->offset)
		link = &(*link)->next;
	piece->next = *link;
	*link = piece;

	e->piece_count++;
	e->bytes += frag->len;
	f->bytes += frag->len;
	if (frag->offset == 0) {
		e->has_first = true;
		e->protocol = frag->protocol;
		e->header_len = frag->header_len;
		e->ext_count = frag->ext_count;
		e->max_end = frag->max_end;
		e->next_field_offset = frag->next_field_offset;
		e->has_header = frag->header_len <= sizeof(e->header) && frag->header != NULL;
		if (e->has_header)
			memcpy(e->header, frag->header, frag->header_len);
	}
	return 0;
}

static bool defrag_is_complete(const struct defrag_entry *e)
{
	const struct defrag_piece *p;
	uint32_t covered = 0;

	if (!e->has_end || !e->has_first)
		return false;
	for (p = e->pieces; p != NULL; p = p->next) {
		if (p->offset > covered)
			return false;
		if (p->offset + p->len > covered)
			covered = p->offset + p->len;
	}
	return covered >= e->end;
}

static void defrag_put_be16(uint8_t *at, uint32_t value)
{
	at[0] = (uint8_t)(value >> 8);
	at[1] = (uint8_t)value;
}

/*
 * Rewrites the kept header at packet so that it describes the reassembled
 * datagram: IPv4 gets the total length, no fragment bits and a new header
 * checksum (RFC 791 section 3.1); IPv6 gets the payload length, and the
 * field that named the fragment header names the fragment's next header.
 */
static void defrag_patch_header(const struct defrag_entry *e, uint8_t *packet)
{
	uint32_t sum = 0;
	uint32_t i;

	if (e->key.ip_version == 6) {
		defrag_put_be16(packet + 4, e->header_len - 40u + e->end);
		packet[e->next_field_offset] = e->protocol;
		return;
	}
	defrag_put_be16(packet + 2, e->header_len + e->end);
	packet[6] &= 0x40u; /* keep DF, clear MF and the offset */
	packet[7] = 0;
	defrag_put_be16(packet + 10, 0);
	for (i = 0; i + 1 < e->header_len; i += 2)
		sum += (uint32_t)(packet[i] << 8 | packet[i + 1]);
	while (sum > 0xffffu)
		sum = (sum & 0xffffu) + (sum >> 16);
	defrag_put_be16(packet + 10, ~sum & 0xffffu);
}

/*
 * Copies the pieces into the output buffer, latest arrival first, so the
 * earliest bytes overwrite later ones where pieces overlap. The kept
 * header goes right in front of the data.
 */
static void defrag_assemble(struct defrag *f, const struct defrag_entry *e, struct defrag_datagram *out)
{
	const struct defrag_piece *by_arrival[LIMIT_IP_FRAG_PER_DATAGRAM];
	const struct defrag_piece *p;
	uint8_t *data = f->output + LIMIT_IP_FRAG_HEADER_BYTES;
	uint32_t i;

	for (p = e->pieces; p != NULL; p = p->next)
		by_arrival[p->arrival] = p;
	for (i = e->piece_count; i > 0; i--) {
		p = by_arrival[i - 1];
		memcpy(data + p->offset, p->data, p->len);
	}

	out->packet = NULL;
	if (e->has_header) {
		uint8_t *packet = data - e->header_len;

		memcpy(packet, e->header, e->header_len);
		defrag_patch_header(e, packet);
		out->packet = packet;
	}
	out->data = data;
	out->len = e->end;
	out->protocol = e->protocol;
	out->header_len = e->header_len;
	out->ext_count = e->ext_count;
}

static void defrag_fill_key(struct defrag_key *k, const struct defrag_fragment *frag)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->src, frag->src, sizeof(k->src));
	memcpy(k->dst, frag->dst, sizeof(k->dst));
	k->id = frag->id;
	k->ip_version = frag->ip_version;
	k->protocol = frag->ip_version == 4 ? frag->protocol : 0;
}

/* Reassembles e when its pieces cover it, and drops it. Returns an enum defrag_result. */
static int defrag_finish(struct defrag *f, struct defrag_entry *e, struct defrag_datagram *out)
{
	if (!defrag_is_complete(e))
		return DEFRAG_HELD;

	/* The first fragment's header can be longer than the others', so check the whole again. */
	if (e->end > e->max_end) {
		defrag_drop(f, e, DECODE_REASON_FRAG_TOO_LARGE);
		return DEFRAG_DROPPED;
	}
	defrag_assemble(f, e, out);
	defrag_drop(f, e, DECODE_REASON_COUNT);
	return DEFRAG_COMPLETE;
}

/* Stores a checked fragment in e and reassembles e when it is complete. */
static int defrag_add_piece(struct defrag *f, struct defrag_entry *e,
			    const struct defrag_fragment *frag, struct defrag_datagram *out)
{
	/* Many tiny fragments would cost more to track than they could carry. */
	if (e->piece_count >= LIMIT_IP_FRAG_PER_DATAGRAM) {
		defrag_drop(f, e, DECODE_REASON_FRAG_TOO_MANY_FRAGMENTS);
		return DEFRAG_DROPPED;
	}
	if (defrag_make_room(f, e, frag->len) < 0) {
		defrag_drop(f, e, DECODE_REASON_FRAG_EVICTED);
		return DEFRAG_DROPPED;
	}
	if (defrag_store(f, e, frag) < 0) {
		defrag_count(f, DECODE_REASON_FRAG_NO_MEMORY);
		return DEFRAG_DROPPED;
	}
	return defrag_finish(f, e, out);
}

int defrag_insert(struct defrag *f, const struct defrag_fragment *frag, struct defrag_datagram *out)
{
	struct defrag_key key;
	struct defrag_entry *e;
	uint32_t hash;

	defrag_expire(f, frag->ts_usec);
	defrag_fill_key(&key, frag);
	hash = defrag_hash(f, &key);
	e = defrag_find(f, &key, hash);

	if (defrag_check_fragment(f, e, frag) < 0)
		return DEFRAG_DROPPED;
	if (e == NULL) {
		e = defrag_create(f, &key, hash, frag->ts_usec);
		if (e == NULL)
			return DEFRAG_DROPPED;
	}
	if (defrag_check_end(f, e, frag) < 0)
		return DEFRAG_DROPPED;
	/* A duplicate adds no bytes, but a last fragment's end can still complete the datagram. */
	if (defrag_check_overlap(f, e, frag))
		return defrag_finish(f, e, out);
	return defrag_add_piece(f, e, frag, out);
}

void defrag_usage(const struct defrag *f, uint32_t *datagrams, uint64_t *bytes)
{
	*datagrams = f->entry_count;
	*bytes = f->bytes;
}
