/*
 * Server history: the verdicts in memory (STARTTLS stripped, TLS version
 * regression, certificate changed, REQUIRETLS in clear, APOP timestamp
 * stripped), and the SQLite
 * state file (two runs, the exclusive lock, batched writes, a process
 * killed between batches, a file that is not a database).
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/session.h"
#include "history/history.h"
#include "history/history_internal.h"
#include "tls/tls_cert.h"
#include "test.h"

#define TLS_1_0 0x0301u
#define TLS_1_1 0x0302u
#define TLS_1_2 0x0303u
#define TLS_1_3 0x0304u

static int stripped_events;

static void count_event(void *ctx, const struct event *ev)
{
	(void)ctx;
	if (ev->type == EVENT_STARTTLS_STRIPPED)
		stripped_events++;
}

static const struct event_sink test_sink = {count_event, NULL};

static void set_ipv4(struct endpoint *e, uint8_t last, uint16_t port)
{
	memset(e, 0, sizeof(*e));
	e->family = 4;
	e->addr[0] = 192;
	e->addr[1] = 0;
	e->addr[2] = 2;
	e->addr[3] = last;
	e->port = port;
}

/* An SMTP session from 192.0.2.<client> to 192.0.2.<server>:25 with the given STARTTLS offer. */
static void make_smtp(struct session *s, uint8_t client, uint8_t server, enum tristate offered, const char *host)
{
	memset(s, 0, sizeof(*s));
	set_ipv4(&s->client, client, 40000);
	set_ipv4(&s->server, server, 25);
	s->app_proto = APP_PROTO_SMTP;
	s->first_ts_usec = 1700000000000000u;
	s->last_ts_usec = 1700000001000000u;
	s->mail.starttls.offered = offered;
	if (host != NULL)
		wire_text_set(&s->mail.greeting_host, host, strlen(host));
	s->sink = &test_sink;
}

static void make_tls(struct session *s, uint8_t client, uint16_t version)
{
	make_smtp(s, client, 10, TRISTATE_TRUE, "mx.example.test");
	s->mail.starttls.attempted = true;
	s->mail.starttls.result = STARTTLS_RESULT_OK;
	s->tls.client_hello_seen = true;
	s->tls.server_hello_seen = true;
	s->tls.version = version;
	s->tls.cipher = 0xc02f;
}

/* A POP3 session from 192.0.2.<client> to 192.0.2.<server>:port whose greeting was captured. */
static void make_pop3(struct session *s, uint8_t client, uint8_t server, uint16_t port, bool timestamp)
{
	memset(s, 0, sizeof(*s));
	set_ipv4(&s->client, client, 40000);
	set_ipv4(&s->server, server, port);
	s->app_proto = APP_PROTO_POP3;
	s->first_ts_usec = 1700000000000000u;
	s->last_ts_usec = 1700000001000000u;
	s->mail.starttls.offered = TRISTATE_UNKNOWN;
	s->mail.apop.greeting_seen = true;
	s->mail.apop.timestamp = timestamp;
	s->sink = &test_sink;
}

static struct history *open_memory(void)
{
	char err[256];
	struct history *h = history_open(NULL, err, sizeof(err));

	CHECK(h != NULL);
	if (h == NULL)
		exit(1);
	return h;
}

static void test_stripped_memory(void)
{
	struct history *h = open_memory();
	struct session s;

	stripped_events = 0;
	make_smtp(&s, 1, 10, TRISTATE_TRUE, "mx.example.test");
	CHECK_EQ_INT(history_apply(h, &s), 0);
	CHECK(!session_has_anomaly(&s, ANOMALY_STARTTLS_STRIPPED));
	CHECK(!s.evidence.history.known);

	make_smtp(&s, 2, 10, TRISTATE_FALSE, "mx.example.test");
	CHECK_EQ_INT(history_apply(h, &s), 0);
	CHECK(session_has_anomaly(&s, ANOMALY_STARTTLS_STRIPPED));
	CHECK_EQ_INT(stripped_events, 1);
	CHECK(s.evidence.history.known);
	CHECK_EQ_INT(s.evidence.history.sessions, 1);
	CHECK_EQ_INT(s.evidence.history.starttls_offered, 1);
	CHECK_EQ_INT(s.evidence.history.starttls_not_offered, 0);
	history_close(h);
}

static void test_stripped_needs_earlier_offer(void)
{
	struct history *h = open_memory();
	struct session s;

	stripped_events = 0;
	make_smtp(&s, 1, 10, TRISTATE_FALSE, "mx.example.test");
	history_apply(h, &s);
	make_smtp(&s, 1, 10, TRISTATE_FALSE, "mx.example.test");
	history_apply(h, &s);
	CHECK(!session_has_anomaly(&s, ANOMALY_STARTTLS_STRIPPED));
	CHECK_EQ_INT(s.evidence.history.starttls_not_offered, 1);

	/* An unknown offer (no capability list seen) is no evidence of stripping. */
	make_smtp(&s, 1, 11, TRISTATE_TRUE, NULL);
	history_apply(h, &s);
	make_smtp(&s, 1, 11, TRISTATE_UNKNOWN, NULL);
	history_apply(h, &s);
	CHECK(!session_has_anomaly(&s, ANOMALY_STARTTLS_STRIPPED));
	CHECK_EQ_INT(stripped_events, 0);
	history_close(h);
}

static void test_stripped_by_name(void)
{
	struct history *h = open_memory();
	struct session s;
	struct history_counts c;

	stripped_events = 0;
	make_smtp(&s, 1, 10, TRISTATE_TRUE, "MX.Example.TEST");
	history_apply(h, &s);
	CHECK_EQ_INT(history_lookup_name(h, "mx.example.test", &c), 0);
	CHECK_EQ_INT(c.starttls_offered, 1);

	/* Another address sends the same greeting name, without STARTTLS. */
	make_smtp(&s, 1, 99, TRISTATE_FALSE, "mx.example.test");
	history_apply(h, &s);
	CHECK(session_has_anomaly(&s, ANOMALY_STARTTLS_STRIPPED));
	CHECK_EQ_INT(stripped_events, 1);
	history_close(h);
}

static void test_stripped_already_reported(void)
{
	struct history *h = open_memory();
	struct session s;

	stripped_events = 0;
	make_smtp(&s, 1, 10, TRISTATE_TRUE, NULL);
	history_apply(h, &s);
	make_smtp(&s, 1, 10, TRISTATE_FALSE, NULL);
	session_add_anomaly(&s, ANOMALY_STARTTLS_STRIPPED);
	history_apply(h, &s);
	CHECK(session_has_anomaly(&s, ANOMALY_STARTTLS_STRIPPED));
	CHECK_EQ_INT(stripped_events, 0);
	history_close(h);
}

static void test_name_rejects_wire_bytes(void)
{
	struct history *h = open_memory();
	struct session s;
	struct history_counts c;

	make_smtp(&s, 1, 10, TRISTATE_TRUE, "mx\x1b[31m.example.test");
	history_apply(h, &s);
	CHECK_EQ_INT(history_lookup_name(h, "mx\x1b[31m.example.test", &c), -1);
	CHECK_EQ_INT(history_lookup_server(h, &s.server, &c), 0);
	CHECK_EQ_INT(c.sessions, 1);
	make_smtp(&s, 1, 10, TRISTATE_TRUE, "mx example.test");
	history_apply(h, &s);
	CHECK_EQ_INT(history_lookup_name(h, "mx example.test", &c), -1);
	history_close(h);
}

static void test_version_regression(void)
{
	struct history *h = open_memory();
	struct session s;
	struct history_counts c;

	make_tls(&s, 1, TLS_1_3);
	history_apply(h, &s);
	CHECK(!session_has_anomaly(&s, ANOMALY_TLS_VERSION_REGRESSION));
	make_tls(&s, 1, TLS_1_2);
	history_apply(h, &s);
	CHECK(session_has_anomaly(&s, ANOMALY_TLS_VERSION_REGRESSION));
	CHECK_EQ_INT(s.evidence.history.best_version, TLS_1_3);
	CHECK_EQ_INT(history_lookup_pair(h, &s.client, &s.server, &c), 0);
	CHECK_EQ_INT(c.best_version, TLS_1_3);
	CHECK_EQ_INT(c.sessions, 2);

	/* Another client has no history with the server. */
	make_tls(&s, 2, TLS_1_0);
	history_apply(h, &s);
	CHECK(!session_has_anomaly(&s, ANOMALY_TLS_VERSION_REGRESSION));

	/* A pair that never reached TLS 1.2 does not regress. */
	make_tls(&s, 3, TLS_1_1);
	history_apply(h, &s);
	make_tls(&s, 3, TLS_1_0);
	history_apply(h, &s);
	CHECK(!session_has_anomaly(&s, ANOMALY_TLS_VERSION_REGRESSION));

	/* An unassigned version number is not compared. */
	make_tls(&s, 1, 0x7f1c);
	history_apply(h, &s);
	CHECK(!session_has_anomaly(&s, ANOMALY_TLS_VERSION_REGRESSION));
	make_tls(&s, 1, TLS_1_3);
	history_apply(h, &s);
	CHECK(!session_has_anomaly(&s, ANOMALY_TLS_VERSION_REGRESSION));
	history_close(h);
}

static void test_certificate_changed(void)
{
	struct history *h = open_memory();
	struct tls_cert_summary cert;
	struct session s;
	const char *first = "1111111111111111111111111111111111111111111111111111111111111111";
	const char *second = "2222222222222222222222222222222222222222222222222222222222222222";

	memset(&cert, 0, sizeof(cert));
	snprintf(cert.sha256, sizeof(cert.sha256), "%s", first);
	make_tls(&s, 1, TLS_1_2);
	s.tls.cert = &cert;
	history_apply(h, &s);
	CHECK(!session_has_anomaly(&s, ANOMALY_CERTIFICATE_CHANGED));

	make_tls(&s, 2, TLS_1_2);
	s.tls.cert = &cert;
	history_apply(h, &s);
	CHECK(!session_has_anomaly(&s, ANOMALY_CERTIFICATE_CHANGED));

	snprintf(cert.sha256, sizeof(cert.sha256), "%s", second);
	make_tls(&s, 1, TLS_1_2);
	s.tls.cert = &cert;
	history_apply(h, &s);
	CHECK(session_has_anomaly(&s, ANOMALY_CERTIFICATE_CHANGED));
	CHECK_EQ_STR(s.evidence.history.previous_certificate, first);

	/* The same name on another port (IMAP next to SMTP) has its own certificate. */
	make_tls(&s, 1, TLS_1_2);
	s.server.port = 993;
	s.app_proto = APP_PROTO_IMAPS;
	s.tls.cert = &cert;
	snprintf(cert.sha256, sizeof(cert.sha256), "%s", first);
	history_apply(h, &s);
	CHECK(!session_has_anomaly(&s, ANOMALY_CERTIFICATE_CHANGED));
	make_tls(&s, 1, TLS_1_2);
	s.tls.cert = &cert;
	history_apply(h, &s);
	CHECK(session_has_anomaly(&s, ANOMALY_CERTIFICATE_CHANGED));
	CHECK_EQ_STR(s.evidence.history.previous_certificate, second);

	/* A TLS 1.3 session shows no certificate, which is not a change. */
	make_tls(&s, 1, TLS_1_3);
	history_apply(h, &s);
	CHECK(!session_has_anomaly(&s, ANOMALY_CERTIFICATE_CHANGED));
	history_close(h);
}

static void test_requiretls_in_clear(void)
{
	struct history *h = open_memory();
	struct session s;

	make_smtp(&s, 1, 10, TRISTATE_TRUE, NULL);
	history_apply(h, &s);
	CHECK(!session_has_anomaly(&s, ANOMALY_REQUIRETLS_IN_CLEARTEXT));
	CHECK(!session_has_anomaly(&s, ANOMALY_TLS_REQUIRED_NO_IN_CLEARTEXT));

	make_smtp(&s, 1, 10, TRISTATE_TRUE, NULL);
	s.mail.requiretls.mail_in_clear = true;
	history_apply(h, &s);
	CHECK(session_has_anomaly(&s, ANOMALY_REQUIRETLS_IN_CLEARTEXT));

	make_smtp(&s, 1, 10, TRISTATE_TRUE, NULL);
	s.mail.requiretls.offered_in_clear = true;
	history_apply(h, &s);
	CHECK(session_has_anomaly(&s, ANOMALY_REQUIRETLS_IN_CLEARTEXT));

	make_smtp(&s, 1, 10, TRISTATE_TRUE, NULL);
	s.mail.requiretls.tls_required_no = true;
	history_apply(h, &s);
	CHECK(session_has_anomaly(&s, ANOMALY_TLS_REQUIRED_NO_IN_CLEARTEXT));
	CHECK(!session_has_anomaly(&s, ANOMALY_REQUIRETLS_IN_CLEARTEXT));
	history_close(h);
}

static void test_apop_stripped_memory(void)
{
	struct history *h = open_memory();
	struct session s;
	struct history_counts c;

	make_pop3(&s, 1, 20, 110, true);
	history_apply(h, &s);
	CHECK(!session_has_anomaly(&s, ANOMALY_APOP_TIMESTAMP_STRIPPED));
	CHECK(!s.evidence.history.known);

	make_pop3(&s, 2, 20, 110, false);
	history_apply(h, &s);
	CHECK(session_has_anomaly(&s, ANOMALY_APOP_TIMESTAMP_STRIPPED));
	CHECK(!session_has_anomaly(&s, ANOMALY_STARTTLS_STRIPPED));
	CHECK_EQ_INT(s.evidence.history.sessions, 1);
	CHECK_EQ_INT(s.evidence.history.apop_offered, 1);
	CHECK_EQ_INT(s.evidence.history.apop_not_offered, 0);

	/* The timestamp is back: no verdict, and the evidence counts both earlier greetings. */
	make_pop3(&s, 1, 20, 110, true);
	history_apply(h, &s);
	CHECK(!session_has_anomaly(&s, ANOMALY_APOP_TIMESTAMP_STRIPPED));
	CHECK_EQ_INT(s.evidence.history.apop_offered, 1);
	CHECK_EQ_INT(s.evidence.history.apop_not_offered, 1);
	CHECK_EQ_INT(history_lookup_server(h, &s.server, &c), 0);
	CHECK_EQ_INT(c.apop_offered, 2);
	CHECK_EQ_INT(c.apop_not_offered, 1);
	history_close(h);
}

static void test_apop_stripped_needs_same_server(void)
{
	struct history *h = open_memory();
	struct session s;

	make_pop3(&s, 1, 20, 110, true);
	history_apply(h, &s);

	/* Another port and another address of the same host are other servers. */
	make_pop3(&s, 1, 20, 1110, false);
	history_apply(h, &s);
	CHECK(!session_has_anomaly(&s, ANOMALY_APOP_TIMESTAMP_STRIPPED));
	make_pop3(&s, 1, 21, 110, false);
	history_apply(h, &s);
	CHECK(!session_has_anomaly(&s, ANOMALY_APOP_TIMESTAMP_STRIPPED));

	/* A session whose greeting was not captured is no evidence, and is not counted. */
	make_pop3(&s, 1, 20, 110, false);
	s.mail.apop.greeting_seen = false;
	history_apply(h, &s);
	CHECK(!session_has_anomaly(&s, ANOMALY_APOP_TIMESTAMP_STRIPPED));
	CHECK_EQ_INT(s.evidence.history.apop_not_offered, 0);
	make_pop3(&s, 1, 20, 110, false);
	history_apply(h, &s);
	CHECK(session_has_anomaly(&s, ANOMALY_APOP_TIMESTAMP_STRIPPED));
	CHECK_EQ_INT(s.evidence.history.sessions, 2);
	CHECK_EQ_INT(s.evidence.history.apop_offered, 1);
	CHECK_EQ_INT(s.evidence.history.apop_not_offered, 0);
	history_close(h);
}

static void test_map_cap(void)
{
	struct history_map *m = history_map_new();
	char key[32];
	uint32_t added = 0;

	CHECK(m != NULL);
	if (m == NULL)
		return;
	for (uint32_t i = 0; i < LIMIT_HISTORY_ENTRIES; i++) {
		snprintf(key, sizeof(key), "S k%u", i);
		if (history_map_get(m, key) != NULL)
			added++;
	}
	CHECK_EQ_INT(added, LIMIT_HISTORY_ENTRIES);
	CHECK(history_map_get(m, "S one-more") == NULL);
	CHECK(history_map_find(m, "S k0") != NULL);
	CHECK(history_map_get(m, "S k12345") != NULL);
	CHECK(history_map_find(m, "S k262143") != NULL);
	history_map_free(m);
}

/* A fresh path for a state file under TMPDIR; the caller removes it with remove_state(). */
static void state_path(char *path, size_t size, const char *name)
{
	const char *dir = getenv("TMPDIR");

	snprintf(path, size, "%s/mailtap-test-history-%ld-%s.db", dir != NULL ? dir : "/tmp", (long)getpid(), name);
}

static void remove_state(const char *path)
{
	char side[512];

	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

static void test_state_two_runs(void)
{
	char path[256];
	char err[256];
	struct history *h;
	struct session s;
	struct history_counts c;
	struct tls_cert_summary cert;

	state_path(path, sizeof(path), "runs");
	remove_state(path);
	h = history_open(path, err, sizeof(err));
	CHECK(h != NULL);
	if (h == NULL)
		return;
	make_smtp(&s, 1, 10, TRISTATE_TRUE, "mx.example.test");
	history_apply(h, &s);
	make_tls(&s, 1, TLS_1_3);
	history_apply(h, &s);
	memset(&cert, 0, sizeof(cert));
	snprintf(cert.sha256, sizeof(cert.sha256), "%s", "aa");
	make_tls(&s, 1, TLS_1_2);
	s.tls.cert = &cert;
	history_apply(h, &s);
	history_close(h);

	stripped_events = 0;
	h = history_open(path, err, sizeof(err));
	CHECK(h != NULL);
	if (h == NULL)
		return;
	CHECK_EQ_INT(history_lookup_server(h, &s.server, &c), 0);
	CHECK_EQ_INT(c.sessions, 3);
	CHECK_EQ_INT(c.starttls_offered, 3);
	CHECK_EQ_INT(history_lookup_name(h, "mx.example.test", &c), 0);
	CHECK_EQ_INT(c.sessions, 3);
	CHECK_EQ_INT(history_lookup_pair(h, &s.client, &s.server, &c), 0);
	CHECK_EQ_INT(c.best_version, TLS_1_3);

	make_smtp(&s, 1, 10, TRISTATE_FALSE, "mx.example.test");
	history_apply(h, &s);
	CHECK(session_has_anomaly(&s, ANOMALY_STARTTLS_STRIPPED));
	CHECK_EQ_INT(stripped_events, 1);
	CHECK_EQ_INT(s.evidence.history.sessions, 3);
	snprintf(cert.sha256, sizeof(cert.sha256), "%s", "bb");
	make_tls(&s, 2, TLS_1_2);
	s.tls.cert = &cert;
	history_apply(h, &s);
	CHECK(session_has_anomaly(&s, ANOMALY_CERTIFICATE_CHANGED));
	CHECK_EQ_STR(s.evidence.history.previous_certificate, "aa");
	make_tls(&s, 1, TLS_1_1);
	history_apply(h, &s);
	CHECK(session_has_anomaly(&s, ANOMALY_TLS_VERSION_REGRESSION));
	CHECK_EQ_INT(history_failed_writes(h), 0);
	history_close(h);
	remove_state(path);
}

/* Runs sql on the state file at path with SQLite directly (no mailtap process may hold it). */
static int exec_state_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static int read_state_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	int value = -1;

	if (sqlite3_open(path, &db) == SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		value = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return value;
}

/*
 * The APOP counts survive a restart, and a version 1 file written before
 * the server_apop table existed opens, gains the table and keeps its other rows.
 */
static void test_state_apop(void)
{
	char path[256];
	char err[256];
	struct history *h;
	struct session s;
	struct history_counts c;

	state_path(path, sizeof(path), "apop");
	remove_state(path);
	h = history_open(path, err, sizeof(err));
	CHECK(h != NULL);
	if (h == NULL)
		return;
	make_pop3(&s, 1, 20, 110, true);
	history_apply(h, &s);
	history_close(h);

	/* An older file: the same tables without server_apop, which drops the APOP counts. */
	CHECK_EQ_INT(exec_state_sql(path, "DROP TABLE server_apop"), SQLITE_OK);
	h = history_open(path, err, sizeof(err));
	CHECK(h != NULL);
	if (h == NULL)
		return;
	CHECK_EQ_INT(history_lookup_server(h, &s.server, &c), 0);
	CHECK_EQ_INT(c.sessions, 1);
	CHECK_EQ_INT(c.apop_offered, 0);
	make_pop3(&s, 1, 20, 110, true);
	history_apply(h, &s);
	make_pop3(&s, 1, 20, 110, true);
	history_apply(h, &s);
	history_close(h);
	CHECK_EQ_INT(read_state_int(path, "PRAGMA user_version"), 1);
	CHECK_EQ_INT(read_state_int(path, "SELECT apop_offered FROM server_apop WHERE addr = '192.0.2.20' AND port = 110"),
		     2);

	h = history_open(path, err, sizeof(err));
	CHECK(h != NULL);
	if (h == NULL)
		return;
	CHECK_EQ_INT(history_lookup_server(h, &s.server, &c), 0);
	CHECK_EQ_INT(c.sessions, 3);
	CHECK_EQ_INT(c.apop_offered, 2);
	CHECK_EQ_INT(c.apop_not_offered, 0);
	make_pop3(&s, 2, 20, 110, false);
	history_apply(h, &s);
	CHECK(session_has_anomaly(&s, ANOMALY_APOP_TIMESTAMP_STRIPPED));
	CHECK_EQ_INT(s.evidence.history.apop_offered, 2);
	CHECK_EQ_INT(history_failed_writes(h), 0);
	history_close(h);
	CHECK_EQ_INT(read_state_int(path, "SELECT apop_not_offered FROM server_apop WHERE addr = '192.0.2.20'"), 1);
	remove_state(path);
}

/* Runs in a child: tries to open the state file and exits 0 only when the lock stopped it. */
static void child_open_locked(const char *path)
{
	char err[256] = "";
	struct history *h = history_open(path, err, sizeof(err));

	if (h != NULL)
		_exit(1);
	_exit(strstr(err, "locked by another process") != NULL ? 0 : 2);
}

static int wait_child(pid_t pid)
{
	int status = 0;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static void test_state_lock(void)
{
	char path[256];
	char err[256] = "";
	struct history *h;
	struct history *second;
	pid_t pid;

	state_path(path, sizeof(path), "lock");
	remove_state(path);
	h = history_open(path, err, sizeof(err));
	CHECK(h != NULL);
	if (h == NULL)
		return;

	fflush(NULL);
	pid = fork();
	if (pid == 0)
		child_open_locked(path);
	CHECK(pid > 0);
	CHECK_EQ_INT(wait_child(pid), 0);

	/* A second connection in the same process is refused too. */
	second = history_open(path, err, sizeof(err));
	CHECK(second == NULL);
	CHECK(strstr(err, "locked by another process") != NULL);
	history_close(second);

	history_close(h);
	h = history_open(path, err, sizeof(err));
	CHECK(h != NULL);
	history_close(h);
	remove_state(path);
}

/* Runs in a child: applies a full batch and a few more sessions, then dies without closing. */
static void child_apply_then_die(const char *path, uint32_t sessions)
{
	char err[256];
	struct history *h = history_open(path, err, sizeof(err));
	struct session s;

	if (h == NULL)
		_exit(2);
	for (uint32_t i = 0; i < sessions; i++) {
		make_smtp(&s, 1, 10, TRISTATE_TRUE, "mx.example.test");
		s.sink = NULL;
		history_apply(h, &s);
	}
	raise(SIGKILL);
	_exit(3);
}

static void test_state_killed_between_batches(void)
{
	char path[256];
	char err[256];
	struct history *h;
	struct session s;
	struct history_counts c;
	pid_t pid;

	state_path(path, sizeof(path), "kill");
	remove_state(path);
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		child_apply_then_die(path, LIMIT_HISTORY_BATCH_SESSIONS + 10);
	CHECK(pid > 0);
	CHECK_EQ_INT(wait_child(pid), 128 + SIGKILL);

	h = history_open(path, err, sizeof(err));
	CHECK(h != NULL);
	if (h == NULL) {
		fprintf(stderr, "reopen after kill: %s\n", err);
		return;
	}
	/*
	 * The first batch was committed when it filled; the ten sessions after it
	 * were still queued. NOTE: a batch also closes after a second of wall
	 * time, so a child slower than that commits a smaller first batch.
	 */
	CHECK_EQ_INT(history_lookup_name(h, "mx.example.test", &c), 0);
	CHECK_EQ_INT(c.sessions, LIMIT_HISTORY_BATCH_SESSIONS);
	CHECK_EQ_INT(c.starttls_offered, LIMIT_HISTORY_BATCH_SESSIONS);

	stripped_events = 0;
	make_smtp(&s, 1, 10, TRISTATE_FALSE, "mx.example.test");
	history_apply(h, &s);
	CHECK(session_has_anomaly(&s, ANOMALY_STARTTLS_STRIPPED));
	history_close(h);
	remove_state(path);
}

static void test_state_not_a_database(void)
{
	char path[256];
	char err[256] = "";
	FILE *f;
	struct history *h;

	state_path(path, sizeof(path), "garbage");
	remove_state(path);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	for (int i = 0; i < 64; i++)
		fputs("this is not an SQLite database, only text\n", f);
	fclose(f);
	h = history_open(path, err, sizeof(err));
	CHECK(h == NULL);
	CHECK(strstr(err, "not an SQLite database") != NULL);
	history_close(h);

	/* A directory that does not exist cannot hold the file. */
	h = history_open("/nonexistent-mailtap-dir/state.db", err, sizeof(err));
	CHECK(h == NULL);
	CHECK(strstr(err, "cannot open state file") != NULL);
	remove_state(path);
}

int main(void)
{
	test_stripped_memory();
	test_stripped_needs_earlier_offer();
	test_stripped_by_name();
	test_stripped_already_reported();
	test_name_rejects_wire_bytes();
	test_version_regression();
	test_certificate_changed();
	test_requiretls_in_clear();
	test_apop_stripped_memory();
	test_apop_stripped_needs_same_server();
	test_map_cap();
	test_state_two_runs();
	test_state_apop();
	test_state_lock();
	test_state_killed_between_batches();
	test_state_not_a_database();
	return test_finish("test_history");
}
