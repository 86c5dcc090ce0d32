/*
 * Matching: an event is checked against the enabled rules of its type only,
 * and a matching rule with a threshold alerts only when its counter allows.
 *
 * Threshold counters live in a fixed-size table owned by the caller, keyed
 * by rule id and the tracked key (client address, server address, flow id,
 * or nothing), in packet time. The table is set-associative: a key hashes
 * to a bucket of THRESHOLD_WAYS entries, and a full bucket evicts its least
 * recently used entry, so memory stays fixed whatever the traffic.
 */
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/session.h"
#include "detect/rules_internal.h"

#define THRESHOLD_WAYS 4u
#define USEC_PER_SEC 1000000ull

struct threshold_key {
	uint32_t rule_id;
	uint8_t track;
	uint8_t family;
	uint8_t bytes[16]; /* address, or the flow id in the first 8 bytes */
};

struct threshold_entry {
	struct threshold_key key;
	bool used;
	uint32_t count;		/* matches in the current window */
	uint64_t window_start;	/* packet time, microseconds */
	uint64_t last_seen;
};

struct rule_state {
	struct threshold_entry *entries; /* owned; bucket_count * THRESHOLD_WAYS */
	size_t bucket_count;		 /* a power of two */
	uint64_t evictions;
};

struct rule_state *rule_state_new(size_t max_entries)
{
	struct rule_state *state;
	size_t buckets = 1;

	if (max_entries == 0)
		max_entries = LIMIT_RULE_THRESHOLD_ENTRIES;
	while (buckets * 2 * THRESHOLD_WAYS <= max_entries)
		buckets *= 2;
	state = calloc(1, sizeof(*state));
	if (state == NULL)
		return NULL;
	state->entries = calloc(buckets * THRESHOLD_WAYS, sizeof(*state->entries));
	if (state->entries == NULL) {
		free(state);
		return NULL;
	}
	state->bucket_count = buckets;
	return state;
}

void rule_state_free(struct rule_state *state)
{
	if (state == NULL)
		return;
	free(state->entries);
	free(state);
}

uint64_t rule_state_evictions(const struct rule_state *state)
{
	return state->evictions;
}

static void threshold_key_make(const struct rule *rule, const struct event *ev, struct threshold_key *key)
{
	const struct session *s = ev->session;
	uint64_t flow_id = s != NULL ? s->flow_id : 0;

	memset(key, 0, sizeof(*key));
	key->rule_id = rule->id;
	key->track = (uint8_t)rule->threshold.track;
	if (s == NULL)
		return;
	switch (rule->threshold.track) {
	case RULE_TRACK_BY_SRC:
		key->family = s->client.family;
		memcpy(key->bytes, s->client.addr, sizeof(key->bytes));
		break;
	case RULE_TRACK_BY_DST:
		key->family = s->server.family;
		memcpy(key->bytes, s->server.addr, sizeof(key->bytes));
		break;
	case RULE_TRACK_BY_FLOW:
		memcpy(key->bytes, &flow_id, sizeof(flow_id));
		break;
	case RULE_TRACK_GLOBAL:
		break;
	}
}

/*
 * FNV-1a over the key's bytes; the key is zeroed first, so padding hashes the
 * same every time. NOTE: the hash is unseeded, so chosen addresses can crowd
 * one bucket. That only evicts counters early: alerts may repeat, none is lost.
 */
static uint64_t threshold_key_hash(const struct threshold_key *key)
{
	const uint8_t *p = (const uint8_t *)key;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < sizeof(*key); i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Finds the key's entry, or claims one (a free way, else the bucket's least recently used). */
static struct threshold_entry *threshold_lookup(struct rule_state *state, const struct threshold_key *key)
{
	size_t bucket = (size_t)threshold_key_hash(key) & (state->bucket_count - 1);
	struct threshold_entry *ways = &state->entries[bucket * THRESHOLD_WAYS];
	struct threshold_entry *victim = &ways[0];

	for (unsigned i = 0; i < THRESHOLD_WAYS; i++) {
		if (ways[i].used && memcmp(&ways[i].key, key, sizeof(*key)) == 0)
			return &ways[i];
	}
	for (unsigned i = 0; i < THRESHOLD_WAYS; i++) {
		if (!ways[i].used) {
			victim = &ways[i];
			break;
		}
		if (ways[i].last_seen < victim->last_seen)
			victim = &ways[i];
	}
	if (victim->used)
		state->evictions++;
	memset(victim, 0, sizeof(*victim));
	victim->key = *key;
	victim->used = true;
	return victim;
}

/* Counts one match and decides whether it alerts (see enum rule_threshold_type). */
static bool threshold_allows(struct rule_state *state, const struct rule *rule, const struct event *ev)
{
	const struct rule_threshold *t = &rule->threshold;
	uint64_t window = (uint64_t)t->seconds * USEC_PER_SEC;
	struct threshold_key key;
	struct threshold_entry *e;

	threshold_key_make(rule, ev, &key);
	e = threshold_lookup(state, &key);
	/* Packet time can step back across capture files; such a match counts in the current window. */
	if (e->count == 0 || (ev->ts_usec >= e->window_start && ev->ts_usec - e->window_start >= window)) {
		e->count = 0;
		e->window_start = ev->ts_usec;
	}
	if (e->count < UINT32_MAX)
		e->count++;
	if (ev->ts_usec > e->last_seen)
		e->last_seen = ev->ts_usec;

	switch (t->type) {
	case RULE_THRESHOLD_LIMIT: return e->count <= t->count;
	case RULE_THRESHOLD_THRESHOLD: return e->count % t->count == 0;
	case RULE_THRESHOLD_BOTH: return e->count == t->count;
	}
	return false;
}

bool rule_matches(const struct rule *rule, const struct event *ev)
{
	if (rule->event != ev->type)
		return false;
	return rule->when == NULL || rules_cond_eval(rule->when, ev);
}

unsigned rule_set_match(const struct rule_set *set, struct rule_state *state, const struct event *ev,
			rule_match_fn on_match, void *ctx)
{
	unsigned fired = 0;

	if ((unsigned)ev->type >= EVENT_TYPE_COUNT)
		return 0;
	for (size_t i = 0; i < set->by_event_count[ev->type]; i++) {
		const struct rule *rule = set->by_event[ev->type][i];

		if (!rule_matches(rule, ev))
			continue;
		if (state != NULL && rule->threshold.set && !threshold_allows(state, rule, ev))
			continue;
		fired++;
		if (on_match != NULL)
			on_match(rule, ev, ctx);
	}
	return fired;
}
