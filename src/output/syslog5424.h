/*
 * RFC 5424 syslog messages for the remote collector: the HEADER and
 * STRUCTURED-DATA of an alert or session record. The MSG part that follows
 * is the record's JSON line, sent without a BOM.
 */
#ifndef MAILTAP_SYSLOG5424_H
#define MAILTAP_SYSLOG5424_H

#include <stdint.h>

struct alert_info;
struct event;
struct format_line;
struct session;

/* The SD-ID of mailtap's parameters; 32473 is the enterprise number RFC 5612 reserves for examples. */
#define SYSLOG5424_SD_ID "mailtap@32473"
#define SYSLOG5424_APP_NAME "mailtap"

/* Who sends: fixed for the life of the process. */
struct syslog5424_origin {
	int facility;	    /* a LOG_* value of <syslog.h> (already shifted left by 3) */
	char hostname[256]; /* printable US-ASCII without spaces, or "-" */
	char procid[24];
};

/* Fills o with facility, the host name from gethostname(2) and the process id. */
void syslog5424_origin_init(struct syslog5424_origin *o, int facility);

/* Maps "critical", "high", "medium", "low", "info" to LOG_CRIT .. LOG_INFO; anything else is LOG_NOTICE. */
int syslog5424_severity(const char *name);

/*
 * Writes "<PRI>1 TIMESTAMP HOSTNAME mailtap PROCID MSGID [mailtap@32473 ...] "
 * for an alert on ev into line, which is reset first; the record's JSON
 * follows it. MSGID is the event type ("tls.server_hello", ...). TIMESTAMP
 * is the packet time of the event.
 */
void syslog5424_format_alert(const struct syslog5424_origin *o, const struct event *ev,
			     const struct alert_info *a, struct format_line *line);
/* Same for a session record: severity info, MSGID "session", time of the first packet. */
void syslog5424_format_session(const struct syslog5424_origin *o, const struct session *s,
			       struct format_line *line);

#endif
