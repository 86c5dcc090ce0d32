/*
 * Helpers shared by the SMTP, POP3 and IMAP analyzers: keyword matching,
 * credential records and the STARTTLS verdicts (RFC 3207, RFC 2595, RFC
 * 3501 section 6.2.1) as they are written into the session.
 */
#include "mail/mail_proto.h"

#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/limits.h"
#include "core/session.h"

static uint8_t mail_ascii_upper(uint8_t c)
{
	return (c >= 'a' && c <= 'z') ? (uint8_t)(c - 'a' + 'A') : c;
}

static bool mail_is_letter(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool mail_keyword_has_prefix(const uint8_t *p, size_t len, const char *keyword)
{
	size_t n = strlen(keyword);

	if (len < n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (mail_ascii_upper(p[i]) != mail_ascii_upper((uint8_t)keyword[i]))
			return false;
	}
	return true;
}

bool mail_keyword_equals(const uint8_t *p, size_t len, const char *keyword)
{
	return len == strlen(keyword) && mail_keyword_has_prefix(p, len, keyword);
}

bool mail_keyword_is_mangled(const uint8_t *p, size_t len, const char *keyword)
{
	size_t others = 0;

	if (len != strlen(keyword) || len < 2 || mail_keyword_equals(p, len, keyword))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (p[i] != 'X' && p[i] != 'x' && mail_is_letter(p[i]))
			others++;
	}
	return others <= 1;
}

bool mail_next_word(const uint8_t **p, const uint8_t *end, const uint8_t **word, size_t *word_len)
{
	const uint8_t *s = *p;
	const uint8_t *e;

	while (s < end && *s == ' ')
		s++;
	if (s == end) {
		*p = s;
		return false;
	}
	e = s;
	while (e < end && *e != ' ')
		e++;
	*word = s;
	*word_len = (size_t)(e - s);
	while (e < end && *e == ' ')
		e++;
	*p = e;
	return true;
}

static struct auth_record *mail_auth_get(struct mail_control *mc, int index)
{
	if (index < 0 || (uint32_t)index >= mc->session->mail.auth_count)
		return NULL;
	return &mc->session->mail.auth[index];
}

static enum anomaly mail_exposure_anomaly(enum auth_exposure exposure)
{
	switch (exposure) {
	case AUTH_EXPOSURE_CRACKABLE: return ANOMALY_CHALLENGE_RESPONSE_AUTH_IN_CLEARTEXT;
	case AUTH_EXPOSURE_TOKEN: return ANOMALY_BEARER_TOKEN_IN_CLEARTEXT;
	case AUTH_EXPOSURE_CLEARTEXT: break;
	}
	return ANOMALY_CLEARTEXT_CREDENTIALS;
}

int mail_auth_add(struct mail_control *mc, const char *mechanism, enum auth_exposure exposure)
{
	struct mail_summary *m = &mc->session->mail;
	struct auth_record *grown;
	struct auth_record *rec;
	size_t n;

	session_add_anomaly(mc->session, mail_exposure_anomaly(exposure));

	/* Past the cap an attempt is only counted, so a client looping on AUTH cannot grow memory. */
	if (m->auth_count >= LIMIT_AUTH_RECORDS) {
		m->auth_dropped++;
		return -1;
	}
	grown = realloc(m->auth, (m->auth_count + 1) * sizeof(*m->auth));
	if (grown == NULL) {
		m->auth_dropped++;
		return -1;
	}
	m->auth = grown;
	rec = &m->auth[m->auth_count];
	memset(rec, 0, sizeof(*rec));
	n = strlen(mechanism);
	if (n >= sizeof(rec->mechanism))
		n = sizeof(rec->mechanism) - 1;
	for (size_t i = 0; i < n; i++)
		rec->mechanism[i] = (char)mail_ascii_upper((uint8_t)mechanism[i]);
	rec->exposure = exposure;
	rec->result = AUTH_RESULT_UNKNOWN;
	return (int)m->auth_count++;
}

void mail_auth_set_username(struct mail_control *mc, int index, const uint8_t *p, size_t len)
{
	struct auth_record *rec = mail_auth_get(mc, index);

	if (rec != NULL)
		wire_text_set(&rec->username, p, len);
}

void mail_auth_set_password(struct mail_control *mc, int index, const uint8_t *p, size_t len)
{
	struct auth_record *rec = mail_auth_get(mc, index);

	if (rec == NULL)
		return;
	rec->password_seen = true;
	if (mc->cfg != NULL && mc->cfg->reveal_credentials)
		wire_text_set(&rec->password, p, len);
}

static void mail_auth_report(struct mail_control *mc, int index)
{
	uint32_t bit = 1u << index;

	if (mc->auth_reported & bit)
		return;
	mc->auth_reported |= bit;
	session_emit(mc->session, EVENT_AUTH_CLEARTEXT, index);
}

void mail_auth_set_result(struct mail_control *mc, int index, enum auth_result result)
{
	struct auth_record *rec = mail_auth_get(mc, index);

	if (rec == NULL)
		return;
	rec->result = result;
	mail_auth_report(mc, index);
}

void mail_auth_report_pending(struct mail_control *mc)
{
	for (uint32_t i = 0; i < mc->session->mail.auth_count; i++)
		mail_auth_report(mc, (int)i);
}

void mail_starttls_command(struct mail_control *mc)
{
	struct starttls_summary *st = &mc->session->mail.starttls;

	st->attempted = true;
	st->result = STARTTLS_RESULT_UNKNOWN;
	mc->tls_after_line[DIR_TO_SERVER] = true;
}

void mail_starttls_reply(struct mail_control *mc, bool accepted, uint16_t reply_code)
{
	struct starttls_summary *st = &mc->session->mail.starttls;

	st->reply_code = reply_code;
	if (accepted) {
		st->result = STARTTLS_RESULT_OK;
		mc->tls_after_line[DIR_TO_CLIENT] = true;
		return;
	}
	st->result = STARTTLS_RESULT_REFUSED;
	if (!session_has_anomaly(mc->session, ANOMALY_STARTTLS_REFUSED)) {
		session_add_anomaly(mc->session, ANOMALY_STARTTLS_REFUSED);
		session_emit(mc->session, EVENT_STARTTLS_REFUSED, 0);
	}
}

static void mail_report_stripped(struct mail_control *mc)
{
	if (session_has_anomaly(mc->session, ANOMALY_STARTTLS_STRIPPED))
		return;
	session_add_anomaly(mc->session, ANOMALY_STARTTLS_STRIPPED);
	session_emit(mc->session, EVENT_STARTTLS_STRIPPED, 0);
}

void mail_capabilities_seen(struct mail_control *mc, bool starttls, bool mangled)
{
	struct starttls_summary *st = &mc->session->mail.starttls;

	mc->capabilities_seen = true;

	/* On implicit-TLS ports (already reported as clear text) STARTTLS verdicts do not apply. */
	if (app_proto_is_implicit_tls(mc->session->app_proto))
		return;
	if (starttls) {
		st->offered = TRISTATE_TRUE;
		mc->session->anomalies &= ~((anomaly_set)1u << ANOMALY_STARTTLS_NOT_OFFERED);
		return;
	}
	if (mangled) {
		/* The capability was rewritten on the way (the "XXXXXXXA" of some firewalls). */
		mail_report_stripped(mc);
		if (st->offered != TRISTATE_TRUE)
			st->offered = TRISTATE_FALSE;
		return;
	}

	/* A list sent after login may drop STARTTLS, which applies only before authentication. */
	if (st->offered == TRISTATE_TRUE)
		return;
	st->offered = TRISTATE_FALSE;
	session_add_anomaly(mc->session, ANOMALY_STARTTLS_NOT_OFFERED);
}

void mail_capability_append(struct wire_text *list, const uint8_t *p, size_t len)
{
	size_t separator = list->len > 0 ? 1 : 0;

	if (len == 0)
		return;

	/* Once an entry was dropped, later ones are too, so the list stays a prefix of the server's. */
	if (list->truncated || len + separator > (size_t)(WIRE_TEXT_MAX - list->len)) {
		list->truncated = true;
		return;
	}
	if (separator > 0)
		wire_text_append(list, "\n", 1);
	wire_text_append(list, p, len);
}

void mail_starttls_mangled_command(struct mail_control *mc)
{
	mail_report_stripped(mc);
}

void mail_plaintext_command(struct mail_control *mc)
{
	const struct starttls_summary *st = &mc->session->mail.starttls;

	if (st->offered == TRISTATE_TRUE && !st->attempted)
		session_add_anomaly(mc->session, ANOMALY_STARTTLS_NOT_USED);
	if (st->result == STARTTLS_RESULT_REFUSED)
		session_add_anomaly(mc->session, ANOMALY_PLAINTEXT_AFTER_STARTTLS_FAILURE);
}

void mail_expect_counted(struct mail_control *mc, enum direction dir, uint64_t n, size_t keep)
{
	mc->counted[dir].pending = true;
	mc->counted[dir].bytes = n;
	mc->counted[dir].keep = keep;
}

void mail_cancel_counted(struct mail_control *mc, enum direction dir)
{
	mc->counted[dir].pending = false;
	mc->counted_cancel[dir] = true;
}

void mail_skip_message_body(struct mail_control *mc, enum direction dir)
{
	mc->body_skip[dir] = true;
	mc->body_stop[dir] = false;
}

void mail_stop_message_body(struct mail_control *mc, enum direction dir)
{
	mc->body_skip[dir] = false;
	mc->body_stop[dir] = true;
}

void mail_set_inconclusive(struct mail_control *mc, const char *reason)
{
	if (mc->session->evidence.inconclusive == NULL)
		mc->session->evidence.inconclusive = reason;
}
