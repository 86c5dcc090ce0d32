/*
 * SASL exchanges (RFC 4422) as seen on the wire by SMTP AUTH (RFC 4954),
 * POP3 AUTH (RFC 5034) and IMAP AUTHENTICATE (RFC 3501, RFC 4959). The
 * protocol analyzer reports the mechanism and initial response, each client
 * response line, each server challenge and the final result. This module
 * decodes the base64, extracts the user name and secret per mechanism, and
 * fills an auth record through the mail_auth_* helpers.
 *
 * Mechanisms: PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195), DIGEST-MD5
 * (RFC 2831), NTLM (MS-NLMP Type 3), XOAUTH2, OAUTHBEARER (RFC 7628),
 * SCRAM-* (RFC 5802), GSSAPI (RFC 4752, followed but not recorded: Kerberos
 * puts no reusable secret on the wire), ANONYMOUS (ignored).
 */
#ifndef MAILTAP_SASL_H
#define MAILTAP_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mail/mail_proto.h"

enum sasl_mechanism {
	SASL_MECH_OTHER = 0, /* unknown or unlisted: followed, nothing recorded */
	SASL_MECH_PLAIN,
	SASL_MECH_LOGIN,
	SASL_MECH_CRAM_MD5,
	SASL_MECH_DIGEST_MD5,
	SASL_MECH_NTLM,
	SASL_MECH_XOAUTH2,
	SASL_MECH_OAUTHBEARER,
	SASL_MECH_GSSAPI,
	SASL_MECH_SCRAM,
	SASL_MECH_ANONYMOUS,
	SASL_MECH_EXTERNAL,
};

enum sasl_state {
	SASL_STATE_IDLE = 0,
	SASL_STATE_ACTIVE, /* waiting for server challenges and client responses */
	SASL_STATE_CANCELLED, /* the client sent "*"; the server's failure reply ends it */
};

/* One AUTH/AUTHENTICATE exchange; the protocol analyzer embeds it in its state. */
struct sasl_exchange {
	enum sasl_state state;
	enum sasl_mechanism mechanism;
	char mechanism_name[24]; /* upper-cased, truncated to fit */
	uint32_t responses;	 /* client responses seen, the initial response included */
	int auth_index;		 /* auth record, or -1 */
	bool next_is_password;	 /* LOGIN: the server asked for the password */
	bool expect_empty;	 /* XOAUTH2/OAUTHBEARER: an error challenge wants an empty response */
	bool client_done;	 /* the client has sent all its mechanism needs (or cancelled) */
};

/* Maps a mechanism name (case-insensitive; "SCRAM-SHA-256-PLUS" -> SCRAM). */
enum sasl_mechanism sasl_mechanism_from_name(const uint8_t *name, size_t len);

/*
 * Starts an exchange. initial is the initial response (SMTP AUTH second
 * argument, POP3 AUTH, IMAP SASL-IR), "=" for an empty one, or NULL when
 * absent.
 */
void sasl_start(struct sasl_exchange *x, struct mail_control *mc, const uint8_t *mechanism,
		size_t mechanism_len, const uint8_t *initial, size_t initial_len);
/* A client line while the exchange is active: a base64 response, or "*" to cancel. */
void sasl_client_line(struct sasl_exchange *x, struct mail_control *mc, const uint8_t *line, size_t len);
/* A server continuation (SMTP 334, POP3/IMAP "+") carrying a base64 challenge. */
void sasl_server_challenge(struct sasl_exchange *x, struct mail_control *mc, const uint8_t *text,
			   size_t len);
/* The server's final reply; the exchange returns to idle. */
void sasl_finish(struct sasl_exchange *x, struct mail_control *mc, enum auth_result result);
/* True while client lines belong to the exchange rather than being commands. */
bool sasl_is_active(const struct sasl_exchange *x);
/*
 * True when the client has sent everything its mechanism needs, so that
 * without a new server challenge its next line is a command (this keeps a
 * capture that lacks the server's reply in step). False for mechanisms
 * whose length is unknown (GSSAPI, unlisted ones).
 */
bool sasl_client_is_done(const struct sasl_exchange *x);
void sasl_reset(struct sasl_exchange *x);

/* Fields found in one decoded response; pointers into the decoded bytes. */
struct sasl_fields {
	const uint8_t *user;
	size_t user_len;
	const uint8_t *secret; /* password, token, or NULL */
	size_t secret_len;
};

/* Decoders for one decoded client response. Each returns 0, or -1 when the bytes do not have the mechanism's form. */
int sasl_parse_plain(const uint8_t *p, size_t len, struct sasl_fields *out);
int sasl_parse_cram_md5(const uint8_t *p, size_t len, struct sasl_fields *out);
int sasl_parse_digest_md5(const uint8_t *p, size_t len, struct sasl_fields *out);
/* XOAUTH2 and OAUTHBEARER share the "key=value^A" layout; secret is the bearer token. */
int sasl_parse_oauth(const uint8_t *p, size_t len, struct sasl_fields *out);
int sasl_parse_scram_first(const uint8_t *p, size_t len, struct sasl_fields *out);
/*
 * NTLM AUTHENTICATE (Type 3) message: writes "DOMAIN\user" as UTF-8 (or the
 * OEM bytes as they are) into user[0..user_cap) and sets *user_len. Returns
 * 0, or -1 when the message is not a well-formed Type 3.
 */
int sasl_parse_ntlm_type3(const uint8_t *p, size_t len, uint8_t *user, size_t user_cap, size_t *user_len);

#endif
