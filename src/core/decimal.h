/*
 * Decimal formatting of unsigned integers without printf. The outputs
 * write records at a rate where snprintf's format parsing is a visible
 * share of the run time.
 */
#ifndef MAILTAP_CORE_DECIMAL_H
#define MAILTAP_CORE_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

/* Digits of the largest uint64_t (18446744073709551615). */
#define DECIMAL_U64_MAX_DIGITS 20

/* Writes value in decimal to out (no terminator) and returns the digit count. */
size_t decimal_u64(uint64_t value, char out[DECIMAL_U64_MAX_DIGITS]);

/*
 * Writes the low width decimal digits of value to out, zero-padded on the
 * left (no terminator). Higher digits are dropped, as "%0*u" would not do.
 */
void decimal_padded(uint64_t value, unsigned width, char *out);

#endif
