/*
 * The field table of the rule engine: which fields each event type carries
 * and how a value is rendered into an alert message. Field names follow the
 * JSON records (docs/output.md), so a rule reads like the record it fires on.
 * The readers live in fields_mail.c and fields_tls.c. This file defines the
 * fields every event shares and assembles the per-event lists.
 */
#include "detect/fields.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/anomaly.h"
#include "core/proto.h"
#include "detect/fields_internal.h"

static const char *const app_proto_values[] = {"smtp", "submission", "smtps", "pop3", "pop3s",
					       "imap", "imaps", "tls", NULL};

const char *const field_anomaly_values[] = {
	"cleartext_credentials",
	"challenge_response_auth_in_cleartext",
	"bearer_token_in_cleartext",
	"starttls_not_used",
	"starttls_not_offered",
	"starttls_stripped",
	"starttls_refused",
	"plaintext_after_starttls_failure",
	"starttls_command_injection",
	"starttls_response_injection",
	"starttls_no_handshake",
	"plaintext_on_tls_port",
	"obsolete_tls_version",
	"sslv2_client_hello",
	"weak_cipher",
	"tls_handshake_failed",
	"certificate_invalid",
	"mid_session_start",
	"one_sided_capture",
	"tcp_overlap_conflict",
	"tcp_gap",
	"line_too_long",
	"invalid_base64",
	"non_mail_protocol",
	"reassembly_limit",
	"tls_version_regression",
	"certificate_changed",
	"requiretls_in_cleartext",
	"tls_required_no_in_cleartext",
	"mta_sts_policy_violation",
	"apop_timestamp_stripped",
	"mta_sts_learnt_policy_violation",
	"preauth_in_cleartext",
	NULL,
};
_Static_assert(sizeof(field_anomaly_values) / sizeof(field_anomaly_values[0]) == ANOMALY_COUNT + 1,
	       "field_anomaly_values must list the whole anomaly vocabulary");

static void read_flow_id(const struct event *ev, struct field_value *out)
{
	/* EVE writes flow ids as signed 64-bit numbers, so rules see the same low 63 bits. */
	field_set_int(out, (int64_t)(ev->session->flow_id & (uint64_t)INT64_MAX));
}

static void read_address(const struct endpoint *e, struct field_value *out)
{
	int family = e->family == 6 ? AF_INET6 : AF_INET;

	if (e->family != 4 && e->family != 6)
		return;
	if (inet_ntop(family, e->addr, out->buf, sizeof(out->buf)) == NULL)
		return;
	field_set_string(out, out->buf);
}

static void read_src_ip(const struct event *ev, struct field_value *out)
{
	read_address(&ev->session->client, out);
}

static void read_dest_ip(const struct event *ev, struct field_value *out)
{
	read_address(&ev->session->server, out);
}

static void read_src_port(const struct event *ev, struct field_value *out)
{
	field_set_int(out, ev->session->client.port);
}

static void read_dest_port(const struct event *ev, struct field_value *out)
{
	field_set_int(out, ev->session->server.port);
}

static void read_app_proto(const struct event *ev, struct field_value *out)
{
	const char *name = app_proto_name(ev->session->app_proto);

	if (name != NULL)
		field_set_string(out, name);
}

/* The anomalies raised so far; an empty list is present, since "none yet" is a fact. */
static void read_anomalies(const struct event *ev, struct field_value *out)
{
	out->present = true;
	for (int a = 0; a < ANOMALY_COUNT; a++) {
		const char *name;

		if (!session_has_anomaly(ev->session, (enum anomaly)a))
			continue;
		name = anomaly_name((enum anomaly)a);
		field_add_item(out, name, strlen(name));
	}
}

static void read_detected_protocol(const struct event *ev, struct field_value *out)
{
	field_set_array(out, ev->session->detected_protocol, sizeof(ev->session->detected_protocol));
}

const struct field_def field_group_common[] = {
	{"flow_id", FIELD_INTEGER, read_flow_id, NULL, "flow id, as in every record of the flow"},
	{"src_ip", FIELD_STRING, read_src_ip, NULL, "client address"},
	{"src_port", FIELD_INTEGER, read_src_port, NULL, "client port"},
	{"dest_ip", FIELD_STRING, read_dest_ip, NULL, "server address"},
	{"dest_port", FIELD_INTEGER, read_dest_port, NULL, "server port"},
	{"app_proto", FIELD_STRING, read_app_proto, app_proto_values, "protocol of the port"},
	{"anomalies", FIELD_STRING_LIST, read_anomalies, field_anomaly_values,
	 "session anomalies raised so far"},
	{"detected_protocol", FIELD_STRING, read_detected_protocol, NULL,
	 "nDPI protocol label when the flow is not mail"},
	{NULL, FIELD_STRING, NULL, NULL, NULL},
};

/* Field groups of each event type, common fields first; each list ends with NULL. */
static const struct field_def *const session_groups[] = {
	field_group_common, field_group_session_mail, field_group_session_tls, NULL};
static const struct field_def *const auth_groups[] = {field_group_common, field_group_auth, NULL};
static const struct field_def *const starttls_groups[] = {field_group_common, field_group_starttls,
							   NULL};
static const struct field_def *const injection_groups[] = {
	field_group_common, field_group_starttls, field_group_injection, NULL};
static const struct field_def *const client_hello_groups[] = {field_group_common,
							       field_group_client_hello, NULL};
static const struct field_def *const server_hello_groups[] = {field_group_common,
							       field_group_server_hello, NULL};
static const struct field_def *const alert_groups[] = {field_group_common, field_group_alert, NULL};
static const struct field_def *const certificate_groups[] = {field_group_common,
							      field_group_certificate, NULL};
static const struct field_def *const common_groups[] = {field_group_common, NULL};

static const struct field_def *const *const groups_by_event[EVENT_TYPE_COUNT] = {
	[EVENT_SESSION] = session_groups,
	[EVENT_AUTH_CLEARTEXT] = auth_groups,
	[EVENT_STARTTLS_STRIPPED] = starttls_groups,
	[EVENT_STARTTLS_REFUSED] = starttls_groups,
	[EVENT_STARTTLS_INJECTION] = injection_groups,
	[EVENT_STARTTLS_NO_HANDSHAKE] = starttls_groups,
	[EVENT_TLS_CLIENT_HELLO] = client_hello_groups,
	[EVENT_TLS_SERVER_HELLO] = server_hello_groups,
	[EVENT_TLS_ALERT] = alert_groups,
	[EVENT_TLS_CERTIFICATE] = certificate_groups,
	[EVENT_TLS_PLAINTEXT_ON_TLS_PORT] = common_groups,
};

const struct field_def *field_at(enum event_type type, unsigned i)
{
	const struct field_def *const *groups;

	if ((unsigned)type >= EVENT_TYPE_COUNT)
		return NULL;
	groups = groups_by_event[type];
	for (unsigned g = 0; groups[g] != NULL; g++) {
		for (const struct field_def *def = groups[g]; def->name != NULL; def++) {
			if (i == 0)
				return def;
			i--;
		}
	}
	return NULL;
}

const struct field_def *field_find(enum event_type type, const char *name)
{
	const struct field_def *def;

	for (unsigned i = 0; (def = field_at(type, i)) != NULL; i++) {
		if (strcmp(def->name, name) == 0)
			return def;
	}
	return NULL;
}

void field_read(const struct field_def *def, const struct event *ev, struct field_value *out)
{
	out->type = def->type;
	out->present = false;
	out->str = NULL;
	out->len = 0;
	out->integer = 0;
	out->boolean = false;
	out->version = 0;
	out->item_count = 0;
	out->buf[0] = '\0';

	/* An event always has a session when analyzers raise it; a hand-made one may not. */
	if (ev->session == NULL)
		return;
	def->read(ev, out);
}

const char *field_type_name(enum field_type type)
{
	switch (type) {
	case FIELD_STRING: return "string";
	case FIELD_INTEGER: return "integer";
	case FIELD_BOOL: return "bool";
	case FIELD_VERSION: return "version";
	case FIELD_STRING_LIST: return "string list";
	}
	return "unknown";
}

/*
 * Appends bytes to buf at pos with control bytes, DEL and backslash escaped
 * as \xHH. Returns the new position; sets *cut when a byte did not fit.
 */
static size_t format_append(char *buf, size_t size, size_t pos, const char *s, size_t len, bool *cut)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		bool plain = ch >= 0x20 && ch != 0x7f && ch != '\\';
		size_t need = plain ? 1 : 4;

		/* A partial escape would read as a different byte, so stop at a whole one. */
		if (pos + need >= size) {
			*cut = true;
			break;
		}
		if (plain)
			buf[pos] = (char)ch;
		else
			snprintf(buf + pos, size - pos, "\\x%02X", ch);
		pos += need;
	}
	return pos;
}

size_t field_format(const struct field_value *v, char *buf, size_t size, bool *cut)
{
	bool cut_local = false;
	bool *c = cut != NULL ? cut : &cut_local;
	char tmp[32];
	size_t pos = 0;

	*c = false;
	if (size == 0)
		return 0;
	if (!v->present)
		pos = format_append(buf, size, 0, "-", 1, c);
	else if (v->type == FIELD_STRING)
		pos = format_append(buf, size, 0, v->str, v->len, c);
	else if (v->type == FIELD_INTEGER) {
		snprintf(tmp, sizeof(tmp), "%lld", (long long)v->integer);
		pos = format_append(buf, size, 0, tmp, strlen(tmp), c);
	} else if (v->type == FIELD_BOOL) {
		pos = format_append(buf, size, 0, v->boolean ? "true" : "false", v->boolean ? 4 : 5, c);
	} else if (v->type == FIELD_VERSION) {
		tls_version_name(v->version, tmp);
		pos = format_append(buf, size, 0, tmp, strlen(tmp), c);
	} else {
		for (unsigned i = 0; i < v->item_count && !*c; i++) {
			if (i > 0)
				pos = format_append(buf, size, pos, ",", 1, c);
			pos = format_append(buf, size, pos, v->items[i].str, v->items[i].len, c);
		}
	}
	buf[pos] = '\0';
	return pos;
}
