/* JSON builder with UTF-8 validation (RFC 8259, RFC 3629). */
#include "output/json.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/decimal.h"

void json_init(struct json_builder *jb)
{
	memset(jb, 0, sizeof(*jb));
}

void json_free(struct json_builder *jb)
{
	free(jb->buf);
	memset(jb, 0, sizeof(*jb));
}

void json_reset(struct json_builder *jb)
{
	jb->len = 0;
	jb->failed = false;
	jb->depth = 0;
	jb->has_member[0] = false;
	if (jb->buf != NULL)
		jb->buf[0] = '\0';
}

static bool json_reserve(struct json_builder *jb, size_t extra)
{
	size_t need;
	char *grown;
	size_t cap;

	if (jb->failed)
		return false;
	need = jb->len + extra + 1;
	if (need <= jb->cap)
		return true;
	cap = jb->cap ? jb->cap : 1024;
	while (cap < need)
		cap *= 2;
	grown = realloc(jb->buf, cap);
	if (grown == NULL) {
		jb->failed = true;
		return false;
	}
	jb->buf = grown;
	jb->cap = cap;
	return true;
}

static void json_put(struct json_builder *jb, const char *s, size_t n)
{
	if (!json_reserve(jb, n))
		return;
	memcpy(jb->buf + jb->len, s, n);
	jb->len += n;
	jb->buf[jb->len] = '\0';
}

/* Length of the valid UTF-8 sequence at p, or 0 when the bytes are not one. */
static size_t utf8_sequence_length(const uint8_t *p, size_t avail)
{
	uint8_t b = p[0];
	size_t n;
	uint32_t cp;

	if (b < 0x80)
		return 1;
	if (b >= 0xc2 && b <= 0xdf)
		n = 2, cp = b & 0x1f;
	else if (b >= 0xe0 && b <= 0xef)
		n = 3, cp = b & 0x0f;
	else if (b >= 0xf0 && b <= 0xf4)
		n = 4, cp = b & 0x07;
	else
		return 0;
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}

	/* Reject overlong forms, UTF-16 surrogates and values past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	if (cp >= 0xd800 && cp <= 0xdfff)
		return 0;
	return n;
}

/* Bytes copied into a JSON string unchanged: printable ASCII except the quote and backslash. */
static const bool json_plain_byte[256] = {
	[0x20] = true, [0x21] = true, [0x23 ... 0x5b] = true, [0x5d ... 0x7e] = true,
};

size_t json_escape_bytes(const void *value, size_t len, char *out, size_t out_size)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = value;
	size_t o = 0;
	size_t i = 0;

	while (i < len) {
		char esc[8];
		size_t esc_len;
		size_t seq;
		size_t run = i;

		/* Printable ASCII other than the quote and backslash is copied as it is, a run at a time. */
		while (run < len && json_plain_byte[p[run]])
			run++;
		if (run > i) {
			size_t n = run - i;

			if (o + n >= out_size)
				n = out_size > o ? out_size - o - 1 : 0;
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
			if (i < run)
				break;
			continue;
		}
		seq = utf8_sequence_length(p + i, len - i);
		if (seq == 1 && (p[i] == '"' || p[i] == '\\')) {
			esc[0] = '\\';
			esc[1] = (char)p[i];
			esc_len = 2;
		} else if (seq > 1) {
			memcpy(esc, p + i, seq);
			esc_len = seq;
		} else {
			/* Control bytes, DEL and bytes of invalid UTF-8 alike. */
			seq = 1;
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[p[i] >> 4];
			esc[5] = hex[p[i] & 0x0f];
			esc_len = 6;
		}
		if (o + esc_len >= out_size)
			break;
		memcpy(out + o, esc, esc_len);
		o += esc_len;
		i += seq;
	}
	if (o < out_size)
		out[o] = '\0';
	return o;
}

static void json_write_escaped(struct json_builder *jb, const void *value, size_t len)
{
	/* Each input byte expands to at most 6 output bytes ("\u00XX"). */
	if (len > (SIZE_MAX - 3) / 6 || !json_reserve(jb, len * 6 + 2)) {
		jb->failed = true;
		return;
	}
	jb->buf[jb->len++] = '"';
	jb->len += json_escape_bytes(value, len, jb->buf + jb->len, jb->cap - jb->len);
	jb->buf[jb->len++] = '"';
	jb->buf[jb->len] = '\0';
}

static void json_member_start(struct json_builder *jb, const char *key)
{
	if (jb->has_member[jb->depth])
		json_put(jb, ",", 1);
	jb->has_member[jb->depth] = true;
	if (key != NULL) {
		size_t key_len = strlen(key);

		/* Keys are names in the program text, plain ASCII that needs no escaping. */
		assert(strcspn(key, "\"\\") == key_len);
		if (!json_reserve(jb, key_len + 3))
			return;
		jb->buf[jb->len++] = '"';
		memcpy(jb->buf + jb->len, key, key_len);
		jb->len += key_len;
		jb->buf[jb->len++] = '"';
		jb->buf[jb->len++] = ':';
		jb->buf[jb->len] = '\0';
	}
}

static void json_open(struct json_builder *jb, const char *key, char bracket)
{
	json_member_start(jb, key);
	json_put(jb, &bracket, 1);
	if (jb->depth + 1 >= JSON_MAX_DEPTH) {
		jb->failed = true;
		return;
	}
	jb->depth++;
	jb->has_member[jb->depth] = false;
}

static void json_close(struct json_builder *jb, char bracket)
{
	json_put(jb, &bracket, 1);
	if (jb->depth > 0)
		jb->depth--;
}

void json_object_begin(struct json_builder *jb, const char *key)
{
	json_open(jb, key, '{');
}

void json_object_end(struct json_builder *jb)
{
	json_close(jb, '}');
}

void json_array_begin(struct json_builder *jb, const char *key)
{
	json_open(jb, key, '[');
}

void json_array_end(struct json_builder *jb)
{
	json_close(jb, ']');
}

void json_string(struct json_builder *jb, const char *key, const char *value)
{
	json_string_bytes(jb, key, value, strlen(value));
}

void json_string_bytes(struct json_builder *jb, const char *key, const void *value, size_t len)
{
	json_member_start(jb, key);
	json_write_escaped(jb, value, len);
}

void json_uint(struct json_builder *jb, const char *key, uint64_t value)
{
	char num[DECIMAL_U64_MAX_DIGITS];
	size_t n = decimal_u64(value, num);

	json_member_start(jb, key);
	json_put(jb, num, n);
}

void json_int(struct json_builder *jb, const char *key, int64_t value)
{
	char num[1 + DECIMAL_U64_MAX_DIGITS];
	size_t n = 0;
	uint64_t magnitude = (uint64_t)value;

	/* Negating in uint64_t keeps INT64_MIN exact. */
	if (value < 0) {
		num[n++] = '-';
		magnitude = 0 - magnitude;
	}
	n += decimal_u64(magnitude, num + n);
	json_member_start(jb, key);
	json_put(jb, num, n);
}

void json_bool(struct json_builder *jb, const char *key, bool value)
{
	json_member_start(jb, key);
	if (value)
		json_put(jb, "true", 4);
	else
		json_put(jb, "false", 5);
}

void json_null(struct json_builder *jb, const char *key)
{
	json_member_start(jb, key);
	json_put(jb, "null", 4);
}
