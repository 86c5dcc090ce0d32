/* Worker threads fed through per-worker rings. */
#include "sensor/workers.h"

#include <pthread.h>
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

struct worker {
	pthread_t thread;
	struct flow_table *flows; /* not owned */
	struct worker_slot *slots;
	_Atomic uint64_t head; /* next slot the reader fills */
	_Atomic uint64_t tail; /* next slot the worker takes */
	_Atomic bool stopping;
	bool started;
};

struct worker_pool {
	struct worker *workers;
	unsigned count;
};

static void worker_pause(unsigned *spins)
{
	struct timespec ts = {0, 50000};

	/* Spin briefly for low latency, then sleep so an idle side does not burn a core. */
	if (++*spins < 64)
		return;
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

/* Waits for a free slot in w's ring and returns it. */
static struct worker_slot *worker_reserve(struct worker *w, uint64_t *head)
{
	unsigned spins = 0;

	*head = atomic_load_explicit(&w->head, memory_order_relaxed);
	while (*head - atomic_load_explicit(&w->tail, memory_order_acquire) >= WORKER_RING_SLOTS)
		worker_pause(&spins);
	return &w->slots[*head % WORKER_RING_SLOTS];
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
	uint64_t head;
	struct worker_slot *slot = worker_reserve(w, &head);

	slot->kind = WORKER_SLOT_PACKET;
	worker_copy_view(slot, pkt);
	atomic_store_explicit(&w->head, head + 1, memory_order_release);
}

void worker_pool_expire(struct worker_pool *pool, uint64_t now_usec)
{
	for (unsigned i = 0; i < pool->count; i++) {
		struct worker *w = &pool->workers[i];
		uint64_t head;
		struct worker_slot *slot = worker_reserve(w, &head);

		slot->kind = WORKER_SLOT_EXPIRE;
		memset(&slot->view, 0, sizeof(slot->view));
		slot->view.ts_usec = now_usec;
		slot->heap = NULL;
		atomic_store_explicit(&w->head, head + 1, memory_order_release);
	}
}

struct worker_pool *worker_pool_new(unsigned count, struct flow_table *const *tables)
{
	struct worker_pool *pool = calloc(1, sizeof(*pool));

	if (pool == NULL)
		return NULL;
	pool->workers = calloc(count, sizeof(*pool->workers));
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
	for (unsigned i = 0; i < pool->count; i++)
		atomic_store_explicit(&pool->workers[i].stopping, true, memory_order_release);
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
