/* Session helpers shared by every analyzer. */
#include "core/session.h"

#include <stdlib.h>
#include <string.h>

#include "tls/tls_cert.h"

void session_emit(struct session *s, enum event_type type, int aux)
{
	struct event ev;

	if (s->sink == NULL || s->sink->emit == NULL)
		return;
	ev.type = type;
	ev.session = s;
	ev.ts_usec = s->now_usec;
	ev.aux = aux;
	s->sink->emit(s->sink->ctx, &ev);
}

void session_add_alert(struct session *s, uint32_t rule_id)
{
	for (unsigned i = 0; i < s->alert_count; i++) {
		if (s->alerts[i] == rule_id)
			return;
	}
	if (s->alert_count < SESSION_MAX_ALERTS)
		s->alerts[s->alert_count++] = rule_id;
}

void session_release(struct session *s)
{
	free(s->mail.auth);
	s->mail.auth = NULL;
	s->mail.auth_count = 0;
	tls_cert_summary_free(s->tls.cert);
	s->tls.cert = NULL;
}
