/* Bounded copies of wire strings. */
#include "core/text.h"

#include <string.h>

void wire_text_set(struct wire_text *t, const void *src, size_t len)
{
	t->len = 0;
	t->truncated = false;
	wire_text_append(t, src, len);
}

void wire_text_append(struct wire_text *t, const void *src, size_t len)
{
	size_t room = WIRE_TEXT_MAX - t->len;
	size_t n = len < room ? len : room;

	memcpy(t->data + t->len, src, n);
	t->len = (uint16_t)(t->len + n);
	if (n < len)
		t->truncated = true;
}
