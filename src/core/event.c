/* Event type names. */
#include "core/event.h"

#include <string.h>

static const char *const event_type_names[EVENT_TYPE_COUNT] = {
	[EVENT_SESSION] = "session",
	[EVENT_AUTH_CLEARTEXT] = "auth.cleartext",
	[EVENT_STARTTLS_STRIPPED] = "starttls.stripped",
	[EVENT_STARTTLS_REFUSED] = "starttls.refused",
	[EVENT_STARTTLS_INJECTION] = "starttls.injection",
	[EVENT_STARTTLS_NO_HANDSHAKE] = "starttls.no_handshake",
	[EVENT_TLS_CLIENT_HELLO] = "tls.client_hello",
	[EVENT_TLS_SERVER_HELLO] = "tls.server_hello",
	[EVENT_TLS_ALERT] = "tls.alert",
	[EVENT_TLS_CERTIFICATE] = "tls.certificate",
	[EVENT_TLS_PLAINTEXT_ON_TLS_PORT] = "tls.plaintext_on_tls_port",
};

const char *event_type_name(enum event_type type)
{
	if ((unsigned)type >= EVENT_TYPE_COUNT)
		return "unknown";
	return event_type_names[type];
}

int event_type_from_name(const char *name, enum event_type *out)
{
	for (int i = 0; i < EVENT_TYPE_COUNT; i++) {
		if (strcmp(event_type_names[i], name) == 0) {
			*out = (enum event_type)i;
			return 0;
		}
	}
	return -1;
}
