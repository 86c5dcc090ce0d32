/*
 * SASL exchanges shared by SMTP AUTH (RFC 4954), POP3 AUTH (RFC 5034) and
 * IMAP AUTHENTICATE (RFC 3501 section 6.2.2, RFC 4959). Client responses
 * are base64 (RFC 4648); "*" cancels (RFC 4422 section 3.5) and "=" is an
 * empty initial response (RFC 4954 section 4).
 *
 * Formats per mechanism:
 *   PLAIN        RFC 4616 section 2
 *   LOGIN        draft-murchison-sasl-login (user name, then password)
 *   CRAM-MD5     RFC 2195 section 2
 *   DIGEST-MD5   RFC 2831 section 2.1.2
 *   NTLM         MS-NLMP section 2.2.1.3 (AUTHENTICATE_MESSAGE)
 *   XOAUTH2      Google's SASL XOAUTH2 format
 *   OAUTHBEARER  RFC 7628 section 3.1
 *   SCRAM-*      RFC 5802 section 7
 */
#include "mail/sasl.h"

#include <string.h>

#include "core/cursor.h"
#include "core/limits.h"
#include "core/session.h"
#include "core/text.h"
#include "mail/base64.h"

static const struct {
	const char *name;
	enum sasl_mechanism mechanism;
} sasl_mechanisms[] = {
	{"PLAIN", SASL_MECH_PLAIN},	      {"LOGIN", SASL_MECH_LOGIN},
	{"CRAM-MD5", SASL_MECH_CRAM_MD5},     {"DIGEST-MD5", SASL_MECH_DIGEST_MD5},
	{"NTLM", SASL_MECH_NTLM},	      {"XOAUTH2", SASL_MECH_XOAUTH2},
	{"OAUTHBEARER", SASL_MECH_OAUTHBEARER}, {"GSSAPI", SASL_MECH_GSSAPI},
	{"ANONYMOUS", SASL_MECH_ANONYMOUS},   {"EXTERNAL", SASL_MECH_EXTERNAL},
};

enum sasl_mechanism sasl_mechanism_from_name(const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < sizeof(sasl_mechanisms) / sizeof(sasl_mechanisms[0]); i++) {
		if (mail_keyword_equals(name, len, sasl_mechanisms[i].name))
			return sasl_mechanisms[i].mechanism;
	}
	if (mail_keyword_has_prefix(name, len, "SCRAM-"))
		return SASL_MECH_SCRAM;
	return SASL_MECH_OTHER;
}

/* Returns the first occurrence of byte c in p[0..len), or NULL. */
static const uint8_t *sasl_find(const uint8_t *p, size_t len, uint8_t c)
{
	return len == 0 ? NULL : memchr(p, c, len);
}

int sasl_parse_plain(const uint8_t *p, size_t len, struct sasl_fields *out)
{
	const uint8_t *nul1 = sasl_find(p, len, 0);
	const uint8_t *user;
	const uint8_t *nul2;

	memset(out, 0, sizeof(*out));

	/* authzid NUL authcid NUL passwd: both separators are required. */
	if (nul1 == NULL)
		return -1;
	user = nul1 + 1;
	nul2 = sasl_find(user, (size_t)(p + len - user), 0);
	if (nul2 == NULL)
		return -1;

	out->user = user;
	out->user_len = (size_t)(nul2 - user);
	out->secret = nul2 + 1;
	out->secret_len = (size_t)(p + len - out->secret);
	return 0;
}

int sasl_parse_cram_md5(const uint8_t *p, size_t len, struct sasl_fields *out)
{
	size_t space = len;

	memset(out, 0, sizeof(*out));
	while (space > 0 && p[space - 1] != ' ')
		space--;

	/* "user SP digest": the user name ends at the last space and must not be empty. */
	if (space < 2)
		return -1;

	out->user = p;
	out->user_len = space - 1;
	return 0;
}

/* Finds `name=` as a directive name (at the start or after a comma) in p[0..len). */
static const uint8_t *sasl_find_directive(const uint8_t *p, size_t len, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i + n + 1 <= len; i++) {
		bool at_start = i == 0 || p[i - 1] == ',' || p[i - 1] == ' ';

		if (at_start && mail_keyword_has_prefix(p + i, len - i, name) && p[i + n] == '=')
			return p + i + n + 1;
	}
	return NULL;
}

int sasl_parse_digest_md5(const uint8_t *p, size_t len, struct sasl_fields *out)
{
	const uint8_t *v = sasl_find_directive(p, len, "username");
	const uint8_t *end = p + len;
	const uint8_t *e;

	memset(out, 0, sizeof(*out));
	if (v == NULL)
		return -1;
	if (v < end && *v == '"') {
		/* quoted-string: the value runs to the next quote not escaped by a backslash. */
		v++;
		e = v;
		while (e < end && *e != '"')
			e += (*e == '\\' && e + 1 < end) ? 2 : 1;
		if (e >= end)
			return -1;
	} else {
		e = v;
		while (e < end && *e != ',')
			e++;
	}
	out->user = v;
	out->user_len = (size_t)(e - v);
	return 0;
}

/* Reads one "key=value" item of an OAuth response into the fields it names. */
static void sasl_read_oauth_item(const uint8_t *item, size_t n, struct sasl_fields *out)
{
	if (mail_keyword_has_prefix(item, n, "user=")) {
		out->user = item + 5;
		out->user_len = n - 5;
	} else if (mail_keyword_has_prefix(item, n, "auth=")) {
		out->secret = item + 5;
		out->secret_len = n - 5;
		if (mail_keyword_has_prefix(out->secret, out->secret_len, "Bearer ")) {
			out->secret += 7;
			out->secret_len -= 7;
		}
	}
}

/* Reads the user name from an OAUTHBEARER gs2 header "n,a=user," (RFC 7628 section 3.1). */
static void sasl_read_gs2_authzid(const uint8_t *item, size_t n, struct sasl_fields *out)
{
	const uint8_t *comma = sasl_find(item, n, ',');
	const uint8_t *end = item + n;
	const uint8_t *v;
	const uint8_t *e;

	if (comma == NULL || end - comma < 3 || comma[1] != 'a' || comma[2] != '=')
		return;
	v = comma + 3;
	e = v;
	while (e < end && *e != ',')
		e++;
	out->user = v;
	out->user_len = (size_t)(e - v);
}

int sasl_parse_oauth(const uint8_t *p, size_t len, struct sasl_fields *out)
{
	const uint8_t *item = p;
	const uint8_t *end = p + len;
	bool first = true;

	memset(out, 0, sizeof(*out));
	while (item < end) {
		const uint8_t *sep = sasl_find(item, (size_t)(end - item), 0x01);
		size_t n = sep != NULL ? (size_t)(sep - item) : (size_t)(end - item);

		if (first && n > 1 && item[1] == ',')
			sasl_read_gs2_authzid(item, n, out);
		else
			sasl_read_oauth_item(item, n, out);
		first = false;
		if (sep == NULL)
			break;
		item = sep + 1;
	}
	if (out->user == NULL && out->secret == NULL)
		return -1;
	return 0;
}

int sasl_parse_scram_first(const uint8_t *p, size_t len, struct sasl_fields *out)
{
	const uint8_t *end = p + len;
	const uint8_t *c1 = sasl_find(p, len, ',');
	const uint8_t *c2;
	const uint8_t *v;
	const uint8_t *e;

	memset(out, 0, sizeof(*out));

	/* gs2-header is "cbind-flag,[authzid]," followed by "n=user,r=nonce". */
	if (c1 == NULL)
		return -1;
	c2 = sasl_find(c1 + 1, (size_t)(end - c1 - 1), ',');
	if (c2 == NULL || end - c2 < 3 || c2[1] != 'n' || c2[2] != '=')
		return -1;
	v = c2 + 3;
	e = v;
	while (e < end && *e != ',')
		e++;
	out->user = v;
	out->user_len = (size_t)(e - v);
	return 0;
}

/* Appends one code point as UTF-8 if it fits; returns false when out is full. */
static bool sasl_put_utf8(uint32_t cp, uint8_t *out, size_t cap, size_t *n)
{
	uint8_t b[4];
	size_t k;

	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (uint8_t)(0xc0 | (cp >> 6));
		b[1] = (uint8_t)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (uint8_t)(0xe0 | (cp >> 12));
		b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		b[0] = (uint8_t)(0xf0 | (cp >> 18));
		b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (uint8_t)(0x80 | (cp & 0x3f));
		k = 4;
	}
	if (cap - *n < k)
		return false;
	memcpy(out + *n, b, k);
	*n += k;
	return true;
}

/* Converts UTF-16LE to UTF-8; a lone surrogate becomes U+FFFD. Stops quietly when out is full. */
static void sasl_utf16le_to_utf8(const uint8_t *p, size_t len, uint8_t *out, size_t cap, size_t *n)
{
	struct cursor c;
	uint16_t unit;

	cursor_init(&c, p, len);
	while (cursor_le16(&c, &unit) == 0) {
		uint32_t cp = unit;

		if (unit >= 0xd800 && unit <= 0xdbff) {
			uint16_t low;
			size_t save = c.pos;

			if (cursor_le16(&c, &low) == 0 && low >= 0xdc00 && low <= 0xdfff) {
				cp = 0x10000u + (((uint32_t)unit - 0xd800u) << 10) + (low - 0xdc00u);
			} else {
				c.pos = save;
				cp = 0xfffd;
			}
		} else if (unit >= 0xdc00 && unit <= 0xdfff) {
			cp = 0xfffd;
		}
		if (!sasl_put_utf8(cp, out, cap, n))
			return;
	}
}

struct sasl_ntlm_field {
	uint16_t len;
	uint32_t offset;
};

static int sasl_read_ntlm_field(struct cursor *c, struct sasl_ntlm_field *f)
{
	uint16_t max_len;

	if (cursor_le16(c, &f->len) != 0 || cursor_le16(c, &max_len) != 0 || cursor_le32(c, &f->offset) != 0)
		return -1;
	return 0;
}

/* Appends a security buffer's string, converted when the message is Unicode. */
static int sasl_append_ntlm_string(const uint8_t *msg, size_t msg_len, const struct sasl_ntlm_field *f,
				   bool unicode, uint8_t *out, size_t cap, size_t *n)
{
	size_t take;

	/* The buffer must lie inside the message; offsets and lengths are the sender's claims. */
	if (f->offset > msg_len || f->len > msg_len - f->offset)
		return -1;

	if (unicode) {
		sasl_utf16le_to_utf8(msg + f->offset, f->len, out, cap, n);
		return 0;
	}
	take = f->len < cap - *n ? f->len : cap - *n;
	memcpy(out + *n, msg + f->offset, take);
	*n += take;
	return 0;
}

/* True when a security buffer contains an even number of bytes whose second one is zero. */
static bool sasl_looks_utf16le(const uint8_t *msg, size_t msg_len, const struct sasl_ntlm_field *f)
{
	size_t second = (size_t)f->offset + 1;

	return f->len >= 2 && f->len % 2 == 0 && second < msg_len && msg[second] == 0;
}

int sasl_parse_ntlm_type3(const uint8_t *p, size_t len, uint8_t *user, size_t user_cap, size_t *user_len)
{
	static const uint8_t signature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};
	struct sasl_ntlm_field fields[6]; /* LM, NT, domain, user, workstation, session key */
	struct cursor c;
	const uint8_t *sig;
	uint32_t type;
	uint32_t flags = 0;
	bool unicode;
	size_t n = 0;

	*user_len = 0;
	cursor_init(&c, p, len);
	if (cursor_bytes(&c, 8, &sig) != 0 || memcmp(sig, signature, 8) != 0)
		return -1;
	if (cursor_le32(&c, &type) != 0 || type != 3)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (sasl_read_ntlm_field(&c, &fields[i]) != 0)
			return -1;
	}

	/* Old clients end the header before NegotiateFlags; then the user name tells by its zero high bytes. */
	if (cursor_le32(&c, &flags) == 0 && fields[3].offset >= 64)
		unicode = (flags & 0x00000001u) != 0;
	else
		unicode = sasl_looks_utf16le(p, len, &fields[3]);

	if (user_cap == 0)
		return -1;
	if (sasl_append_ntlm_string(p, len, &fields[2], unicode, user, user_cap, &n) != 0)
		return -1;
	if (n > 0 && n < user_cap)
		user[n++] = '\\';
	if (sasl_append_ntlm_string(p, len, &fields[3], unicode, user, user_cap, &n) != 0)
		return -1;
	*user_len = n;
	return 0;
}

static void sasl_set_state(struct sasl_exchange *x, enum sasl_state state)
{
	x->state = state;
}

void sasl_reset(struct sasl_exchange *x)
{
	memset(x, 0, sizeof(*x));
	x->auth_index = -1;
	sasl_set_state(x, SASL_STATE_IDLE);
}

bool sasl_is_active(const struct sasl_exchange *x)
{
	return x->state != SASL_STATE_IDLE;
}

static enum auth_exposure sasl_exposure(enum sasl_mechanism m)
{
	switch (m) {
	case SASL_MECH_CRAM_MD5:
	case SASL_MECH_DIGEST_MD5:
	case SASL_MECH_NTLM:
	case SASL_MECH_SCRAM:
		return AUTH_EXPOSURE_CRACKABLE;
	case SASL_MECH_XOAUTH2:
	case SASL_MECH_OAUTHBEARER:
		return AUTH_EXPOSURE_TOKEN;
	default:
		return AUTH_EXPOSURE_CLEARTEXT;
	}
}

/* Creates the exchange's auth record on first use. */
static int sasl_record(struct sasl_exchange *x, struct mail_control *mc)
{
	if (x->auth_index < 0)
		x->auth_index = mail_auth_add(mc, x->mechanism_name, sasl_exposure(x->mechanism));
	return x->auth_index;
}

static void sasl_record_fields(struct sasl_exchange *x, struct mail_control *mc, const struct sasl_fields *f)
{
	int idx = sasl_record(x, mc);

	/* SCRAM's client-first message is followed by a client-final one. */
	x->client_done = x->mechanism != SASL_MECH_SCRAM;

	if (f->user != NULL)
		mail_auth_set_username(mc, idx, f->user, f->user_len);
	if (f->secret != NULL)
		mail_auth_set_password(mc, idx, f->secret, f->secret_len);
}

/* Records a DIGEST-MD5 user name with its quoted-string escapes removed (RFC 2831 section 7.2). */
static void sasl_record_digest_user(struct sasl_exchange *x, struct mail_control *mc, const struct sasl_fields *f)
{
	uint8_t user[WIRE_TEXT_MAX];
	size_t n = 0;

	for (size_t i = 0; i < f->user_len && n < sizeof(user); i++) {
		if (f->user[i] == '\\' && i + 1 < f->user_len)
			i++;
		user[n++] = f->user[i];
	}
	mail_auth_set_username(mc, sasl_record(x, mc), user, n);
	x->client_done = true;
}

static void sasl_handle_login(struct sasl_exchange *x, struct mail_control *mc, const uint8_t *p, size_t len)
{
	int idx = sasl_record(x, mc);

	if (x->next_is_password || x->responses >= 2) {
		mail_auth_set_password(mc, idx, p, len);
		x->next_is_password = false;
		x->client_done = true;
		return;
	}
	mail_auth_set_username(mc, idx, p, len);
	x->next_is_password = true;
}

static void sasl_handle_ntlm(struct sasl_exchange *x, struct mail_control *mc, const uint8_t *p, size_t len)
{
	uint8_t user[WIRE_TEXT_MAX];
	size_t user_len;

	/* Only the AUTHENTICATE (Type 3) message names the user; Type 1 carries no credential. */
	if (sasl_parse_ntlm_type3(p, len, user, sizeof(user), &user_len) != 0)
		return;
	mail_auth_set_username(mc, sasl_record(x, mc), user, user_len);
	x->client_done = true;
}

/* Applies one decoded client response to the exchange. */
static void sasl_handle_response(struct sasl_exchange *x, struct mail_control *mc, const uint8_t *p,
				 size_t len)
{
	struct sasl_fields f;
	int rc = -1;

	switch (x->mechanism) {
	case SASL_MECH_PLAIN: rc = sasl_parse_plain(p, len, &f); break;
	case SASL_MECH_CRAM_MD5: rc = sasl_parse_cram_md5(p, len, &f); break;
	case SASL_MECH_DIGEST_MD5: rc = sasl_parse_digest_md5(p, len, &f); break;
	case SASL_MECH_SCRAM: rc = sasl_parse_scram_first(p, len, &f); break;
	case SASL_MECH_XOAUTH2:
	case SASL_MECH_OAUTHBEARER: rc = sasl_parse_oauth(p, len, &f); break;
	case SASL_MECH_LOGIN: sasl_handle_login(x, mc, p, len); return;
	case SASL_MECH_NTLM: sasl_handle_ntlm(x, mc, p, len); return;
	default: return;
	}
	if (rc != 0)
		return;
	if (x->mechanism == SASL_MECH_DIGEST_MD5)
		sasl_record_digest_user(x, mc, &f);
	else
		sasl_record_fields(x, mc, &f);
}

/*
 * Decodes one client response (base64, or "=" for empty) and applies it.
 * Responses that carry nothing new (SCRAM client-final, DIGEST-MD5's empty
 * second response, the empty reply to an OAuth error) are only counted.
 */
static void sasl_take_response(struct sasl_exchange *x, struct mail_control *mc, const uint8_t *text, size_t len)
{
	uint8_t decoded[LIMIT_SASL_RESPONSE_BYTES];
	size_t n = 0;
	bool already_named = x->auth_index >= 0 && x->mechanism != SASL_MECH_LOGIN;

	x->responses++;
	if (x->mechanism == SASL_MECH_SCRAM && x->responses >= 2)
		x->client_done = true;
	if (len == 1 && text[0] == '=')
		len = 0;
	if (already_named || x->expect_empty || x->mechanism == SASL_MECH_GSSAPI) {
		x->expect_empty = false;
		return;
	}

	/* A response longer than the buffer was cut by the line cap; decode the whole quanta that fit. */
	if (len > LIMIT_SASL_RESPONSE_BYTES / 3 * 4)
		len = LIMIT_SASL_RESPONSE_BYTES / 3 * 4;

	if (base64_decode(text, len, decoded, sizeof(decoded), &n) != 0) {
		session_add_anomaly(mc->session, ANOMALY_INVALID_BASE64);
		return;
	}
	sasl_handle_response(x, mc, decoded, n);
}

void sasl_start(struct sasl_exchange *x, struct mail_control *mc, const uint8_t *mechanism,
		size_t mechanism_len, const uint8_t *initial, size_t initial_len)
{
	size_t n = mechanism_len < sizeof(x->mechanism_name) - 1 ? mechanism_len : sizeof(x->mechanism_name) - 1;

	sasl_reset(x);
	x->mechanism = sasl_mechanism_from_name(mechanism, mechanism_len);
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = mechanism[i];

		x->mechanism_name[i] = (char)((ch >= 'a' && ch <= 'z') ? ch - 'a' + 'A' : ch);
	}
	sasl_set_state(x, SASL_STATE_ACTIVE);
	if (initial != NULL)
		sasl_take_response(x, mc, initial, initial_len);
}

void sasl_client_line(struct sasl_exchange *x, struct mail_control *mc, const uint8_t *line, size_t len)
{
	if (x->state != SASL_STATE_ACTIVE)
		return;
	if (len == 1 && line[0] == '*') {
		sasl_set_state(x, SASL_STATE_CANCELLED);
		x->client_done = true;
		return;
	}
	sasl_take_response(x, mc, line, len);
}

void sasl_server_challenge(struct sasl_exchange *x, struct mail_control *mc, const uint8_t *text,
			   size_t len)
{
	uint8_t decoded[64];
	size_t n = 0;

	(void)mc;
	if (x->state != SASL_STATE_ACTIVE)
		return;

	/* After the credentials, an OAuth challenge is an error report, and the client replies with an empty response. */
	if ((x->mechanism == SASL_MECH_XOAUTH2 || x->mechanism == SASL_MECH_OAUTHBEARER) && x->responses > 0) {
		x->expect_empty = true;
		return;
	}
	if (x->mechanism != SASL_MECH_LOGIN)
		return;

	/* LOGIN prompts are "Username:" and "Password:"; only their first bytes matter here. */
	if (len > 8)
		len = 8;
	len -= len % 4;
	if (base64_decode(text, len, decoded, sizeof(decoded), &n) == 0 && n > 0)
		x->next_is_password = mail_keyword_has_prefix(decoded, n, "Pass");
}

bool sasl_client_is_done(const struct sasl_exchange *x)
{
	return x->state != SASL_STATE_IDLE && x->client_done;
}

void sasl_finish(struct sasl_exchange *x, struct mail_control *mc, enum auth_result result)
{
	if (x->auth_index >= 0)
		mail_auth_set_result(mc, x->auth_index, result);
	sasl_reset(x);
}
