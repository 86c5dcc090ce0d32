/*
 * The interface between the application dispatcher (src/app/app.c) and the
 * SMTP, POP3 and IMAP analyzers, and the helpers all three share.
 *
 * The dispatcher owns framing: it runs one line reader per direction, feeds
 * complete lines to the analyzer, and hands a direction to the TLS analyzer
 * when STARTTLS succeeds. An analyzer only reads lines and reports to the
 * dispatcher what it learnt through struct mail_control: "the current client
 * line was STARTTLS", "the current server line is the go-ahead", "the next n
 * bytes of this direction are a literal or a BDAT chunk". Requests made in
 * on_line take effect right after the current line, so bytes that follow it
 * in the same segment are already treated the new way.
 */
#ifndef MAILTAP_MAIL_PROTO_H
#define MAILTAP_MAIL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/proto.h"
#include "mail/line.h"
#include "mail/mail_summary.h"

struct session;
struct mailtap_config;

/* A request to read the next bytes of one direction as one counted item. */
struct mail_counted_request {
	bool pending;
	uint64_t bytes; /* the size the peer announced; never used to allocate */
	size_t keep;	/* prefix bytes the analyzer wants back in on_counted */
};

/*
 * Shared state between the dispatcher and one analyzer. The dispatcher sets
 * session and cfg and applies the requests; the analyzer calls the helpers
 * below, which update session->mail and raise anomalies and events.
 */
struct mail_control {
	struct session *session;	  /* not owned */
	const struct mailtap_config *cfg; /* not owned */

	/* Requests, read and cleared by the dispatcher after each line. */
	bool tls_after_line[2]; /* indexed by enum direction */
	struct mail_counted_request counted[2];
	bool counted_cancel[2]; /* drop a counted item not yet started (a rejected IMAP literal) */
	bool body_skip[2];	/* pass over message text up to its "." line */
	bool body_stop[2];	/* the message ended another way: frame lines again */

	/* Bookkeeping of the helpers. */
	uint32_t auth_reported; /* bit i set once auth record i raised its event */
	bool capabilities_seen; /* a capability list (EHLO reply, CAPA, CAPABILITY) was seen */
};

/*
 * One mail protocol analyzer. Every callback receives the state that create
 * returned. Lines come without CR LF; line->too_long marks a truncated one,
 * and the analyzer decides whether it is worth ANOMALY_LINE_TOO_LONG (a
 * command or reply line is; a line of message data may not be).
 */
struct mail_proto_ops {
	const char *name;
	/* Returns the analyzer state, or NULL on allocation failure. */
	void *(*create)(struct mail_control *mc);
	void (*on_line)(void *state, struct mail_control *mc, enum direction dir, const struct line *line);
	/* A counted item the analyzer requested is complete; item->counted_len is its full size. */
	void (*on_counted)(void *state, struct mail_control *mc, enum direction dir, const struct line *item);
	/* len bytes of dir are missing; the reader has dropped its partial line (a counted item covering the gap stays in step). */
	void (*on_gap)(void *state, struct mail_control *mc, enum direction dir, uint64_t len);
	/* The session ends: settle what depends on replies that never came. */
	void (*finish)(void *state, struct mail_control *mc);
	void (*free)(void *state);
};

/* The analyzers. Each returns a table with static storage. */
const struct mail_proto_ops *smtp_proto_ops(void);
const struct mail_proto_ops *pop3_proto_ops(void);
const struct mail_proto_ops *imap_proto_ops(void);

/* Keyword matching: ASCII case-insensitive equality of p[0..len) with a NUL-terminated keyword. */
bool mail_keyword_equals(const uint8_t *p, size_t len, const char *keyword);
/* True when p[0..len) starts with keyword, case-insensitively. */
bool mail_keyword_has_prefix(const uint8_t *p, size_t len, const char *keyword);

/*
 * True when p[0..len) looks like keyword (STARTTLS, STLS) rewritten by a
 * middlebox: same length, not the keyword itself, and every character but at
 * most one is an 'X' or a non-letter ("XXXXXXXA", "XXXXXXXX", "****").
 */
bool mail_keyword_is_mangled(const uint8_t *p, size_t len, const char *keyword);

/*
 * Splits the next space-separated word off the bytes from p to end: sets
 * word and word_len, and advances p past the word and the spaces after it.
 * Returns false when no word is left.
 */
bool mail_next_word(const uint8_t **p, const uint8_t *end, const uint8_t **word, size_t *word_len);

/*
 * Credentials. mail_auth_add() creates a record (at most LIMIT_AUTH_RECORDS;
 * later ones are counted in session->mail.auth_dropped) and raises the
 * anomaly for its exposure: cleartext_credentials,
 * challenge_response_auth_in_cleartext or bearer_token_in_cleartext. Returns
 * the record index, or -1 when the record was dropped; the other helpers
 * accept -1 and then do nothing.
 */
int mail_auth_add(struct mail_control *mc, const char *mechanism, enum auth_exposure exposure);
void mail_auth_set_username(struct mail_control *mc, int index, const uint8_t *p, size_t len);
/* Marks password_seen; stores the bytes only when cfg->reveal_credentials is set. */
void mail_auth_set_password(struct mail_control *mc, int index, const uint8_t *p, size_t len);
/* Sets the result and raises EVENT_AUTH_CLEARTEXT for the record (once). */
void mail_auth_set_result(struct mail_control *mc, int index, enum auth_result result);
/* Raises EVENT_AUTH_CLEARTEXT for records whose result never came (called by the dispatcher at the end). */
void mail_auth_report_pending(struct mail_control *mc);

/*
 * STARTTLS. The analyzer calls mail_starttls_command() on the client's
 * STARTTLS/STLS line, after which the client direction waits for TLS. It
 * calls mail_starttls_reply() on the server's reply. An accepted reply
 * switches the server direction to TLS after this line, and a rejected one
 * records starttls_refused. For SMTP reply_code is the reply code; POP3 and
 * IMAP pass 0.
 */
void mail_starttls_command(struct mail_control *mc);
void mail_starttls_reply(struct mail_control *mc, bool accepted, uint16_t reply_code);

/*
 * A complete capability list was seen (EHLO reply, CAPA, CAPABILITY).
 * starttls: the STARTTLS/STLS capability was listed; mangled: a mangled form
 * of it was listed. Sets starttls.offered and raises starttls_not_offered or
 * starttls_stripped. Once STARTTLS was offered, a later list without it
 * (after login) changes nothing. Nothing is judged on implicit-TLS ports.
 */
void mail_capabilities_seen(struct mail_control *mc, bool starttls, bool mangled);
/*
 * Appends one capability (an EHLO or CAPA line, or an IMAP atom) to a list
 * kept one per line for session->mail.capabilities. An entry that does not
 * fit whole marks the list truncated and is dropped with every later one, so
 * the list never ends in a cut name.
 */
void mail_capability_append(struct wire_text *list, const uint8_t *p, size_t len);
/* The client sent a mangled STARTTLS command (the middlebox rewrote it): starttls_stripped. */
void mail_starttls_mangled_command(struct mail_control *mc);

/*
 * The client sent a command in clear beyond greeting, capability, STARTTLS,
 * NOOP and QUIT (AUTH, MAIL, USER, LOGIN, SELECT, ...). Raises
 * starttls_not_used when STARTTLS was offered and not attempted, and
 * plaintext_after_starttls_failure after a refusal.
 */
void mail_plaintext_command(struct mail_control *mc);

/* Asks the dispatcher to read the next n bytes of dir as one counted item (after the current line). */
void mail_expect_counted(struct mail_control *mc, enum direction dir, uint64_t n, size_t keep);

/*
 * Cancels a counted item of dir that has not consumed any byte yet, for a
 * synchronising IMAP literal the server rejected (the client then sends no
 * literal bytes). Applied after the current line.
 */
void mail_cancel_counted(struct mail_control *mc, enum direction dir);

/*
 * Asks the dispatcher to pass over the message text that follows the
 * current line of dir, up to the "." line that ends it, which the analyzer
 * then receives as usual. For message data whose lines need no reading.
 */
void mail_skip_message_body(struct mail_control *mc, enum direction dir);
/* Withdraws mail_skip_message_body() for a message that ended without its "." line. */
void mail_stop_message_body(struct mail_control *mc, enum direction dir);

/* Marks the session's verdicts inconclusive with a short reason (a string literal). */
void mail_set_inconclusive(struct mail_control *mc, const char *reason);

#endif
