/*
 * The flow table: one entry per TCP connection, keyed by the bidirectional
 * 5-tuple, with idle and closed timeouts in packet time, a cap with
 * least-recently-used eviction, TCP reassembly per direction, and the
 * hand-off of in-order bytes to the application analyzers.
 */
#ifndef MAILTAP_FLOW_TABLE_H
#define MAILTAP_FLOW_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/event.h"
#include "reassembly/reassembly.h"

struct packet_view;
struct session;
struct tls_context;
struct classifier;
struct flow_table;

/* Called once per ended mail session, before its memory is released. */
typedef void (*flow_session_end_fn)(void *ctx, struct session *s);

enum flow_count {
	FLOW_COUNT_CREATED = 0,
	FLOW_COUNT_ENDED_FIN,
	FLOW_COUNT_ENDED_RST,
	FLOW_COUNT_ENDED_TIMEOUT,
	FLOW_COUNT_EVICTED,
	FLOW_COUNT_ENDED_OPEN,
	FLOW_COUNT_SESSIONS,	     /* session records produced */
	FLOW_COUNT_MAIL_BY_NDPI,     /* mail found by nDPI off the port map */
	FLOW_COUNT_NON_MAIL_ON_MAIL_PORT,
	FLOW_COUNT_BYPASSED,
	FLOW_COUNT_BYPASSED_PACKETS,
	FLOW_COUNT_ALLOC_FAILURES,
	FLOW_COUNT_PENDING_OVERFLOW, /* bytes held for classification past their cap */
	FLOW_COUNT_COUNT
};

const char *flow_count_name(enum flow_count c);

/* Analyzer caps hit, added up from the sessions as they end. */
enum app_count {
	APP_COUNT_LINES_TOO_LONG = 0,
	APP_COUNT_LITERALS_OVER_LIMIT,
	APP_COUNT_TLS_HANDSHAKES_UNPARSABLE,
	APP_COUNT_COUNT
};

const char *app_count_name(enum app_count c);

struct flow_table_stats {
	uint64_t counts[FLOW_COUNT_COUNT];
	uint64_t app[APP_COUNT_COUNT];
	uint64_t active;     /* flows in the table now */
	uint64_t max_active; /* high-water mark */
};

/*
 * Creates a table. cfg, tls and classifier are not owned and must outlive
 * it; classifier may be NULL to skip nDPI. The sink receives analyzer
 * events; on_end receives every finished session.
 */
struct flow_table *flow_table_new(const struct mailtap_config *cfg, const struct tls_context *tls,
				  struct classifier *classifier, const struct event_sink *sink,
				  flow_session_end_fn on_end, void *end_ctx);
/* Ends every flow still open (their sessions are reported) and frees the table. */
void flow_table_free(struct flow_table *t);

/* Processes one decoded TCP segment; expires flows that timed out before it. */
void flow_table_process(struct flow_table *t, const struct packet_view *pkt);
/* Expires flows idle past their timeout at packet time now_usec. */
void flow_table_expire(struct flow_table *t, uint64_t now_usec);
/* Ends every open flow now, reporting each session (end of input, shutdown). */
void flow_table_flush(struct flow_table *t);
/*
 * The next flow that flow_table_flush would end, for merging the flushes
 * of several tables in one order: open flows first, then closed ones, each
 * least recently used first. Returns false when the table is empty, else
 * true with a sort key in *order (smaller ends first).
 */
bool flow_table_flush_peek(const struct flow_table *t, uint64_t *order);
/* Ends that flow. */
void flow_table_flush_next(struct flow_table *t);

void flow_table_get_stats(const struct flow_table *t, struct flow_table_stats *out);
const struct reasm_budget *flow_table_reasm_budget(const struct flow_table *t);

#endif
