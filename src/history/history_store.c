/*
 * The state file behind --state: an SQLite database in WAL mode, held by
 * one process through SQLite's exclusive locking mode. Sessions reach it in
 * batches, one transaction per batch, as upserts that add to the counters,
 * so a batch either lands whole or not at all when the process dies.
 * Times are microseconds since the Unix epoch, in packet time.
 */
#include "history/history_internal.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/proto.h"
#include "output/format.h"

#define HISTORY_SCHEMA_VERSION 1

static const char history_schema_sql[] =
	"CREATE TABLE IF NOT EXISTS servers ("
	" addr TEXT NOT NULL, port INTEGER NOT NULL, host TEXT NOT NULL DEFAULT '',"
	" sessions INTEGER NOT NULL DEFAULT 0, starttls_offered INTEGER NOT NULL DEFAULT 0,"
	" starttls_not_offered INTEGER NOT NULL DEFAULT 0, starttls_used INTEGER NOT NULL DEFAULT 0,"
	" certificate TEXT NOT NULL DEFAULT '', first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
	" PRIMARY KEY (addr, port));"
	"CREATE TABLE IF NOT EXISTS names ("
	" name TEXT PRIMARY KEY, sessions INTEGER NOT NULL DEFAULT 0,"
	" starttls_offered INTEGER NOT NULL DEFAULT 0, starttls_not_offered INTEGER NOT NULL DEFAULT 0,"
	" certificate TEXT NOT NULL DEFAULT '', first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS server_tls ("
	" addr TEXT NOT NULL, port INTEGER NOT NULL, version TEXT NOT NULL, cipher TEXT NOT NULL,"
	" sessions INTEGER NOT NULL DEFAULT 0, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
	" PRIMARY KEY (addr, port, version, cipher));"
	"CREATE TABLE IF NOT EXISTS server_certificates ("
	" addr TEXT NOT NULL, port INTEGER NOT NULL, sha256 TEXT NOT NULL, subject TEXT NOT NULL,"
	" sessions INTEGER NOT NULL DEFAULT 0, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
	" PRIMARY KEY (addr, port, sha256));"
	"CREATE TABLE IF NOT EXISTS certificates ("
	" identity TEXT NOT NULL, port INTEGER NOT NULL, sha256 TEXT NOT NULL,"
	" first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, PRIMARY KEY (identity, port));"
	"CREATE TABLE IF NOT EXISTS pairs ("
	" client TEXT NOT NULL, addr TEXT NOT NULL, port INTEGER NOT NULL,"
	" best_version INTEGER NOT NULL, last_version INTEGER NOT NULL, sessions INTEGER NOT NULL DEFAULT 0,"
	" first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, PRIMARY KEY (client, addr, port));"
	"CREATE TABLE IF NOT EXISTS client_auth ("
	" client TEXT NOT NULL, mechanism TEXT NOT NULL, sessions INTEGER NOT NULL DEFAULT 0,"
	" first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, PRIMARY KEY (client, mechanism));"
	/*
	 * server_apop came after the tables above, as a table of its own: opening
	 * a file written without it creates it empty, and builds that do not know
	 * it ignore it, so the schema version stays 1.
	 */
	"CREATE TABLE IF NOT EXISTS server_apop ("
	" addr TEXT NOT NULL, port INTEGER NOT NULL, apop_offered INTEGER NOT NULL DEFAULT 0,"
	" apop_not_offered INTEGER NOT NULL DEFAULT 0, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
	" PRIMARY KEY (addr, port));";

enum history_statement {
	HISTORY_SQL_SERVER = 0,
	HISTORY_SQL_NAME,
	HISTORY_SQL_TLS,
	HISTORY_SQL_CERTIFICATE,
	HISTORY_SQL_LAST_CERTIFICATE,
	HISTORY_SQL_PAIR,
	HISTORY_SQL_AUTH,
	HISTORY_SQL_APOP,
	HISTORY_SQL_COUNT
};

/* Each upsert adds one session to its row; ?first and ?last are the session's packet times. */
static const char *const history_statement_sql[HISTORY_SQL_COUNT] = {
	[HISTORY_SQL_SERVER] =
		"INSERT INTO servers VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?8, ?9)"
		" ON CONFLICT (addr, port) DO UPDATE SET"
		" host = CASE WHEN excluded.host <> '' THEN excluded.host ELSE host END,"
		" sessions = sessions + 1, starttls_offered = starttls_offered + excluded.starttls_offered,"
		" starttls_not_offered = starttls_not_offered + excluded.starttls_not_offered,"
		" starttls_used = starttls_used + excluded.starttls_used,"
		" certificate = CASE WHEN excluded.certificate <> '' THEN excluded.certificate ELSE certificate END,"
		" first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)",
	[HISTORY_SQL_NAME] =
		"INSERT INTO names VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6)"
		" ON CONFLICT (name) DO UPDATE SET"
		" sessions = sessions + 1, starttls_offered = starttls_offered + excluded.starttls_offered,"
		" starttls_not_offered = starttls_not_offered + excluded.starttls_not_offered,"
		" certificate = CASE WHEN excluded.certificate <> '' THEN excluded.certificate ELSE certificate END,"
		" first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)",
	[HISTORY_SQL_TLS] =
		"INSERT INTO server_tls VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6)"
		" ON CONFLICT (addr, port, version, cipher) DO UPDATE SET sessions = sessions + 1,"
		" first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)",
	[HISTORY_SQL_CERTIFICATE] =
		"INSERT INTO server_certificates VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6)"
		" ON CONFLICT (addr, port, sha256) DO UPDATE SET sessions = sessions + 1,"
		" first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)",
	[HISTORY_SQL_LAST_CERTIFICATE] =
		"INSERT INTO certificates VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT (identity, port) DO UPDATE SET"
		" first_seen = CASE WHEN sha256 = excluded.sha256 THEN first_seen ELSE excluded.first_seen END,"
		" sha256 = excluded.sha256, last_seen = excluded.last_seen",
	[HISTORY_SQL_PAIR] =
		"INSERT INTO pairs VALUES (?1, ?2, ?3, ?4, ?4, 1, ?5, ?6)"
		" ON CONFLICT (client, addr, port) DO UPDATE SET"
		" best_version = max(best_version, excluded.best_version), last_version = excluded.last_version,"
		" sessions = sessions + 1,"
		" first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)",
	[HISTORY_SQL_AUTH] =
		"INSERT INTO client_auth VALUES (?1, ?2, 1, ?3, ?4)"
		" ON CONFLICT (client, mechanism) DO UPDATE SET sessions = sessions + 1,"
		" first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)",
	[HISTORY_SQL_APOP] =
		"INSERT INTO server_apop VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
		" ON CONFLICT (addr, port) DO UPDATE SET apop_offered = apop_offered + excluded.apop_offered,"
		" apop_not_offered = apop_not_offered + excluded.apop_not_offered,"
		" first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)",
};

struct history_store {
	sqlite3 *db;
	sqlite3_stmt *statements[HISTORY_SQL_COUNT];
};

struct sqlite3 *history_store_db(struct history_store *st)
{
	return st->db;
}

void history_store_close(struct history_store *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < HISTORY_SQL_COUNT; i++)
		sqlite3_finalize(st->statements[i]);
	/* Closing the last connection checkpoints the WAL into the database and releases the lock. */
	sqlite3_close(st->db);
	free(st);
}

/* Takes the lock that excludes a second process, and switches the file to WAL. */
static int history_store_lock(struct history_store *st, const char *path, char *err, size_t err_size)
{
	int rc;

	/* A second process must fail at once rather than wait for a lock that a sensor never releases. */
	sqlite3_busy_timeout(st->db, 0);
	rc = sqlite3_exec(st->db, "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL;"
				  " PRAGMA synchronous = NORMAL; BEGIN EXCLUSIVE; COMMIT;",
			  NULL, NULL, NULL);
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
		snprintf(err, err_size,
			 "state file %s is locked by another process; run one mailtap per state file", path);
		return -1;
	}
	if (rc == SQLITE_NOTADB) {
		snprintf(err, err_size, "state file %s is not an SQLite database", path);
		return -1;
	}
	if (rc != SQLITE_OK) {
		snprintf(err, err_size, "cannot lock state file %s: %s", path, sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

/* Creates the tables of a new file, or checks the schema version of an existing one. */
static int history_store_prepare_schema(struct history_store *st, const char *path, char *err, size_t err_size)
{
	sqlite3_stmt *stmt = NULL;
	int version = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		version = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	if (version != 0 && version != HISTORY_SCHEMA_VERSION) {
		snprintf(err, err_size, "state file %s has schema version %d; this mailtap reads version %d", path,
			 version, HISTORY_SCHEMA_VERSION);
		return -1;
	}
	if (sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(st->db, history_schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(st->db, "PRAGMA user_version = 1; COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, err_size, "cannot create the tables of state file %s: %s", path,
			 sqlite3_errmsg(st->db));
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	for (int i = 0; i < HISTORY_SQL_COUNT; i++) {
		if (sqlite3_prepare_v2(st->db, history_statement_sql[i], -1, &st->statements[i], NULL) != SQLITE_OK) {
			snprintf(err, err_size, "cannot prepare a statement for state file %s: %s", path,
				 sqlite3_errmsg(st->db));
			return -1;
		}
	}
	return 0;
}

struct history_store *history_store_open(const char *path, char *err, size_t err_size)
{
	struct history_store *st = calloc(1, sizeof(*st));
	int rc;

	if (st == NULL) {
		snprintf(err, err_size, "cannot open state file %s: out of memory", path);
		return NULL;
	}
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, err_size, "cannot open state file %s: %s", path,
			 st->db != NULL ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		history_store_close(st);
		return NULL;
	}
	if (history_store_lock(st, path, err, err_size) != 0 ||
	    history_store_prepare_schema(st, path, err, err_size) != 0) {
		history_store_close(st);
		return NULL;
	}
	return st;
}

/* Copies a text column into a fixed buffer, truncating; NULL becomes "". */
static void history_store_column_text(sqlite3_stmt *stmt, int col, char *out, size_t size)
{
	const unsigned char *text = sqlite3_column_text(stmt, col);

	snprintf(out, size, "%s", text != NULL ? (const char *)text : "");
}

static uint32_t history_store_column_count(sqlite3_stmt *stmt, int col)
{
	sqlite3_int64 v = sqlite3_column_int64(stmt, col);

	/* The file may have been edited by hand: clamp what does not fit a counter. */
	if (v < 0)
		return 0;
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/*
 * Runs one SELECT whose first columns build a key ("S addr port", "N name"
 * or "P client addr port", key_columns of them after the kind) and whose
 * next four are sessions, offered, not offered and the certificate or the
 * best version.
 */
static int history_store_load_query(struct history_store *st, struct history_map *m, const char *sql, char kind,
				    int key_columns)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		char key[HISTORY_KEY_SIZE];
		size_t len = 0;
		struct history_entry *e;

		key[len++] = kind;
		key[len] = '\0';
		for (int c = 0; c < key_columns && len < sizeof(key); c++) {
			const unsigned char *text = sqlite3_column_text(stmt, c);
			int n = snprintf(key + len, sizeof(key) - len, " %s", text != NULL ? (const char *)text : "");

			len = n < 0 ? sizeof(key) : len + (size_t)n;
		}
		e = history_map_get(m, key);
		if (e == NULL)
			continue;
		e->counts.sessions = history_store_column_count(stmt, key_columns);
		e->counts.starttls_offered = history_store_column_count(stmt, key_columns + 1);
		e->counts.starttls_not_offered = history_store_column_count(stmt, key_columns + 2);
		if (kind == HISTORY_KEY_PAIR)
			e->counts.best_version = (uint16_t)history_store_column_count(stmt, key_columns + 3);
		else
			history_store_column_text(stmt, key_columns + 3, e->counts.certificate,
						  sizeof(e->counts.certificate));
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Adds the APOP greeting counts to the address and port keys that the servers table loaded. */
static int history_store_load_apop(struct history_store *st, struct history_map *m)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT addr, port, apop_offered, apop_not_offered FROM server_apop", -1, &stmt,
			       NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const unsigned char *addr = sqlite3_column_text(stmt, 0);
		char key[HISTORY_KEY_SIZE];
		struct history_entry *e;

		snprintf(key, sizeof(key), "%c %s %d", HISTORY_KEY_SERVER, addr != NULL ? (const char *)addr : "",
			 sqlite3_column_int(stmt, 1));
		e = history_map_get(m, key);
		if (e == NULL)
			continue;
		e->counts.apop_offered = history_store_column_count(stmt, 2);
		e->counts.apop_not_offered = history_store_column_count(stmt, 3);
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

int history_store_load(struct history_store *st, struct history_map *m, char *err, size_t err_size)
{
	if (history_store_load_query(st, m,
				     "SELECT addr, port, sessions, starttls_offered, starttls_not_offered, certificate"
				     " FROM servers",
				     HISTORY_KEY_SERVER, 2) != 0 ||
	    history_store_load_query(st, m,
				     "SELECT name, sessions, starttls_offered, starttls_not_offered, certificate"
				     " FROM names",
				     HISTORY_KEY_NAME, 1) != 0 ||
	    history_store_load_query(st, m,
				     "SELECT client, addr, port, sessions, 0, 0, best_version FROM pairs",
				     HISTORY_KEY_PAIR, 3) != 0 ||
	    history_store_load_query(st, m, "SELECT identity, port, 0, 0, 0, sha256 FROM certificates",
				     HISTORY_KEY_CERTIFICATE, 2) != 0 ||
	    history_store_load_apop(st, m) != 0) {
		snprintf(err, err_size, "cannot read the state file: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

/* Binds text, or "" for NULL, as a transient copy. */
static void history_store_bind_text(sqlite3_stmt *stmt, int index, const char *text)
{
	sqlite3_bind_text(stmt, index, text != NULL ? text : "", -1, SQLITE_TRANSIENT);
}

static int history_store_step(sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int history_store_write_server(struct history_store *st, const struct history_observation *o)
{
	sqlite3_stmt *s = st->statements[HISTORY_SQL_SERVER];

	history_store_bind_text(s, 1, o->server);
	sqlite3_bind_int(s, 2, o->port);
	history_store_bind_text(s, 3, o->name);
	sqlite3_bind_int(s, 4, o->offered == TRISTATE_TRUE);
	sqlite3_bind_int(s, 5, o->offered == TRISTATE_FALSE);
	sqlite3_bind_int(s, 6, o->starttls_used);
	history_store_bind_text(s, 7, o->certificate);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)o->first_usec);
	sqlite3_bind_int64(s, 9, (sqlite3_int64)o->last_usec);
	if (history_store_step(s) != 0)
		return -1;
	if (o->name[0] == '\0')
		return 0;
	s = st->statements[HISTORY_SQL_NAME];
	history_store_bind_text(s, 1, o->name);
	sqlite3_bind_int(s, 2, o->offered == TRISTATE_TRUE);
	sqlite3_bind_int(s, 3, o->offered == TRISTATE_FALSE);
	history_store_bind_text(s, 4, o->certificate);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)o->first_usec);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)o->last_usec);
	return history_store_step(s);
}

static int history_store_write_tls(struct history_store *st, const struct history_observation *o)
{
	char version[TLS_VERSION_NAME_SIZE];
	char cipher[FORMAT_CIPHER_SIZE];
	sqlite3_stmt *s = st->statements[HISTORY_SQL_TLS];

	history_store_bind_text(s, 1, o->server);
	sqlite3_bind_int(s, 2, o->port);
	history_store_bind_text(s, 3, tls_version_name(o->version, version));
	history_store_bind_text(s, 4, format_cipher(o->cipher, cipher));
	sqlite3_bind_int64(s, 5, (sqlite3_int64)o->first_usec);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)o->last_usec);
	if (history_store_step(s) != 0)
		return -1;
	s = st->statements[HISTORY_SQL_PAIR];
	history_store_bind_text(s, 1, o->client);
	history_store_bind_text(s, 2, o->server);
	sqlite3_bind_int(s, 3, o->port);
	sqlite3_bind_int(s, 4, o->version);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)o->first_usec);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)o->last_usec);
	return history_store_step(s);
}

static int history_store_write_apop(struct history_store *st, const struct history_observation *o)
{
	sqlite3_stmt *s = st->statements[HISTORY_SQL_APOP];

	history_store_bind_text(s, 1, o->server);
	sqlite3_bind_int(s, 2, o->port);
	sqlite3_bind_int(s, 3, o->apop_timestamp);
	sqlite3_bind_int(s, 4, !o->apop_timestamp);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)o->first_usec);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)o->last_usec);
	return history_store_step(s);
}

static int history_store_write_extras(struct history_store *st, const struct history_observation *o)
{
	sqlite3_stmt *s;

	if (o->apop_greeting_seen && history_store_write_apop(st, o) != 0)
		return -1;

	if (o->certificate[0] != '\0') {
		s = st->statements[HISTORY_SQL_CERTIFICATE];
		history_store_bind_text(s, 1, o->server);
		sqlite3_bind_int(s, 2, o->port);
		history_store_bind_text(s, 3, o->certificate);
		history_store_bind_text(s, 4, o->subject);
		sqlite3_bind_int64(s, 5, (sqlite3_int64)o->first_usec);
		sqlite3_bind_int64(s, 6, (sqlite3_int64)o->last_usec);
		if (history_store_step(s) != 0)
			return -1;
		s = st->statements[HISTORY_SQL_LAST_CERTIFICATE];
		history_store_bind_text(s, 1, o->certificate_identity);
		sqlite3_bind_int(s, 2, o->port);
		history_store_bind_text(s, 3, o->certificate);
		sqlite3_bind_int64(s, 4, (sqlite3_int64)o->first_usec);
		sqlite3_bind_int64(s, 5, (sqlite3_int64)o->last_usec);
		if (history_store_step(s) != 0)
			return -1;
	}
	for (uint32_t i = 0; i < o->mechanism_count && i < LIMIT_AUTH_RECORDS; i++) {
		s = st->statements[HISTORY_SQL_AUTH];
		history_store_bind_text(s, 1, o->client);
		history_store_bind_text(s, 2, o->mechanisms[i]);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)o->first_usec);
		sqlite3_bind_int64(s, 4, (sqlite3_int64)o->last_usec);
		if (history_store_step(s) != 0)
			return -1;
	}
	return 0;
}

int history_store_write(struct history_store *st, const struct history_observation *obs, size_t count)
{
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	for (size_t i = 0; i < count; i++) {
		const struct history_observation *o = &obs[i];

		if (history_store_write_server(st, o) != 0 ||
		    (o->tls_seen && history_store_write_tls(st, o) != 0) ||
		    history_store_write_extras(st, o) != 0) {
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}
