/*
 * Bounds-checked reader over untrusted bytes.
 *
 * Every parser reads wire data through a cursor. A read that would pass the
 * end fails, leaves the position unchanged and sets the sticky `overrun`
 * flag, so a parser can do several reads and check once.
 */
#ifndef MAILTAP_CURSOR_H
#define MAILTAP_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cursor {
	const uint8_t *data; /* not owned */
	size_t len;
	size_t pos;
	bool overrun;
};

static inline void cursor_init(struct cursor *c, const uint8_t *data, size_t len)
{
	c->data = data;
	c->len = len;
	c->pos = 0;
	c->overrun = false;
}

static inline size_t cursor_remaining(const struct cursor *c)
{
	return c->len - c->pos;
}

static inline bool cursor_has(struct cursor *c, size_t n)
{
	if (n > c->len - c->pos) {
		c->overrun = true;
		return false;
	}
	return true;
}

static inline const uint8_t *cursor_ptr(const struct cursor *c)
{
	return c->data + c->pos;
}

static inline int cursor_u8(struct cursor *c, uint8_t *out)
{
	if (!cursor_has(c, 1))
		return -1;
	*out = c->data[c->pos];
	c->pos += 1;
	return 0;
}

static inline int cursor_be16(struct cursor *c, uint16_t *out)
{
	if (!cursor_has(c, 2))
		return -1;
	*out = (uint16_t)((c->data[c->pos] << 8) | c->data[c->pos + 1]);
	c->pos += 2;
	return 0;
}

static inline int cursor_be24(struct cursor *c, uint32_t *out)
{
	if (!cursor_has(c, 3))
		return -1;
	*out = ((uint32_t)c->data[c->pos] << 16) | ((uint32_t)c->data[c->pos + 1] << 8) |
	       c->data[c->pos + 2];
	c->pos += 3;
	return 0;
}

static inline int cursor_be32(struct cursor *c, uint32_t *out)
{
	if (!cursor_has(c, 4))
		return -1;
	*out = ((uint32_t)c->data[c->pos] << 24) | ((uint32_t)c->data[c->pos + 1] << 16) |
	       ((uint32_t)c->data[c->pos + 2] << 8) | c->data[c->pos + 3];
	c->pos += 4;
	return 0;
}

static inline int cursor_le16(struct cursor *c, uint16_t *out)
{
	if (!cursor_has(c, 2))
		return -1;
	*out = (uint16_t)(c->data[c->pos] | (c->data[c->pos + 1] << 8));
	c->pos += 2;
	return 0;
}

static inline int cursor_le32(struct cursor *c, uint32_t *out)
{
	if (!cursor_has(c, 4))
		return -1;
	*out = (uint32_t)c->data[c->pos] | ((uint32_t)c->data[c->pos + 1] << 8) |
	       ((uint32_t)c->data[c->pos + 2] << 16) | ((uint32_t)c->data[c->pos + 3] << 24);
	c->pos += 4;
	return 0;
}

/* Points *out at the next n bytes (no copy) and advances past them. */
static inline int cursor_bytes(struct cursor *c, size_t n, const uint8_t **out)
{
	if (!cursor_has(c, n))
		return -1;
	*out = c->data + c->pos;
	c->pos += n;
	return 0;
}

static inline int cursor_copy(struct cursor *c, void *dst, size_t n)
{
	if (!cursor_has(c, n))
		return -1;
	memcpy(dst, c->data + c->pos, n);
	c->pos += n;
	return 0;
}

static inline int cursor_skip(struct cursor *c, size_t n)
{
	if (!cursor_has(c, n))
		return -1;
	c->pos += n;
	return 0;
}

/*
 * Splits off a sub-cursor over the next n bytes, for a length-prefixed
 * block, and advances the parent past it.
 */
static inline int cursor_sub(struct cursor *c, size_t n, struct cursor *sub)
{
	if (!cursor_has(c, n))
		return -1;
	cursor_init(sub, c->data + c->pos, n);
	c->pos += n;
	return 0;
}

#endif
