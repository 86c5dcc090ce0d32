/*
 * Session and alert records as JSON lines. The common keys follow the
 * Suricata EVE layout (timestamp, flow_id, event_type, src_ip, src_port,
 * dest_ip, dest_port, proto, app_proto); the rest is mailtap's contract,
 * listed in docs/output.md. Cipher and TLS alert names come from the
 * tables in src/tls.
 */
#include "output/session_json.h"

#include <stdio.h>
#include <string.h>

#include "core/session.h"
#include "output/format.h"
#include "output/json.h"
#include "output/output.h"
#include "tls/tls.h"
#include "tls/tls_cert.h"

#define SESSION_JSON_REDACTED "<redacted>"

static void session_json_wire_text(struct json_builder *jb, const char *key, const struct wire_text *t)
{
	json_string_bytes(jb, key, t->data, t->len);
}

static void session_json_timestamp(struct json_builder *jb, const char *key, uint64_t usec)
{
	char ts[FORMAT_TIMESTAMP_SIZE];

	json_string(jb, key, format_timestamp(usec, ts));
}

static void session_json_version(struct json_builder *jb, const char *key, uint16_t version)
{
	char name[TLS_VERSION_NAME_SIZE];

	json_string(jb, key, tls_version_name(version, name));
}

/* Writes the keys every record starts with, at time usec. */
static void session_json_write_common(const struct session *s, uint64_t usec, const char *event_type,
				      struct json_builder *jb)
{
	char ip[FORMAT_IP_SIZE];
	const char *app = app_proto_name(s->app_proto);

	session_json_timestamp(jb, "timestamp", usec);
	json_uint(jb, "flow_id", s->flow_id);
	json_string(jb, "event_type", event_type);
	json_string(jb, "src_ip", format_ip(&s->client, ip));
	json_uint(jb, "src_port", s->client.port);
	json_string(jb, "dest_ip", format_ip(&s->server, ip));
	json_uint(jb, "dest_port", s->server.port);
	json_string(jb, "proto", "TCP");
	json_string(jb, "app_proto", app != NULL ? app : "unknown");
}

static const char *session_json_state_name(enum session_end end)
{
	switch (end) {
	case SESSION_END_FIN:
	case SESSION_END_RST: return "closed";
	case SESSION_END_TIMEOUT: return "timeout";
	case SESSION_END_EVICTED: return "evicted";
	case SESSION_END_OPEN: return "open";
	}
	return "open";
}

static void session_json_write_flow(const struct session *s, struct json_builder *jb)
{
	uint64_t age = s->last_ts_usec > s->first_ts_usec ? s->last_ts_usec - s->first_ts_usec : 0;

	json_object_begin(jb, "flow");
	json_uint(jb, "pkts_toserver", s->packets[DIR_TO_SERVER]);
	json_uint(jb, "pkts_toclient", s->packets[DIR_TO_CLIENT]);
	json_uint(jb, "bytes_toserver", s->bytes[DIR_TO_SERVER]);
	json_uint(jb, "bytes_toclient", s->bytes[DIR_TO_CLIENT]);
	session_json_timestamp(jb, "start", s->first_ts_usec);
	session_json_timestamp(jb, "end", s->last_ts_usec);
	json_uint(jb, "age", age / 1000000u);
	json_string(jb, "state", session_json_state_name(s->end));
	json_object_end(jb);
}

static void session_json_write_starttls(const struct starttls_summary *st, struct json_builder *jb)
{
	json_object_begin(jb, "starttls");
	if (st->offered == TRISTATE_UNKNOWN)
		json_null(jb, "offered");
	else
		json_bool(jb, "offered", st->offered == TRISTATE_TRUE);
	json_bool(jb, "attempted", st->attempted);
	json_string(jb, "result", starttls_result_name(st->result));
	if (st->reply_code != 0)
		json_uint(jb, "reply_code", st->reply_code);
	json_object_end(jb);
}

static void session_json_write_client_hello(const struct tls_summary *t, struct json_builder *jb)
{
	json_string(jb, "hello_format", t->hello_format == TLS_HELLO_FORMAT_SSLV2 ? "sslv2" : "tls");
	if (t->record_version != 0)
		session_json_version(jb, "record_version", t->record_version);
	session_json_version(jb, "client_legacy_version", t->client_legacy_version);
	if (t->client_versions_count > 0) {
		unsigned count = t->client_versions_count;

		/* The count is ours, but clamp it so a bad summary cannot read past the array. */
		if (count > TLS_SUMMARY_MAX_VERSIONS)
			count = TLS_SUMMARY_MAX_VERSIONS;
		json_array_begin(jb, "client_versions");
		for (unsigned i = 0; i < count; i++)
			session_json_version(jb, NULL, t->client_versions[i]);
		json_array_end(jb);
	}
	session_json_version(jb, "client_max_version", t->client_max_version);
	if (wire_text_is_set(&t->sni))
		session_json_wire_text(jb, "sni", &t->sni);
	if (t->alpn_count > 0) {
		unsigned count = t->alpn_count < TLS_SUMMARY_MAX_ALPN ? t->alpn_count : TLS_SUMMARY_MAX_ALPN;

		json_array_begin(jb, "alpn");
		for (unsigned i = 0; i < count; i++) {
			size_t len = t->alpn_len[i] < TLS_SUMMARY_ALPN_LEN ? t->alpn_len[i] : TLS_SUMMARY_ALPN_LEN;

			json_string_bytes(jb, NULL, t->alpn[i], len);
		}
		json_array_end(jb);
	}
	if (t->ja3[0] != '\0')
		json_string_bytes(jb, "ja3", t->ja3, strnlen(t->ja3, sizeof(t->ja3)));
	if (t->ja4[0] != '\0')
		json_string_bytes(jb, "ja4", t->ja4, strnlen(t->ja4, sizeof(t->ja4)));
}

/* Writes the alert's level and description by name, or as a decimal string when unassigned. */
static void session_json_write_alert_object(const struct tls_summary *t, struct json_builder *jb)
{
	const char *level = tls_alert_level_name(t->alert_level);
	const char *description = tls_alert_description_name(t->alert_description);
	char number[8];

	json_object_begin(jb, "alert");
	if (level == NULL) {
		snprintf(number, sizeof(number), "%u", t->alert_level);
		level = number;
	}
	json_string(jb, "level", level);
	if (description == NULL) {
		snprintf(number, sizeof(number), "%u", t->alert_description);
		description = number;
	}
	json_string(jb, "description", description);
	json_string(jb, "from", t->alert_from_server ? "server" : "client");
	json_object_end(jb);
}

static void session_json_write_certificate(const struct tls_cert_summary *c, struct json_builder *jb)
{
	json_object_begin(jb, "certificate");
	session_json_wire_text(jb, "subject", &c->subject);
	session_json_wire_text(jb, "issuer", &c->issuer);
	session_json_wire_text(jb, "serial", &c->serial);
	session_json_timestamp(jb, "not_before", c->not_before * 1000000u);
	session_json_timestamp(jb, "not_after", c->not_after * 1000000u);
	json_string_bytes(jb, "key_type", c->key_type, strnlen(c->key_type, sizeof(c->key_type)));
	json_uint(jb, "key_bits", c->key_bits);
	json_string_bytes(jb, "signature_algorithm", c->signature_algorithm,
			  strnlen(c->signature_algorithm, sizeof(c->signature_algorithm)));
	json_string_bytes(jb, "sha256", c->sha256, strnlen(c->sha256, sizeof(c->sha256)));
	json_bool(jb, "self_signed", c->self_signed);
	json_uint(jb, "chain_length", c->chain_length);
	if (c->chain_checked)
		json_bool(jb, "chain_valid", c->chain_valid);
	else
		json_null(jb, "chain_valid");
	if (c->chain_checked && !c->chain_valid)
		json_string_bytes(jb, "chain_error", c->chain_error, strnlen(c->chain_error, sizeof(c->chain_error)));
	if (wire_text_is_set(&c->hostname))
		session_json_wire_text(jb, "hostname", &c->hostname);
	if (c->hostname_checked)
		json_bool(jb, "hostname_valid", c->hostname_valid);
	else
		json_null(jb, "hostname_valid");
	json_object_end(jb);
}

/* Writes the "mail" object: what the clear-text part showed of the server and client. */
static void session_json_write_mail(const struct mail_summary *m, struct json_builder *jb)
{
	size_t start = 0;

	if (!wire_text_is_set(&m->greeting_host) && !wire_text_is_set(&m->helo) &&
	    !wire_text_is_set(&m->capabilities))
		return;
	json_object_begin(jb, "mail");
	if (wire_text_is_set(&m->greeting_host))
		session_json_wire_text(jb, "greeting_host", &m->greeting_host);
	if (wire_text_is_set(&m->helo))
		session_json_wire_text(jb, "helo", &m->helo);
	if (wire_text_is_set(&m->capabilities)) {
		json_array_begin(jb, "capabilities");
		for (size_t i = 0; i <= m->capabilities.len; i++) {
			if (i == m->capabilities.len || m->capabilities.data[i] == '\n') {
				if (i > start)
					json_string_bytes(jb, NULL, m->capabilities.data + start, i - start);
				start = i + 1;
			}
		}
		json_array_end(jb);
		if (m->capabilities.truncated)
			json_bool(jb, "capabilities_truncated", true);
	}
	json_object_end(jb);
}

/* Writes the "tls" object with whatever the handshake showed so far. */
static void session_json_write_tls(const struct tls_summary *t, struct json_builder *jb)
{
	json_object_begin(jb, "tls");
	if (t->client_hello_seen)
		session_json_write_client_hello(t, jb);
	if (t->server_hello_seen) {
		session_json_version(jb, "version", t->version);
		char cipher[TLS_CIPHER_NAME_SIZE];

		json_string(jb, "cipher", tls_summary_cipher_name(t, cipher));
		if (t->ja3s[0] != '\0')
			json_string_bytes(jb, "ja3s", t->ja3s, strnlen(t->ja3s, sizeof(t->ja3s)));
	}
	if (t->alert_seen)
		session_json_write_alert_object(t, jb);
	if (t->cert != NULL)
		session_json_write_certificate(t->cert, jb);
	else if (t->certificate_not_observable)
		json_string(jb, "certificate", "not_observable");
	json_object_end(jb);
}

static void session_json_write_auth_record(const struct auth_record *r, bool reveal, struct json_builder *jb,
					   const char *key)
{
	json_object_begin(jb, key);
	json_string_bytes(jb, "mechanism", r->mechanism, strnlen(r->mechanism, sizeof(r->mechanism)));
	session_json_wire_text(jb, "username", &r->username);
	if (r->password_seen) {
		if (reveal)
			session_json_wire_text(jb, "password", &r->password);
		else
			json_string(jb, "password", SESSION_JSON_REDACTED);
	}
	json_string(jb, "exposure", auth_exposure_name(r->exposure));
	json_string(jb, "result", auth_result_name(r->result));
	json_object_end(jb);
}

static void session_json_write_anomalies(const struct session *s, struct json_builder *jb)
{
	json_array_begin(jb, "anomalies");
	for (int a = 0; a < ANOMALY_COUNT; a++) {
		if (session_has_anomaly(s, (enum anomaly)a))
			json_string(jb, NULL, anomaly_name((enum anomaly)a));
	}
	json_array_end(jb);
}

/* Writes what the server history knew before this session (src/history). */
static void session_json_write_history(const struct session_history *h, struct json_builder *jb)
{
	json_object_begin(jb, "history");
	json_uint(jb, "sessions", h->sessions);
	json_uint(jb, "starttls_offered", h->starttls_offered);
	json_uint(jb, "starttls_not_offered", h->starttls_not_offered);
	/* Only servers that sent POP3 greetings have these counts, so records of other servers leave them out. */
	if (h->apop_offered > 0 || h->apop_not_offered > 0) {
		json_uint(jb, "apop_offered", h->apop_offered);
		json_uint(jb, "apop_not_offered", h->apop_not_offered);
	}
	if (h->best_version != 0)
		session_json_version(jb, "best_version", h->best_version);
	if (h->previous_certificate[0] != '\0')
		json_string_bytes(jb, "previous_certificate", h->previous_certificate,
				  strnlen(h->previous_certificate, sizeof(h->previous_certificate)));
	json_object_end(jb);
}

static void session_json_write_evidence(const struct session *s, struct json_builder *jb)
{
	const struct session_evidence *e = &s->evidence;

	json_object_begin(jb, "evidence");
	json_bool(jb, "handshake_seen", e->handshake_seen);
	json_array_begin(jb, "directions");
	if (e->seen[DIR_TO_SERVER])
		json_string(jb, NULL, "client_to_server");
	if (e->seen[DIR_TO_CLIENT])
		json_string(jb, NULL, "server_to_client");
	json_array_end(jb);
	json_uint(jb, "gaps", e->gaps);
	json_uint(jb, "gap_bytes", e->gap_bytes);
	json_uint(jb, "overlap_conflicts", e->overlap_conflicts);
	json_bool(jb, "midstream", e->midstream);
	if (s->mail.auth_dropped > 0)
		json_uint(jb, "auth_dropped", s->mail.auth_dropped);
	if (e->inconclusive != NULL)
		json_string(jb, "inconclusive", e->inconclusive);
	if (e->history.known)
		session_json_write_history(&e->history, jb);
	json_object_end(jb);
}

static bool session_json_has_tls(const struct session *s)
{
	return s->tls.client_hello_seen || s->tls.server_hello_seen;
}

/* A learnt policy has no visible mode, so "mode" is left out for it. */
static void session_json_write_mta_sts(const struct session_mta_sts *m, struct json_builder *jb)
{
	json_object_begin(jb, "mta_sts");
	json_string(jb, "domain", m->domain);
	if (m->mode[0] != '\0')
		json_string(jb, "mode", m->mode);
	json_string(jb, "policy_source", m->policy_source != NULL ? m->policy_source : "operator");
	if (m->policy_id[0] != '\0')
		json_string(jb, "policy_id", m->policy_id);
	json_string(jb, "result", m->result);
	json_object_end(jb);
}

void session_write_json(const struct session *s, bool reveal_credentials, struct json_builder *jb)
{
	unsigned alerts = s->alert_count < SESSION_MAX_ALERTS ? s->alert_count : SESSION_MAX_ALERTS;

	json_object_begin(jb, NULL);
	session_json_write_common(s, s->first_ts_usec, "session", jb);
	session_json_write_flow(s, jb);
	if (app_proto_family(s->app_proto) != MAIL_FAMILY_NONE && !app_proto_is_implicit_tls(s->app_proto))
		session_json_write_starttls(&s->mail.starttls, jb);
	session_json_write_mail(&s->mail, jb);
	if (s->mta_sts.checked)
		session_json_write_mta_sts(&s->mta_sts, jb);
	if (session_json_has_tls(s))
		session_json_write_tls(&s->tls, jb);
	json_array_begin(jb, "auth");
	for (uint32_t i = 0; i < s->mail.auth_count && s->mail.auth != NULL; i++)
		session_json_write_auth_record(&s->mail.auth[i], reveal_credentials, jb, NULL);
	json_array_end(jb);
	session_json_write_anomalies(s, jb);
	session_json_write_evidence(s, jb);
	json_array_begin(jb, "alerts");
	for (unsigned i = 0; i < alerts; i++)
		json_uint(jb, NULL, s->alerts[i]);
	json_array_end(jb);
	if (s->detected_protocol[0] != '\0')
		json_string_bytes(jb, "detected_protocol", s->detected_protocol,
				  strnlen(s->detected_protocol, sizeof(s->detected_protocol)));
	json_object_end(jb);
}

static void session_json_optional_string(struct json_builder *jb, const char *key, const char *value)
{
	if (value != NULL)
		json_string(jb, key, value);
}

static const char *session_json_family_key(enum app_proto proto)
{
	switch (app_proto_family(proto)) {
	case MAIL_FAMILY_SMTP: return "smtp";
	case MAIL_FAMILY_POP3: return "pop3";
	case MAIL_FAMILY_IMAP: return "imap";
	case MAIL_FAMILY_NONE: break;
	}
	return "mail";
}

/* Writes the mail protocol object of an auth.cleartext or starttls.* event. */
static void session_json_write_mail_event(const struct event *ev, bool reveal, struct json_builder *jb)
{
	const struct session *s = ev->session;

	json_object_begin(jb, session_json_family_key(s->app_proto));
	if (ev->type == EVENT_AUTH_CLEARTEXT) {
		/* aux indexes the auth records; an index past them writes no record rather than guessing one. */
		if (ev->aux >= 0 && (uint32_t)ev->aux < s->mail.auth_count && s->mail.auth != NULL)
			session_json_write_auth_record(&s->mail.auth[ev->aux], reveal, jb, "auth");
	} else {
		session_json_write_starttls(&s->mail.starttls, jb);
		if (ev->type == EVENT_STARTTLS_INJECTION)
			json_string(jb, "injection_direction",
				    ev->aux == DIR_TO_CLIENT ? "server_to_client" : "client_to_server");
	}
	json_object_end(jb);
}

void alert_write_json(const struct event *ev, const struct alert_info *a, bool reveal_credentials,
		      struct json_builder *jb)
{
	const struct session *s = ev->session;
	uint64_t usec = ev->ts_usec != 0 ? ev->ts_usec : s->now_usec;

	json_object_begin(jb, NULL);
	session_json_write_common(s, usec, "alert", jb);
	json_object_begin(jb, "alert");
	json_uint(jb, "signature_id", a->signature_id);
	session_json_optional_string(jb, "signature", a->signature);
	session_json_optional_string(jb, "severity", a->severity);
	session_json_optional_string(jb, "category", a->category);
	session_json_optional_string(jb, "message", a->message);
	json_string(jb, "event", event_type_name(ev->type));
	json_object_end(jb);
	switch (ev->type) {
	case EVENT_TLS_CLIENT_HELLO:
	case EVENT_TLS_SERVER_HELLO:
	case EVENT_TLS_ALERT:
	case EVENT_TLS_CERTIFICATE:
	case EVENT_TLS_PLAINTEXT_ON_TLS_PORT:
		session_json_write_tls(&s->tls, jb);
		break;
	case EVENT_AUTH_CLEARTEXT:
	case EVENT_STARTTLS_STRIPPED:
	case EVENT_STARTTLS_REFUSED:
	case EVENT_STARTTLS_INJECTION:
	case EVENT_STARTTLS_NO_HANDSHAKE:
		session_json_write_mail_event(ev, reveal_credentials, jb);
		break;
	case EVENT_SESSION:
		session_json_write_anomalies(s, jb);
		break;
	case EVENT_TYPE_COUNT:
		break;
	}
	if (s->detected_protocol[0] != '\0')
		json_string_bytes(jb, "detected_protocol", s->detected_protocol,
				  strnlen(s->detected_protocol, sizeof(s->detected_protocol)));
	json_object_end(jb);
}
