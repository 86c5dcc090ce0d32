/*
 * A small JSON reader for `mailtap report`: parses one line of mailtap's
 * own JSON output (RFC 8259) into a tree. It is bounded (depth, value count,
 * the line's own length) and rejects what is not valid JSON.
 */
#ifndef MAILTAP_REPORT_JSON_H
#define MAILTAP_REPORT_JSON_H

#include <stdbool.h>
#include <stddef.h>

enum report_json_type {
	REPORT_JSON_NULL = 0,
	REPORT_JSON_BOOL,
	REPORT_JSON_NUMBER,
	REPORT_JSON_STRING,
	REPORT_JSON_ARRAY,
	REPORT_JSON_OBJECT,
};

/*
 * One value. Strings are decoded to UTF-8 and NUL-terminated (a \u0000
 * ends them early); a number keeps its text in string as well.
 */
struct report_json_value {
	enum report_json_type type;
	const char *key; /* member name inside an object, else NULL */
	const char *string;
	size_t string_len;
	double number;
	bool boolean;
	struct report_json_value *child; /* first element or member */
	struct report_json_value *next;	 /* next sibling */
};

/* Owns every value and string of one parsed line. */
struct report_json_doc {
	struct report_json_value *values;
	size_t value_count;
	size_t value_cap;
	char *strings;
	size_t strings_len;
};

/*
 * Parses text (len bytes, no NUL needed) into doc and sets *root. Returns
 * 0, or -1 when the text is not one valid JSON value or passes a limit.
 * The doc may be reused; free it with report_json_free().
 */
int report_json_parse(struct report_json_doc *doc, const char *text, size_t len, struct report_json_value **root);
void report_json_free(struct report_json_doc *doc);

/* Returns the member key of an object, or NULL. */
const struct report_json_value *report_json_get(const struct report_json_value *obj, const char *key);
/* Returns the string of member key, or NULL when absent or not a string. */
const char *report_json_get_string(const struct report_json_value *obj, const char *key);
/* Returns the number of member key, or fallback when absent or not a number. */
double report_json_get_number(const struct report_json_value *obj, const char *key, double fallback);

#endif
