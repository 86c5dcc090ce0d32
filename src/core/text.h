/*
 * Bounded copies of strings taken from the wire. The bytes are kept as they
 * came (NUL, invalid UTF-8 and control characters included); escaping is the
 * output's job. A copy that did not fit is marked truncated.
 */
#ifndef MAILTAP_TEXT_H
#define MAILTAP_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_TEXT_MAX 256

struct wire_text {
	uint16_t len;
	bool truncated;
	char data[WIRE_TEXT_MAX];
};

/* Replaces the contents with up to WIRE_TEXT_MAX bytes of src. */
void wire_text_set(struct wire_text *t, const void *src, size_t len);
/* Appends up to the remaining room; marks truncation when bytes were dropped. */
void wire_text_append(struct wire_text *t, const void *src, size_t len);
static inline bool wire_text_is_set(const struct wire_text *t)
{
	return t->len > 0 || t->truncated;
}

#endif
