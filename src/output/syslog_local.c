/*
 * key=value lines for the local syslog(3). Names and numbers of our own
 * go unquoted. Every string from the wire or the rule file goes between
 * double quotes through format_escape_bytes(). That turns CR, LF, NUL,
 * control characters and invalid UTF-8 into \xHH and `"` into \".
 */
#include "output/syslog_local.h"

#include <string.h>

#include "core/session.h"
#include "output/format.h"
#include "output/output.h"
#include "tls/tls.h"

/* Appends ` key="value"` with value escaped. */
static void syslog_local_quoted(struct format_line *line, const char *key, const void *value, size_t len)
{
	format_line_printf(line, " %s=", key);
	format_line_append_quoted(line, value, len);
}

static void syslog_local_flow(struct format_line *line, const struct session *s)
{
	char client[FORMAT_IP_SIZE];
	char server[FORMAT_IP_SIZE];
	const char *app = app_proto_name(s->app_proto);

	format_line_printf(line, " flow_id=%llu src_ip=%s src_port=%u dest_ip=%s dest_port=%u app_proto=%s",
			   (unsigned long long)s->flow_id, format_ip(&s->client, client), s->client.port,
			   format_ip(&s->server, server), s->server.port, app != NULL ? app : "unknown");
}

void syslog_local_format_alert(const struct event *ev, const struct alert_info *a, struct format_line *line)
{
	format_line_init(line);
	format_line_printf(line, "event_type=alert sid=%u", (unsigned)a->signature_id);
	if (a->severity != NULL)
		syslog_local_quoted(line, "severity", a->severity, strlen(a->severity));
	if (a->signature != NULL)
		syslog_local_quoted(line, "signature", a->signature, strlen(a->signature));
	if (a->category != NULL)
		syslog_local_quoted(line, "category", a->category, strlen(a->category));
	format_line_printf(line, " event=%s", event_type_name(ev->type));
	syslog_local_flow(line, ev->session);
	if (a->message != NULL)
		syslog_local_quoted(line, "message", a->message, strlen(a->message));
}

void syslog_local_format_session(const struct session *s, struct format_line *line)
{
	char version[TLS_VERSION_NAME_SIZE];
	char cipher[TLS_CIPHER_NAME_SIZE];

	format_line_init(line);
	format_line_append(line, "event_type=session");
	syslog_local_flow(line, s);
	if (app_proto_family(s->app_proto) != MAIL_FAMILY_NONE && !app_proto_is_implicit_tls(s->app_proto))
		format_line_printf(line, " starttls=%s starttls_offered=%s", starttls_result_name(s->mail.starttls.result),
				   format_starttls_offered(s));
	if (s->tls.server_hello_seen)
		format_line_printf(line, " tls_version=%s tls_cipher=%s", tls_version_name(s->tls.version, version),
				   tls_summary_cipher_name(&s->tls, cipher));
	if (wire_text_is_set(&s->tls.sni))
		syslog_local_quoted(line, "sni", s->tls.sni.data, s->tls.sni.len);
	if (s->mail.auth_count > 0) {
		format_line_append(line, " auth=\"");
		format_line_append_mechanisms(line, s, FORMAT_ESCAPE_QUOTES);
		format_line_append(line, "\"");
	}
	format_line_append(line, " anomalies=\"");
	format_line_append_anomalies(line, s);
	format_line_append(line, "\" alerts=\"");
	format_line_append_alert_ids(line, s);
	format_line_append(line, "\"");
}
