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

uint64_t flow_key_hash(const struct flow_key *key, uint64_t seed)
{
	uint64_t h = seed ^ key->family;

	for (int i = 0; i < 2; i++) {
		h = flow_hash_mix(h ^ flow_load64(key->addr[i]));
		h = flow_hash_mix(h ^ flow_load64(key->addr[i] + 8));
	}
	h = flow_hash_mix(h ^ ((uint64_t)key->port[0] << 16 | key->port[1]));
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
