/*
 * POP3 analyzer. It pairs the client's commands with the server's +OK/-ERR
 * replies in order (RFC 1939 section 3, PIPELINING of RFC 2449 section
 * 6.6) and skips the bodies of multi-line replies up to the "." line. It
 * follows the greeting's APOP timestamp (RFC 1939 section 7), CAPA (RFC
 * 2449 section 5), STLS (RFC 2595 section 4), USER/PASS and APOP (RFC 1939
 * section 7), and AUTH with its SASL exchange (RFC 5034 section 4).
 * Credentials and STARTTLS verdicts go through the mail_proto helpers.
 */
#include "mail/pop3.h"

#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/session.h"
#include "core/text.h"
#include "mail/mail_proto.h"
#include "mail/sasl.h"

/* Bytes kept of the USER argument: one more than a wire_text holds, so a cut shows as truncated. */
#define POP3_ARG_KEEP (WIRE_TEXT_MAX + 1u)

enum pop3_state {
	POP3_STATE_GREETING = 0, /* no greeting seen yet */
	POP3_STATE_MIDSTREAM,	 /* picked up mid-session: the state is unknown */
	POP3_STATE_AUTHORIZATION,
	POP3_STATE_TRANSACTION,
	POP3_STATE_TLS, /* STLS accepted: the TLS analyzer has both directions */
	POP3_STATE_UPDATE,
};

enum pop3_command_kind {
	POP3_CMD_OTHER = 0, /* counts as a command sent in clear */
	POP3_CMD_QUIET,	    /* NOOP, QUIT, a bare AUTH, a mangled STLS: no verdict depends on them */
	POP3_CMD_USER,
	POP3_CMD_PASS,
	POP3_CMD_APOP,
	POP3_CMD_AUTH,
	POP3_CMD_STLS,
	POP3_CMD_CAPA,
};

/* When a +OK reply is followed by lines up to "." (RFC 1939 section 3). */
enum pop3_body_rule {
	POP3_BODY_NEVER = 0,
	POP3_BODY_ALWAYS,	/* CAPA, RETR, TOP */
	POP3_BODY_WITHOUT_ARG,	/* LIST, UIDL: the whole listing; AUTH: the mechanism list */
};

enum pop3_status {
	POP3_STATUS_NONE = 0,
	POP3_STATUS_OK,
	POP3_STATUS_ERR,
	POP3_STATUS_CONTINUATION, /* "+ challenge" inside AUTH */
};

/* A command waiting for its reply. */
struct pop3_pending {
	uint8_t kind; /* enum pop3_command_kind */
	bool multiline;
	int16_t auth_index; /* PASS, APOP: the credential record, or -1 */
};

struct pop3_caps {
	bool stls;
	bool mangled; /* a rewritten STLS such as "XXXX" */
};

struct pop3_analyzer {
	enum pop3_state state;
	struct pop3_pending queue[LIMIT_POP3_PIPELINE];
	unsigned head;	/* index of the oldest pending command */
	unsigned count; /* pending commands */
	bool in_body;	/* reading a multi-line reply up to "." */
	enum pop3_command_kind body_kind;
	struct pop3_caps caps;
	struct wire_text capa_list; /* lines of the CAPA listing being read */
	uint8_t user[POP3_ARG_KEEP]; /* the last USER argument, for the PASS that follows */
	size_t user_len;
	bool user_seen;
	struct sasl_exchange sasl;
};

typedef int (*pop3_command_handler)(struct pop3_analyzer *a, struct mail_control *mc, const uint8_t *arg,
				    size_t arg_len);

struct pop3_command_entry {
	const char *keyword;
	enum pop3_command_kind kind;
	enum pop3_body_rule body;
	pop3_command_handler handle; /* returns the credential record, or -1 */
};

/* ---- APOP ---------------------------------------------------------------- */

bool pop3_find_apop_timestamp(const uint8_t *p, size_t len, const uint8_t **ts, size_t *ts_len)
{
	const uint8_t *open = memchr(p, '<', len);
	const uint8_t *close;
	size_t rest;

	if (open == NULL)
		return false;
	rest = len - (size_t)(open - p);
	close = memchr(open, '>', rest);
	if (close == NULL || memchr(open, '@', (size_t)(close - open)) == NULL)
		return false;
	*ts = open;
	*ts_len = (size_t)(close - open) + 1;
	return true;
}

static bool pop3_is_hex(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int pop3_parse_apop(const uint8_t *p, size_t len, const uint8_t **name, size_t *name_len,
		    const uint8_t **digest, size_t *digest_len)
{
	const uint8_t *end = p + len;

	*name = NULL;
	*name_len = 0;
	*digest = NULL;
	*digest_len = 0;
	if (!mail_next_word(&p, end, name, name_len))
		return -1;
	if (!mail_next_word(&p, end, digest, digest_len))
		return -1;
	if (*digest_len != POP3_APOP_DIGEST_LEN)
		return -1;
	for (size_t i = 0; i < *digest_len; i++) {
		if (!pop3_is_hex((*digest)[i]))
			return -1;
	}
	return 0;
}

/* ---- state and the reply queue ------------------------------------------- */

static void pop3_set_state(struct pop3_analyzer *a, enum pop3_state state)
{
	a->state = state;
}

/* Queues a command for pairing. Past the cap, pairing is lost, so the verdicts are marked inconclusive. */
static void pop3_push(struct pop3_analyzer *a, struct mail_control *mc, enum pop3_command_kind kind,
		      bool multiline, int auth_index)
{
	struct pop3_pending *slot;

	if (a->count == LIMIT_POP3_PIPELINE) {
		mail_set_inconclusive(mc, "pop3 pipeline deeper than the tracking limit");
		return;
	}
	slot = &a->queue[(a->head + a->count) % LIMIT_POP3_PIPELINE];
	slot->kind = (uint8_t)kind;
	slot->multiline = multiline;
	slot->auth_index = (int16_t)auth_index;
	a->count++;
}

static bool pop3_pop(struct pop3_analyzer *a, struct pop3_pending *out)
{
	if (a->count == 0)
		return false;
	*out = a->queue[a->head];
	a->head = (a->head + 1) % LIMIT_POP3_PIPELINE;
	a->count--;
	return true;
}

/* ---- client commands ----------------------------------------------------- */

static int pop3_handle_quiet(struct pop3_analyzer *a, struct mail_control *mc, const uint8_t *arg, size_t arg_len)
{
	(void)a;
	(void)mc;
	(void)arg;
	(void)arg_len;
	return -1;
}

static int pop3_handle_other(struct pop3_analyzer *a, struct mail_control *mc, const uint8_t *arg, size_t arg_len)
{
	(void)a;
	(void)arg;
	(void)arg_len;
	mail_plaintext_command(mc);
	return -1;
}

/* USER name: kept until the PASS that completes the credentials. */
static int pop3_handle_user(struct pop3_analyzer *a, struct mail_control *mc, const uint8_t *arg, size_t arg_len)
{
	mail_plaintext_command(mc);
	a->user_len = arg_len < sizeof(a->user) ? arg_len : sizeof(a->user);
	memcpy(a->user, arg, a->user_len);
	a->user_seen = true;
	return -1;
}

/* PASS string: the password is the rest of the line, spaces included (RFC 1939 section 7). */
static int pop3_handle_pass(struct pop3_analyzer *a, struct mail_control *mc, const uint8_t *arg, size_t arg_len)
{
	int index;

	mail_plaintext_command(mc);
	index = mail_auth_add(mc, "USER/PASS", AUTH_EXPOSURE_CLEARTEXT);
	if (a->user_seen)
		mail_auth_set_username(mc, index, a->user, a->user_len);
	mail_auth_set_password(mc, index, arg, arg_len);
	return index;
}

/* APOP name digest: the MD5 digest can be cracked offline with the greeting's timestamp. */
static int pop3_handle_apop(struct pop3_analyzer *a, struct mail_control *mc, const uint8_t *arg, size_t arg_len)
{
	const uint8_t *name;
	const uint8_t *digest;
	size_t name_len;
	size_t digest_len;
	int index;

	(void)a;
	mail_plaintext_command(mc);
	/* A digest of the wrong form is recorded all the same: it is what crossed the wire. */
	(void)pop3_parse_apop(arg, arg_len, &name, &name_len, &digest, &digest_len);
	if (name == NULL)
		return -1;
	index = mail_auth_add(mc, "APOP", AUTH_EXPOSURE_CRACKABLE);
	mail_auth_set_username(mc, index, name, name_len);
	if (digest != NULL)
		mail_auth_set_password(mc, index, digest, digest_len);
	return index;
}

/* AUTH mechanism [initial-response]. A bare AUTH requests the mechanism list. */
static int pop3_handle_auth(struct pop3_analyzer *a, struct mail_control *mc, const uint8_t *arg, size_t arg_len)
{
	const uint8_t *p = arg;
	const uint8_t *end = arg + arg_len;
	const uint8_t *mech;
	const uint8_t *initial = NULL;
	size_t mech_len;
	size_t initial_len = 0;

	mail_plaintext_command(mc);
	if (!mail_next_word(&p, end, &mech, &mech_len))
		return -1;
	if (!mail_next_word(&p, end, &initial, &initial_len))
		initial = NULL;
	sasl_start(&a->sasl, mc, mech, mech_len, initial, initial_len);
	return -1;
}

static int pop3_handle_stls(struct pop3_analyzer *a, struct mail_control *mc, const uint8_t *arg, size_t arg_len)
{
	(void)a;
	(void)arg;
	(void)arg_len;
	mail_starttls_command(mc);
	return -1;
}

static const struct pop3_command_entry pop3_commands[] = {
	{"USER", POP3_CMD_USER, POP3_BODY_NEVER, pop3_handle_user},
	{"PASS", POP3_CMD_PASS, POP3_BODY_NEVER, pop3_handle_pass},
	{"APOP", POP3_CMD_APOP, POP3_BODY_NEVER, pop3_handle_apop},
	{"AUTH", POP3_CMD_AUTH, POP3_BODY_WITHOUT_ARG, pop3_handle_auth},
	{"STLS", POP3_CMD_STLS, POP3_BODY_NEVER, pop3_handle_stls},
	{"CAPA", POP3_CMD_CAPA, POP3_BODY_ALWAYS, pop3_handle_quiet},
	{"NOOP", POP3_CMD_QUIET, POP3_BODY_NEVER, pop3_handle_quiet},
	{"QUIT", POP3_CMD_QUIET, POP3_BODY_NEVER, pop3_handle_quiet},
	{"LIST", POP3_CMD_OTHER, POP3_BODY_WITHOUT_ARG, pop3_handle_other},
	{"UIDL", POP3_CMD_OTHER, POP3_BODY_WITHOUT_ARG, pop3_handle_other},
	{"RETR", POP3_CMD_OTHER, POP3_BODY_ALWAYS, pop3_handle_other},
	{"TOP", POP3_CMD_OTHER, POP3_BODY_ALWAYS, pop3_handle_other},
};

static const struct pop3_command_entry pop3_command_other = {"", POP3_CMD_OTHER, POP3_BODY_NEVER, pop3_handle_other};
static const struct pop3_command_entry pop3_command_mangled = {"", POP3_CMD_QUIET, POP3_BODY_NEVER, pop3_handle_quiet};

static const struct pop3_command_entry *pop3_command_lookup(const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < sizeof(pop3_commands) / sizeof(pop3_commands[0]); i++) {
		if (mail_keyword_equals(name, len, pop3_commands[i].keyword))
			return &pop3_commands[i];
	}
	return &pop3_command_other;
}

static void pop3_on_command(struct pop3_analyzer *a, struct mail_control *mc, const struct line *line)
{
	const struct pop3_command_entry *entry;
	const uint8_t *p = line->data;
	const uint8_t *end = line->data + line->len;
	const uint8_t *name;
	size_t name_len;
	enum pop3_command_kind kind;
	bool multiline;
	int index;

	/* A server replies -ERR to an empty line, so the line still takes a place in the queue. */
	if (!mail_next_word(&p, end, &name, &name_len)) {
		pop3_push(a, mc, POP3_CMD_QUIET, false, -1);
		return;
	}
	entry = pop3_command_lookup(name, name_len);
	if (entry->kind == POP3_CMD_OTHER && mail_keyword_is_mangled(name, name_len, "STLS")) {
		mail_starttls_mangled_command(mc);
		entry = &pop3_command_mangled;
	}
	kind = entry->kind;
	multiline = entry->body == POP3_BODY_ALWAYS || (entry->body == POP3_BODY_WITHOUT_ARG && p == end);
	if (kind == POP3_CMD_AUTH && p == end)
		kind = POP3_CMD_QUIET;
	index = entry->handle(a, mc, p, (size_t)(end - p));
	pop3_push(a, mc, kind, multiline, index);
}

static void pop3_on_client_line(struct pop3_analyzer *a, struct mail_control *mc, const struct line *line)
{
	/* Base64 responses hold no space: a line with one is a command after a reply the capture lacks. */
	if (a->sasl.state != SASL_STATE_IDLE && memchr(line->data, ' ', line->len) == NULL) {
		/* TODO: a one-word command (STAT, QUIT) after an AUTH whose reply is not captured is taken as a response. */
		sasl_client_line(&a->sasl, mc, line->data, line->len);
		return;
	}
	pop3_on_command(a, mc, line);
}

/* ---- server replies ------------------------------------------------------ */

/* Classifies a reply line and points *text past its status indicator and one space. */
static enum pop3_status pop3_read_status(const struct line *line, const uint8_t **text, size_t *text_len)
{
	const uint8_t *p = line->data;
	size_t len = line->len;
	size_t skip;
	enum pop3_status status;

	if (mail_keyword_has_prefix(p, len, "+OK") && (len == 3 || p[3] == ' ')) {
		status = POP3_STATUS_OK;
		skip = 3;
	} else if (mail_keyword_has_prefix(p, len, "-ERR") && (len == 4 || p[4] == ' ')) {
		status = POP3_STATUS_ERR;
		skip = 4;
	} else if (len > 0 && p[0] == '+' && (len == 1 || p[1] == ' ')) {
		status = POP3_STATUS_CONTINUATION;
		skip = 1;
	} else {
		return POP3_STATUS_NONE;
	}
	if (skip < len)
		skip++;
	*text = p + skip;
	*text_len = len - skip;
	return status;
}

/*
 * A -ERR greeting turns the client away, so no command that follows is
 * served. A whole +OK greeting is recorded with whether it carries an APOP
 * timestamp, for the history's apop_timestamp_stripped verdict. A greeting
 * cut at the line cap may have lost its timestamp, so it is not recorded.
 */
static void pop3_on_greeting(struct pop3_analyzer *a, struct mail_control *mc, enum pop3_status status,
			     const struct line *line)
{
	struct apop_summary *apop = &mc->session->mail.apop;
	const uint8_t *ts;
	size_t ts_len;

	if (status != POP3_STATUS_OK) {
		pop3_set_state(a, POP3_STATE_UPDATE);
		return;
	}
	pop3_set_state(a, POP3_STATE_AUTHORIZATION);
	if (line->too_long)
		return;
	apop->greeting_seen = true;
	apop->timestamp = pop3_find_apop_timestamp(line->data, line->len, &ts, &ts_len);
}

/*
 * Reads one line of a multi-line reply body. In a CAPA listing (RFC 2449
 * section 5) each line is a capability name and its parameters. Every
 * complete listing replaces session->mail.capabilities, as every EHLO reply
 * does for SMTP. Only the list sent before authentication shows whether STLS
 * is offered, because a later list legitimately omits it.
 */
static void pop3_on_body_line(struct pop3_analyzer *a, struct mail_control *mc, const struct line *line)
{
	const uint8_t *p = line->data;
	const uint8_t *end = line->data + line->len;
	const uint8_t *word;
	size_t word_len;

	/* Only the exact line "." ends the body, because ".." and ".text" are dot-stuffed data. */
	if (line->len == 1 && line->data[0] == '.') {
		a->in_body = false;
		if (a->body_kind != POP3_CMD_CAPA)
			return;
		mc->session->mail.capabilities = a->capa_list;
		if (a->state == POP3_STATE_AUTHORIZATION)
			mail_capabilities_seen(mc, a->caps.stls, a->caps.mangled);
		return;
	}
	if (a->body_kind != POP3_CMD_CAPA || !mail_next_word(&p, end, &word, &word_len))
		return;

	/* A line cut at the line cap would show a cut capability, so it counts as not fitting. */
	if (line->too_long)
		a->capa_list.truncated = true;
	else
		mail_capability_append(&a->capa_list, line->data, line->len);
	if (mail_keyword_equals(word, word_len, "STLS"))
		a->caps.stls = true;
	else if (mail_keyword_is_mangled(word, word_len, "STLS"))
		a->caps.mangled = true;
}

/* Applies a +OK or -ERR reply to the command it belongs to. */
static void pop3_on_reply(struct pop3_analyzer *a, struct mail_control *mc, const struct pop3_pending *cmd, bool ok)
{
	enum auth_result result = ok ? AUTH_RESULT_SUCCESS : AUTH_RESULT_FAILURE;

	switch ((enum pop3_command_kind)cmd->kind) {
	case POP3_CMD_PASS:
	case POP3_CMD_APOP:
		mail_auth_set_result(mc, cmd->auth_index, result);
		if (ok)
			pop3_set_state(a, POP3_STATE_TRANSACTION);
		break;
	case POP3_CMD_AUTH:
		if (a->sasl.state != SASL_STATE_IDLE)
			sasl_finish(&a->sasl, mc, result);
		if (ok)
			pop3_set_state(a, POP3_STATE_TRANSACTION);
		break;
	case POP3_CMD_STLS:
		mail_starttls_reply(mc, ok, 0);
		if (ok)
			pop3_set_state(a, POP3_STATE_TLS);
		break;
	case POP3_CMD_CAPA:
		memset(&a->caps, 0, sizeof(a->caps));
		memset(&a->capa_list, 0, sizeof(a->capa_list));
		break;
	case POP3_CMD_OTHER:
	case POP3_CMD_QUIET:
	case POP3_CMD_USER:
		break;
	}
	if (ok && cmd->multiline) {
		a->in_body = true;
		a->body_kind = (enum pop3_command_kind)cmd->kind;

		/* Only a CAPA listing is read line by line; a message or listing is passed over to its ".". */
		if (a->body_kind != POP3_CMD_CAPA)
			mail_skip_message_body(mc, DIR_TO_CLIENT);
	}
}

static void pop3_on_server_line(struct pop3_analyzer *a, struct mail_control *mc, const struct line *line)
{
	struct pop3_pending cmd;
	const uint8_t *text = NULL;
	size_t text_len = 0;
	enum pop3_status status;

	if (a->in_body) {
		pop3_on_body_line(a, mc, line);
		return;
	}
	status = pop3_read_status(line, &text, &text_len);
	if (a->state == POP3_STATE_GREETING) {
		/* A client waits for the greeting, so a reply to a queued command means it is not captured. */
		if (a->count > 0) {
			pop3_set_state(a, POP3_STATE_AUTHORIZATION);
		} else {
			if (status == POP3_STATUS_OK || status == POP3_STATUS_ERR)
				pop3_on_greeting(a, mc, status, line);
			return;
		}
	}
	if (status == POP3_STATUS_CONTINUATION) {
		if (sasl_is_active(&a->sasl))
			sasl_server_challenge(&a->sasl, mc, text, text_len);
		return;
	}
	if (status == POP3_STATUS_NONE || !pop3_pop(a, &cmd))
		return;
	pop3_on_reply(a, mc, &cmd, status == POP3_STATUS_OK);
}

/* ---- mail_proto_ops ------------------------------------------------------ */

static void *pop3_create(struct mail_control *mc)
{
	struct pop3_analyzer *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	sasl_reset(&a->sasl);
	/* Without the start of the stream the first server line is not the greeting. */
	pop3_set_state(a, mc->session->evidence.midstream ? POP3_STATE_MIDSTREAM : POP3_STATE_GREETING);
	return a;
}

static void pop3_on_line(void *state, struct mail_control *mc, enum direction dir, const struct line *line)
{
	struct pop3_analyzer *a = state;

	if (dir == DIR_TO_SERVER)
		pop3_on_client_line(a, mc, line);
	else
		pop3_on_server_line(a, mc, line);
}

static void pop3_on_counted(void *state, struct mail_control *mc, enum direction dir, const struct line *item)
{
	/* POP3 never requests counted items. */
	(void)state;
	(void)mc;
	(void)dir;
	(void)item;
}

/* After a gap the pairing of replies with commands is unknown, so it starts afresh. */
static void pop3_on_gap(void *state, struct mail_control *mc, enum direction dir, uint64_t len)
{
	struct pop3_analyzer *a = state;

	(void)mc;
	(void)dir;
	(void)len;
	a->head = 0;
	a->count = 0;
	a->in_body = false;
}

static void pop3_finish(void *state, struct mail_control *mc)
{
	(void)state;
	(void)mc;
}

static void pop3_free(void *state)
{
	free(state);
}

static const struct mail_proto_ops pop3_ops = {
	.name = "pop3",
	.create = pop3_create,
	.on_line = pop3_on_line,
	.on_counted = pop3_on_counted,
	.on_gap = pop3_on_gap,
	.finish = pop3_finish,
	.free = pop3_free,
};

const struct mail_proto_ops *pop3_proto_ops(void)
{
	return &pop3_ops;
}
