/*
 * Server history: what earlier sessions showed about each mail server, and
 * the verdicts that need it. A server that offered STARTTLS before and does
 * not now was stripped, and so was a POP3 server that sent an APOP
 * timestamp before and does not now. A client and server that negotiated
 * TLS 1.2 or 1.3 before and settle lower now regressed. A server name that
 * presents a new certificate changed it. The history lives in memory for one
 * run and, with --state FILE, in an SQLite file across runs.
 */
#ifndef MAILTAP_HISTORY_H
#define MAILTAP_HISTORY_H

#include <stddef.h>
#include <stdint.h>

struct history;
struct session;
struct endpoint;

/* Counters of one server key, for tests and tools. */
struct history_counts {
	uint32_t sessions;
	uint32_t starttls_offered;
	uint32_t starttls_not_offered;
	uint16_t best_version; /* pairs only: highest TLS version negotiated */
	uint32_t apop_offered;	   /* address and port only: POP3 greetings with an APOP timestamp */
	uint32_t apop_not_offered; /* address and port only: POP3 greetings without one */
	char certificate[65];  /* last certificate's SHA-256, "" when none */
};

/*
 * Opens the history. With path NULL it is in memory only. Otherwise the
 * SQLite file is created or opened in WAL mode, locked for this process
 * alone, and its contents loaded. Returns NULL with a message in err, for
 * example when another process has the file locked.
 */
struct history *history_open(const char *path, char *err, size_t err_size);
/*
 * Applies the history verdicts to a session that just ended (anomalies,
 * events through the session's sink, evidence.history), then records the
 * session. Call it before the session's own record and rules. Returns 0, or
 * a negative value when a batch could not be written to the state file.
 * Each failed batch is logged once, and the in-memory history stays correct.
 */
int history_apply(struct history *h, struct session *s);
/* Writes the queued sessions to the state file in one transaction. Returns 0 or a negative value. */
int history_flush(struct history *h);
struct mta_sts_learnt;
/*
 * Queues a learnt MTA-STS policy for the state file, written with the next
 * batch of sessions or when LIMIT_MTA_STS_LEARNT_BATCH are queued. Without
 * --state it does nothing.
 */
void history_note_learnt_policy(struct history *h, const struct mta_sts_learnt *entry);
/* Calls fn for every learnt policy in the state file. Returns the count, 0 without one, or -1 on a read error. */
long history_each_learnt_policy(struct history *h, void (*fn)(void *ctx, const struct mta_sts_learnt *entry),
				void *ctx);
/* Flushes, releases the lock and frees; NULL is allowed. */
void history_close(struct history *h);

/* Lookups for tests and tools; they take no lock, so call them when no session is being applied. */
/* Looks up a server by address and port. Returns 0, or -1 when it is not in the history. */
int history_lookup_server(const struct history *h, const struct endpoint *server, struct history_counts *out);
/* Looks up a server by host name. Returns 0, or -1 when it is not in the history. */
int history_lookup_name(const struct history *h, const char *name, struct history_counts *out);
/* Looks up a client address and server pair. Returns 0, or -1 when it is not in the history. */
int history_lookup_pair(const struct history *h, const struct endpoint *client, const struct endpoint *server,
			struct history_counts *out);
/* Keys that did not fit under LIMIT_HISTORY_ENTRIES and sessions whose write failed. */
uint64_t history_dropped_keys(const struct history *h);
uint64_t history_failed_writes(const struct history *h);

#endif
