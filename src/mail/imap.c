/*
 * IMAP analyzer: follows the client's commands and the server's responses
 * through the greeting (RFC 3501 section 7.1), CAPABILITY (sections 6.1.1
 * and 7.2.1), STARTTLS (section 6.2.1), LOGIN (section 6.2.3),
 * AUTHENTICATE (section 6.2.2, with the SASL-IR initial response of RFC
 * 4959) and literals in both directions (section 4.3, and the
 * non-synchronising literals of RFC 7888). Credentials and STARTTLS
 * verdicts go through the mail_proto helpers. This file contains the
 * session state and the server side. imap_client.c reads the client's
 * commands, and imap_syntax.c contains the lexical readers.
 */
#include "mail/imap_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/session.h"
#include "mail/imap.h"

/* ---- state, tags and pending commands ----------------------------------- */

static void imap_set_state(struct imap_analyzer *a, enum imap_state state)
{
	a->state = state;
}

static bool imap_tag_equals(const struct imap_tag *t, const uint8_t *p, size_t len)
{
	size_t n = len < sizeof(t->data) ? len : sizeof(t->data);

	return t->len == len && memcmp(t->data, p, n) == 0;
}

/* When every slot is taken, the oldest is dropped. */
void imap_pending_add(struct imap_analyzer *a, enum imap_command_kind kind, int auth_index)
{
	struct imap_pending *slot = &a->pending[a->pending_next];

	a->pending_next = (a->pending_next + 1) % LIMIT_IMAP_PENDING_COMMANDS;
	slot->used = true;
	slot->tag = a->cmd.tag;
	slot->kind = kind;
	slot->auth_index = auth_index;
}

/* Removes the oldest pending command with this tag (clients may reuse one tag) into *out. */
static bool imap_pending_take(struct imap_analyzer *a, const uint8_t *tag, size_t tag_len,
			      struct imap_pending *out)
{
	for (unsigned i = 0; i < LIMIT_IMAP_PENDING_COMMANDS; i++) {
		struct imap_pending *p = &a->pending[(a->pending_next + i) % LIMIT_IMAP_PENDING_COMMANDS];

		if (p->used && imap_tag_equals(&p->tag, tag, tag_len)) {
			*out = *p;
			p->used = false;
			return true;
		}
	}
	return false;
}

/* ---- server responses ---------------------------------------------------- */

/* Reads the capability names in p[0..len) (a CAPABILITY response or a [CAPABILITY ...] code). */
static void imap_read_capabilities(const uint8_t *p, size_t len, struct imap_caps *caps)
{
	const uint8_t *end = p + len;
	const uint8_t *word;
	size_t word_len;

	memset(caps, 0, sizeof(*caps));
	while (mail_next_word(&p, end, &word, &word_len)) {
		if (mail_keyword_equals(word, word_len, "STARTTLS"))
			caps->starttls = true;
		else if (mail_keyword_is_mangled(word, word_len, "STARTTLS"))
			caps->mangled = true;
	}
}

/*
 * Stores the atoms of a capability list in p[0..len) as the session's
 * capabilities, one per line. Every list seen in clear replaces the last
 * one, as every EHLO reply does for SMTP. cut: the line was cut at the line
 * cap, so its last atom may be incomplete and is left out.
 */
static void imap_export_capabilities(struct mail_control *mc, const uint8_t *p, size_t len, bool cut)
{
	struct wire_text *list = &mc->session->mail.capabilities;
	const uint8_t *end = p + len;
	const uint8_t *word;
	size_t word_len;

	memset(list, 0, sizeof(*list));
	while (mail_next_word(&p, end, &word, &word_len)) {
		if (cut && word + word_len == end) {
			list->truncated = true;
			break;
		}
		mail_capability_append(list, word, word_len);
	}
}

/* True while a LOGIN or AUTHENTICATE awaits its tagged reply. */
static bool imap_has_pending_login(const struct imap_analyzer *a)
{
	for (unsigned i = 0; i < LIMIT_IMAP_PENDING_COMMANDS; i++) {
		const struct imap_pending *p = &a->pending[i];

		if (p->used && (p->kind == IMAP_CMD_LOGIN || p->kind == IMAP_CMD_AUTHENTICATE))
			return true;
	}
	return false;
}

/*
 * Exports a capability list and judges it. Only a list sent before
 * authentication shows whether STARTTLS is offered, because later lists
 * legitimately omit it.
 * Dovecot (captures/imap-authenticate-plain-curl-ipv4.pcap) sends the
 * post-login list as an untagged response just before the tagged OK of
 * LOGIN or AUTHENTICATE, so a list that arrives while one of those is
 * pending is not judged.
 */
static void imap_on_capabilities(struct imap_analyzer *a, struct mail_control *mc, const uint8_t *p, size_t len,
				 bool cut)
{
	struct imap_caps caps;

	imap_export_capabilities(mc, p, len, cut);
	imap_read_capabilities(p, len, &caps);
	if (a->state != IMAP_STATE_NOT_AUTHENTICATED || imap_has_pending_login(a))
		return;
	mail_capabilities_seen(mc, caps.starttls, caps.mangled);
}

/* Finds "[CAPABILITY ...]" at the start of resp-text and stores the list's bounds. */
static bool imap_find_capability_code(const uint8_t *p, size_t len, const uint8_t **list, size_t *list_len)
{
	const uint8_t *close;
	const uint8_t *word;
	const uint8_t *end;
	size_t word_len;

	if (len == 0 || p[0] != '[')
		return false;
	close = memchr(p, ']', len);
	if (close == NULL)
		return false;
	end = close;
	p++;
	if (!mail_next_word(&p, end, &word, &word_len) || !mail_keyword_equals(word, word_len, "CAPABILITY"))
		return false;
	*list = p;
	*list_len = (size_t)(end - p);
	return true;
}

/* The greeting: OK, PREAUTH (already authenticated, so no STARTTLS and no credentials) or BYE. */
static void imap_on_greeting(struct imap_analyzer *a, struct mail_control *mc, const uint8_t *status,
			     size_t status_len, const uint8_t *text, size_t text_len)
{
	const uint8_t *list;
	size_t list_len;
	struct imap_caps caps = {0};
	bool has_list = imap_find_capability_code(text, text_len, &list, &list_len);

	if (mail_keyword_equals(status, status_len, "OK")) {
		imap_set_state(a, IMAP_STATE_NOT_AUTHENTICATED);
		if (has_list)
			imap_on_capabilities(a, mc, list, list_len, false);
		return;
	}
	if (mail_keyword_equals(status, status_len, "PREAUTH")) {
		imap_set_state(a, IMAP_STATE_AUTHENTICATED);
		if (has_list) {
			imap_export_capabilities(mc, list, list_len, false);
			imap_read_capabilities(list, list_len, &caps);
		}
		/* STARTTLS is valid only before authentication, so a PREAUTH session stays in clear. */
		mail_capabilities_seen(mc, false, caps.mangled);

		/* The greeting itself was read in clear, so the logged-in mailbox travels in clear too. */
		session_add_anomaly(mc->session, ANOMALY_PREAUTH_IN_CLEARTEXT);
		return;
	}
	if (mail_keyword_equals(status, status_len, "BYE"))
		imap_set_state(a, IMAP_STATE_LOGOUT);
}

/* Server lines that end with a literal announcement continue after the literal's bytes. */
static void imap_server_line_end(struct imap_analyzer *a, struct mail_control *mc, const struct line *line)
{
	uint64_t size;
	bool sync;

	/* TODO: a data response cut at the line cap loses its literal announcement, so the literal is read as lines. */
	if (line->too_long || !imap_line_literal(line->data, line->len, &size, &sync)) {
		a->server = IMAP_SERVER_RESPONSE;
		return;
	}
	imap_check_literal_size(mc, size);
	mail_expect_counted(mc, DIR_TO_CLIENT, size, 0);
	a->server = IMAP_SERVER_LITERAL;
}

static bool imap_is_status(const uint8_t *p, size_t len)
{
	return mail_keyword_equals(p, len, "OK") || mail_keyword_equals(p, len, "NO") ||
	       mail_keyword_equals(p, len, "BAD") || mail_keyword_equals(p, len, "BYE") ||
	       mail_keyword_equals(p, len, "PREAUTH");
}

/* "* ..." responses: status (carrying no literal), CAPABILITY, or data that may carry literals. */
static void imap_on_untagged(struct imap_analyzer *a, struct mail_control *mc, const struct line *line)
{
	const uint8_t *p = line->data + 1;
	const uint8_t *end = line->data + line->len;
	const uint8_t *word;
	const uint8_t *list;
	size_t word_len;
	size_t list_len;

	if (!mail_next_word(&p, end, &word, &word_len)) {
		a->server = IMAP_SERVER_RESPONSE;
		return;
	}
	if (imap_is_status(word, word_len)) {
		if (a->state == IMAP_STATE_GREETING)
			imap_on_greeting(a, mc, word, word_len, p, (size_t)(end - p));
		else if (imap_find_capability_code(p, (size_t)(end - p), &list, &list_len))
			imap_on_capabilities(a, mc, list, list_len, false);
		a->server = IMAP_SERVER_RESPONSE;
		return;
	}
	if (mail_keyword_equals(word, word_len, "CAPABILITY"))
		imap_on_capabilities(a, mc, p, (size_t)(end - p), line->too_long);
	imap_server_line_end(a, mc, line);
}

/* "+ text": the go-ahead for a synchronising literal, or a SASL challenge. */
static void imap_on_continuation(struct imap_analyzer *a, struct mail_control *mc, const struct line *line)
{
	const uint8_t *text = line->data + 1;
	size_t len = line->len - 1;

	if (len > 0 && text[0] == ' ') {
		text++;
		len--;
	}
	if (a->client == IMAP_CLIENT_LITERAL_WAIT) {
		imap_client_count_literal(a, mc, a->cmd.literal_size, a->cmd.literal_keep);
		return;
	}
	if (sasl_is_active(&a->sasl))
		sasl_server_challenge(&a->sasl, mc, text, len);
}

static void imap_sasl_end(struct imap_analyzer *a, struct mail_control *mc, enum auth_result result)
{
	if (a->sasl.state != SASL_STATE_IDLE)
		sasl_finish(&a->sasl, mc, result);
	if (a->client == IMAP_CLIENT_SASL)
		a->client = IMAP_CLIENT_COMMAND;
}

/*
 * Exports the list of a "[CAPABILITY ...]" code in a tagged OK, which
 * servers send after LOGIN or AUTHENTICATE (RFC 3501 section 6.2.3). The
 * list is not judged for STARTTLS, because it comes after authentication.
 */
static void imap_on_tagged_capabilities(struct mail_control *mc, struct cursor *c)
{
	const uint8_t *list;
	size_t list_len;

	if (imap_read_space(c) < 0)
		return;
	if (imap_find_capability_code(cursor_ptr(c), cursor_remaining(c), &list, &list_len))
		imap_export_capabilities(mc, list, list_len, false);
}

/* "tag OK|NO|BAD ...": the result of a pending command. */
static void imap_on_tagged(struct imap_analyzer *a, struct mail_control *mc, const struct line *line)
{
	const uint8_t *tag;
	const uint8_t *status;
	size_t tag_len;
	size_t status_len;
	struct imap_pending done;
	struct cursor c;
	bool ok;

	cursor_init(&c, line->data, line->len);
	if (imap_read_tag(&c, &tag, &tag_len) < 0 || imap_read_space(&c) < 0 ||
	    imap_read_atom(&c, &status, &status_len) < 0)
		return;
	ok = mail_keyword_equals(status, status_len, "OK");
	if (!ok && !mail_keyword_equals(status, status_len, "NO") && !mail_keyword_equals(status, status_len, "BAD"))
		return;
	if (ok)
		imap_on_tagged_capabilities(mc, &c);

	/* The server refused a synchronising literal, so the client never sends its bytes. */
	if (a->client == IMAP_CLIENT_LITERAL_WAIT && imap_tag_equals(&a->cmd.tag, tag, tag_len))
		a->client = IMAP_CLIENT_COMMAND;
	if (!imap_pending_take(a, tag, tag_len, &done))
		return;

	switch (done.kind) {
	case IMAP_CMD_LOGIN:
		mail_auth_set_result(mc, done.auth_index, ok ? AUTH_RESULT_SUCCESS : AUTH_RESULT_FAILURE);
		break;
	case IMAP_CMD_AUTHENTICATE:
		imap_sasl_end(a, mc, ok ? AUTH_RESULT_SUCCESS : AUTH_RESULT_FAILURE);
		break;
	case IMAP_CMD_STARTTLS:
		mail_starttls_reply(mc, ok, 0);
		if (ok)
			imap_set_state(a, IMAP_STATE_TLS);
		return;
	case IMAP_CMD_COMPRESS:
		if (ok)
			imap_set_state(a, IMAP_STATE_COMPRESSED);
		return;
	case IMAP_CMD_OTHER:
	case IMAP_CMD_QUIET:
		return;
	}
	if (ok)
		imap_set_state(a, IMAP_STATE_AUTHENTICATED);
}

/*
 * Moves past a greeting the capture lacks: a server line other than an
 * untagged status, with the stream captured from its start, means the
 * session is still before authentication.
 */
static void imap_skip_missing_greeting(struct imap_analyzer *a, const struct line *line)
{
	const uint8_t *p = line->data + 1;
	const uint8_t *end = line->data + line->len;
	const uint8_t *word;
	size_t word_len;

	if (a->state != IMAP_STATE_GREETING)
		return;
	if (line->len > 0 && line->data[0] == '*' && mail_next_word(&p, end, &word, &word_len) &&
	    imap_is_status(word, word_len))
		return;
	imap_set_state(a, IMAP_STATE_NOT_AUTHENTICATED);
}

/* ---- mail_proto_ops ------------------------------------------------------ */

static void imap_on_server_line(struct imap_analyzer *a, struct mail_control *mc, const struct line *line)
{
	if (a->server == IMAP_SERVER_CONTINUE) {
		imap_server_line_end(a, mc, line);
		return;
	}
	/* In literal mode a text line means a gap ended the count: read it as a new response. */
	a->server = IMAP_SERVER_RESPONSE;
	if (line->len == 0)
		return;
	imap_skip_missing_greeting(a, line);
	if (line->data[0] == '+') {
		imap_on_continuation(a, mc, line);
		return;
	}
	if (line->data[0] == '*' && (line->len == 1 || line->data[1] == ' ')) {
		imap_on_untagged(a, mc, line);
		return;
	}
	imap_on_tagged(a, mc, line);
}

static void *imap_create(struct mail_control *mc)
{
	struct imap_analyzer *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	/* Without the start of the stream an untagged OK is no greeting. */
	imap_set_state(a, mc->session->evidence.midstream ? IMAP_STATE_MIDSTREAM : IMAP_STATE_GREETING);
	sasl_reset(&a->sasl);
	return a;
}

static void imap_on_line(void *state, struct mail_control *mc, enum direction dir, const struct line *line)
{
	struct imap_analyzer *a = state;

	/* Deflate data has no lines, and what it hides comes after authentication. */
	if (a->state == IMAP_STATE_COMPRESSED)
		return;
	if (dir == DIR_TO_SERVER)
		imap_client_handle_line(a, mc, line);
	else
		imap_on_server_line(a, mc, line);
}

static void imap_on_counted(void *state, struct mail_control *mc, enum direction dir, const struct line *item)
{
	struct imap_analyzer *a = state;

	if (dir == DIR_TO_CLIENT) {
		if (a->server == IMAP_SERVER_LITERAL)
			a->server = IMAP_SERVER_CONTINUE;
		return;
	}
	imap_client_handle_counted(a, mc, item);
}

/* After a gap the next line cannot be a continuation, but a counted literal may still be in step. */
static void imap_on_gap(void *state, struct mail_control *mc, enum direction dir, uint64_t len)
{
	struct imap_analyzer *a = state;

	(void)mc;
	(void)len;
	if (dir == DIR_TO_SERVER) {
		imap_client_handle_gap(a);
		return;
	}
	if (a->server == IMAP_SERVER_CONTINUE)
		a->server = IMAP_SERVER_RESPONSE;
}

static void imap_finish(void *state, struct mail_control *mc)
{
	(void)state;
	(void)mc;
}

static void imap_free(void *state)
{
	free(state);
}

static const struct mail_proto_ops imap_ops = {
	.name = "imap",
	.create = imap_create,
	.on_line = imap_on_line,
	.on_counted = imap_on_counted,
	.on_gap = imap_on_gap,
	.finish = imap_finish,
	.free = imap_free,
};

const struct mail_proto_ops *imap_proto_ops(void)
{
	return &imap_ops;
}
