/*
 * Learnt MTA-STS policies in the state file: one row per domain in the
 * mta_sts_learnt table, written in batches like the sessions and read back
 * when a sensor starts. The table is created on open, so a state file
 * written before it existed gains it without a schema version change.
 */
#include "history/history_internal.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/mta_sts_learn.h"

static const char history_policy_schema_sql[] =
	"CREATE TABLE IF NOT EXISTS mta_sts_learnt ("
	" domain TEXT PRIMARY KEY, policy_id TEXT NOT NULL DEFAULT '', from_dns INTEGER NOT NULL DEFAULT 0,"
	" from_https INTEGER NOT NULL DEFAULT 0, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL);";

/* Each row keeps the latest id and every source ever seen. */
static const char history_policy_upsert_sql[] =
	"INSERT INTO mta_sts_learnt VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
	" ON CONFLICT (domain) DO UPDATE SET"
	" policy_id = CASE WHEN excluded.policy_id <> '' THEN excluded.policy_id ELSE policy_id END,"
	" from_dns = max(from_dns, excluded.from_dns), from_https = max(from_https, excluded.from_https),"
	" first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)";

struct history_policy_queue {
	struct mta_sts_learnt rows[LIMIT_MTA_STS_LEARNT_BATCH];
	size_t count;
};

struct history_policy_queue *history_policy_queue_new(void)
{
	return calloc(1, sizeof(struct history_policy_queue));
}

void history_policy_queue_free(struct history_policy_queue *q)
{
	free(q);
}

bool history_policy_queue_add(struct history_policy_queue *q, const struct mta_sts_learnt *entry)
{
	if (q->count < LIMIT_MTA_STS_LEARNT_BATCH)
		q->rows[q->count++] = *entry;
	return q->count == LIMIT_MTA_STS_LEARNT_BATCH;
}

int history_policy_prepare(struct history_store *st, char *err, size_t err_size)
{
	sqlite3 *db = history_store_db(st);

	if (sqlite3_exec(db, history_policy_schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, err_size, "cannot create the mta_sts_learnt table of the state file: %s",
			 sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

static int history_policy_write_row(sqlite3_stmt *stmt, const struct mta_sts_learnt *p)
{
	int rc;

	sqlite3_bind_text(stmt, 1, p->domain, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 2, p->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(stmt, 3, (p->sources & MTA_STS_SOURCE_DNS) != 0);
	sqlite3_bind_int(stmt, 4, (p->sources & MTA_STS_SOURCE_HTTPS) != 0);
	sqlite3_bind_int64(stmt, 5, (sqlite3_int64)p->first_usec);
	sqlite3_bind_int64(stmt, 6, (sqlite3_int64)p->last_usec);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

int history_policy_queue_write(struct history_policy_queue *q, struct history_store *st)
{
	sqlite3 *db = history_store_db(st);
	sqlite3_stmt *stmt = NULL;
	int rc = 0;

	if (q->count == 0)
		return 0;
	if (sqlite3_prepare_v2(db, history_policy_upsert_sql, -1, &stmt, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_finalize(stmt);
		q->count = 0;
		return -1;
	}
	for (size_t i = 0; i < q->count && rc == 0; i++)
		rc = history_policy_write_row(stmt, &q->rows[i]);
	sqlite3_finalize(stmt);
	if (rc != 0 || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		rc = -1;
	}
	q->count = 0;
	return rc;
}

long history_policy_read(struct history_store *st, void (*fn)(void *ctx, const struct mta_sts_learnt *entry),
			 void *ctx)
{
	sqlite3 *db = history_store_db(st);
	sqlite3_stmt *stmt = NULL;
	long rows = 0;
	int rc;

	if (sqlite3_prepare_v2(db,
			       "SELECT domain, policy_id, from_dns, from_https, first_seen, last_seen"
			       " FROM mta_sts_learnt ORDER BY last_seen",
			       -1, &stmt, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct mta_sts_learnt p;
		const unsigned char *domain = sqlite3_column_text(stmt, 0);
		const unsigned char *id = sqlite3_column_text(stmt, 1);
		sqlite3_int64 first = sqlite3_column_int64(stmt, 4);
		sqlite3_int64 last = sqlite3_column_int64(stmt, 5);

		/* The file may have been edited by hand; the learner checks the domain again. */
		memset(&p, 0, sizeof(p));
		snprintf(p.domain, sizeof(p.domain), "%s", domain != NULL ? (const char *)domain : "");
		snprintf(p.id, sizeof(p.id), "%s", id != NULL ? (const char *)id : "");
		p.sources = (sqlite3_column_int(stmt, 2) != 0 ? MTA_STS_SOURCE_DNS : 0u) |
			    (sqlite3_column_int(stmt, 3) != 0 ? MTA_STS_SOURCE_HTTPS : 0u);
		p.first_usec = first > 0 ? (uint64_t)first : 0;
		p.last_usec = last > 0 ? (uint64_t)last : 0;
		fn(ctx, &p);
		rows++;
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? rows : -1;
}
