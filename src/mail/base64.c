/* Strict base64 decoding, RFC 4648 section 4 (standard alphabet, optional padding). */
#include "mail/base64.h"

#include <stdbool.h>

/* Returns the 6-bit value of c, or -1 when c is outside the alphabet. */
static int base64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t base64_decoded_max(size_t in_len)
{
	return in_len / 4 * 3 + (in_len % 4 == 0 ? 0 : 3);
}

/* Counts the trailing '=' (at most two) and checks that the padded length is whole. */
static int base64_strip_padding(const uint8_t *in, size_t *in_len)
{
	size_t n = *in_len;
	size_t pad = 0;

	while (n > 0 && in[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}

	/* Padding only completes a quantum: "abc=" and "ab==" are valid, "abcd=" is not. */
	if (pad > 0 && (*in_len % 4 != 0 || n % 4 != 4 - pad))
		return BASE64_ERR_INVALID;

	*in_len = n;
	return 0;
}

int base64_decode(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t n = 0;

	*out_len = 0;
	if (base64_strip_padding(in, &in_len) != 0)
		return BASE64_ERR_INVALID;

	/* One character left over carries only 6 bits, less than a byte. */
	if (in_len % 4 == 1)
		return BASE64_ERR_INVALID;

	for (size_t i = 0; i < in_len; i++) {
		int v = base64_value(in[i]);

		if (v < 0)
			return BASE64_ERR_INVALID;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= out_cap)
				return BASE64_ERR_SPACE;
			out[n++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1u;
		}
	}

	/* RFC 4648 section 3.5: the bits after the last byte must be zero. */
	if (acc != 0)
		return BASE64_ERR_INVALID;

	*out_len = n;
	return 0;
}
