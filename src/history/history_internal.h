/*
 * Internals of the server history shared by its three files: the in-memory
 * key table (history_map.c), the SQLite state file (history_store.c) and
 * the verdicts (history.c).
 */
#ifndef MAILTAP_HISTORY_INTERNAL_H
#define MAILTAP_HISTORY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"
#include "history/history.h"
#include "mail/mail_summary.h"

/* Key kinds; a key is the kind byte followed by text fields joined by a space. */
#define HISTORY_KEY_SERVER 'S' /* "S addr port" */
#define HISTORY_KEY_NAME 'N'   /* "N host" */
#define HISTORY_KEY_PAIR 'P'   /* "P client addr port" */
#define HISTORY_KEY_CERTIFICATE 'C' /* "C name port", or "C addr port" without a name */
/* Key buffer size: room for the kind, two IPv6 addresses and a port, or a host name of LIMIT_HISTORY_NAME_BYTES. */
#define HISTORY_KEY_SIZE (LIMIT_HISTORY_NAME_BYTES + 120u)

/* A client and server pair as the state file stores it. */
#define HISTORY_ADDR_SIZE 48

/* One key's counters; the map owns it. */
struct history_entry {
	struct history_entry *next; /* bucket chain */
	uint32_t hash;
	struct history_counts counts;
	char key[]; /* NUL-terminated */
};

struct history_map;

struct history_map *history_map_new(void);
void history_map_free(struct history_map *m);
/* Returns the entry of key, or NULL. */
struct history_entry *history_map_find(const struct history_map *m, const char *key);
/* Returns the entry of key, adding a zeroed one; NULL past LIMIT_HISTORY_ENTRIES or out of memory. */
struct history_entry *history_map_get(struct history_map *m, const char *key);

/* One ended session, copied for the state file. */
struct history_observation {
	char client[HISTORY_ADDR_SIZE];
	char server[HISTORY_ADDR_SIZE];
	uint16_t port;
	char name[LIMIT_HISTORY_NAME_BYTES + 1]; /* normalized host name, "" when none */
	uint64_t first_usec;
	uint64_t last_usec;
	enum tristate offered;
	bool starttls_used;
	bool tls_seen;
	uint16_t version;
	uint16_t cipher;
	char certificate[65];
	char certificate_identity[LIMIT_HISTORY_NAME_BYTES + 1]; /* the name, else the server address */
	char subject[128]; /* printable ASCII prefix of the certificate subject */
	char mechanisms[LIMIT_AUTH_RECORDS][24];
	uint32_t mechanism_count;
	bool apop_greeting_seen; /* a POP3 +OK greeting was captured */
	bool apop_timestamp;	 /* and it carried an APOP timestamp */
};

struct history_store;

/*
 * Opens or creates the state file, takes the exclusive lock and creates the
 * tables. Returns NULL with a message in err.
 */
struct history_store *history_store_open(const char *path, char *err, size_t err_size);
/* Loads every key the verdicts need into the map. Returns 0 or a negative value. */
int history_store_load(struct history_store *st, struct history_map *m, char *err, size_t err_size);
/* Writes observations in one transaction. Returns 0, or a negative value after a rollback. */
int history_store_write(struct history_store *st, const struct history_observation *obs, size_t count);
void history_store_close(struct history_store *st);
/* Returns the store's database connection, for the tables kept in other files. */
struct sqlite3 *history_store_db(struct history_store *st);

/* Learnt MTA-STS policies (history_policy.c). */
struct mta_sts_learnt;
struct history_policy_queue;

struct history_policy_queue *history_policy_queue_new(void);
void history_policy_queue_free(struct history_policy_queue *q);
/* Queues a copy of entry. Returns true when the queue is full and must be written. */
bool history_policy_queue_add(struct history_policy_queue *q, const struct mta_sts_learnt *entry);
/* Creates the mta_sts_learnt table when it is missing. Returns 0, or -1 with a message in err. */
int history_policy_prepare(struct history_store *st, char *err, size_t err_size);
/* Writes and empties the queue in one transaction. Returns 0, or -1 after a rollback (the rows are dropped). */
int history_policy_queue_write(struct history_policy_queue *q, struct history_store *st);
/* Calls fn for every stored policy, least recently seen first. Returns the rows read, or -1 on a read error. */
long history_policy_read(struct history_store *st, void (*fn)(void *ctx, const struct mta_sts_learnt *entry),
			 void *ctx);

#endif
