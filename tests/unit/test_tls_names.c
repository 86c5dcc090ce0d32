/*
 * Cipher suite names and grades (generated from the IANA TLS Cipher
 * Suites registry) and alert names (RFC 8446 section 6, RFC 5246 section
 * 7.2, RFC 7507). Expected names are the registry's own.
 */
#include "test.h"
#include "tls/tls.h"

static void test_cipher_names(void)
{
	CHECK_EQ_STR(tls_cipher_name(0x0000), "TLS_NULL_WITH_NULL_NULL");
	CHECK_EQ_STR(tls_cipher_name(0x000a), "TLS_RSA_WITH_3DES_EDE_CBC_SHA");
	CHECK_EQ_STR(tls_cipher_name(0x00ff), "TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
	CHECK_EQ_STR(tls_cipher_name(0x1301), "TLS_AES_128_GCM_SHA256");
	CHECK_EQ_STR(tls_cipher_name(0x1302), "TLS_AES_256_GCM_SHA384");
	CHECK_EQ_STR(tls_cipher_name(0x5600), "TLS_FALLBACK_SCSV");
	CHECK_EQ_STR(tls_cipher_name(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
	CHECK_EQ_STR(tls_cipher_name(0xcca9), "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
	CHECK_EQ_STR(tls_cipher_name(0xd005), "TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256");
	CHECK_EQ_STR(tls_cipher_name(0xc106), "TLS_GOSTR341112_256_WITH_MAGMA_MGM_S");
	/* GREASE values are reserved, ranges are unassigned, 0xFFxx is private use. */
	CHECK(tls_cipher_name(0x0a0a) == NULL);
	CHECK(tls_cipher_name(0x1308) == NULL);
	CHECK(tls_cipher_name(0x00c8) == NULL);
	CHECK(tls_cipher_name(0xd004) == NULL);
	CHECK(tls_cipher_name(0xff00) == NULL);
	CHECK(tls_cipher_name(0xffff) == NULL);
}

static void test_cipher_grades(void)
{
	static const struct {
		uint16_t suite;
		enum tls_cipher_grade grade;
	} cases[] = {
		{0x0000, TLS_CIPHER_INSECURE}, /* NULL */
		{0x0001, TLS_CIPHER_INSECURE}, /* NULL, MD5 */
		{0x0003, TLS_CIPHER_INSECURE}, /* EXPORT RC4 */
		{0x0004, TLS_CIPHER_INSECURE}, /* RC4 MD5 */
		{0x0005, TLS_CIPHER_INSECURE}, /* RC4 SHA */
		{0x0009, TLS_CIPHER_INSECURE}, /* single DES */
		{0x0014, TLS_CIPHER_INSECURE}, /* EXPORT DES40 */
		{0x0034, TLS_CIPHER_INSECURE}, /* anon */
		{0x00a6, TLS_CIPHER_INSECURE}, /* anon even with GCM */
		{0xc0b4, TLS_CIPHER_INSECURE}, /* TLS_SHA256_SHA256: integrity only */
		{0x000a, TLS_CIPHER_WEAK},     /* 3DES */
		{0xc012, TLS_CIPHER_WEAK},     /* 3DES */
		{0x002f, TLS_CIPHER_WEAK},     /* AES CBC with SHA-1 */
		{0xc013, TLS_CIPHER_WEAK},     /* AES CBC with SHA-1 */
		{0x0045, TLS_CIPHER_WEAK},     /* Camellia CBC with SHA-1 */
		{0x003c, TLS_CIPHER_GOOD},     /* AES CBC with SHA-256 */
		{0x009c, TLS_CIPHER_GOOD},
		{0xc02b, TLS_CIPHER_GOOD},
		{0xcca8, TLS_CIPHER_GOOD},
		{0x1301, TLS_CIPHER_GOOD},
		{0x1303, TLS_CIPHER_GOOD},
		{0x0a0a, TLS_CIPHER_UNKNOWN},
		{0xfefe, TLS_CIPHER_UNKNOWN},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (tls_cipher_grade(cases[i].suite) != cases[i].grade)
			fprintf(stderr, "grade of 0x%04x\n", cases[i].suite);
		CHECK_EQ_INT(tls_cipher_grade(cases[i].suite), cases[i].grade);
	}
	CHECK_EQ_STR(tls_cipher_grade_name(TLS_CIPHER_GOOD), "good");
	CHECK_EQ_STR(tls_cipher_grade_name(TLS_CIPHER_WEAK), "weak");
	CHECK_EQ_STR(tls_cipher_grade_name(TLS_CIPHER_INSECURE), "insecure");
	CHECK_EQ_STR(tls_cipher_grade_name(TLS_CIPHER_UNKNOWN), "unknown");
}

/* Every assigned suite has a name and a grade; every unassigned one has neither. */
static void test_cipher_table_consistent(void)
{
	unsigned named = 0;
	unsigned mismatched = 0;

	for (unsigned suite = 0; suite <= 0xffff; suite++) {
		const char *name = tls_cipher_name((uint16_t)suite);
		enum tls_cipher_grade grade = tls_cipher_grade((uint16_t)suite);

		if (name != NULL)
			named++;
		if ((name != NULL) != (grade != TLS_CIPHER_UNKNOWN))
			mismatched++;
	}
	/* The stored registry copy lists 352 single-value suites with TLS_ names. */
	CHECK_EQ_INT(named, 352);
	CHECK_EQ_INT(mismatched, 0);
}

static void test_alert_names(void)
{
	CHECK_EQ_STR(tls_alert_description_name(0), "close_notify");
	CHECK_EQ_STR(tls_alert_description_name(10), "unexpected_message");
	CHECK_EQ_STR(tls_alert_description_name(40), "handshake_failure");
	CHECK_EQ_STR(tls_alert_description_name(42), "bad_certificate");
	CHECK_EQ_STR(tls_alert_description_name(48), "unknown_ca");
	CHECK_EQ_STR(tls_alert_description_name(70), "protocol_version");
	CHECK_EQ_STR(tls_alert_description_name(71), "insufficient_security");
	CHECK_EQ_STR(tls_alert_description_name(86), "inappropriate_fallback");
	CHECK_EQ_STR(tls_alert_description_name(112), "unrecognized_name");
	CHECK_EQ_STR(tls_alert_description_name(116), "certificate_required");
	CHECK_EQ_STR(tls_alert_description_name(120), "no_application_protocol");
	CHECK(tls_alert_description_name(1) == NULL);
	CHECK(tls_alert_description_name(255) == NULL);
	CHECK_EQ_STR(tls_alert_level_name(1), "warning");
	CHECK_EQ_STR(tls_alert_level_name(2), "fatal");
	CHECK(tls_alert_level_name(0) == NULL);
	CHECK(tls_alert_level_name(3) == NULL);
}

int main(void)
{
	test_cipher_names();
	test_cipher_grades();
	test_cipher_table_consistent();
	test_alert_names();
	return test_finish("test_tls_names");
}
