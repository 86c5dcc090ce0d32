/*
 * The history's in-memory key table: chained hashing on FNV-1a, doubling
 * the bucket array when the load passes one, with at most
 * LIMIT_HISTORY_ENTRIES keys.
 */
#include "history/history_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/fnv.h"

#define HISTORY_MAP_INITIAL_BUCKETS 1024u

struct history_map {
	struct history_entry **buckets;
	uint32_t bucket_count; /* a power of two */
	uint32_t entry_count;
};

static uint32_t history_map_hash(const char *key)
{
	return fnv1a_32_string(key);
}

struct history_map *history_map_new(void)
{
	struct history_map *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->buckets = calloc(HISTORY_MAP_INITIAL_BUCKETS, sizeof(*m->buckets));
	if (m->buckets == NULL) {
		free(m);
		return NULL;
	}
	m->bucket_count = HISTORY_MAP_INITIAL_BUCKETS;
	return m;
}

void history_map_free(struct history_map *m)
{
	if (m == NULL)
		return;
	for (uint32_t i = 0; i < m->bucket_count; i++) {
		struct history_entry *e = m->buckets[i];

		while (e != NULL) {
			struct history_entry *next = e->next;

			free(e);
			e = next;
		}
	}
	free(m->buckets);
	free(m);
}

struct history_entry *history_map_find(const struct history_map *m, const char *key)
{
	uint32_t hash = history_map_hash(key);

	for (struct history_entry *e = m->buckets[hash & (m->bucket_count - 1)]; e != NULL; e = e->next) {
		if (e->hash == hash && strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

/* Doubles the bucket array; on allocation failure the map keeps its longer chains. */
static void history_map_grow(struct history_map *m)
{
	uint32_t count = m->bucket_count * 2u;
	struct history_entry **buckets = calloc(count, sizeof(*buckets));

	if (buckets == NULL)
		return;
	for (uint32_t i = 0; i < m->bucket_count; i++) {
		struct history_entry *e = m->buckets[i];

		while (e != NULL) {
			struct history_entry *next = e->next;

			e->next = buckets[e->hash & (count - 1)];
			buckets[e->hash & (count - 1)] = e;
			e = next;
		}
	}
	free(m->buckets);
	m->buckets = buckets;
	m->bucket_count = count;
}

struct history_entry *history_map_get(struct history_map *m, const char *key)
{
	struct history_entry *e = history_map_find(m, key);
	size_t key_len;

	if (e != NULL)
		return e;

	/* The cap bounds memory whatever the traffic; the caller counts the miss. */
	if (m->entry_count >= LIMIT_HISTORY_ENTRIES)
		return NULL;

	key_len = strlen(key);
	e = calloc(1, sizeof(*e) + key_len + 1);
	if (e == NULL)
		return NULL;
	memcpy(e->key, key, key_len + 1);
	e->hash = history_map_hash(key);
	if (m->entry_count >= m->bucket_count)
		history_map_grow(m);
	e->next = m->buckets[e->hash & (m->bucket_count - 1)];
	m->buckets[e->hash & (m->bucket_count - 1)] = e;
	m->entry_count++;
	return e;
}
