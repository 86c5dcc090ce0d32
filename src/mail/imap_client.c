/*
 * IMAP client side. It reads commands line by line and follows LOGIN (RFC
 * 3501 section 6.2.3, arguments as atoms, quoted strings or literals),
 * AUTHENTICATE (section 6.2.2, SASL-IR of RFC 4959), STARTTLS (section
 * 6.2.1) and COMPRESS (RFC 4978). Client literals (section 4.3, and the
 * non-synchronising literals of RFC 7888) go through the dispatcher's
 * counted mode, so no literal size is ever used to allocate.
 */
#include "mail/imap_internal.h"

#include <string.h>

#include "core/config.h"
#include "core/session.h"
#include "mail/imap.h"

/* ---- client: literals ---------------------------------------------------- */

void imap_check_literal_size(struct mail_control *mc, uint64_t size)
{
	/* Counting is free at any size, but a literal past the cap hides the rest of the stream. */
	if (mc->cfg != NULL && size > mc->cfg->literal_bytes) {
		mc->session->caps.literals_over_limit++;
		mail_set_inconclusive(mc, "imap literal over the size limit");
	}
}

void imap_client_count_literal(struct imap_analyzer *a, struct mail_control *mc, uint64_t n, size_t keep)
{
	imap_check_literal_size(mc, n);
	mail_expect_counted(mc, DIR_TO_SERVER, n, keep);
	a->client = IMAP_CLIENT_LITERAL;
}

/* Sets the client up for a literal: a synchronising one first waits for the server's "+". */
static void imap_client_literal(struct imap_analyzer *a, struct mail_control *mc, uint64_t size,
				bool sync, size_t keep)
{
	a->cmd.literal_size = size;
	a->cmd.literal_left = size;
	a->cmd.literal_keep = keep;
	a->cmd.literal_taken = false;
	if (sync) {
		a->client = IMAP_CLIENT_LITERAL_WAIT;
		return;
	}
	imap_client_count_literal(a, mc, size, keep);
}

/* Ends a command line: a literal announced at its end continues the command. */
static void imap_client_line_end(struct imap_analyzer *a, struct mail_control *mc, const struct line *line)
{
	uint64_t size;
	bool sync;

	/* A cut line lost its end, and with it any literal announcement. */
	if (line->too_long || !imap_line_literal(line->data, line->len, &size, &sync)) {
		a->client = IMAP_CLIENT_COMMAND;
		return;
	}
	imap_client_literal(a, mc, size, sync, 0);
}

/* ---- client: commands ---------------------------------------------------- */

static void imap_tag_set(struct imap_tag *t, const uint8_t *p, size_t len)
{
	size_t n = len < sizeof(t->data) ? len : sizeof(t->data);

	memcpy(t->data, p, n);
	t->len = len;
}

/* Stores one LOGIN argument. The second one completes the credential record. */
static void imap_login_set_arg(struct imap_analyzer *a, struct mail_control *mc, const uint8_t *p, size_t len)
{
	int index;

	if (a->cmd.argc == 0) {
		a->cmd.user_len = len < sizeof(a->cmd.user) ? len : sizeof(a->cmd.user);
		memcpy(a->cmd.user, p, a->cmd.user_len);
		a->cmd.argc = 1;
		return;
	}
	index = mail_auth_add(mc, "LOGIN", AUTH_EXPOSURE_CLEARTEXT);
	mail_auth_set_username(mc, index, a->cmd.user, a->cmd.user_len);
	mail_auth_set_password(mc, index, p, len);
	a->cmd.argc = 2;
	imap_pending_add(a, IMAP_CMD_LOGIN, index);
}

static void imap_login_take_string(struct imap_analyzer *a, struct mail_control *mc,
				   const struct imap_string *arg)
{
	uint8_t buf[IMAP_ARG_KEEP];
	size_t n;

	if (arg->kind != IMAP_STRING_QUOTED) {
		imap_login_set_arg(a, mc, arg->data, arg->len);
		return;
	}
	n = imap_unquote(arg->data, arg->len, buf, sizeof(buf));
	imap_login_set_arg(a, mc, buf, n < sizeof(buf) ? n : sizeof(buf));
	/* The copy may hold a password the operator chose not to keep. */
	explicit_bzero(buf, sizeof(buf));
}

/* Reads LOGIN arguments from c. A literal ends the line, and its bytes arrive in on_counted. */
static void imap_login_read_args(struct imap_analyzer *a, struct mail_control *mc, struct cursor *c,
				 const struct line *line)
{
	struct imap_string arg;

	a->client = IMAP_CLIENT_COMMAND;
	while (a->cmd.argc < 2) {
		/* The server rejects a malformed LOGIN with BAD, and nothing more can be read from it. */
		if (imap_read_space(c) < 0 || imap_read_astring(c, &arg) < 0)
			return;
		if (arg.kind == IMAP_STRING_LITERAL) {
			if (!line->too_long)
				imap_client_literal(a, mc, arg.literal_size, arg.literal_sync, IMAP_ARG_KEEP);
			return;
		}
		imap_login_take_string(a, mc, &arg);
	}
}

static void imap_handle_login(struct imap_analyzer *a, struct mail_control *mc, struct cursor *args,
			      const struct line *line)
{
	mail_plaintext_command(mc);
	imap_login_read_args(a, mc, args, line);
}

/* AUTHENTICATE mechanism [initial-response]: the SASL module follows the exchange. */
static void imap_handle_authenticate(struct imap_analyzer *a, struct mail_control *mc, struct cursor *args,
				     const struct line *line)
{
	const uint8_t *mech;
	const uint8_t *initial = NULL;
	size_t mech_len;
	size_t initial_len = 0;

	(void)line;
	mail_plaintext_command(mc);
	if (imap_read_space(args) < 0 || imap_read_atom(args, &mech, &mech_len) < 0)
		return;
	if (imap_read_space(args) == 0) {
		initial = cursor_ptr(args);
		initial_len = cursor_remaining(args);
	}
	sasl_start(&a->sasl, mc, mech, mech_len, initial, initial_len);
	imap_pending_add(a, IMAP_CMD_AUTHENTICATE, -1);
	a->client = IMAP_CLIENT_SASL;
}

static void imap_handle_starttls(struct imap_analyzer *a, struct mail_control *mc, struct cursor *args,
				 const struct line *line)
{
	(void)args;
	(void)line;
	mail_starttls_command(mc);
	imap_pending_add(a, IMAP_CMD_STARTTLS, -1);
}

/* COMPRESS DEFLATE (RFC 4978): once the server accepts, nothing after it can be read as lines. */
static void imap_handle_compress(struct imap_analyzer *a, struct mail_control *mc, struct cursor *args,
				 const struct line *line)
{
	(void)args;
	(void)line;
	mail_plaintext_command(mc);
	imap_pending_add(a, IMAP_CMD_COMPRESS, -1);
}

static void imap_handle_quiet(struct imap_analyzer *a, struct mail_control *mc, struct cursor *args,
			      const struct line *line)
{
	(void)args;
	imap_client_line_end(a, mc, line);
}

static void imap_handle_other(struct imap_analyzer *a, struct mail_control *mc, struct cursor *args,
			      const struct line *line)
{
	(void)args;
	mail_plaintext_command(mc);
	imap_client_line_end(a, mc, line);
}

typedef void (*imap_command_handler)(struct imap_analyzer *a, struct mail_control *mc, struct cursor *args,
				     const struct line *line);

struct imap_command_entry {
	const char *keyword;
	enum imap_command_kind kind;
	imap_command_handler handle;
};

static const struct imap_command_entry imap_commands[] = {
	{"LOGIN", IMAP_CMD_LOGIN, imap_handle_login},
	{"AUTHENTICATE", IMAP_CMD_AUTHENTICATE, imap_handle_authenticate},
	{"STARTTLS", IMAP_CMD_STARTTLS, imap_handle_starttls},
	{"COMPRESS", IMAP_CMD_COMPRESS, imap_handle_compress},
	{"CAPABILITY", IMAP_CMD_QUIET, imap_handle_quiet},
	{"NOOP", IMAP_CMD_QUIET, imap_handle_quiet},
	{"LOGOUT", IMAP_CMD_QUIET, imap_handle_quiet},
	{"ID", IMAP_CMD_QUIET, imap_handle_quiet},
};

static const struct imap_command_entry imap_command_other = {"", IMAP_CMD_OTHER, imap_handle_other};
static const struct imap_command_entry imap_command_mangled = {"", IMAP_CMD_QUIET, imap_handle_quiet};

static const struct imap_command_entry *imap_command_lookup(const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < sizeof(imap_commands) / sizeof(imap_commands[0]); i++) {
		if (mail_keyword_equals(name, len, imap_commands[i].keyword))
			return &imap_commands[i];
	}
	return &imap_command_other;
}

/* Reads "tag SP command" and hands the rest of the line to the command's handler. */
static void imap_start_command(struct imap_analyzer *a, struct mail_control *mc, const struct line *line)
{
	const struct imap_command_entry *entry;
	const uint8_t *tag;
	const uint8_t *name;
	size_t tag_len;
	size_t name_len;
	struct cursor c;

	cursor_init(&c, line->data, line->len);
	memset(&a->cmd, 0, sizeof(a->cmd));
	a->client = IMAP_CLIENT_COMMAND;
	/* Not a command (garbage, or the DONE that ends IDLE): nothing in it is followed. */
	if (imap_read_tag(&c, &tag, &tag_len) < 0 || imap_read_space(&c) < 0 ||
	    imap_read_atom(&c, &name, &name_len) < 0)
		return;

	imap_tag_set(&a->cmd.tag, tag, tag_len);
	entry = imap_command_lookup(name, name_len);
	if (entry->kind == IMAP_CMD_OTHER && mail_keyword_is_mangled(name, name_len, "STARTTLS")) {
		mail_starttls_mangled_command(mc);
		entry = &imap_command_mangled;
	}
	a->cmd.kind = entry->kind;
	entry->handle(a, mc, &c, line);
}

/* A line after a literal: the same command goes on. */
static void imap_continue_command(struct imap_analyzer *a, struct mail_control *mc, const struct line *line)
{
	struct cursor c;

	cursor_init(&c, line->data, line->len);
	if (a->cmd.kind == IMAP_CMD_LOGIN && a->cmd.argc < 2) {
		imap_login_read_args(a, mc, &c, line);
		return;
	}
	imap_client_line_end(a, mc, line);
}

/* Hands a literal's kept prefix to the command, once. */
static void imap_take_literal(struct imap_analyzer *a, struct mail_control *mc, const uint8_t *p, size_t len)
{
	if (a->cmd.literal_taken)
		return;
	a->cmd.literal_taken = true;
	if (a->cmd.kind == IMAP_CMD_LOGIN && a->cmd.argc < 2)
		imap_login_set_arg(a, mc, p, len < IMAP_ARG_KEEP ? len : IMAP_ARG_KEEP);
}

/*
 * Handles a client line that arrives while a synchronising literal still
 * waits for the server's "+". The go-ahead is missing from the capture (one
 * direction only, or lost in a gap) and the client sent the literal anyway:
 * its bytes start this line, and what follows them continues the command.
 */
static void imap_take_unannounced_literal(struct imap_analyzer *a, struct mail_control *mc,
					  const struct line *line)
{
	uint64_t used = line->len + (line->bare_lf ? 1u : 2u);
	struct line rest;

	/* A cut line hides how many bytes it had, so the literal's end cannot be found. */
	if (line->too_long) {
		mail_set_inconclusive(mc, "imap literal framing lost");
		a->client = IMAP_CLIENT_COMMAND;
		return;
	}
	if (a->cmd.literal_left <= line->len) {
		size_t n = (size_t)a->cmd.literal_left;

		imap_take_literal(a, mc, line->data, n);
		rest = *line;
		rest.data += n;
		rest.len -= n;
		imap_continue_command(a, mc, &rest);
		return;
	}
	imap_take_literal(a, mc, line->data, line->len);
	if (used >= a->cmd.literal_left) {
		a->client = IMAP_CLIENT_CONTINUE;
		return;
	}
	a->cmd.literal_left -= used;
	imap_client_count_literal(a, mc, a->cmd.literal_left, 0);
}

/* ---- client lines --------------------------------------------------------- */

void imap_client_handle_line(struct imap_analyzer *a, struct mail_control *mc, const struct line *line)
{
	switch (a->client) {
	case IMAP_CLIENT_SASL:
		/* Base64 responses hold no space: a line with one is a command after a reply the capture lacks. */
		if (memchr(line->data, ' ', line->len) == NULL) {
			sasl_client_line(&a->sasl, mc, line->data, line->len);
			return;
		}
		break;
	case IMAP_CLIENT_LITERAL_WAIT:
		imap_take_unannounced_literal(a, mc, line);
		return;
	case IMAP_CLIENT_CONTINUE:
		imap_continue_command(a, mc, line);
		return;
	case IMAP_CLIENT_LITERAL:
		/* A text line instead of the counted literal: a gap ended the count, so start afresh. */
	case IMAP_CLIENT_COMMAND:
		break;
	}
	imap_start_command(a, mc, line);
}

void imap_client_handle_counted(struct imap_analyzer *a, struct mail_control *mc, const struct line *item)
{
	if (a->client != IMAP_CLIENT_LITERAL)
		return;
	imap_take_literal(a, mc, item->data, item->len);
	a->client = IMAP_CLIENT_CONTINUE;
}

/* After a gap the next line cannot be a continuation, but a counted literal may still be in step. */
void imap_client_handle_gap(struct imap_analyzer *a)
{
	if (a->client == IMAP_CLIENT_CONTINUE || a->client == IMAP_CLIENT_LITERAL_WAIT)
		a->client = IMAP_CLIENT_COMMAND;
}
