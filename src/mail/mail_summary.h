/*
 * Findings of the mail analyzers about one session: STARTTLS, credentials
 * and the server's identity. Filled by src/mail, read by the outputs and the
 * rule engine.
 */
#ifndef MAILTAP_MAIL_SUMMARY_H
#define MAILTAP_MAIL_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/text.h"

/* Three-valued flag: null in JSON when the capture cannot tell. */
enum tristate {
	TRISTATE_UNKNOWN = -1,
	TRISTATE_FALSE = 0,
	TRISTATE_TRUE = 1,
};

enum starttls_result {
	STARTTLS_RESULT_NONE = 0, /* not attempted */
	STARTTLS_RESULT_OK,
	STARTTLS_RESULT_REFUSED,
	STARTTLS_RESULT_NO_HANDSHAKE,
	STARTTLS_RESULT_UNKNOWN,
};

enum auth_exposure {
	AUTH_EXPOSURE_CLEARTEXT = 0,
	AUTH_EXPOSURE_CRACKABLE,
	AUTH_EXPOSURE_TOKEN,
};

enum auth_result {
	AUTH_RESULT_UNKNOWN = 0,
	AUTH_RESULT_SUCCESS,
	AUTH_RESULT_FAILURE,
};

struct auth_record {
	char mechanism[24]; /* upper-case SASL name, or USER/PASS, LOGIN, APOP */
	struct wire_text username;
	struct wire_text password; /* kept only with --reveal-credentials */
	bool password_seen;	   /* a password or token crossed the wire */
	enum auth_exposure exposure;
	enum auth_result result;
};

struct starttls_summary {
	enum tristate offered;
	bool attempted;
	enum starttls_result result;
	uint16_t reply_code; /* SMTP reply code to STARTTLS, 0 otherwise */
};

/* RFC 8689 REQUIRETLS and the TLS-Required header, as seen outside TLS; filled by the SMTP analyzer. */
struct requiretls_summary {
	bool offered_in_clear;	/* an EHLO reply before TLS listed REQUIRETLS */
	bool mail_in_clear;	/* a MAIL FROM sent outside TLS carried the REQUIRETLS parameter */
	bool tls_required_no;	/* message data sent in clear had a "TLS-Required: No" header */
};

/* The POP3 greeting as seen in clear; filled by the POP3 analyzer. */
struct apop_summary {
	bool greeting_seen; /* a +OK greeting was captured */
	bool timestamp;	    /* it carried an APOP timestamp (RFC 1939 section 7) */
};

struct mail_summary {
	struct starttls_summary starttls;
	struct wire_text greeting_host; /* host name from the SMTP greeting, for the certificate check */
	struct wire_text helo;		/* EHLO/HELO argument */
	/*
	 * The last capability list seen in clear, one entry per line: the lines of
	 * an EHLO reply or a POP3 CAPA listing ("AUTH PLAIN LOGIN\nPIPELINING"), or
	 * the atoms of an IMAP CAPABILITY response or response code
	 * ("IMAP4rev1\nSTARTTLS"). Truncated lists keep whole entries only.
	 */
	struct wire_text capabilities;
	/* Domains of the RCPT TO addresses seen in clear, one per line, each once. */
	struct wire_text rcpt_domains;
	struct auth_record *auth;	/* owned; auth_count entries, at most LIMIT_AUTH_RECORDS */
	uint32_t auth_count;
	uint32_t auth_dropped; /* attempts past the cap, counted only */
	struct requiretls_summary requiretls;
	struct apop_summary apop;
};

const char *starttls_result_name(enum starttls_result r);
const char *auth_exposure_name(enum auth_exposure e);
const char *auth_result_name(enum auth_result r);

#endif
