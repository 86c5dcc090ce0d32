/*
 * The JSON records of the output contract: the session summary
 * (event_type "session") and the alert (event_type "alert"), with the
 * EVE-compatible common keys. docs/output.md lists every key.
 */
#ifndef MAILTAP_SESSION_JSON_H
#define MAILTAP_SESSION_JSON_H

#include <stdbool.h>

struct alert_info;
struct event;
struct json_builder;
struct session;

/*
 * Appends one complete session record to jb, which the caller has reset.
 * Passwords are written only when reveal_credentials is set; otherwise a
 * password that crossed the wire shows as "<redacted>".
 */
void session_write_json(const struct session *s, bool reveal_credentials, struct json_builder *jb);

/*
 * Appends one complete alert record for ev to jb: the common keys of the
 * event's session at the event's time, the "alert" object, and the event's
 * fields under its protocol key ("tls", "smtp", "pop3" or "imap").
 */
void alert_write_json(const struct event *ev, const struct alert_info *a, bool reveal_credentials,
		      struct json_builder *jb);

#endif
