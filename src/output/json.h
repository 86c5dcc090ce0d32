/*
 * The one JSON builder. Every string is escaped here: control characters,
 * quotes and backslashes as JSON escapes, and each byte of invalid UTF-8 as
 * \u00XX (the byte's Latin-1 reading), so any wire text becomes valid JSON
 * without losing a byte.
 */
#ifndef MAILTAP_JSON_H
#define MAILTAP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 16

struct json_builder {
	char *buf; /* owned; NUL-terminated while not failed */
	size_t len;
	size_t cap;
	bool failed; /* an allocation failed or nesting was too deep; output is unusable */
	unsigned depth;
	bool has_member[JSON_MAX_DEPTH];
};

void json_init(struct json_builder *jb);
void json_free(struct json_builder *jb);
/* Empties the buffer for the next record, keeping its memory. */
void json_reset(struct json_builder *jb);

/*
 * In each call, key is the member name inside an object and NULL inside an
 * array or at top level. Keys are names from the program text and are
 * written unescaped, so they must be printable ASCII without a quote or
 * backslash.
 */
void json_object_begin(struct json_builder *jb, const char *key);
void json_object_end(struct json_builder *jb);
void json_array_begin(struct json_builder *jb, const char *key);
void json_array_end(struct json_builder *jb);
void json_string(struct json_builder *jb, const char *key, const char *value);
/* Writes len raw bytes as a JSON string, escaping whatever they contain. */
void json_string_bytes(struct json_builder *jb, const char *key, const void *value, size_t len);
void json_uint(struct json_builder *jb, const char *key, uint64_t value);
void json_int(struct json_builder *jb, const char *key, int64_t value);
void json_bool(struct json_builder *jb, const char *key, bool value);
void json_null(struct json_builder *jb, const char *key);

/*
 * Appends the escaped form of len raw bytes (without quotes) to out, which
 * has out_size bytes; returns the length written, stopping early at a whole
 * escape when out is full. Shared with the syslog and text writers.
 */
size_t json_escape_bytes(const void *value, size_t len, char *out, size_t out_size);

#endif
