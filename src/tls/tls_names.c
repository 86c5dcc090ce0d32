/*
 * Names for the values a TLS handshake carries: cipher suites (the
 * generated IANA table) and alerts (RFC 8446 section 6, RFC 5246 section
 * 7.2, and the later additions to the IANA TLS Alerts registry).
 */
#include <stddef.h>
#include <stdio.h>

#include "tls/tls_internal.h"
#include "tls/tls_summary.h"

static const struct tls_cipher_entry *tls_find_cipher(uint16_t suite)
{
	size_t low = 0;
	size_t high = tls_cipher_table_len;

	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (tls_cipher_table[mid].id == suite)
			return &tls_cipher_table[mid];
		if (tls_cipher_table[mid].id < suite)
			low = mid + 1;
		else
			high = mid;
	}
	return NULL;
}

const char *tls_cipher_name(uint16_t suite)
{
	const struct tls_cipher_entry *entry = tls_find_cipher(suite);

	return entry != NULL ? entry->name : NULL;
}

enum tls_cipher_grade tls_cipher_grade(uint16_t suite)
{
	const struct tls_cipher_entry *entry = tls_find_cipher(suite);

	return entry != NULL ? entry->grade : TLS_CIPHER_UNKNOWN;
}

const char *tls_cipher_grade_name(enum tls_cipher_grade grade)
{
	switch (grade) {
	case TLS_CIPHER_GOOD: return "good";
	case TLS_CIPHER_WEAK: return "weak";
	case TLS_CIPHER_INSECURE: return "insecure";
	default: return "unknown";
	}
}

const char *tls_alert_description_name(uint8_t description)
{
	switch (description) {
	case 0: return "close_notify";
	case 10: return "unexpected_message";
	case 20: return "bad_record_mac";
	case 21: return "decryption_failed";
	case 22: return "record_overflow";
	case 30: return "decompression_failure";
	case 40: return "handshake_failure";
	case 41: return "no_certificate";
	case 42: return "bad_certificate";
	case 43: return "unsupported_certificate";
	case 44: return "certificate_revoked";
	case 45: return "certificate_expired";
	case 46: return "certificate_unknown";
	case 47: return "illegal_parameter";
	case 48: return "unknown_ca";
	case 49: return "access_denied";
	case 50: return "decode_error";
	case 51: return "decrypt_error";
	case 60: return "export_restriction";
	case 70: return "protocol_version";
	case 71: return "insufficient_security";
	case 80: return "internal_error";
	case 86: return "inappropriate_fallback";
	case 90: return "user_canceled";
	case 100: return "no_renegotiation";
	case 109: return "missing_extension";
	case 110: return "unsupported_extension";
	case 111: return "certificate_unobtainable";
	case 112: return "unrecognized_name";
	case 113: return "bad_certificate_status_response";
	case 114: return "bad_certificate_hash_value";
	case 115: return "unknown_psk_identity";
	case 116: return "certificate_required";
	case 120: return "no_application_protocol";
	case 121: return "ech_required";
	default: return NULL;
	}
}

const char *tls_alert_level_name(uint8_t level)
{
	switch (level) {
	case 1: return "warning";
	case 2: return "fatal";
	default: return NULL;
	}
}

const char *tls_sslv2_cipher_name(uint32_t kind)
{
	/* CIPHER-KIND values of the SSL 2.0 specification (Netscape, 1995). */
	switch (kind) {
	case 0x010080: return "SSL2_RC4_128_WITH_MD5";
	case 0x020080: return "SSL2_RC4_128_EXPORT40_WITH_MD5";
	case 0x030080: return "SSL2_RC2_128_CBC_WITH_MD5";
	case 0x040080: return "SSL2_RC2_128_CBC_EXPORT40_WITH_MD5";
	case 0x050080: return "SSL2_IDEA_128_CBC_WITH_MD5";
	case 0x060040: return "SSL2_DES_64_CBC_WITH_MD5";
	case 0x0700c0: return "SSL2_DES_192_EDE3_CBC_WITH_MD5";
	default: return NULL;
	}
}

const char *tls_summary_cipher_name(const struct tls_summary *t, char buf[TLS_CIPHER_NAME_SIZE])
{
	const char *name;

	if (t->version == TLS_VERSION_SSL2) {
		name = tls_sslv2_cipher_name(t->sslv2_cipher);
		if (name == NULL)
			snprintf(buf, TLS_CIPHER_NAME_SIZE, "0x%06X", (unsigned)t->sslv2_cipher);
	} else {
		name = tls_cipher_name(t->cipher);
		if (name == NULL)
			snprintf(buf, TLS_CIPHER_NAME_SIZE, "0x%04X", t->cipher);
	}
	return name != NULL ? name : buf;
}

enum tls_cipher_grade tls_summary_cipher_grade(const struct tls_summary *t)
{
	if (t->version == TLS_VERSION_SSL2)
		return TLS_CIPHER_INSECURE;
	return tls_cipher_grade(t->cipher);
}
