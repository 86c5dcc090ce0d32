#include "core/decimal.h"

size_t decimal_u64(uint64_t value, char out[DECIMAL_U64_MAX_DIGITS])
{
	char reversed[DECIMAL_U64_MAX_DIGITS];
	size_t n = 0;

	do {
		reversed[n++] = (char)('0' + value % 10);
		value /= 10;
	} while (value != 0);
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
