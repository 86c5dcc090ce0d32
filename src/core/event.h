/*
 * Events: the findings that analyzers raise while a session runs, and that
 * the rule engine turns into alerts. An event points at its session, whose
 * fields the rules read; it lives only for the duration of the emit call.
 */
#ifndef MAILTAP_EVENT_H
#define MAILTAP_EVENT_H

#include <stdint.h>

#include "core/proto.h"

struct session;

enum event_type {
	EVENT_SESSION = 0,	     /* the session ended; one per connection */
	EVENT_AUTH_CLEARTEXT,	     /* credentials readable on the wire; aux = auth index */
	EVENT_STARTTLS_STRIPPED,
	EVENT_STARTTLS_REFUSED,
	EVENT_STARTTLS_INJECTION,     /* aux = direction of the injected bytes */
	EVENT_STARTTLS_NO_HANDSHAKE,
	EVENT_TLS_CLIENT_HELLO,
	EVENT_TLS_SERVER_HELLO,
	EVENT_TLS_ALERT,
	EVENT_TLS_CERTIFICATE,
	EVENT_TLS_PLAINTEXT_ON_TLS_PORT,
	EVENT_TYPE_COUNT
};

struct event {
	enum event_type type;
	const struct session *session;
	uint64_t ts_usec; /* packet time of the bytes that raised it */
	int aux;	  /* per-type detail, see enum event_type */
};

/* Where analyzers send events; set up by the pipeline, not owned by the session. */
struct event_sink {
	void (*emit)(void *ctx, const struct event *ev);
	void *ctx;
};

/* Returns the contract name ("tls.server_hello", ...). */
const char *event_type_name(enum event_type type);
/* Parses a contract name; returns -1 when unknown. */
int event_type_from_name(const char *name, enum event_type *out);

#endif
