/*
 * Recursive-descent JSON reader (RFC 8259) for mailtap's own records.
 * Values live in one array sized before each parse: a value takes at least
 * one byte of text, so the line length bounds the count. Strings live in one
 * buffer of the line's length, because a decoded string is never longer than
 * its quoted form. A parse therefore never allocates while it runs.
 */
#include "report/report_json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"

struct report_json_parser {
	const char *text;
	size_t len;
	size_t pos;
	struct report_json_doc *doc;
};

void report_json_free(struct report_json_doc *doc)
{
	free(doc->values);
	free(doc->strings);
	memset(doc, 0, sizeof(*doc));
}

/* Makes room for a line of len bytes. Returns 0 or -1. */
static int report_json_reserve(struct report_json_doc *doc, size_t len)
{
	size_t values = len + 1 < LIMIT_REPORT_JSON_VALUES ? len + 1 : LIMIT_REPORT_JSON_VALUES;

	if (values > doc->value_cap) {
		struct report_json_value *v = realloc(doc->values, values * sizeof(*v));

		if (v == NULL)
			return -1;
		doc->values = v;
		doc->value_cap = values;
	}
	free(doc->strings);
	doc->strings = malloc(len + 1);
	if (doc->strings == NULL)
		return -1;
	doc->value_count = 0;
	doc->strings_len = 0;
	return 0;
}

static struct report_json_value *report_json_new_value(struct report_json_parser *p, enum report_json_type type)
{
	struct report_json_value *v;

	/* The cap keeps a line with millions of tiny values from taking the memory of a line's worth of structs. */
	if (p->doc->value_count >= p->doc->value_cap)
		return NULL;
	v = &p->doc->values[p->doc->value_count++];
	memset(v, 0, sizeof(*v));
	v->type = type;
	return v;
}

static void report_json_skip_space(struct report_json_parser *p)
{
	while (p->pos < p->len &&
	       (p->text[p->pos] == ' ' || p->text[p->pos] == '\t' || p->text[p->pos] == '\n' || p->text[p->pos] == '\r'))
		p->pos++;
}

static int report_json_hex4(struct report_json_parser *p, uint32_t *out)
{
	uint32_t v = 0;

	if (p->len - p->pos < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = p->text[p->pos++];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static void report_json_put_utf8(char *out, size_t *n, uint32_t cp)
{
	if (cp < 0x80) {
		out[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*n)++] = (char)(0xc0 | (cp >> 6));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*n)++] = (char)(0xe0 | (cp >> 12));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*n)++] = (char)(0xf0 | (cp >> 18));
		out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/* Decodes a \u escape (the "\u" already read), joining a surrogate pair; a lone surrogate becomes U+FFFD. */
static int report_json_unicode(struct report_json_parser *p, char *out, size_t *n)
{
	uint32_t cp;
	uint32_t low;

	if (report_json_hex4(p, &cp) != 0)
		return -1;
	if (cp >= 0xd800 && cp <= 0xdbff && p->len - p->pos >= 6 && p->text[p->pos] == '\\' &&
	    p->text[p->pos + 1] == 'u') {
		size_t save = p->pos;

		p->pos += 2;
		if (report_json_hex4(p, &low) == 0 && low >= 0xdc00 && low <= 0xdfff)
			cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
		else
			p->pos = save;
	}
	if (cp >= 0xd800 && cp <= 0xdfff)
		cp = 0xfffd;
	report_json_put_utf8(out, n, cp);
	return 0;
}

static int report_json_escape(struct report_json_parser *p, char *out, size_t *n)
{
	static const char from[] = "\"\\/bfnrt";
	static const char to[] = "\"\\/\b\f\n\r\t";
	const char *hit;
	char c;

	if (p->pos >= p->len)
		return -1;
	c = p->text[p->pos++];
	if (c == 'u')
		return report_json_unicode(p, out, n);
	hit = memchr(from, c, sizeof(from) - 1);
	if (hit == NULL)
		return -1;
	out[(*n)++] = to[hit - from];
	return 0;
}

/* Reads a string (the opening quote at pos) into the doc's string buffer. */
static int report_json_string(struct report_json_parser *p, const char **out, size_t *out_len)
{
	char *buf = p->doc->strings + p->doc->strings_len;
	size_t n = 0;

	p->pos++;
	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->text[p->pos++];

		if (c == '"') {
			buf[n] = '\0';
			p->doc->strings_len += n + 1;
			*out = buf;
			*out_len = n;
			return 0;
		}

		/* RFC 8259 section 7: control characters must be escaped. */
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (report_json_escape(p, buf, &n) != 0)
				return -1;
		} else {
			buf[n++] = (char)c;
		}
	}
	return -1;
}

static int report_json_number(struct report_json_parser *p, struct report_json_value *v)
{
	char buf[64];
	size_t start = p->pos;
	size_t n;
	char *end;

	while (p->pos < p->len && strchr("+-0123456789.eE", p->text[p->pos]) != NULL && p->text[p->pos] != '\0')
		p->pos++;
	n = p->pos - start;
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, p->text + start, n);
	buf[n] = '\0';
	v->number = strtod(buf, &end);
	if (end != buf + n)
		return -1;

	/* Keep the digits too: a 64-bit flow id does not fit a double exactly. */
	v->string = p->doc->strings + p->doc->strings_len;
	v->string_len = n;
	memcpy(p->doc->strings + p->doc->strings_len, buf, n + 1);
	p->doc->strings_len += n + 1;
	return 0;
}

static int report_json_literal(struct report_json_parser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0)
		return -1;
	p->pos += n;
	return 0;
}

static struct report_json_value *report_json_value(struct report_json_parser *p, unsigned depth);

/* Reads the members or elements of an object or array up to its closing bracket. */
static int report_json_container(struct report_json_parser *p, struct report_json_value *v, unsigned depth)
{
	char close = v->type == REPORT_JSON_OBJECT ? '}' : ']';
	struct report_json_value **tail = &v->child;

	p->pos++;
	report_json_skip_space(p);
	if (p->pos < p->len && p->text[p->pos] == close) {
		p->pos++;
		return 0;
	}
	for (;;) {
		const char *key = NULL;
		size_t key_len;
		struct report_json_value *item;

		report_json_skip_space(p);
		if (v->type == REPORT_JSON_OBJECT) {
			if (p->pos >= p->len || p->text[p->pos] != '"' || report_json_string(p, &key, &key_len) != 0)
				return -1;
			report_json_skip_space(p);
			if (p->pos >= p->len || p->text[p->pos++] != ':')
				return -1;
		}
		item = report_json_value(p, depth + 1);
		if (item == NULL)
			return -1;
		item->key = key;
		*tail = item;
		tail = &item->next;
		report_json_skip_space(p);
		if (p->pos >= p->len)
			return -1;
		if (p->text[p->pos] == close) {
			p->pos++;
			return 0;
		}
		if (p->text[p->pos++] != ',')
			return -1;
	}
}

static struct report_json_value *report_json_value(struct report_json_parser *p, unsigned depth)
{
	struct report_json_value *v;
	char c;
	int rc;

	/* The depth cap bounds the recursion whatever the input. */
	if (depth > LIMIT_REPORT_JSON_DEPTH)
		return NULL;
	report_json_skip_space(p);
	if (p->pos >= p->len)
		return NULL;
	c = p->text[p->pos];
	if (c == '{' || c == '[') {
		v = report_json_new_value(p, c == '{' ? REPORT_JSON_OBJECT : REPORT_JSON_ARRAY);
		rc = v != NULL ? report_json_container(p, v, depth) : -1;
	} else if (c == '"') {
		v = report_json_new_value(p, REPORT_JSON_STRING);
		rc = v != NULL ? report_json_string(p, &v->string, &v->string_len) : -1;
	} else if (c == 't' || c == 'f') {
		v = report_json_new_value(p, REPORT_JSON_BOOL);
		rc = v != NULL ? report_json_literal(p, c == 't' ? "true" : "false") : -1;
		if (v != NULL)
			v->boolean = c == 't';
	} else if (c == 'n') {
		v = report_json_new_value(p, REPORT_JSON_NULL);
		rc = v != NULL ? report_json_literal(p, "null") : -1;
	} else {
		v = report_json_new_value(p, REPORT_JSON_NUMBER);
		rc = v != NULL ? report_json_number(p, v) : -1;
	}
	return rc == 0 ? v : NULL;
}

int report_json_parse(struct report_json_doc *doc, const char *text, size_t len, struct report_json_value **root)
{
	struct report_json_parser p = {text, len, 0, doc};

	*root = NULL;
	if (len > LIMIT_REPORT_LINE_BYTES || report_json_reserve(doc, len) != 0)
		return -1;
	*root = report_json_value(&p, 0);
	report_json_skip_space(&p);
	if (*root == NULL || p.pos != len) {
		*root = NULL;
		return -1;
	}
	return 0;
}

const struct report_json_value *report_json_get(const struct report_json_value *obj, const char *key)
{
	if (obj == NULL || obj->type != REPORT_JSON_OBJECT)
		return NULL;
	for (const struct report_json_value *v = obj->child; v != NULL; v = v->next) {
		if (v->key != NULL && strcmp(v->key, key) == 0)
			return v;
	}
	return NULL;
}

const char *report_json_get_string(const struct report_json_value *obj, const char *key)
{
	const struct report_json_value *v = report_json_get(obj, key);

	return v != NULL && v->type == REPORT_JSON_STRING ? v->string : NULL;
}

double report_json_get_number(const struct report_json_value *obj, const char *key, double fallback)
{
	const struct report_json_value *v = report_json_get(obj, key);

	return v != NULL && v->type == REPORT_JSON_NUMBER ? v->number : fallback;
}
