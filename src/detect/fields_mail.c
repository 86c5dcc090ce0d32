/*
 * Rule fields read from the mail summary: STARTTLS (RFC 3207, RFC 2595),
 * credentials (RFC 4954 and the SASL mechanisms), and the session's
 * evidence about the capture.
 */
#include <stdio.h>
#include <string.h>

#include "core/proto.h"
#include "detect/fields_internal.h"

static const char *const starttls_result_values[] = {"none", "ok", "refused", "no_handshake",
						     "unknown", NULL};
static const char *const exposure_values[] = {"cleartext", "crackable", "token", NULL};
static const char *const mta_sts_source_values[] = {"operator", "learnt", NULL};
static const char *const auth_result_values[] = {"success", "failure", "unknown", NULL};
static const char *const direction_values[] = {"client_to_server", "server_to_client", NULL};
static const char *const injection_values[] = {"command", "response", NULL};

/* STARTTLS fields are absent on implicit-TLS ports, where STARTTLS has no meaning. */
static bool event_has_starttls(const struct event *ev)
{
	return !app_proto_is_implicit_tls(ev->session->app_proto);
}

static void read_starttls_offered(const struct event *ev, struct field_value *out)
{
	enum tristate offered = ev->session->mail.starttls.offered;

	if (event_has_starttls(ev) && offered != TRISTATE_UNKNOWN)
		field_set_bool(out, offered == TRISTATE_TRUE);
}

static void read_starttls_attempted(const struct event *ev, struct field_value *out)
{
	if (event_has_starttls(ev))
		field_set_bool(out, ev->session->mail.starttls.attempted);
}

static void read_starttls_result(const struct event *ev, struct field_value *out)
{
	if (event_has_starttls(ev))
		field_set_string(out, starttls_result_name(ev->session->mail.starttls.result));
}

static void read_starttls_reply_code(const struct event *ev, struct field_value *out)
{
	uint16_t code = ev->session->mail.starttls.reply_code;

	if (event_has_starttls(ev) && code != 0)
		field_set_int(out, code);
}

static void read_injection_direction(const struct event *ev, struct field_value *out)
{
	field_set_string(out, ev->aux == DIR_TO_CLIENT ? "server_to_client" : "client_to_server");
}

static void read_injection_kind(const struct event *ev, struct field_value *out)
{
	field_set_string(out, ev->aux == DIR_TO_CLIENT ? "response" : "command");
}

/* The auth.cleartext event's record: aux indexes session->mail.auth. */
static const struct auth_record *event_auth(const struct event *ev)
{
	const struct mail_summary *mail = &ev->session->mail;

	/* aux comes from the analyzer; a stale index must read as "absent", not out of bounds. */
	if (ev->aux < 0 || (uint32_t)ev->aux >= mail->auth_count || mail->auth == NULL)
		return NULL;
	return &mail->auth[ev->aux];
}

static void read_auth_mechanism(const struct event *ev, struct field_value *out)
{
	const struct auth_record *auth = event_auth(ev);

	if (auth != NULL)
		field_set_array(out, auth->mechanism, sizeof(auth->mechanism));
}

static void read_auth_username(const struct event *ev, struct field_value *out)
{
	const struct auth_record *auth = event_auth(ev);

	if (auth != NULL)
		field_set_text(out, &auth->username);
}

static void read_auth_exposure(const struct event *ev, struct field_value *out)
{
	const struct auth_record *auth = event_auth(ev);

	if (auth != NULL)
		field_set_string(out, auth_exposure_name(auth->exposure));
}

static void read_auth_result(const struct event *ev, struct field_value *out)
{
	const struct auth_record *auth = event_auth(ev);

	if (auth != NULL)
		field_set_string(out, auth_result_name(auth->result));
}

static void read_auth_password_seen(const struct event *ev, struct field_value *out)
{
	const struct auth_record *auth = event_auth(ev);

	if (auth != NULL)
		field_set_bool(out, auth->password_seen);
}

/* Session-wide lists over every auth record, for the session event. */
static unsigned session_auth_count(const struct event *ev)
{
	const struct mail_summary *mail = &ev->session->mail;

	return mail->auth == NULL ? 0 : mail->auth_count;
}

static void read_session_auth_mechanisms(const struct event *ev, struct field_value *out)
{
	const struct auth_record *auth = ev->session->mail.auth;

	out->present = true;
	for (unsigned i = 0; i < session_auth_count(ev); i++)
		field_add_item(out, auth[i].mechanism, strnlen(auth[i].mechanism, sizeof(auth[i].mechanism)));
}

static void read_session_auth_exposures(const struct event *ev, struct field_value *out)
{
	const struct auth_record *auth = ev->session->mail.auth;

	out->present = true;
	for (unsigned i = 0; i < session_auth_count(ev); i++) {
		const char *name = auth_exposure_name(auth[i].exposure);

		field_add_item(out, name, strlen(name));
	}
}

static void read_session_auth_usernames(const struct event *ev, struct field_value *out)
{
	const struct auth_record *auth = ev->session->mail.auth;

	out->present = true;
	for (unsigned i = 0; i < session_auth_count(ev); i++)
		field_add_item(out, auth[i].username.data, field_text_len(&auth[i].username));
}

static void read_session_auth_count(const struct event *ev, struct field_value *out)
{
	field_set_int(out, (int64_t)ev->session->mail.auth_count + ev->session->mail.auth_dropped);
}

static void read_evidence_midstream(const struct event *ev, struct field_value *out)
{
	field_set_bool(out, ev->session->evidence.midstream);
}

static void read_evidence_handshake_seen(const struct event *ev, struct field_value *out)
{
	field_set_bool(out, ev->session->evidence.handshake_seen);
}

static void read_evidence_gaps(const struct event *ev, struct field_value *out)
{
	field_set_int(out, ev->session->evidence.gaps);
}

static void read_evidence_inconclusive(const struct event *ev, struct field_value *out)
{
	const char *reason = ev->session->evidence.inconclusive;

	if (reason != NULL)
		field_set_string(out, reason);
}

static void read_bytes_toserver(const struct event *ev, struct field_value *out)
{
	field_set_int(out, (int64_t)(ev->session->payload_bytes[DIR_TO_SERVER] & (uint64_t)INT64_MAX));
}

static void read_bytes_toclient(const struct event *ev, struct field_value *out)
{
	field_set_int(out, (int64_t)(ev->session->payload_bytes[DIR_TO_CLIENT] & (uint64_t)INT64_MAX));
}

static void read_mta_sts_domain(const struct event *ev, struct field_value *out)
{
	if (ev->session->mta_sts.checked)
		field_set_array(out, ev->session->mta_sts.domain, sizeof(ev->session->mta_sts.domain));
}

static void read_mta_sts_mode(const struct event *ev, struct field_value *out)
{
	if (ev->session->mta_sts.checked && ev->session->mta_sts.mode[0] != '\0')
		field_set_array(out, ev->session->mta_sts.mode, sizeof(ev->session->mta_sts.mode));
}

static void read_mta_sts_policy_source(const struct event *ev, struct field_value *out)
{
	if (ev->session->mta_sts.checked && ev->session->mta_sts.policy_source != NULL)
		field_set_string(out, ev->session->mta_sts.policy_source);
}

static void read_mta_sts_policy_id(const struct event *ev, struct field_value *out)
{
	if (ev->session->mta_sts.checked && ev->session->mta_sts.policy_id[0] != '\0')
		field_set_array(out, ev->session->mta_sts.policy_id, sizeof(ev->session->mta_sts.policy_id));
}

static void read_mta_sts_result(const struct event *ev, struct field_value *out)
{
	if (ev->session->mta_sts.checked)
		field_set_string(out, ev->session->mta_sts.result);
}

const struct field_def field_group_session_mail[] = {
	{"starttls.offered", FIELD_BOOL, read_starttls_offered, NULL,
	 "server offered STARTTLS; absent when the capture cannot tell or on implicit-TLS ports"},
	{"starttls.attempted", FIELD_BOOL, read_starttls_attempted, NULL, "client sent STARTTLS"},
	{"starttls.result", FIELD_STRING, read_starttls_result, starttls_result_values,
	 "outcome of STARTTLS"},
	{"starttls.reply_code", FIELD_INTEGER, read_starttls_reply_code, NULL,
	 "SMTP reply code to STARTTLS"},
	{"auth.mechanism", FIELD_STRING_LIST, read_session_auth_mechanisms, NULL,
	 "mechanism of each credential seen in clear"},
	{"auth.exposure", FIELD_STRING_LIST, read_session_auth_exposures, exposure_values,
	 "exposure of each credential seen in clear"},
	{"auth.username", FIELD_STRING_LIST, read_session_auth_usernames, NULL,
	 "user name of each credential seen in clear"},
	{"auth.count", FIELD_INTEGER, read_session_auth_count, NULL,
	 "credential attempts seen in clear, counting those past the record cap"},
	{"evidence.handshake_seen", FIELD_BOOL, read_evidence_handshake_seen, NULL,
	 "the TCP three-way handshake was captured"},
	{"evidence.midstream", FIELD_BOOL, read_evidence_midstream, NULL,
	 "the flow was picked up without its SYN"},
	{"evidence.gaps", FIELD_INTEGER, read_evidence_gaps, NULL, "missing byte ranges"},
	{"evidence.inconclusive", FIELD_STRING, read_evidence_inconclusive, NULL,
	 "why a verdict was withheld; absent when none was"},
	{"mta_sts.domain", FIELD_STRING, read_mta_sts_domain, NULL,
	 "domain whose MTA-STS policy the session was checked against; absent when none"},
	{"mta_sts.mode", FIELD_STRING, read_mta_sts_mode, NULL,
	 "that policy's mode: enforce or testing; absent for a learnt policy"},
	{"mta_sts.policy_source", FIELD_STRING, read_mta_sts_policy_source, mta_sts_source_values,
	 "where the policy came from: operator (--mta-sts-dir) or learnt (DNS or HTTPS on the link)"},
	{"mta_sts.policy_id", FIELD_STRING, read_mta_sts_policy_id, NULL,
	 "id of the learnt policy's DNS TXT record; absent when not seen"},
	{"mta_sts.result", FIELD_STRING, read_mta_sts_result, NULL,
	 "success, or the RFC 8460 result type of the failure"},
	{"bytes_toserver", FIELD_INTEGER, read_bytes_toserver, NULL, "TCP payload bytes from the client"},
	{"bytes_toclient", FIELD_INTEGER, read_bytes_toclient, NULL, "TCP payload bytes from the server"},
	{NULL, FIELD_STRING, NULL, NULL, NULL},
};

const struct field_def field_group_auth[] = {
	{"mechanism", FIELD_STRING, read_auth_mechanism, NULL,
	 "SASL mechanism in upper case, or USER/PASS, LOGIN, APOP"},
	{"username", FIELD_STRING, read_auth_username, NULL, "user name as sent"},
	{"exposure", FIELD_STRING, read_auth_exposure, exposure_values,
	 "cleartext (password readable), crackable (challenge-response), token (bearer token)"},
	{"result", FIELD_STRING, read_auth_result, auth_result_values, "server's verdict"},
	{"password_seen", FIELD_BOOL, read_auth_password_seen, NULL,
	 "a password or token crossed the wire"},
	{NULL, FIELD_STRING, NULL, NULL, NULL},
};

const struct field_def field_group_starttls[] = {
	{"offered", FIELD_BOOL, read_starttls_offered, NULL,
	 "server offered STARTTLS; absent when the capture cannot tell"},
	{"attempted", FIELD_BOOL, read_starttls_attempted, NULL, "client sent STARTTLS"},
	{"result", FIELD_STRING, read_starttls_result, starttls_result_values, "outcome of STARTTLS"},
	{"reply_code", FIELD_INTEGER, read_starttls_reply_code, NULL, "SMTP reply code to STARTTLS"},
	{NULL, FIELD_STRING, NULL, NULL, NULL},
};

const struct field_def field_group_injection[] = {
	{"direction", FIELD_STRING, read_injection_direction, direction_values,
	 "direction of the injected clear-text bytes"},
	{"injection", FIELD_STRING, read_injection_kind, injection_values,
	 "command (client bytes after STARTTLS) or response (server bytes after the go-ahead)"},
	{NULL, FIELD_STRING, NULL, NULL, NULL},
};
