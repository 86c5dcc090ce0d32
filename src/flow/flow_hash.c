/* Flow keys and keyed hashing. */
#include "flow/flow_hash.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "decode/decode.h"

uint8_t flow_key_make(struct flow_key *key, const struct packet_view *pkt)
{
	int cmp;

	memset(key, 0, sizeof(*key));
	key->family = pkt->ip_version;
	cmp = memcmp(pkt->src_addr, pkt->dst_addr, sizeof(pkt->src_addr));
	if (cmp < 0 || (cmp == 0 && pkt->src_port <= pkt->dst_port)) {
		memcpy(key->addr[0], pkt->src_addr, 16);
		memcpy(key->addr[1], pkt->dst_addr, 16);
		key->port[0] = pkt->src_port;
		key->port[1] = pkt->dst_port;
		return 0;
	}
	memcpy(key->addr[0], pkt->dst_addr, 16);
	memcpy(key->addr[1], pkt->src_addr, 16);
	key->port[0] = pkt->dst_port;
	key->port[1] = pkt->src_port;
	return 1;
}

bool flow_key_equal(const struct flow_key *a, const struct flow_key *b)
{
	return a->family == b->family && a->port[0] == b->port[0] && a->port[1] == b->port[1] &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

uint64_t flow_hash_mix(uint64_t x)
{
	/* The finalizer of SplitMix64: every input bit affects every output bit. */
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

static uint64_t flow_load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * Multiplies two 64-bit words to 128 bits and folds the halves together:
 * one multiplication mixes every bit of both inputs, the step that the
 * wyhash family of hashes is built on.
 */
static uint64_t flow_fold_multiply(uint64_t a, uint64_t b)
{
	unsigned __int128 product = (unsigned __int128)a * b;

	return (uint64_t)product ^ (uint64_t)(product >> 64);
}

uint64_t flow_key_hash(const struct flow_key *key, uint64_t seed)
{
	/* Odd constants from the digits of pi keep a zero word from zeroing a product. */
	static const uint64_t k0 = UINT64_C(0x243f6a8885a308d3);
	static const uint64_t k1 = UINT64_C(0x13198a2e03707345);
	static const uint64_t k2 = UINT64_C(0xa4093822299f31d1);
	uint64_t ports = (uint64_t)key->port[0] << 16 | key->port[1] | (uint64_t)key->family << 32;
	uint64_t h;

	h = flow_fold_multiply(flow_load64(key->addr[0]) ^ seed ^ k0, flow_load64(key->addr[0] + 8) ^ k1);
	h ^= flow_fold_multiply(flow_load64(key->addr[1]) ^ seed ^ k1, flow_load64(key->addr[1] + 8) ^ k2);
	h = flow_fold_multiply(h ^ ports ^ k2, seed ^ k0);
	return h;
}

uint64_t flow_hash_seed(void)
{
	uint64_t seed;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
		return seed;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return flow_hash_mix((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}
