/*
 * Internal interface between the two halves of the IMAP analyzer:
 * imap.c (state, pending commands, server responses, the ops table) and
 * imap_client.c (client commands and literals). Nothing outside src/mail
 * includes it.
 */
#ifndef MAILTAP_IMAP_INTERNAL_H
#define MAILTAP_IMAP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"
#include "core/text.h"
#include "mail/line.h"
#include "mail/mail_proto.h"
#include "mail/sasl.h"

/* Bytes kept of a LOGIN argument: one more than a wire_text holds, so a cut shows as truncated. */
#define IMAP_ARG_KEEP (WIRE_TEXT_MAX + 1u)

enum imap_state {
	IMAP_STATE_GREETING = 0, /* no greeting seen yet */
	IMAP_STATE_MIDSTREAM,	 /* picked up mid-session: the state is unknown */
	IMAP_STATE_NOT_AUTHENTICATED,
	IMAP_STATE_AUTHENTICATED,
	IMAP_STATE_TLS,	       /* STARTTLS accepted: the TLS analyzer has both directions */
	IMAP_STATE_COMPRESSED, /* COMPRESS accepted: both directions are deflate data (RFC 4978) */
	IMAP_STATE_LOGOUT,
};

enum imap_client_mode {
	IMAP_CLIENT_COMMAND = 0,  /* the next line starts a command */
	IMAP_CLIENT_CONTINUE,	  /* the next line continues the command after a literal */
	IMAP_CLIENT_LITERAL_WAIT, /* a synchronising literal waits for the server's "+" */
	IMAP_CLIENT_LITERAL,	  /* the dispatcher is counting the literal's bytes */
	IMAP_CLIENT_SASL,	  /* lines are responses of an AUTHENTICATE exchange */
};

enum imap_server_mode {
	IMAP_SERVER_RESPONSE = 0, /* the next line starts a response */
	IMAP_SERVER_CONTINUE,	  /* the next line continues a response after a literal */
	IMAP_SERVER_LITERAL,
};

enum imap_command_kind {
	IMAP_CMD_OTHER = 0, /* followed for its literals, and counted as a command sent in clear */
	IMAP_CMD_QUIET,	    /* CAPABILITY, NOOP, LOGOUT, ID: no STARTTLS verdict depends on them */
	IMAP_CMD_LOGIN,
	IMAP_CMD_AUTHENTICATE,
	IMAP_CMD_STARTTLS,
	IMAP_CMD_COMPRESS,
};

struct imap_tag {
	uint8_t data[LIMIT_IMAP_TAG_BYTES]; /* the first bytes of the tag */
	size_t len;			    /* the full length on the wire */
};

/* A command waiting for its tagged reply. */
struct imap_pending {
	bool used;
	struct imap_tag tag;
	enum imap_command_kind kind;
	int auth_index; /* LOGIN: the credential record, or -1 */
};

/* The client command being read; literals may split it over several lines. */
struct imap_command {
	struct imap_tag tag;
	enum imap_command_kind kind;
	unsigned argc;		       /* LOGIN arguments read so far */
	uint8_t user[IMAP_ARG_KEEP];   /* LOGIN: the first argument */
	size_t user_len;
	uint64_t literal_size;	       /* the literal announced at the end of the last line */
	uint64_t literal_left;	       /* literal bytes not seen yet, while waiting for "+" */
	size_t literal_keep;	       /* prefix of the literal the command needs */
	bool literal_taken;	       /* the literal's prefix was already used */
};

struct imap_caps {
	bool starttls;
	bool mangled; /* a rewritten STARTTLS such as "XXXXXXXX" */
};

struct imap_analyzer {
	enum imap_state state;
	enum imap_client_mode client;
	enum imap_server_mode server;
	struct imap_command cmd;
	struct imap_pending pending[LIMIT_IMAP_PENDING_COMMANDS];
	unsigned pending_next; /* the oldest slot, overwritten first */
	struct sasl_exchange sasl;
};

/* Records the current command as awaiting its tagged reply (imap.c). */
void imap_pending_add(struct imap_analyzer *a, enum imap_command_kind kind, int auth_index);

/* Marks the verdicts inconclusive when a counted literal passes the configured cap (imap_client.c). */
void imap_check_literal_size(struct mail_control *mc, uint64_t size);
/* Asks the dispatcher to count the next n client bytes as the literal (imap_client.c). */
void imap_client_count_literal(struct imap_analyzer *a, struct mail_control *mc, uint64_t n, size_t keep);
/* Reads one client line: a command, a continuation after a literal, or a SASL response. */
void imap_client_handle_line(struct imap_analyzer *a, struct mail_control *mc, const struct line *line);
/* Takes a client literal the dispatcher finished counting. */
void imap_client_handle_counted(struct imap_analyzer *a, struct mail_control *mc, const struct line *item);
/* Resets what a gap in the client direction makes unknown. */
void imap_client_handle_gap(struct imap_analyzer *a);

#endif
