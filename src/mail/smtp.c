/*
 * SMTP and submission analyzer. It follows:
 *   RFC 5321 sections 3.1, 4.1.1.1   greeting, EHLO/HELO
 *   RFC 5321 section 4.2             multi-line replies
 *   RFC 5321 section 4.1.1.4         DATA and its "." terminator
 *   RFC 3207 section 4               STARTTLS
 *   RFC 4954 section 4               AUTH, 334 continuations
 *   RFC 2920 section 3.1             pipelined commands paired with replies in order
 *   RFC 3030 section 2               BDAT chunks
 *   RFC 8689                         REQUIRETLS and the TLS-Required header
 */
#include "mail/smtp.h"

#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/limits.h"
#include "core/session.h"
#include "mail/sasl.h"

/* The command a reply in the pipeline belongs to. */
enum smtp_pending {
	SMTP_PENDING_EHLO = 0,
	SMTP_PENDING_HELO,
	SMTP_PENDING_STARTTLS,
	SMTP_PENDING_AUTH,
	SMTP_PENDING_DATA,	/* expects 354 */
	SMTP_PENDING_DATA_END,	/* the reply after the "." line */
	SMTP_PENDING_BDAT,
	SMTP_PENDING_OTHER,
};

/* The meaning of the next client line. */
enum smtp_client_state {
	SMTP_CLIENT_COMMAND = 0,
	SMTP_CLIENT_AUTH, /* lines are SASL responses */
	SMTP_CLIENT_DATA, /* lines are message text until "." */
};

struct smtp_state {
	enum smtp_client_state client;
	uint8_t pending[LIMIT_SMTP_PIPELINED_COMMANDS]; /* enum smtp_pending, a ring */
	uint32_t pending_head;
	uint32_t pending_count;
	uint32_t pending_dropped;
	bool greeting_pending; /* no server reply yet, so the first may be the greeting */

	/* The reply being assembled from its lines. */
	bool in_reply;
	bool reply_is_greeting;
	uint16_t reply_code;
	bool caps_starttls;
	bool caps_mangled;

	/* Extensions the server listed in its last EHLO reply. */
	bool ext_pipelining;
	bool ext_chunking;
	bool ext_requiretls;
	struct wire_text reply_capabilities; /* capability lines of the reply being read */
	bool in_headers;      /* DATA: the message's header section is still going on */
	bool bdat_headers;    /* BDAT: the next chunk is the first of its message */
	bool data_accepted;   /* the server sent 354 and the message has not ended yet */

	struct sasl_exchange sasl;
	bool challenge_outstanding; /* a 334 came and the client has not responded yet */
};

struct smtp_command {
	const char *keyword;
	void (*handle)(struct smtp_state *st, struct mail_control *mc, const uint8_t *args, size_t len);
	bool plaintext; /* carries mail or credentials: going on in clear matters */
};

/* Bytes kept from the first BDAT chunk of a message to read its header section. */
#define SMTP_BDAT_HEADER_BYTES 4096u

static void smtp_set_client_state(struct smtp_state *st, enum smtp_client_state state)
{
	st->client = state;
}

static void smtp_push_pending(struct smtp_state *st, enum smtp_pending kind)
{
	/* A client that pipelines past the cap loses reply pairing for the excess, nothing more. */
	if (st->pending_count >= LIMIT_SMTP_PIPELINED_COMMANDS) {
		st->pending_dropped++;
		return;
	}
	st->pending[(st->pending_head + st->pending_count) % LIMIT_SMTP_PIPELINED_COMMANDS] = (uint8_t)kind;
	st->pending_count++;
}

/* Removes the oldest command awaiting a reply; returns false when none is waiting. */
static bool smtp_pop_pending(struct smtp_state *st, enum smtp_pending *kind)
{
	if (st->pending_count == 0)
		return false;
	*kind = (enum smtp_pending)st->pending[st->pending_head];
	st->pending_head = (st->pending_head + 1) % LIMIT_SMTP_PIPELINED_COMMANDS;
	st->pending_count--;
	return true;
}

static bool smtp_is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

int smtp_parse_reply_line(const uint8_t *p, size_t len, struct smtp_reply_line *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 3 || !smtp_is_digit(p[0]) || !smtp_is_digit(p[1]) || !smtp_is_digit(p[2]))
		return -1;
	out->code = (uint16_t)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
	if (len == 3) {
		out->last = true;
		out->text = p + 3;
		return 0;
	}
	if (p[3] != ' ' && p[3] != '-')
		return -1;
	out->last = p[3] == ' ';
	out->text = p + 4;
	out->text_len = len - 4;
	return 0;
}

int smtp_parse_bdat(const uint8_t *args, size_t len, uint64_t *size, bool *last)
{
	const uint8_t *p = args;
	const uint8_t *end = args + len;
	const uint8_t *word;
	size_t word_len;
	uint64_t n = 0;

	*size = 0;
	*last = false;
	if (!mail_next_word(&p, end, &word, &word_len))
		return -1;
	for (size_t i = 0; i < word_len; i++) {
		uint64_t digit;

		if (!smtp_is_digit(word[i]))
			return -1;
		digit = (uint64_t)(word[i] - '0');

		/* A size past 2^64-1 cannot be followed: the stream framing is lost. */
		if (n > (UINT64_MAX - digit) / 10)
			return -1;
		n = n * 10 + digit;
	}
	if (mail_next_word(&p, end, &word, &word_len)) {
		if (!mail_keyword_equals(word, word_len, "LAST") || p != end)
			return -1;
		*last = true;
	}
	*size = n;
	return 0;
}

static void smtp_handle_helo(struct smtp_state *st, struct mail_control *mc, const uint8_t *args, size_t len,
			     enum smtp_pending kind)
{
	wire_text_set(&mc->session->mail.helo, args, len);
	smtp_push_pending(st, kind);
}

static void smtp_cmd_ehlo(struct smtp_state *st, struct mail_control *mc, const uint8_t *args, size_t len)
{
	smtp_handle_helo(st, mc, args, len, SMTP_PENDING_EHLO);
}

static void smtp_cmd_helo(struct smtp_state *st, struct mail_control *mc, const uint8_t *args, size_t len)
{
	smtp_handle_helo(st, mc, args, len, SMTP_PENDING_HELO);
}

static void smtp_cmd_starttls(struct smtp_state *st, struct mail_control *mc, const uint8_t *args, size_t len)
{
	(void)args;
	(void)len;
	mail_starttls_command(mc);
	smtp_push_pending(st, SMTP_PENDING_STARTTLS);
}

static void smtp_cmd_auth(struct smtp_state *st, struct mail_control *mc, const uint8_t *args, size_t len)
{
	const uint8_t *p = args;
	const uint8_t *end = args + len;
	const uint8_t *mech;
	const uint8_t *initial = NULL;
	size_t mech_len;
	size_t initial_len = 0;

	smtp_push_pending(st, SMTP_PENDING_AUTH);
	if (!mail_next_word(&p, end, &mech, &mech_len))
		return;
	if (!mail_next_word(&p, end, &initial, &initial_len))
		initial = NULL;
	sasl_start(&st->sasl, mc, mech, mech_len, initial, initial_len);
	smtp_set_client_state(st, SMTP_CLIENT_AUTH);
}

/*
 * A MAIL FROM with the REQUIRETLS parameter (RFC 8689) requests that the
 * message travel over TLS only, so seeing it outside TLS defeats its purpose.
 */
static void smtp_note_requiretls_mail(struct mail_control *mc)
{
	mc->session->mail.requiretls.mail_in_clear = true;
	session_add_anomaly(mc->session, ANOMALY_REQUIRETLS_IN_CLEARTEXT);
}

/*
 * Reads one line of a message's header section for "TLS-Required: No"
 * (RFC 8689), which requests that relays skip their TLS policies.
 */
static void smtp_scan_header_line(struct mail_control *mc, const uint8_t *p, size_t len)
{
	static const char name[] = "TLS-Required:";
	size_t n = sizeof(name) - 1;

	if (!mail_keyword_has_prefix(p, len, name))
		return;
	p += n;
	len -= n;
	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (!mail_keyword_equals(p, len, "No"))
		return;
	mc->session->mail.requiretls.tls_required_no = true;
	session_add_anomaly(mc->session, ANOMALY_TLS_REQUIRED_NO_IN_CLEARTEXT);
}

static void smtp_cmd_mail(struct smtp_state *st, struct mail_control *mc, const uint8_t *args, size_t len)
{
	const uint8_t *p = args;
	const uint8_t *end = args + len;
	const uint8_t *word;
	size_t word_len;

	smtp_push_pending(st, SMTP_PENDING_OTHER);
	st->bdat_headers = true;

	/* "FROM:<path> [params]": the parameters are the words after the path. */
	if (!mail_next_word(&p, end, &word, &word_len))
		return;
	while (mail_next_word(&p, end, &word, &word_len)) {
		if (mail_keyword_equals(word, word_len, "REQUIRETLS"))
			smtp_note_requiretls_mail(mc);
	}
}

/* Adds the domain of "TO:<user@domain>" to the session's list unless it is there already. */
static void smtp_note_rcpt_domain(struct mail_control *mc, const uint8_t *args, size_t len)
{
	struct wire_text *list = &mc->session->mail.rcpt_domains;
	const uint8_t *at = NULL;
	size_t start;
	size_t end;

	for (size_t i = 0; i < len && args[i] != '>' && args[i] != ' '; i++) {
		if (args[i] == '@')
			at = args + i;
	}
	if (at == NULL)
		return;
	start = (size_t)(at - args) + 1;
	end = start;
	while (end < len && args[end] != '>' && args[end] != ' ')
		end++;
	if (end == start)
		return;
	for (size_t i = 0; i + (end - start) <= list->len; i++) {
		bool line_start = i == 0 || list->data[i - 1] == '\n';
		bool line_end = i + (end - start) == list->len || list->data[i + (end - start)] == '\n';

		if (line_start && line_end && memcmp(list->data + i, args + start, end - start) == 0)
			return;
	}
	if (list->len > 0)
		wire_text_append(list, "\n", 1);
	wire_text_append(list, args + start, end - start);
}

static void smtp_cmd_rcpt(struct smtp_state *st, struct mail_control *mc, const uint8_t *args, size_t len)
{
	smtp_push_pending(st, SMTP_PENDING_OTHER);
	smtp_note_rcpt_domain(mc, args, len);
}

static void smtp_cmd_data(struct smtp_state *st, struct mail_control *mc, const uint8_t *args, size_t len)
{
	(void)mc;
	(void)args;
	(void)len;
	smtp_push_pending(st, SMTP_PENDING_DATA);

	/* The message follows the 354 reply; a rejection turns the client back to commands. */
	smtp_set_client_state(st, SMTP_CLIENT_DATA);
	st->in_headers = true;
}

/* True when the chunk size is a run of digits too long for 64 bits. */
static bool smtp_bdat_size_overflows(const uint8_t *args, size_t len)
{
	size_t digits = 0;

	while (digits < len && args[digits] >= '0' && args[digits] <= '9')
		digits++;
	return digits > 20 || (digits == 20 && memcmp(args, "18446744073709551615", 20) > 0);
}

static void smtp_cmd_bdat(struct smtp_state *st, struct mail_control *mc, const uint8_t *args, size_t len)
{
	uint64_t size;
	bool last;

	smtp_push_pending(st, SMTP_PENDING_BDAT);
	if (smtp_parse_bdat(args, len, &size, &last) != 0) {
		/* A size past 2^64-1 does not parse, yet its chunk hides the stream all the same. */
		if (smtp_bdat_size_overflows(args, len)) {
			mc->session->caps.literals_over_limit++;
			mail_set_inconclusive(mc, "smtp BDAT chunk over the size limit");
		}
		return;
	}

	/* Counting is free at any size, but a chunk past the cap hides the rest of the stream. */
	if (mc->cfg != NULL && size > mc->cfg->literal_bytes) {
		mc->session->caps.literals_over_limit++;
		mail_set_inconclusive(mc, "smtp BDAT chunk over the size limit");
	}

	/* The first chunk of a message starts with its header section: keep enough of it to read. */
	mail_expect_counted(mc, DIR_TO_SERVER, size, st->bdat_headers ? SMTP_BDAT_HEADER_BYTES : 0);
	st->bdat_headers = last;
}

static void smtp_cmd_other(struct smtp_state *st, struct mail_control *mc, const uint8_t *args, size_t len)
{
	(void)mc;
	(void)args;
	(void)len;
	smtp_push_pending(st, SMTP_PENDING_OTHER);
}

static const struct smtp_command smtp_commands[] = {
	{"EHLO", smtp_cmd_ehlo, false},	    {"HELO", smtp_cmd_helo, false},
	{"LHLO", smtp_cmd_ehlo, false},	    {"STARTTLS", smtp_cmd_starttls, false},
	{"AUTH", smtp_cmd_auth, true},	    {"MAIL", smtp_cmd_mail, true},
	{"RCPT", smtp_cmd_rcpt, true},	    {"DATA", smtp_cmd_data, true},
	{"BDAT", smtp_cmd_bdat, true},	    {"VRFY", smtp_cmd_other, true},
	{"EXPN", smtp_cmd_other, true},	    {"RSET", smtp_cmd_other, false},
	{"NOOP", smtp_cmd_other, false},    {"QUIT", smtp_cmd_other, false},
	{"HELP", smtp_cmd_other, false},
};

static void smtp_on_command(struct smtp_state *st, struct mail_control *mc, const struct line *line)
{
	const uint8_t *p = line->data;
	const uint8_t *end = line->data + line->len;
	const uint8_t *verb;
	size_t verb_len;

	if (!mail_next_word(&p, end, &verb, &verb_len))
		return;
	for (size_t i = 0; i < sizeof(smtp_commands) / sizeof(smtp_commands[0]); i++) {
		const struct smtp_command *cmd = &smtp_commands[i];

		if (!mail_keyword_equals(verb, verb_len, cmd->keyword))
			continue;
		if (cmd->plaintext)
			mail_plaintext_command(mc);
		cmd->handle(st, mc, p, (size_t)(end - p));
		return;
	}
	if (mail_keyword_is_mangled(verb, verb_len, "STARTTLS"))
		mail_starttls_mangled_command(mc);
	smtp_push_pending(st, SMTP_PENDING_OTHER);
}

/*
 * Decides whether a client line in the AUTH state is a SASL response: yes
 * after a 334 challenge, and yes while the mechanism still needs client
 * data (a capture without the server side shows no challenges).
 */
static bool smtp_line_is_sasl_response(const struct smtp_state *st)
{
	if (!sasl_is_active(&st->sasl))
		return false;
	return st->challenge_outstanding || !sasl_client_is_done(&st->sasl);
}

static void smtp_on_client_line(struct smtp_state *st, struct mail_control *mc, const struct line *line)
{
	switch (st->client) {
	case SMTP_CLIENT_DATA:
		if (st->in_headers && line->len == 0) {
			st->in_headers = false;

			/* After the header section nothing in the message matters but its "." line. */
			if (st->data_accepted)
				mail_skip_message_body(mc, DIR_TO_SERVER);
		} else if (st->in_headers)
			smtp_scan_header_line(mc, line->data, line->len);
		if (line->len == 1 && line->data[0] == '.') {
			smtp_push_pending(st, SMTP_PENDING_DATA_END);
			smtp_set_client_state(st, SMTP_CLIENT_COMMAND);
			st->data_accepted = false;
		}
		return;
	case SMTP_CLIENT_AUTH:
		if (smtp_line_is_sasl_response(st)) {
			st->challenge_outstanding = false;
			sasl_client_line(&st->sasl, mc, line->data, line->len);
			return;
		}

		/* The exchange stays open for its reply, but this line is the next command. */
		smtp_set_client_state(st, SMTP_CLIENT_COMMAND);
		break;
	case SMTP_CLIENT_COMMAND:
		break;
	}
	smtp_on_command(st, mc, line);
}

/* Reads one capability line of an EHLO reply (every line but the first). */
static void smtp_read_capability(struct smtp_state *st, const struct smtp_reply_line *r)
{
	const uint8_t *p = r->text;
	const uint8_t *word;
	size_t word_len;

	if (!mail_next_word(&p, r->text + r->text_len, &word, &word_len))
		return;
	mail_capability_append(&st->reply_capabilities, r->text, r->text_len);
	if (mail_keyword_equals(word, word_len, "STARTTLS"))
		st->caps_starttls = true;
	else if (mail_keyword_is_mangled(word, word_len, "STARTTLS"))
		st->caps_mangled = true;
	else if (mail_keyword_equals(word, word_len, "PIPELINING"))
		st->ext_pipelining = true;
	else if (mail_keyword_equals(word, word_len, "CHUNKING"))
		st->ext_chunking = true;
	else if (mail_keyword_equals(word, word_len, "REQUIRETLS"))
		st->ext_requiretls = true;
}

static void smtp_read_greeting(struct mail_control *mc, const struct smtp_reply_line *r)
{
	const uint8_t *p = r->text;
	const uint8_t *word;
	size_t word_len;

	if (r->code == 220 && mail_next_word(&p, r->text + r->text_len, &word, &word_len))
		wire_text_set(&mc->session->mail.greeting_host, word, word_len);
}

static enum auth_result smtp_auth_result(uint16_t code)
{
	if (code / 100 == 2)
		return AUTH_RESULT_SUCCESS;
	return AUTH_RESULT_FAILURE;
}

/* Applies a complete reply (its last line is r) to the command it belongs to. */
static void smtp_on_reply(struct smtp_state *st, struct mail_control *mc, const struct smtp_reply_line *r)
{
	enum smtp_pending kind;

	/* A 334 continues AUTH and completes no command; the AUTH stays pending. */
	if (r->code == 334 && sasl_is_active(&st->sasl)) {
		sasl_server_challenge(&st->sasl, mc, r->text, r->text_len);
		st->challenge_outstanding = true;
		smtp_set_client_state(st, SMTP_CLIENT_AUTH);
		return;
	}
	if (!smtp_pop_pending(st, &kind))
		return;
	switch (kind) {
	case SMTP_PENDING_EHLO:
		/* A server that does not know EHLO (RFC 5321 4.1.4) has no extensions, STARTTLS included. */
		if (r->code == 500 || r->code == 502) {
			mail_capabilities_seen(mc, false, false);
			break;
		}
		if (r->code != 250)
			break;
		mail_capabilities_seen(mc, st->caps_starttls, st->caps_mangled);
		mc->session->mail.capabilities = st->reply_capabilities;
		if (st->ext_requiretls)
			mc->session->mail.requiretls.offered_in_clear = true;
		break;
	case SMTP_PENDING_STARTTLS:
		mail_starttls_reply(mc, r->code / 100 == 2, r->code);
		break;
	case SMTP_PENDING_AUTH:
		st->challenge_outstanding = false;
		sasl_finish(&st->sasl, mc, smtp_auth_result(r->code));
		if (st->client == SMTP_CLIENT_AUTH)
			smtp_set_client_state(st, SMTP_CLIENT_COMMAND);
		break;
	case SMTP_PENDING_DATA:
		st->data_accepted = r->code == 354;
		if (r->code != 354 && st->client == SMTP_CLIENT_DATA) {
			smtp_set_client_state(st, SMTP_CLIENT_COMMAND);
			mail_stop_message_body(mc, DIR_TO_SERVER);
		}
		break;
	default:
		break;
	}
}

/*
 * True when a server's first reply is its greeting (RFC 5321 section
 * 4.3.2: 220, or 554; 421 when closing). A capture that lacks the greeting
 * shows a reply to the client's first command instead.
 */
static bool smtp_is_greeting_code(uint16_t code)
{
	return code == 220 || code == 554 || code == 421;
}

static void smtp_on_server_line(struct smtp_state *st, struct mail_control *mc, const struct line *line)
{
	struct smtp_reply_line r;

	if (smtp_parse_reply_line(line->data, line->len, &r) != 0)
		return;
	if (!st->in_reply) {
		st->in_reply = true;
		st->reply_code = r.code;
		st->caps_starttls = false;
		st->caps_mangled = false;
		st->ext_requiretls = false;
		st->reply_capabilities.len = 0;
		st->reply_capabilities.truncated = false;
		st->reply_is_greeting = st->greeting_pending && smtp_is_greeting_code(r.code);
		if (st->reply_is_greeting)
			smtp_read_greeting(mc, &r);
	} else {
		smtp_read_capability(st, &r);
	}
	if (!r.last)
		return;
	st->in_reply = false;
	st->greeting_pending = false;

	/* The server is silent during a message, so a reply means its "." went by (lost in a gap). */
	if (st->client == SMTP_CLIENT_DATA && st->data_accepted) {
		st->data_accepted = false;
		smtp_set_client_state(st, SMTP_CLIENT_COMMAND);
		mail_stop_message_body(mc, DIR_TO_SERVER);
		return;
	}
	if (!st->reply_is_greeting)
		smtp_on_reply(st, mc, &r);
}

static void *smtp_create(struct mail_control *mc)
{
	struct smtp_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	sasl_reset(&st->sasl);

	/* A flow picked up mid-stream has no greeting to wait for. */
	st->greeting_pending = !mc->session->evidence.midstream;
	return st;
}

static void smtp_on_line(void *state, struct mail_control *mc, enum direction dir, const struct line *line)
{
	if (dir == DIR_TO_SERVER)
		smtp_on_client_line(state, mc, line);
	else
		smtp_on_server_line(state, mc, line);
}

/* Scans the kept start of a BDAT chunk for header lines; nothing in a chunk is a command. */
static void smtp_on_counted(void *state, struct mail_control *mc, enum direction dir, const struct line *item)
{
	const uint8_t *p = item->data;
	const uint8_t *end = item->data + item->len;

	(void)state;
	(void)dir;
	while (p < end) {
		const uint8_t *lf = memchr(p, '\n', (size_t)(end - p));
		size_t n = lf != NULL ? (size_t)(lf - p) : (size_t)(end - p);

		/* A line cut by the end of the kept bytes is not read: its value may be incomplete. */
		if (lf == NULL)
			return;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0)
			return;
		smtp_scan_header_line(mc, p, n);
		p = lf + 1;
	}
}

/*
 * After a gap, replies can no longer be paired with commands, so the
 * pipeline is cleared and an exchange in progress is left with an unknown
 * result.
 */
static void smtp_on_gap(void *state, struct mail_control *mc, enum direction dir, uint64_t len)
{
	struct smtp_state *st = state;

	(void)len;
	st->pending_count = 0;
	st->in_reply = false;
	st->greeting_pending = false;
	if (sasl_is_active(&st->sasl)) {
		sasl_reset(&st->sasl);
		mail_set_inconclusive(mc, "gap during SMTP AUTH");
	}
	if (dir == DIR_TO_SERVER && st->client == SMTP_CLIENT_AUTH)
		smtp_set_client_state(st, SMTP_CLIENT_COMMAND);

}

static void smtp_finish(void *state, struct mail_control *mc)
{
	(void)state;
	(void)mc;
}

static void smtp_free(void *state)
{
	free(state);
}

const struct mail_proto_ops *smtp_proto_ops(void)
{
	static const struct mail_proto_ops ops = {
		.name = "smtp",
		.create = smtp_create,
		.on_line = smtp_on_line,
		.on_counted = smtp_on_counted,
		.on_gap = smtp_on_gap,
		.finish = smtp_finish,
		.free = smtp_free,
	};

	return &ops;
}
