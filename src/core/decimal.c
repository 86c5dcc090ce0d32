#include "core/decimal.h"

/* "00" to "99": two digits per division halves the divisions of a long number. */
static const char decimal_pairs[200] = "0001020304050607080910111213141516171819"
				       "2021222324252627282930313233343536373839"
				       "4041424344454647484950515253545556575859"
				       "6061626364656667686970717273747576777879"
				       "8081828384858687888990919293949596979899";

size_t decimal_u64(uint64_t value, char out[DECIMAL_U64_MAX_DIGITS])
{
	char reversed[DECIMAL_U64_MAX_DIGITS];
	size_t n = 0;

	/* Digits are produced from the right, two at a time, into reversed. */
	while (value >= 100) {
		unsigned pair = (unsigned)(value % 100) * 2;

		value /= 100;
		reversed[n++] = decimal_pairs[pair + 1];
		reversed[n++] = decimal_pairs[pair];
	}
	if (value >= 10) {
		unsigned pair = (unsigned)value * 2;

		reversed[n++] = decimal_pairs[pair + 1];
		reversed[n++] = decimal_pairs[pair];
	} else {
		reversed[n++] = (char)('0' + value);
	}
	for (size_t i = 0; i < n; i++)
		out[i] = reversed[n - 1 - i];
	return n;
}

void decimal_padded(uint64_t value, unsigned width, char *out)
{
	while (width > 0) {
		out[--width] = (char)('0' + value % 10);
		value /= 10;
	}
}
