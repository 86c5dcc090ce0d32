/*
 * Terminal text lines. Colour, when used, marks only the severity. Every
 * string from the wire or the rule file is escaped by
 * format_escape_bytes(), so no ESC or newline in it reaches the terminal.
 */
#include "output/text.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/session.h"
#include "output/format.h"
#include "output/output.h"
#include "tls/tls.h"

#define TEXT_COLOR_RESET "\x1b[0m"

bool text_use_color(FILE *stream, bool allowed)
{
	const char *no_color = getenv("NO_COLOR");

	if (!allowed || stream == NULL)
		return false;
	if (no_color != NULL && no_color[0] != '\0')
		return false;
	return isatty(fileno(stream)) == 1;
}

/* Returns the SGR sequence for a severity name; unknown names get none. */
static const char *text_severity_color(const char *severity)
{
	static const struct {
		const char *name;
		const char *sgr;
	} colors[] = {
		{"critical", "\x1b[1;31m"}, {"high", "\x1b[31m"}, {"medium", "\x1b[33m"},
		{"low", "\x1b[36m"},	    {"info", "\x1b[2m"},
	};

	for (size_t i = 0; i < sizeof(colors) / sizeof(colors[0]); i++) {
		if (strcmp(colors[i].name, severity) == 0)
			return colors[i].sgr;
	}
	return NULL;
}

/* Appends "ADDR:PORT", with an IPv6 address in brackets. */
static void text_endpoint(struct format_line *line, const struct endpoint *e)
{
	char ip[FORMAT_IP_SIZE];

	format_ip(e, ip);
	if (e->family == 6)
		format_line_printf(line, "[%s]:%u", ip, e->port);
	else
		format_line_printf(line, "%s:%u", ip, e->port);
}

/* Appends "app_proto CLIENT -> SERVER". */
static void text_flow(struct format_line *line, const struct session *s)
{
	const char *app = app_proto_name(s->app_proto);

	format_line_printf(line, "%s ", app != NULL ? app : "unknown");
	text_endpoint(line, &s->client);
	format_line_append(line, " -> ");
	text_endpoint(line, &s->server);
}

void text_format_alert(const struct event *ev, const struct alert_info *a, bool color, struct format_line *line)
{
	char ts[FORMAT_TIMESTAMP_SIZE];
	const char *severity = a->severity != NULL ? a->severity : "info";
	const char *sgr = color ? text_severity_color(severity) : NULL;
	uint64_t usec = ev->ts_usec != 0 ? ev->ts_usec : ev->session->now_usec;

	format_line_init(line);
	format_line_printf(line, "%s ", format_timestamp(usec, ts));
	if (sgr != NULL)
		format_line_append(line, sgr);
	format_line_append(line, "[");
	format_line_append_escaped(line, severity, strlen(severity), 0);
	format_line_append(line, "]");
	if (sgr != NULL)
		format_line_append(line, TEXT_COLOR_RESET);
	format_line_printf(line, " %u ", (unsigned)a->signature_id);
	if (a->signature != NULL)
		format_line_append_escaped(line, a->signature, strlen(a->signature), 0);
	format_line_append(line, ": ");
	if (a->message != NULL)
		format_line_append_escaped(line, a->message, strlen(a->message), 0);
	format_line_append(line, " (");
	text_flow(line, ev->session);
	format_line_append(line, ")");
}

void text_format_session(const struct session *s, bool color, struct format_line *line)
{
	char ts[FORMAT_TIMESTAMP_SIZE];
	char version[TLS_VERSION_NAME_SIZE];
	char cipher[TLS_CIPHER_NAME_SIZE];

	format_line_init(line);
	format_line_printf(line, "%s %ssession%s ", format_timestamp(s->first_ts_usec, ts), color ? "\x1b[1m" : "",
			   color ? TEXT_COLOR_RESET : "");
	text_flow(line, s);
	if (app_proto_family(s->app_proto) != MAIL_FAMILY_NONE && !app_proto_is_implicit_tls(s->app_proto))
		format_line_printf(line, " starttls=%s offered=%s", starttls_result_name(s->mail.starttls.result),
				   format_starttls_offered(s));
	if (s->tls.server_hello_seen)
		format_line_printf(line, " tls=%s cipher=%s", tls_version_name(s->tls.version, version),
				   tls_summary_cipher_name(&s->tls, cipher));
	if (wire_text_is_set(&s->tls.sni)) {
		format_line_append(line, " sni=");
		format_line_append_escaped(line, s->tls.sni.data, s->tls.sni.len, 0);
	}
	if (s->mail.auth_count > 0) {
		format_line_append(line, " auth=");
		format_line_append_mechanisms(line, s, 0);
	}
	if (s->anomalies != 0) {
		format_line_append(line, " anomalies=");
		format_line_append_anomalies(line, s);
	}
	if (s->alert_count > 0) {
		format_line_append(line, " alerts=");
		format_line_append_alert_ids(line, s);
	}
}
