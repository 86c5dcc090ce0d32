/*
 * RFC 5424 message headers: section 6.2 (HEADER: PRI, VERSION, TIMESTAMP,
 * HOSTNAME, APP-NAME, PROCID, MSGID) and section 6.3 (STRUCTURED-DATA,
 * with the PARAM-VALUE escaping of `"`, `\` and `]` from section 6.3.3).
 */
#include "output/syslog5424.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "core/session.h"
#include "output/format.h"
#include "output/output.h"

/* Escaped bytes kept per PARAM-VALUE, so eleven parameters always fit in one format_line. */
#define SYSLOG5424_VALUE_MAX 256

/* Replaces every byte outside PRINTUSASCII (%d33-126) by '-', as HOSTNAME and PROCID require. */
static void syslog5424_make_printable(char *s)
{
	for (; *s != '\0'; s++) {
		if (*s < 33 || *s > 126)
			*s = '-';
	}
}

void syslog5424_origin_init(struct syslog5424_origin *o, int facility)
{
	o->facility = facility & LOG_FACMASK;
	if (gethostname(o->hostname, sizeof(o->hostname)) != 0 || o->hostname[0] == '\0')
		snprintf(o->hostname, sizeof(o->hostname), "-");

	/* gethostname(2) may leave the name unterminated when it was cut. */
	o->hostname[sizeof(o->hostname) - 1] = '\0';
	syslog5424_make_printable(o->hostname);
	snprintf(o->procid, sizeof(o->procid), "%ld", (long)getpid());
}

int syslog5424_severity(const char *name)
{
	static const struct {
		const char *name;
		int severity;
	} map[] = {
		{"critical", LOG_CRIT}, {"high", LOG_ERR}, {"medium", LOG_WARNING},
		{"low", LOG_NOTICE},	{"info", LOG_INFO},
	};

	if (name == NULL)
		return LOG_NOTICE;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(map[i].name, name) == 0)
			return map[i].severity;
	}
	return LOG_NOTICE;
}

static void syslog5424_begin(const struct syslog5424_origin *o, int severity, uint64_t usec, const char *msgid,
			     struct format_line *line)
{
	char ts[FORMAT_TIMESTAMP_SIZE];

	format_line_init(line);
	format_line_printf(line, "<%d>1 %s %s %s %s %s [%s", o->facility | (severity & LOG_PRIMASK),
			   format_timestamp_5424(usec, ts), o->hostname, SYSLOG5424_APP_NAME, o->procid, msgid,
			   SYSLOG5424_SD_ID);
}

/* Appends ` name="value"` with value escaped and cut to SYSLOG5424_VALUE_MAX bytes. */
static void syslog5424_param(struct format_line *line, const char *name, const char *value)
{
	char escaped[SYSLOG5424_VALUE_MAX + 1];

	format_escape_bytes(value, strlen(value), FORMAT_ESCAPE_SD_PARAM, escaped, sizeof(escaped), NULL);
	format_line_printf(line, " %s=\"%s\"", name, escaped);
}

static void syslog5424_param_uint(struct format_line *line, const char *name, uint64_t value)
{
	format_line_printf(line, " %s=\"%llu\"", name, (unsigned long long)value);
}

/* Appends the flow identity that alerts and sessions share. */
static void syslog5424_params_flow(struct format_line *line, const struct session *s)
{
	char ip[FORMAT_IP_SIZE];
	const char *app = app_proto_name(s->app_proto);

	syslog5424_param_uint(line, "flow_id", s->flow_id);
	syslog5424_param(line, "src_ip", format_ip(&s->client, ip));
	syslog5424_param_uint(line, "src_port", s->client.port);
	syslog5424_param(line, "dest_ip", format_ip(&s->server, ip));
	syslog5424_param_uint(line, "dest_port", s->server.port);
	syslog5424_param(line, "app_proto", app != NULL ? app : "unknown");
}

void syslog5424_format_alert(const struct syslog5424_origin *o, const struct event *ev,
			     const struct alert_info *a, struct format_line *line)
{
	uint64_t usec = ev->ts_usec != 0 ? ev->ts_usec : ev->session->now_usec;

	syslog5424_begin(o, syslog5424_severity(a->severity), usec, event_type_name(ev->type), line);
	syslog5424_param_uint(line, "sid", a->signature_id);
	if (a->signature != NULL)
		syslog5424_param(line, "signature", a->signature);
	if (a->severity != NULL)
		syslog5424_param(line, "severity", a->severity);
	if (a->category != NULL)
		syslog5424_param(line, "category", a->category);
	syslog5424_params_flow(line, ev->session);
	format_line_append(line, "] ");
}

void syslog5424_format_session(const struct syslog5424_origin *o, const struct session *s,
			       struct format_line *line)
{
	syslog5424_begin(o, LOG_INFO, s->first_ts_usec, "session", line);
	syslog5424_params_flow(line, s);
	syslog5424_param_uint(line, "alerts", s->alert_count);
	format_line_append(line, "] ");
}
