/*
 * Evaluation of compiled conditions against an event, and the {field}
 * message templates: checked at load, rendered per alert.
 *
 * A test on a field the event does not carry is false, whatever the
 * operator (ne and not_in included); only exists: false matches it.
 */
#include <regex.h>
#include <string.h>

#include "core/proto.h"
#include "detect/rules_internal.h"

static bool bytes_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

static bool bytes_contain(const char *hay, size_t hay_len, const char *needle, size_t needle_len)
{
	return memmem(hay, hay_len, needle, needle_len) != NULL;
}

/*
 * Matches a regex against len bytes. Wire strings may hold NUL bytes, so
 * REG_STARTEND (glibc, BSD) bounds the match by length, not by the first NUL.
 */
static bool regex_match(const regex_t *re, const char *s, size_t len)
{
	regmatch_t span[1];

	span[0].rm_so = 0;
	span[0].rm_eo = (regoff_t)len;
	return regexec(re, s, 1, span, REG_STARTEND) == 0;
}

static bool string_in_set(const struct rule_condition *cond, const char *s, size_t len)
{
	for (size_t i = 0; i < cond->value_count; i++) {
		if (bytes_equal(s, len, cond->values[i].str, cond->values[i].len))
			return true;
	}
	return false;
}

static bool eval_string(const struct rule_condition *cond, const struct field_value *v)
{
	const struct cond_operand *want = &cond->values[0];

	switch (cond->op) {
	case OP_EQ: return bytes_equal(v->str, v->len, want->str, want->len);
	case OP_NE: return !bytes_equal(v->str, v->len, want->str, want->len);
	case OP_IN: return string_in_set(cond, v->str, v->len);
	case OP_NOT_IN: return !string_in_set(cond, v->str, v->len);
	case OP_CONTAINS: return bytes_contain(v->str, v->len, want->str, want->len);
	case OP_REGEX: return regex_match(&cond->regex, v->str, v->len);
	default: return false;
	}
}

static bool eval_list(const struct rule_condition *cond, const struct field_value *v)
{
	bool any = false;

	for (unsigned i = 0; i < v->item_count && !any; i++) {
		const struct field_item *item = &v->items[i];

		if (cond->op == OP_CONTAINS)
			any = bytes_equal(item->str, item->len, cond->values[0].str, cond->values[0].len);
		else if (cond->op == OP_REGEX)
			any = regex_match(&cond->regex, item->str, item->len);
		else
			any = string_in_set(cond, item->str, item->len);
	}
	return cond->op == OP_NOT_IN ? !any : any;
}

static bool integer_in_set(const struct rule_condition *cond, int64_t x)
{
	for (size_t i = 0; i < cond->value_count; i++) {
		if (cond->values[i].integer == x)
			return true;
	}
	return false;
}

/* Applies an ordering operator to a comparison result c of -1, 0 or 1. */
static bool order_matches(enum cond_op op, int c)
{
	switch (op) {
	case OP_LT: return c < 0;
	case OP_LE: return c <= 0;
	case OP_GT: return c > 0;
	case OP_GE: return c >= 0;
	default: return false;
	}
}

static bool eval_integer(const struct rule_condition *cond, const struct field_value *v)
{
	int64_t want = cond->values[0].integer;

	switch (cond->op) {
	case OP_EQ: return v->integer == want;
	case OP_NE: return v->integer != want;
	case OP_IN: return integer_in_set(cond, v->integer);
	case OP_NOT_IN: return !integer_in_set(cond, v->integer);
	default: return order_matches(cond->op, (v->integer > want) - (v->integer < want));
	}
}

static bool version_in_set(const struct rule_condition *cond, uint16_t version)
{
	for (size_t i = 0; i < cond->value_count; i++) {
		if (cond->values[i].version == version)
			return true;
	}
	return false;
}

/*
 * Versions: eq and in compare wire values exactly; lt..ge compare in
 * protocol order (tls_version_rank), where TLS 1.3 drafts rank as TLS 1.3.
 * A version without a rank (GREASE, garbage) is in no order, so lt..ge fail.
 */
static bool eval_version(const struct rule_condition *cond, const struct field_value *v)
{
	int have = tls_version_rank(v->version);
	int want = tls_version_rank(cond->values[0].version);

	switch (cond->op) {
	case OP_EQ: return v->version == cond->values[0].version;
	case OP_NE: return v->version != cond->values[0].version;
	case OP_IN: return version_in_set(cond, v->version);
	case OP_NOT_IN: return !version_in_set(cond, v->version);
	default:
		if (have == 0 || want == 0)
			return false;
		return order_matches(cond->op, (have > want) - (have < want));
	}
}

static bool eval_test(const struct rule_condition *cond, const struct event *ev)
{
	struct field_value v;

	field_read(cond->field, ev, &v);
	if (cond->op == OP_EXISTS)
		return v.present == cond->values[0].boolean;
	if (!v.present)
		return false;
	switch (v.type) {
	case FIELD_STRING: return eval_string(cond, &v);
	case FIELD_INTEGER: return eval_integer(cond, &v);
	case FIELD_BOOL:
		return (v.boolean == cond->values[0].boolean) == (cond->op == OP_EQ);
	case FIELD_VERSION: return eval_version(cond, &v);
	case FIELD_STRING_LIST: return eval_list(cond, &v);
	}
	return false;
}

bool rules_cond_eval(const struct rule_condition *cond, const struct event *ev)
{
	switch (cond->kind) {
	case COND_ALL:
		for (size_t i = 0; i < cond->count; i++) {
			if (!rules_cond_eval(cond->children[i], ev))
				return false;
		}
		return true;
	case COND_ANY:
		for (size_t i = 0; i < cond->count; i++) {
			if (rules_cond_eval(cond->children[i], ev))
				return true;
		}
		return false;
	case COND_NOT:
		return !rules_cond_eval(cond->children[0], ev);
	case COND_TEST:
		return eval_test(cond, ev);
	}
	return false;
}

/*
 * Finds the placeholder that starts at text[i] == '{'. Sets *name_len and
 * returns the index just past '}', or 0 when the brace is never closed.
 */
static size_t template_placeholder(const char *text, size_t i, size_t *name_len)
{
	const char *close = strchr(text + i + 1, '}');

	if (close == NULL)
		return 0;
	*name_len = (size_t)(close - (text + i + 1));
	return (size_t)(close - text) + 1;
}

int rules_template_check(const struct ynode *node, enum event_type event, struct rule_errors *errs)
{
	const char *text = node->value;
	char fields[1024];
	char name[128];
	int status = 0;

	for (size_t i = 0; text[i] != '\0'; i++) {
		size_t name_len = 0;
		size_t end;

		if ((text[i] == '{' && text[i + 1] == '{') || (text[i] == '}' && text[i + 1] == '}')) {
			i++;
			continue;
		}
		if (text[i] == '}') {
			rule_errors_add(errs, node->line, node->column,
					"unmatched \"}\" in message; write \"}}\" for a literal brace");
			return -1;
		}
		if (text[i] != '{')
			continue;
		end = template_placeholder(text, i, &name_len);
		if (end == 0) {
			rule_errors_add(errs, node->line, node->column,
					"unclosed \"{\" in message; write \"{{\" for a literal brace");
			return -1;
		}
		snprintf(name, sizeof(name), "%.*s", (int)name_len, text + i + 1);
		if (name_len >= sizeof(name) || field_find(event, name) == NULL) {
			rules_list_fields(event, fields, sizeof(fields));
			rule_errors_add(errs, node->line, node->column,
					"unknown field \"{%s}\" in message for event %s; fields: %s", name,
					event_type_name(event), fields);
			status = -1;
		}
		i = end - 1;
	}
	return status;
}

/*
 * Appends len bytes at *pos. When they do not all fit, *full is set and the
 * rest of the message is dropped, so a cut message is a prefix of the whole.
 */
static void render_append(char *buf, size_t size, size_t *pos, const char *s, size_t len, bool *full)
{
	size_t room = size - 1 - *pos;

	if (len > room) {
		len = room;
		*full = true;
	}
	memcpy(buf + *pos, s, len);
	*pos += len;
}

static void render_field(const struct rule *rule, const char *name, const struct event *ev, char *buf,
			 size_t size, size_t *pos, bool *full)
{
	const struct field_def *def = field_find(rule->event, name);
	struct field_value v;

	/* The load checked every placeholder; an unknown one can only come from a hand-built rule. */
	if (def == NULL) {
		render_append(buf, size, pos, "-", 1, full);
		return;
	}
	field_read(def, ev, &v);
	*pos += field_format(&v, buf + *pos, size - *pos, full);
}

size_t rule_render_message(const struct rule *rule, const struct event *ev, char *buf, size_t size)
{
	const char *text = rule->message;
	bool full = false;
	size_t pos = 0;

	if (size == 0)
		return 0;
	for (size_t i = 0; text[i] != '\0' && !full; i++) {
		char name[128];
		size_t name_len = 0;
		size_t end;

		if ((text[i] == '{' && text[i + 1] == '{') || (text[i] == '}' && text[i + 1] == '}')) {
			render_append(buf, size, &pos, text + i, 1, &full);
			i++;
			continue;
		}
		if (text[i] != '{' && text[i] != '}') {
			/* Literal text up to the next brace goes in as one piece. */
			size_t run = strcspn(text + i, "{}");

			render_append(buf, size, &pos, text + i, run, &full);
			i += run - 1;
			continue;
		}
		end = text[i] == '{' ? template_placeholder(text, i, &name_len) : 0;
		if (end == 0 || name_len >= sizeof(name)) {
			render_append(buf, size, &pos, text + i, 1, &full);
			continue;
		}
		memcpy(name, text + i + 1, name_len);
		name[name_len] = '\0';
		render_field(rule, name, ev, buf, size, &pos, &full);
		i = end - 1;
	}
	buf[pos] = '\0';
	return pos;
}
