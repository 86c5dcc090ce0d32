/*
 * Lexical readers for IMAP lines (RFC 3501 section 9, the same in RFC 9051
 * section 9 for what is read here): tags, atoms, quoted strings and literal
 * announcements, including the non-synchronising "{n+}" of RFC 7888.
 */
#include "mail/imap.h"

#include <string.h>

static bool imap_is_atom_char(uint8_t c)
{
	/* atom-specials: CTL, SP, non-ASCII and ( ) { % * " \ ] */
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("(){%*\"\\]", c) == NULL;
}

static bool imap_is_astring_char(uint8_t c)
{
	return imap_is_atom_char(c) || c == ']';
}

static bool imap_is_tag_char(uint8_t c)
{
	return imap_is_astring_char(c) && c != '+';
}

static bool imap_is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static size_t imap_span(const struct cursor *c, bool (*accept)(uint8_t))
{
	const uint8_t *p = cursor_ptr(c);
	size_t n = 0;

	while (n < cursor_remaining(c) && accept(p[n]))
		n++;
	return n;
}

int imap_read_space(struct cursor *c)
{
	if (cursor_remaining(c) == 0 || *cursor_ptr(c) != ' ')
		return IMAP_ERR_MALFORMED;
	return cursor_skip(c, 1);
}

/* Parses 1 to IMAP_LITERAL_DIGITS_MAX decimal digits. Returns false when the value overflows 64 bits. */
static bool imap_parse_number(const uint8_t *p, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > IMAP_LITERAL_DIGITS_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		uint64_t d = (uint64_t)(p[i] - '0');

		if (!imap_is_digit(p[i]) || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

int imap_read_tag(struct cursor *c, const uint8_t **tag, size_t *tag_len)
{
	size_t n = imap_span(c, imap_is_tag_char);

	if (n == 0)
		return IMAP_ERR_MALFORMED;
	*tag_len = n;
	return cursor_bytes(c, n, tag);
}

int imap_read_atom(struct cursor *c, const uint8_t **atom, size_t *atom_len)
{
	size_t n = imap_span(c, imap_is_atom_char);

	if (n == 0)
		return IMAP_ERR_MALFORMED;
	*atom_len = n;
	return cursor_bytes(c, n, atom);
}

/*
 * Reads a quoted string. A backslash is accepted before any byte, not only
 * before '"' and '\', so that a slightly malformed LOGIN still yields the
 * credentials that crossed the wire.
 */
static int imap_read_quoted(struct cursor *c, struct imap_string *out)
{
	const uint8_t *p = cursor_ptr(c);
	size_t avail = cursor_remaining(c);
	size_t i = 1;

	while (i < avail && p[i] != '"') {
		if (p[i] == '\\')
			i++;
		/* TEXT-CHAR excludes CR and LF, and CHAR excludes NUL. */
		if (i >= avail || p[i] == '\0' || p[i] == '\r' || p[i] == '\n')
			return IMAP_ERR_MALFORMED;
		i++;
	}
	if (i >= avail)
		return IMAP_ERR_MALFORMED;
	out->kind = IMAP_STRING_QUOTED;
	out->data = p + 1;
	out->len = i - 1;
	return cursor_skip(c, i + 1);
}

/* Reads "{n}" or "{n+}", which must be the last bytes of the line. */
static int imap_read_literal(struct cursor *c, struct imap_string *out)
{
	const uint8_t *p = cursor_ptr(c);
	size_t avail = cursor_remaining(c);
	size_t digits = 0;

	while (1 + digits < avail && imap_is_digit(p[1 + digits]))
		digits++;
	out->kind = IMAP_STRING_LITERAL;
	out->data = NULL;
	out->len = 0;
	out->literal_sync = true;
	if (!imap_parse_number(p + 1, digits, &out->literal_size))
		return IMAP_ERR_MALFORMED;
	if (avail == digits + 3 && p[digits + 1] == '+' && p[digits + 2] == '}')
		out->literal_sync = false;
	else if (avail != digits + 2 || p[digits + 1] != '}')
		return IMAP_ERR_MALFORMED;
	return cursor_skip(c, avail);
}

int imap_read_astring(struct cursor *c, struct imap_string *out)
{
	size_t n;

	if (cursor_remaining(c) == 0)
		return IMAP_ERR_MALFORMED;
	if (*cursor_ptr(c) == '"')
		return imap_read_quoted(c, out);
	if (*cursor_ptr(c) == '{')
		return imap_read_literal(c, out);
	n = imap_span(c, imap_is_astring_char);
	if (n == 0)
		return IMAP_ERR_MALFORMED;
	out->kind = IMAP_STRING_ATOM;
	out->len = n;
	return cursor_bytes(c, n, &out->data);
}

size_t imap_unquote(const uint8_t *p, size_t len, uint8_t *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\\' && i + 1 < len)
			i++;
		if (n < cap)
			out[n] = p[i];
		n++;
	}
	return n;
}

bool imap_line_literal(const uint8_t *p, size_t len, uint64_t *size, bool *sync)
{
	size_t end;
	size_t i;

	if (len == 0 || p[len - 1] != '}')
		return false;
	i = len - 1;
	*sync = true;
	if (i > 0 && p[i - 1] == '+') {
		*sync = false;
		i--;
	}
	end = i;
	while (i > 0 && imap_is_digit(p[i - 1]))
		i--;
	if (i == 0 || p[i - 1] != '{')
		return false;
	return imap_parse_number(p + i, end - i, size);
}
