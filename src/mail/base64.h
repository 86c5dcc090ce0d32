/*
 * Base64 decoding (RFC 4648 section 4) for SASL responses and challenges.
 * The alphabet is strict: no URL-safe characters and no embedded white
 * space. Missing padding is accepted (some clients drop it); padding in the
 * middle, a lone trailing character and non-zero spare bits are rejected.
 */
#ifndef MAILTAP_BASE64_H
#define MAILTAP_BASE64_H

#include <stddef.h>
#include <stdint.h>

#define BASE64_ERR_INVALID (-1) /* a character outside the alphabet, or bad padding */
#define BASE64_ERR_SPACE (-2)	/* out is too small for the decoded bytes */

/* Returns the largest number of bytes in_len characters can decode to. */
size_t base64_decoded_max(size_t in_len);

/*
 * Decodes in[0..in_len) into out. Returns 0 with *out_len set, or a
 * BASE64_ERR_* value (out may then hold partial output).
 */
int base64_decode(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len);

#endif
