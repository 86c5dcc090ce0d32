/* Worker threads fed through per-worker rings. */
#include "sensor/workers.h"

#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decode/decode.h"
#include "flow/flow_hash.h"
#include "flow/flow_table.h"

/* Bytes copied into a slot without a separate allocation: a full Ethernet-sized segment. */
#define WORKER_SLOT_INLINE 1600u

enum worker_slot_kind {
	WORKER_SLOT_PACKET = 0,
	WORKER_SLOT_EXPIRE,
};

struct worker_slot {
	enum worker_slot_kind kind;
	struct packet_view view; /* pointers rebased into data or heap */
	uint8_t *heap;		 /* owned by the slot when the copy did not fit inline */
	uint8_t data[WORKER_SLOT_INLINE];
};

/* Slots the reader fills before it publishes them: one store and one cache line transfer per batch. */
#define WORKER_PUBLISH_BATCH 32u
/* Packet time after which a partial batch is published anyway, so a quiet live link is not delayed. */
#define WORKER_PUBLISH_USEC 100000u

/*
 * The reader's and the worker's counters sit on cache lines of their own,
 * so neither side's writes evict the line the other side reads in a loop.
 */
struct worker {
	pthread_t thread;
	struct flow_table *flows; /* not owned */
	struct worker_slot *slots;
	bool started;
	_Atomic bool stopping;

	_Alignas(64) _Atomic uint64_t head; /* slots published to the worker */
	uint64_t fill;			    /* reader only: next slot to fill, at or after head */
	uint64_t tail_seen;		    /* reader only: tail when last read */
	uint64_t published_usec;	    /* reader only: packet time of the last publish */

	_Alignas(64) _Atomic uint64_t tail; /* next slot the worker takes */
};

struct worker_pool {
	struct worker *workers;
	unsigned count;
};

static void worker_pause(unsigned *spins)
{
	struct timespec ts = {0, 50000};

	/*
	 * Spin briefly for low latency, then give the core away: with more
	 * threads than cores the other side may need this one to make progress.
	 * Only a side idle for longer sleeps, so it does not burn a core.
	 */
	++*spins;
	if (*spins < 64)
		return;
	if (*spins < 256) {
		sched_yield();
		return;
	}
	nanosleep(&ts, NULL);
}

static void worker_take(struct worker *w, struct worker_slot *slot)
{
	if (slot->kind == WORKER_SLOT_EXPIRE)
		flow_table_expire(w->flows, slot->view.ts_usec);
	else
		flow_table_process(w->flows, &slot->view);
	free(slot->heap);
	slot->heap = NULL;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned spins = 0;

	for (;;) {
		uint64_t tail = atomic_load_explicit(&w->tail, memory_order_relaxed);
		uint64_t head = atomic_load_explicit(&w->head, memory_order_acquire);

		if (tail == head) {
			if (atomic_load_explicit(&w->stopping, memory_order_acquire) &&
			    atomic_load_explicit(&w->head, memory_order_acquire) == tail)
				return NULL;
			worker_pause(&spins);
			continue;
		}
		spins = 0;
		worker_take(w, &w->slots[tail % WORKER_RING_SLOTS]);
		atomic_store_explicit(&w->tail, tail + 1, memory_order_release);
	}
}

unsigned worker_pool_pick(const struct packet_view *pkt, unsigned count)
{
	struct flow_key key;

	flow_key_make(&key, pkt);
	return (unsigned)(flow_key_hash(&key, 0) % count);
}

/* Hands every filled slot to the worker. */
static void worker_publish(struct worker *w)
{
	if (atomic_load_explicit(&w->head, memory_order_relaxed) != w->fill)
		atomic_store_explicit(&w->head, w->fill, memory_order_release);
}

/* Waits for a free slot in w's ring and returns it; the caller fills it and calls worker_commit. */
static struct worker_slot *worker_reserve(struct worker *w)
{
	unsigned spins = 0;

	if (w->fill - w->tail_seen >= WORKER_RING_SLOTS) {
		/* The worker cannot take what it was not given: publish before waiting for room. */
		worker_publish(w);
		w->tail_seen = atomic_load_explicit(&w->tail, memory_order_acquire);
		while (w->fill - w->tail_seen >= WORKER_RING_SLOTS) {
			worker_pause(&spins);
			w->tail_seen = atomic_load_explicit(&w->tail, memory_order_acquire);
		}
	}
	return &w->slots[w->fill % WORKER_RING_SLOTS];
}

static void worker_commit(struct worker *w, bool publish_now)
{
	w->fill++;
	if (publish_now || w->fill - atomic_load_explicit(&w->head, memory_order_relaxed) >= WORKER_PUBLISH_BATCH)
		worker_publish(w);
}

/* Copies the IP header region and the payload the view points at; both may sit in a reassembly buffer. */
static void worker_copy_view(struct worker_slot *slot, const struct packet_view *pkt)
{
	uint32_t ip_bytes = pkt->ip_header != NULL ? pkt->ip_len : 0;
	size_t total = (size_t)ip_bytes + pkt->payload_len;
	uint8_t *dst = slot->data;

	slot->view = *pkt;
	slot->heap = NULL;
	if (total > sizeof(slot->data)) {
		slot->heap = malloc(total);
		if (slot->heap == NULL) {
			/* Out of memory: the segment goes on without its bytes, as a truncated capture would. */
			slot->view.ip_header = NULL;
			slot->view.payload = NULL;
			slot->view.payload_len = 0;
			slot->view.payload_truncated = true;
			return;
		}
		dst = slot->heap;
	}
	if (ip_bytes > 0) {
		memcpy(dst, pkt->ip_header, ip_bytes);
		slot->view.ip_header = dst;
	}
	if (pkt->payload_len > 0) {
		memcpy(dst + ip_bytes, pkt->payload, pkt->payload_len);
		slot->view.payload = dst + ip_bytes;
	}
}

void worker_pool_dispatch(struct worker_pool *pool, const struct packet_view *pkt)
{
	struct worker *w = &pool->workers[worker_pool_pick(pkt, pool->count)];
	struct worker_slot *slot = worker_reserve(w);

	bool publish_now = pkt->ts_usec - w->published_usec >= WORKER_PUBLISH_USEC;

	slot->kind = WORKER_SLOT_PACKET;
	worker_copy_view(slot, pkt);
	if (publish_now)
		w->published_usec = pkt->ts_usec;
	worker_commit(w, publish_now);
}

void worker_pool_expire(struct worker_pool *pool, uint64_t now_usec)
{
	for (unsigned i = 0; i < pool->count; i++) {
		struct worker *w = &pool->workers[i];
		struct worker_slot *slot = worker_reserve(w);

		slot->kind = WORKER_SLOT_EXPIRE;
		memset(&slot->view, 0, sizeof(slot->view));
		slot->view.ts_usec = now_usec;
		slot->heap = NULL;

		/* An idle live link expires flows now and then: what waits in the batch goes with it. */
		worker_commit(w, true);
	}
}

/*
 * Heap memory freed by a worker thread goes back to glibc's per-thread
 * arena, which returns the top of its heap to the kernel as soon as 128 KiB
 * are free there. The analyzers free and allocate again at that scale for
 * every connection, so a worker faulted the same pages in again and again.
 * With the reader and one worker thread that was 320,000 page faults and
 * 0.8 s of system time on the 1 GiB benchmark mix, against 14,000 faults
 * without threads. A larger trim threshold keeps the pages mapped, at the
 * cost of up to that much freed memory per arena.
 */
#define WORKER_MALLOC_TRIM_BYTES (64 * 1024 * 1024)

struct worker_pool *worker_pool_new(unsigned count, struct flow_table *const *tables)
{
	struct worker_pool *pool = calloc(1, sizeof(*pool));

	if (pool == NULL)
		return NULL;
	(void)mallopt(M_TRIM_THRESHOLD, WORKER_MALLOC_TRIM_BYTES);
	/* struct worker is cache-line aligned, which calloc() does not promise; its size is a multiple of 64. */
	pool->workers = aligned_alloc(64, count * sizeof(*pool->workers));
	if (pool->workers != NULL)
		memset(pool->workers, 0, count * sizeof(*pool->workers));
	if (pool->workers == NULL) {
		free(pool);
		return NULL;
	}
	pool->count = count;
	for (unsigned i = 0; i < count; i++) {
		struct worker *w = &pool->workers[i];

		w->flows = tables[i];
		w->slots = calloc(WORKER_RING_SLOTS, sizeof(*w->slots));
		if (w->slots == NULL || pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			worker_pool_stop(pool);
			worker_pool_free(pool);
			return NULL;
		}
		w->started = true;
	}
	return pool;
}

void worker_pool_stop(struct worker_pool *pool)
{
	for (unsigned i = 0; i < pool->count; i++) {
		worker_publish(&pool->workers[i]);
		atomic_store_explicit(&pool->workers[i].stopping, true, memory_order_release);
	}
	for (unsigned i = 0; i < pool->count; i++) {
		if (pool->workers[i].started) {
			pthread_join(pool->workers[i].thread, NULL);
			pool->workers[i].started = false;
		}
	}
}

void worker_pool_free(struct worker_pool *pool)
{
	if (pool == NULL)
		return;
	for (unsigned i = 0; i < pool->count; i++)
		free(pool->workers[i].slots);
	free(pool->workers);
	free(pool);
}
