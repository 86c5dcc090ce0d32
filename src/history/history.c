/*
 * Server history verdicts. Keys: the server's address and port, the host
 * name from its SMTP greeting (or the TLS SNI when there is no greeting),
 * and the client address with the server. Every verdict compares a session
 * with the sessions before it, so a session updates the history only after
 * its own verdicts.
 *
 *   starttls_stripped       the server (by address or greeting name) offered
 *                           STARTTLS in an earlier session and its capability
 *                           list now lacks it (RFC 3207 STARTTLS)
 *   tls_version_regression  the pair negotiated TLS 1.2 or later before and
 *                           a lower version now
 *   certificate_changed     the server name (else address) on this port shows
 *                           another leaf certificate; keyed by port because
 *                           one host often runs SMTP and IMAP with different
 *                           certificates
 *   apop_timestamp_stripped the POP3 server (by address and port) sent an
 *                           APOP timestamp in an earlier greeting and this
 *                           greeting has none (RFC 1939 section 7)
 *   requiretls_in_cleartext, tls_required_no_in_cleartext
 *                           RFC 8689 REQUIRETLS, from the SMTP summary
 */
#include "history/history.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/decimal.h"
#include "core/session.h"
#include "history/history_internal.h"
#include "output/format.h"
#include "sensor/log.h"
#include "tls/tls_cert.h"

#define HISTORY_TLS_1_2 0x0303u
#define HISTORY_TLS_1_3 0x0304u

struct history {
	pthread_mutex_t lock; /* worker threads end sessions concurrently */
	struct history_map *map;
	struct history_store *store; /* NULL without --state */
	struct history_observation *queue;
	size_t queued;
	struct history_policy_queue *policies; /* learnt MTA-STS policies for the state file; NULL without one */
	uint64_t last_flush_usec; /* monotonic wall time */
	uint64_t dropped_keys;
	uint64_t failed_writes;
};

static uint64_t history_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct history *history_open(const char *path, char *err, size_t err_size)
{
	struct history *h = calloc(1, sizeof(*h));

	if (h == NULL || (h->map = history_map_new()) == NULL) {
		snprintf(err, err_size, "cannot create the server history: out of memory");
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	if (path != NULL) {
		h->queue = calloc(LIMIT_HISTORY_BATCH_SESSIONS, sizeof(*h->queue));
		h->policies = history_policy_queue_new();
		if (h->queue == NULL || h->policies == NULL) {
			snprintf(err, err_size, "cannot create the server history: out of memory");
			history_close(h);
			return NULL;
		}
		h->store = history_store_open(path, err, err_size);
		if (h->store == NULL || history_store_load(h->store, h->map, err, err_size) != 0 ||
		    history_policy_prepare(h->store, err, err_size) != 0) {
			history_close(h);
			return NULL;
		}
	}
	h->last_flush_usec = history_now_usec();
	return h;
}

/* Writes the queued learnt policies; the caller holds the lock. */
static int history_flush_policies_locked(struct history *h)
{
	if (history_policy_queue_write(h->policies, h->store) == 0)
		return 0;
	log_msg(LOG_LEVEL_ERROR, "event=state_write_failed table=mta_sts_learnt action=kept_in_memory_only");
	return -1;
}

/* Writes the queue; the caller holds the lock. */
static int history_flush_locked(struct history *h)
{
	int rc = 0;

	if (h == NULL || h->store == NULL)
		return 0;
	if (history_flush_policies_locked(h) != 0)
		rc = -1;
	if (h->queued == 0)
		return rc;
	if (history_store_write(h->store, h->queue, h->queued) != 0) {
		h->failed_writes += h->queued;
		log_msg(LOG_LEVEL_ERROR, "event=state_write_failed sessions=%zu action=kept_in_memory_only", h->queued);
		rc = -1;
	}
	h->queued = 0;
	h->last_flush_usec = history_now_usec();
	return rc;
}

int history_flush(struct history *h)
{
	int rc;

	if (h == NULL)
		return 0;
	pthread_mutex_lock(&h->lock);
	rc = history_flush_locked(h);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

void history_close(struct history *h)
{
	if (h == NULL)
		return;
	history_flush(h);
	history_store_close(h->store);
	history_map_free(h->map);
	free(h->queue);
	history_policy_queue_free(h->policies);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/*
 * Copies a host name into out in lower case when it is a plain DNS name
 * (letters, digits, '-', '.', '_'), so that wire bytes never become keys
 * or database text. Returns 0, or -1 when there is no usable name.
 */
static int history_normalize_name(const struct wire_text *t, char out[LIMIT_HISTORY_NAME_BYTES + 1])
{
	if (t->truncated || t->len == 0 || t->len > LIMIT_HISTORY_NAME_BYTES)
		return -1;
	for (uint16_t i = 0; i < t->len; i++) {
		char c = t->data[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
			return -1;
		out[i] = c;
	}
	out[t->len] = '\0';
	return 0;
}

/* The name that identifies the server across addresses: the greeting's host, else the SNI. */
static void history_session_name(const struct session *s, char out[LIMIT_HISTORY_NAME_BYTES + 1])
{
	if (history_normalize_name(&s->mail.greeting_host, out) == 0)
		return;
	if (history_normalize_name(&s->tls.sni, out) == 0)
		return;
	out[0] = '\0';
}

/*
 * Builds the key "KIND first[ second][ port]" (second may be NULL, port
 * negative for none), cut at HISTORY_KEY_SIZE - 1 bytes as snprintf()
 * would cut it. Keys are built for every session, where snprintf() was a
 * visible share of the run time, and they are stored in the state file,
 * so their text must not change.
 */
static void history_key_join(char key[HISTORY_KEY_SIZE], char kind, const char *first, const char *second,
			     long port)
{
	char digits[DECIMAL_U64_MAX_DIGITS + 1];
	const char *parts[3] = {first, second, NULL};
	size_t len = 0;

	if (port >= 0) {
		digits[decimal_u64((uint64_t)port, digits)] = '\0';
		parts[2] = digits;
	}
	key[len++] = kind;
	for (int i = 0; i < 3; i++) {
		size_t n;

		if (parts[i] == NULL)
			continue;
		n = strlen(parts[i]);
		if (len < HISTORY_KEY_SIZE - 1)
			key[len++] = ' ';
		if (n > HISTORY_KEY_SIZE - 1 - len)
			n = HISTORY_KEY_SIZE - 1 - len;
		memcpy(key + len, parts[i], n);
		len += n;
	}
	key[len] = '\0';
}

static void history_key_server(const struct endpoint *server, char key[HISTORY_KEY_SIZE])
{
	char ip[FORMAT_IP_SIZE];

	history_key_join(key, HISTORY_KEY_SERVER, format_ip(server, ip), NULL, server->port);
}

static void history_key_pair(const struct endpoint *client, const struct endpoint *server, char key[HISTORY_KEY_SIZE])
{
	char cip[FORMAT_IP_SIZE];
	char sip[FORMAT_IP_SIZE];

	history_key_join(key, HISTORY_KEY_PAIR, format_ip(client, cip), format_ip(server, sip), server->port);
}

/* The identity a certificate belongs to: the server name, else its address. */
static void history_certificate_identity(const struct session *s, const char *name,
					 char out[LIMIT_HISTORY_NAME_BYTES + 1])
{
	char ip[FORMAT_IP_SIZE];

	snprintf(out, LIMIT_HISTORY_NAME_BYTES + 1, "%s", name[0] != '\0' ? name : format_ip(&s->server, ip));
}

static void history_key_certificate(const struct session *s, const char *name, char key[HISTORY_KEY_SIZE])
{
	char identity[LIMIT_HISTORY_NAME_BYTES + 1];

	history_certificate_identity(s, name, identity);
	history_key_join(key, HISTORY_KEY_CERTIFICATE, identity, NULL, s->server.port);
}

/*
 * The entries of a session's keys. A key new to the history has an entry
 * with zero counts, which every check reads as "no earlier session"; NULL
 * means the session has no such key or the key table is full.
 */
struct history_keys {
	struct history_entry *server;
	struct history_entry *name;
	struct history_entry *pair;
	struct history_entry *certificate; /* only for sessions that showed a certificate */
};

static struct history_entry *history_key_entry(struct history *h, const char *key)
{
	struct history_entry *e = history_map_get(h->map, key);

	if (e == NULL)
		h->dropped_keys++;
	return e;
}

/* Finds the entries of a session's keys, creating those the history lacks. */
static void history_find_keys(struct history *h, const struct session *s, const char *name, struct history_keys *k)
{
	char key[HISTORY_KEY_SIZE];

	memset(k, 0, sizeof(*k));
	history_key_server(&s->server, key);
	k->server = history_key_entry(h, key);
	if (name[0] != '\0') {
		history_key_join(key, HISTORY_KEY_NAME, name, NULL, -1);
		k->name = history_key_entry(h, key);
	}
	if (s->tls.server_hello_seen) {
		history_key_pair(&s->client, &s->server, key);
		k->pair = history_key_entry(h, key);
	}
	if (s->tls.cert != NULL && s->tls.cert->sha256[0] != '\0') {
		history_key_certificate(s, name, key);
		k->certificate = history_key_entry(h, key);
	}
}

/* Fills evidence.history from the earlier sessions: the name's counts when it has more, else the address's. */
static void history_fill_evidence(const struct history_keys *k, struct session_history *ev)
{
	const struct history_entry *best = k->server;

	if (k->name != NULL && (best == NULL || k->name->counts.sessions > best->counts.sessions))
		best = k->name;
	memset(ev, 0, sizeof(*ev));
	if (best == NULL || best->counts.sessions == 0)
		return;
	ev->known = true;
	ev->sessions = best->counts.sessions;
	ev->starttls_offered = best->counts.starttls_offered;
	ev->starttls_not_offered = best->counts.starttls_not_offered;
	if (k->server != NULL) {
		ev->apop_offered = k->server->counts.apop_offered;
		ev->apop_not_offered = k->server->counts.apop_not_offered;
	}
	if (k->pair != NULL)
		ev->best_version = k->pair->counts.best_version;
}

/* The server's capability list lacks STARTTLS although the server offered it in an earlier session. */
static void history_check_stripped(struct session *s, const struct history_keys *k)
{
	uint32_t offered_before = 0;

	if (s->mail.starttls.offered != TRISTATE_FALSE || app_proto_is_implicit_tls(s->app_proto))
		return;
	if (k->server != NULL)
		offered_before = k->server->counts.starttls_offered;
	if (k->name != NULL && k->name->counts.starttls_offered > offered_before)
		offered_before = k->name->counts.starttls_offered;
	if (offered_before == 0)
		return;

	/* A capture-visible strip was already reported, with its event, by the mail analyzer. */
	if (session_has_anomaly(s, ANOMALY_STARTTLS_STRIPPED))
		return;
	session_add_anomaly(s, ANOMALY_STARTTLS_STRIPPED);
	if (s->sink != NULL)
		session_emit(s, EVENT_STARTTLS_STRIPPED, 0);
}

/*
 * The POP3 greeting lacks an APOP timestamp although this address and port
 * sent one before, which steers the client from APOP to USER/PASS. Only the
 * address counts: POP3 has no greeting name, and an SNI-named pool may mix
 * servers with and without APOP.
 */
static void history_check_apop_stripped(struct session *s, const struct history_keys *k)
{
	const struct apop_summary *apop = &s->mail.apop;

	if (!apop->greeting_seen || apop->timestamp)
		return;
	if (k->server == NULL || k->server->counts.apop_offered == 0)
		return;
	session_add_anomaly(s, ANOMALY_APOP_TIMESTAMP_STRIPPED);
}

static bool history_is_known_version(uint16_t v)
{
	return v == 0x0002u || (v >= 0x0300u && v <= HISTORY_TLS_1_3);
}

/* The pair negotiated TLS 1.2 or later before and a lower version now. */
static void history_check_regression(struct session *s, const struct history_keys *k)
{
	uint16_t before;

	if (!s->tls.server_hello_seen || k->pair == NULL)
		return;
	before = k->pair->counts.best_version;
	if (before < HISTORY_TLS_1_2 || !history_is_known_version(before) || !history_is_known_version(s->tls.version))
		return;
	if (s->tls.version < before)
		session_add_anomaly(s, ANOMALY_TLS_VERSION_REGRESSION);
}

/* The certificate of this session, or NULL when none was observed. */
static const char *history_session_certificate(const struct session *s)
{
	if (s->tls.cert == NULL || s->tls.cert->sha256[0] == '\0')
		return NULL;
	return s->tls.cert->sha256;
}

/* The server name (else the address) on this port presented another leaf certificate before. */
static void history_check_certificate(struct session *s, const struct history_keys *k)
{
	const struct history_entry *e = k->certificate;
	const char *cert = history_session_certificate(s);

	if (cert == NULL || e == NULL || e->counts.certificate[0] == '\0')
		return;
	if (strcmp(e->counts.certificate, cert) == 0)
		return;
	snprintf(s->evidence.history.previous_certificate, sizeof(s->evidence.history.previous_certificate), "%s",
		 e->counts.certificate);
	session_add_anomaly(s, ANOMALY_CERTIFICATE_CHANGED);
}

/* RFC 8689: REQUIRETLS is only meaningful over TLS, and "TLS-Required: No" lowers a message's protection. */
static void history_check_requiretls(struct session *s)
{
	const struct requiretls_summary *r = &s->mail.requiretls;

	if (r->offered_in_clear || r->mail_in_clear)
		session_add_anomaly(s, ANOMALY_REQUIRETLS_IN_CLEARTEXT);
	if (r->tls_required_no)
		session_add_anomaly(s, ANOMALY_TLS_REQUIRED_NO_IN_CLEARTEXT);
}

static void history_update_counts(struct history_counts *c, const struct session *s, const char *cert)
{
	if (c->sessions < UINT32_MAX)
		c->sessions++;
	if (s->mail.starttls.offered == TRISTATE_TRUE && c->starttls_offered < UINT32_MAX)
		c->starttls_offered++;
	if (s->mail.starttls.offered == TRISTATE_FALSE && c->starttls_not_offered < UINT32_MAX)
		c->starttls_not_offered++;
	if (cert != NULL)
		snprintf(c->certificate, sizeof(c->certificate), "%s", cert);
}

/* Counts the session's POP3 greeting; only address and port keys call it. */
static void history_update_apop(struct history_counts *c, const struct session *s)
{
	if (!s->mail.apop.greeting_seen)
		return;
	if (s->mail.apop.timestamp && c->apop_offered < UINT32_MAX)
		c->apop_offered++;
	if (!s->mail.apop.timestamp && c->apop_not_offered < UINT32_MAX)
		c->apop_not_offered++;
}

/* Adds the session to the counts of its keys, after the checks read the earlier counts. */
static void history_record(const struct session *s, const struct history_keys *keys)
{
	struct history_keys k = *keys;
	const char *cert = history_session_certificate(s);

	if (k.server != NULL) {
		history_update_counts(&k.server->counts, s, cert);
		history_update_apop(&k.server->counts, s);
	}
	if (k.name != NULL)
		history_update_counts(&k.name->counts, s, cert);
	if (k.certificate != NULL && cert != NULL)
		snprintf(k.certificate->counts.certificate, sizeof(k.certificate->counts.certificate), "%s", cert);
	if (k.pair != NULL) {
		if (k.pair->counts.sessions < UINT32_MAX)
			k.pair->counts.sessions++;
		if (history_is_known_version(s->tls.version) && s->tls.version > k.pair->counts.best_version)
			k.pair->counts.best_version = s->tls.version;
	}
}

/* Copies the printable ASCII prefix of wire text, so the state file contains plain text only. */
static void history_copy_printable(const struct wire_text *t, char *out, size_t size)
{
	size_t n = 0;

	for (uint16_t i = 0; i < t->len && n + 1 < size; i++) {
		unsigned char c = (unsigned char)t->data[i];

		out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[n] = '\0';
}

static void history_observe(const struct session *s, const char *name, struct history_observation *o)
{
	const char *cert = history_session_certificate(s);

	memset(o, 0, sizeof(*o));
	format_ip(&s->client, o->client);
	format_ip(&s->server, o->server);
	o->port = s->server.port;
	snprintf(o->name, sizeof(o->name), "%s", name);
	o->first_usec = s->first_ts_usec;
	o->last_usec = s->last_ts_usec;
	o->offered = s->mail.starttls.offered;
	o->starttls_used = s->mail.starttls.result == STARTTLS_RESULT_OK;
	o->tls_seen = s->tls.server_hello_seen;
	o->version = s->tls.version;
	o->cipher = s->tls.cipher;
	if (cert != NULL) {
		snprintf(o->certificate, sizeof(o->certificate), "%s", cert);
		history_certificate_identity(s, name, o->certificate_identity);
		history_copy_printable(&s->tls.cert->subject, o->subject, sizeof(o->subject));
	}
	for (uint32_t i = 0; i < s->mail.auth_count && s->mail.auth != NULL && i < LIMIT_AUTH_RECORDS; i++) {
		snprintf(o->mechanisms[i], sizeof(o->mechanisms[i]), "%.*s", (int)sizeof(s->mail.auth[i].mechanism),
			 s->mail.auth[i].mechanism);
		o->mechanism_count = i + 1;
	}
	o->apop_greeting_seen = s->mail.apop.greeting_seen;
	o->apop_timestamp = s->mail.apop.timestamp;
}

/*
 * Queues the session for the state file and writes the batch when it is
 * full or a second old.
 * TODO: no timer flushes an idle queue; it waits for the next session or shutdown.
 */
static int history_queue(struct history *h, const struct session *s, const char *name)
{
	if (h->store == NULL)
		return 0;
	history_observe(s, name, &h->queue[h->queued++]);
	if (h->queued < LIMIT_HISTORY_BATCH_SESSIONS &&
	    history_now_usec() - h->last_flush_usec < LIMIT_HISTORY_BATCH_USEC)
		return 0;
	return history_flush_locked(h);
}

int history_apply(struct history *h, struct session *s)
{
	char name[LIMIT_HISTORY_NAME_BYTES + 1];
	struct history_keys k;
	int rc;

	history_check_requiretls(s);
	if (app_proto_family(s->app_proto) == MAIL_FAMILY_NONE)
		return 0;

	history_session_name(s, name);
	pthread_mutex_lock(&h->lock);
	history_find_keys(h, s, name, &k);
	history_fill_evidence(&k, &s->evidence.history);
	history_check_stripped(s, &k);
	history_check_apop_stripped(s, &k);
	history_check_regression(s, &k);
	history_check_certificate(s, &k);
	history_record(s, &k);
	rc = history_queue(h, s, name);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

void history_note_learnt_policy(struct history *h, const struct mta_sts_learnt *entry)
{
	if (h == NULL || h->store == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	if (history_policy_queue_add(h->policies, entry))
		history_flush_policies_locked(h);
	pthread_mutex_unlock(&h->lock);
}

long history_each_learnt_policy(struct history *h, void (*fn)(void *ctx, const struct mta_sts_learnt *entry),
				void *ctx)
{
	long rows;

	if (h == NULL || h->store == NULL)
		return 0;
	pthread_mutex_lock(&h->lock);
	rows = history_policy_read(h->store, fn, ctx);
	pthread_mutex_unlock(&h->lock);
	return rows;
}

/* Copies the counts of key into out. */
static int history_lookup_key(const struct history *h, const char *key, struct history_counts *out)
{
	const struct history_entry *e = history_map_find(h->map, key);

	if (e == NULL)
		return -1;
	*out = e->counts;
	return 0;
}

int history_lookup_server(const struct history *h, const struct endpoint *server, struct history_counts *out)
{
	char key[HISTORY_KEY_SIZE];

	history_key_server(server, key);
	return history_lookup_key(h, key, out);
}

int history_lookup_name(const struct history *h, const char *name, struct history_counts *out)
{
	char key[HISTORY_KEY_SIZE];

	history_key_join(key, HISTORY_KEY_NAME, name, NULL, -1);
	return history_lookup_key(h, key, out);
}

int history_lookup_pair(const struct history *h, const struct endpoint *client, const struct endpoint *server,
			struct history_counts *out)
{
	char key[HISTORY_KEY_SIZE];

	history_key_pair(client, server, key);
	return history_lookup_key(h, key, out);
}

uint64_t history_dropped_keys(const struct history *h)
{
	return h->dropped_keys;
}

uint64_t history_failed_writes(const struct history *h)
{
	return h->failed_writes;
}
