/*
 * Lines for the local syslog(3): one short `key=value` line per alert or
 * session. Every value taken from the wire or the rules is quoted and
 * escaped, so no byte can end the line or add a field of its own.
 */
#ifndef MAILTAP_SYSLOG_LOCAL_H
#define MAILTAP_SYSLOG_LOCAL_H

struct alert_info;
struct event;
struct format_line;
struct session;

/* Writes the alert line for ev into line, which is reset first. */
void syslog_local_format_alert(const struct event *ev, const struct alert_info *a, struct format_line *line);
/* Writes the session summary line into line, which is reset first. */
void syslog_local_format_session(const struct session *s, struct format_line *line);

#endif
