/*
 * Worker threads for --workers N: the reader thread decodes each frame and
 * hands the TCP segment to one worker chosen by a symmetric flow hash, so
 * both directions of a connection meet in the same worker and its flow
 * table. Each worker owns a bounded single-producer, single-consumer ring.
 */
#ifndef MAILTAP_WORKERS_H
#define MAILTAP_WORKERS_H

#include <stdint.h>

struct packet_view;
struct flow_table;
struct worker_pool;

/* Ring slots per worker; a full ring makes the reader wait (offline) as a kernel buffer would drop (live). */
#define WORKER_RING_SLOTS 4096u

/*
 * Starts count workers; worker i processes packets with tables[i] (not
 * owned). Returns NULL when threads or memory cannot be had.
 */
struct worker_pool *worker_pool_new(unsigned count, struct flow_table *const *tables);
/* Copies the segment into the ring of the worker that owns its flow. */
void worker_pool_dispatch(struct worker_pool *pool, const struct packet_view *pkt);
/* Asks every worker to expire idle flows at now_usec (live capture while the link is idle). */
void worker_pool_expire(struct worker_pool *pool, uint64_t now_usec);
/* Waits until every queued segment was processed, then stops and joins the workers. */
void worker_pool_stop(struct worker_pool *pool);
void worker_pool_free(struct worker_pool *pool);
/* Picks the worker of a segment: the same for both directions of a connection. */
unsigned worker_pool_pick(const struct packet_view *pkt, unsigned count);

#endif
