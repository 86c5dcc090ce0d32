/*
 * FNV-1a, 32 bits (Fowler, Noll and Vo): a short, well-spread hash for the
 * keys of in-memory tables. Not keyed, so tables that take keys from the
 * wire still compare whole keys and cap their size.
 */
#ifndef MAILTAP_CORE_FNV_H
#define MAILTAP_CORE_FNV_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A_32_OFFSET 2166136261u
#define FNV1A_32_PRIME 16777619u

static inline uint32_t fnv1a_32(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t h = FNV1A_32_OFFSET;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= FNV1A_32_PRIME;
	}
	return h;
}

/* The same over a NUL-terminated string, without its terminator. */
static inline uint32_t fnv1a_32_string(const char *text)
{
	uint32_t h = FNV1A_32_OFFSET;

	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
		h ^= *p;
		h *= FNV1A_32_PRIME;
	}
	return h;
}

#endif
