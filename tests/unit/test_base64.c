/* Unit tests for base64 decoding against the RFC 4648 section 10 vectors and malformed input. */
#include <stdint.h>
#include <string.h>

#include "mail/base64.h"
#include "test.h"

static int decode(const char *in, uint8_t *out, size_t cap, size_t *out_len)
{
	return base64_decode((const uint8_t *)in, strlen(in), out, cap, out_len);
}

static void check_decodes(const char *in, const char *expected)
{
	uint8_t out[64];
	size_t n = 99;

	CHECK_EQ_INT(decode(in, out, sizeof(out), &n), 0);
	CHECK_EQ_MEM(out, n, expected, strlen(expected));
}

static void check_invalid(const char *in)
{
	uint8_t out[64];
	size_t n;

	CHECK_EQ_INT(decode(in, out, sizeof(out), &n), BASE64_ERR_INVALID);
}

static void test_base64_rfc4648_vectors(void)
{
	check_decodes("", "");
	check_decodes("Zg==", "f");
	check_decodes("Zm8=", "fo");
	check_decodes("Zm9v", "foo");
	check_decodes("Zm9vYg==", "foob");
	check_decodes("Zm9vYmE=", "fooba");
	check_decodes("Zm9vYmFy", "foobar");
}

static void test_base64_missing_padding(void)
{
	check_decodes("Zg", "f");
	check_decodes("Zm8", "fo");
	check_decodes("Zm9vYg", "foob");
}

static void test_base64_full_alphabet(void)
{
	static const uint8_t expected[] = {0xfb, 0xff, 0xbf, 0x00, 0x10, 0x83};
	uint8_t out[16];
	size_t n;

	CHECK_EQ_INT(decode("+/+/ABCD", out, sizeof(out), &n), 0);
	CHECK_EQ_MEM(out, n, expected, sizeof(expected));
}

static void test_base64_rejects_garbage(void)
{
	check_invalid("Z");
	check_invalid("Zm9vY");
	check_invalid("Zg=");
	check_invalid("Zg===");
	check_invalid("Z===");
	check_invalid("Z=g=");
	check_invalid("Zm9v=");
	check_invalid("Zm9v Yg==");
	check_invalid("Zm9v\r\n");
	check_invalid("Zm-_");
	check_invalid("Zh==");
	check_invalid("Zm9=");
	check_invalid("*");
	check_invalid("=");
}

static void test_base64_output_space(void)
{
	uint8_t out[4];
	size_t n;

	CHECK_EQ_INT(decode("Zm9vYmFy", out, sizeof(out), &n), BASE64_ERR_SPACE);
	CHECK_EQ_INT(decode("Zm9vYg==", out, sizeof(out), &n), 0);
	CHECK_EQ_INT(n, 4);
}

static void test_base64_decoded_max(void)
{
	CHECK_EQ_INT(base64_decoded_max(0), 0);
	CHECK_EQ_INT(base64_decoded_max(4), 3);
	CHECK_EQ_INT(base64_decoded_max(6), 6);
	CHECK(base64_decoded_max(8) >= 6);
}

static void test_base64_every_truncation(void)
{
	/* "AGFsaWNlAHMzY3IzdA==" is "\0alice\0s3cr3t". Prefixes decode or fail, never overrun. */
	static const char in[] = "AGFsaWNlAHMzY3IzdA==";

	for (size_t len = 0; len <= sizeof(in) - 1; len++) {
		uint8_t out[16];
		size_t n = 0;
		int rc = base64_decode((const uint8_t *)in, len, out, sizeof(out), &n);

		CHECK(rc == 0 || rc == BASE64_ERR_INVALID);
		if (rc == 0)
			CHECK(n <= base64_decoded_max(len));
		if (len % 4 == 1)
			CHECK_EQ_INT(rc, BASE64_ERR_INVALID);
	}
}

int main(void)
{
	test_base64_rfc4648_vectors();
	test_base64_missing_padding();
	test_base64_full_alphabet();
	test_base64_rejects_garbage();
	test_base64_output_space();
	test_base64_decoded_max();
	test_base64_every_truncation();
	return test_finish("test_base64");
}
