/*
 * The shared escaper and the terminal text lines: wire bytes can never
 * produce ESC, CR, LF or NUL in the output, and colour appears only on a
 * terminal with NO_COLOR unset.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/session.h"
#include "output/format.h"
#include "output/output.h"
#include "output/text.h"
#include "test.h"
#include "test_output_fixture.h"

static void check_escape(const char *input, size_t len, unsigned flags, const char *expected)
{
	char out[256];
	size_t consumed = 0;
	size_t n = format_escape_bytes(input, len, flags, out, sizeof(out), &consumed);

	CHECK_EQ_STR(out, expected);
	CHECK_EQ_INT(n, strlen(expected));
	CHECK_EQ_INT(consumed, len);
}

static void test_escape_vectors(void)
{
	check_escape(fixture_nasty, FIXTURE_NASTY_LEN, FORMAT_ESCAPE_QUOTES, fixture_nasty_text);
	check_escape("plain text", 10, 0, "plain text");
	check_escape("a\"b\\c]", 6, 0, "a\"b\\\\c]");
	check_escape("a\"b\\c]", 6, FORMAT_ESCAPE_QUOTES, "a\\\"b\\\\c]");
	check_escape("a\"b\\c]", 6, FORMAT_ESCAPE_SD_PARAM, "a\\\"b\\\\c\\]");
	check_escape("\x7f\t", 2, 0, "\\x7f\\x09");
	/* C1 controls in valid UTF-8: U+0085 (NEL) and U+009B (CSI). */
	check_escape("\xc2\x85\xc2\x9b", 4, 0, "\\xc2\\x85\\xc2\\x9b");
	/* U+2028 LINE SEPARATOR and U+202E RIGHT-TO-LEFT OVERRIDE. */
	check_escape("\xe2\x80\xa8\xe2\x80\xae", 6, 0, "\\xe2\\x80\\xa8\\xe2\\x80\\xae");
	/* U+00A0, U+20AC and U+1F600 pass unchanged. */
	check_escape("\xc2\xa0\xe2\x82\xac\xf0\x9f\x98\x80", 9, 0, "\xc2\xa0\xe2\x82\xac\xf0\x9f\x98\x80");
	/* Overlong 4-byte form of U+0000, and a value past U+10FFFF. */
	check_escape("\xf0\x80\x80\x80\xf4\x90\x80\x80", 8, 0, "\\xf0\\x80\\x80\\x80\\xf4\\x90\\x80\\x80");
	check_escape("", 0, 0, "");
}

/* Every cut falls between whole escapes, and the output stays NUL-terminated and valid. */
static void test_escape_small_buffers(void)
{
	for (size_t size = 1; size < 80; size++) {
		char out[80];
		size_t consumed = 0;
		size_t n;

		memset(out, 'Z', sizeof(out));
		n = format_escape_bytes(fixture_nasty, FIXTURE_NASTY_LEN, FORMAT_ESCAPE_QUOTES, out, size, &consumed);
		CHECK(n < size);
		CHECK_EQ_INT(out[n], '\0');
		CHECK(memcmp(out, fixture_nasty_text, n) == 0);
		CHECK(consumed <= FIXTURE_NASTY_LEN);
		CHECK_EQ_INT(out[size < sizeof(out) ? size : sizeof(out) - 1] == 'Z', size < sizeof(out));
	}
}

/* Feeding the input one byte at a time never lets a byte through that the whole-input escape would hide. */
static void test_escape_split_input(void)
{
	for (size_t cut = 0; cut <= FIXTURE_NASTY_LEN; cut++) {
		char first[256], second[256];
		bool clean = true;

		format_escape_bytes(fixture_nasty, cut, 0, first, sizeof(first), NULL);
		format_escape_bytes(fixture_nasty + cut, FIXTURE_NASTY_LEN - cut, 0, second, sizeof(second), NULL);
		for (const char *p = first; *p != '\0'; p++)
			clean = clean && (unsigned char)*p >= 0x20 && *p != 0x7f;
		for (const char *p = second; *p != '\0'; p++)
			clean = clean && (unsigned char)*p >= 0x20 && *p != 0x7f;
		CHECK(clean);
	}
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Reverses format_escape_bytes() with FORMAT_ESCAPE_QUOTES: \\, \" and \xHH.
 * Returns the length, or -1 on a stray backslash or an unescaped quote.
 */
static long unescape(const char *s, uint8_t *out, size_t out_size)
{
	size_t n = 0;

	while (*s != '\0' && n < out_size) {
		if (*s == '"')
			return -1;
		if (*s != '\\') {
			out[n++] = (uint8_t)*s++;
			continue;
		}
		if (s[1] == '\\' || s[1] == '"') {
			out[n++] = (uint8_t)s[1];
			s += 2;
		} else if (s[1] == 'x' && hex_value(s[2]) >= 0 && hex_value(s[3]) >= 0) {
			out[n++] = (uint8_t)(hex_value(s[2]) * 16 + hex_value(s[3]));
			s += 4;
		} else {
			return -1;
		}
	}
	return (long)n;
}

static uint32_t random_next(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

/* Random bytes escape to a line without control bytes that unescapes to the same bytes. */
static void test_escape_round_trip(void)
{
	uint32_t state = 0x74657874;
	int failures = 0;

	for (int i = 0; i < 5000; i++) {
		uint8_t raw[48], back[48];
		char out[48 * 4 + 1];
		size_t len = random_next(&state) % sizeof(raw);
		size_t consumed = 0;
		long back_len;

		for (size_t j = 0; j < len; j++)
			raw[j] = (uint8_t)random_next(&state);
		format_escape_bytes(raw, len, FORMAT_ESCAPE_QUOTES, out, sizeof(out), &consumed);
		back_len = unescape(out, back, sizeof(back));
		for (const char *p = out; *p != '\0'; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				failures++;
		}
		if (consumed != len || back_len != (long)len || memcmp(raw, back, len) != 0)
			failures++;
	}
	CHECK_EQ_INT(failures, 0);
}

static bool has_control_bytes(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return true;
	}
	return false;
}

static void test_alert_line(void)
{
	struct format_line line;
	struct session s;
	struct alert_info a;
	struct event ev = {.type = EVENT_TLS_SERVER_HELLO, .session = &s, .ts_usec = FIXTURE_TS_USEC};

	fixture_session_v4(&s);
	fixture_alert(&a);
	text_format_alert(&ev, &a, false, &line);
	CHECK_EQ_STR(line.data, "2009-10-05T06:06:07.492000+0000 [high] 1001 obsolete-tls-negotiated: "
				"sni \"x\\\\\\x0d\\x0afake=1 sid=\"9\" \\xff\\xc0\\xaf\\x1b[31m] ok "
				"(smtp 192.0.2.10:40000 -> 192.0.2.25:25)");
	CHECK(!has_control_bytes(line.data, line.len));
	CHECK(memchr(line.data, 0x1b, line.len) == NULL);

	text_format_alert(&ev, &a, true, &line);
	CHECK_EQ_STR(line.data, "2009-10-05T06:06:07.492000+0000 \x1b[31m[high]\x1b[0m 1001 obsolete-tls-negotiated: "
				"sni \"x\\\\\\x0d\\x0afake=1 sid=\"9\" \\xff\\xc0\\xaf\\x1b[31m] ok "
				"(smtp 192.0.2.10:40000 -> 192.0.2.25:25)");
	session_release(&s);
}

static void test_session_lines(void)
{
	struct format_line line;
	struct session s;

	fixture_session_v4(&s);
	text_format_session(&s, false, &line);
	CHECK_EQ_STR(line.data, "2009-10-05T06:06:07.492000+0000 session smtp 192.0.2.10:40000 -> 192.0.2.25:25 "
				"starttls=refused offered=unknown tls=TLSv1.2 cipher=TLS_RSA_WITH_AES_128_GCM_SHA256 "
				"auth=PLAIN,CRAM-MD5 anomalies=cleartext_credentials,starttls_refused,tcp_gap "
				"alerts=1001,1202");
	session_release(&s);

	fixture_session_v6(&s);
	text_format_session(&s, false, &line);
	CHECK_EQ_STR(line.data, "2009-10-05T06:06:07.492000+0000 session imaps [2001:db8::1:0:0:1]:50000 -> "
				"[2001:db8::993]:993 tls=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 "
				"sni=A\\x0d\\x0aB\\x00C\"D\\\\E\\xffF\\xc0\\xafG\\xed\\xa0\\x80H\\xe2\\x82I\\x1b[31mJ\xc3\xa9 "
				"anomalies=mid_session_start,one_sided_capture");
	CHECK(!has_control_bytes(line.data, line.len));
	session_release(&s);
}

/* A pseudo-terminal is a tty: colour follows the allowed flag and NO_COLOR. */
static void test_color_decision(void)
{
	FILE *file = tmpfile();
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	FILE *tty = NULL;

	CHECK(file != NULL);
	unsetenv("NO_COLOR");
	CHECK(!text_use_color(file, true));
	CHECK(!text_use_color(NULL, true));
	if (master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0)
		tty = fopen(ptsname(master), "w");
	CHECK(tty != NULL);
	if (tty != NULL) {
		CHECK(text_use_color(tty, true));
		CHECK(!text_use_color(tty, false));
		setenv("NO_COLOR", "1", 1);
		CHECK(!text_use_color(tty, true));
		setenv("NO_COLOR", "", 1);
		CHECK(text_use_color(tty, true));
		unsetenv("NO_COLOR");
		fclose(tty);
	}
	if (master >= 0)
		close(master);
	if (file != NULL)
		fclose(file);
}

int main(void)
{
	test_escape_vectors();
	test_escape_small_buffers();
	test_escape_split_input();
	test_escape_round_trip();
	test_alert_line();
	test_session_lines();
	test_color_decision();
	return test_finish("test_output_text");
}
