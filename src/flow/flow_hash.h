/*
 * Canonical bidirectional flow keys and their hash. The endpoint that
 * compares lower (address, then port) is stored first, so both directions
 * of a connection build the same key and the same hash.
 */
#ifndef MAILTAP_FLOW_HASH_H
#define MAILTAP_FLOW_HASH_H

#include <stdbool.h>
#include <stdint.h>

struct packet_view;

struct flow_key {
	uint8_t family; /* 4 or 6 */
	uint8_t addr[2][16];
	uint16_t port[2];
};

/* Builds the canonical key of a packet; returns the key index (0 or 1) of its sender. */
uint8_t flow_key_make(struct flow_key *key, const struct packet_view *pkt);
bool flow_key_equal(const struct flow_key *a, const struct flow_key *b);
/* Keyed hash, so a remote party cannot aim many flows at one bucket. */
uint64_t flow_key_hash(const struct flow_key *key, uint64_t seed);
/* A random seed from the operating system (a time-based one if that fails). */
uint64_t flow_hash_seed(void);
/* Mixes the bits of a 64-bit value (a bijection). */
uint64_t flow_hash_mix(uint64_t x);

#endif
