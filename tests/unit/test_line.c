/* Unit tests for the shared line reader: framing, over-long lines, counted items and gaps. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/line.h"
#include "test.h"

#define MAX_ITEMS 32

struct item {
	char data[64];
	size_t len;
	bool too_long;
	bool bare_lf;
	bool counted;
	uint64_t counted_len;
};

struct collected {
	struct item items[MAX_ITEMS];
	size_t count;
};

/* A counted request to make when line number `after` has been delivered. */
struct counted_plan {
	int after; /* -1: none */
	uint64_t bytes;
	size_t keep;
};

static void collect(struct collected *c, const struct line *l)
{
	struct item *it;

	if (c->count >= MAX_ITEMS)
		return;
	it = &c->items[c->count++];
	memset(it, 0, sizeof(*it));
	it->len = l->len;
	memcpy(it->data, l->data, l->len < sizeof(it->data) ? l->len : sizeof(it->data));
	it->too_long = l->too_long;
	it->bare_lf = l->bare_lf;
	it->counted = l->counted;
	it->counted_len = l->counted_len;
}

/* Feeds input in pieces of `step` bytes (0: whole) and collects every item. */
static void run(const char *input, size_t len, size_t step, size_t max_line, const struct counted_plan *plan,
		struct collected *out)
{
	struct line_reader r;
	size_t pos = 0;

	memset(out, 0, sizeof(*out));
	CHECK_EQ_INT(line_reader_init(&r, max_line), 0);
	while (pos < len) {
		size_t n = step == 0 || step > len - pos ? len - pos : step;
		const uint8_t *p = (const uint8_t *)input + pos;

		while (n > 0) {
			struct line l;
			size_t used = 0;
			int rc = line_reader_feed(&r, p, n, &used, &l);

			CHECK(used <= n);
			p += used;
			n -= used;
			pos += used;
			if (rc == LINE_NEED_MORE) {
				CHECK_EQ_INT(n, 0);
				break;
			}
			CHECK_EQ_INT(rc, LINE_DONE);
			collect(out, &l);
			if (plan != NULL && plan->after == (int)out->count - 1) {
				line_reader_expect_counted(&r, plan->bytes, plan->keep);
				if (line_reader_take_empty_counted(&r, &l))
					collect(out, &l);
			}
		}
	}
	line_reader_release(&r);
}

static void check_item(const struct item *it, const char *text, bool too_long, bool bare_lf)
{
	CHECK_EQ_MEM(it->data, it->len, text, strlen(text));
	CHECK_EQ_INT(it->too_long, too_long);
	CHECK_EQ_INT(it->bare_lf, bare_lf);
	CHECK_EQ_INT(it->counted, false);
}

static void test_line_crlf_and_bare_lf(void)
{
	static const char in[] = "EHLO client.example\r\nMAIL FROM:<a@example.org>\n\r\n\nQUIT\r\n";

	for (size_t step = 0; step <= 3; step++) {
		struct collected c;

		run(in, sizeof(in) - 1, step, 64, NULL, &c);
		CHECK_EQ_INT(c.count, 5);
		check_item(&c.items[0], "EHLO client.example", false, false);
		check_item(&c.items[1], "MAIL FROM:<a@example.org>", false, true);
		check_item(&c.items[2], "", false, false);
		check_item(&c.items[3], "", false, true);
		check_item(&c.items[4], "QUIT", false, false);
	}
}

static void test_line_partial_last_line(void)
{
	static const char in[] = "NOOP\r\nQUI";
	struct collected c;

	run(in, sizeof(in) - 1, 1, 64, NULL, &c);
	CHECK_EQ_INT(c.count, 1);
	check_item(&c.items[0], "NOOP", false, false);
}

static void test_line_cr_inside_line(void)
{
	static const char in[] = "A\rB\r\n";
	struct collected c;

	run(in, sizeof(in) - 1, 0, 64, NULL, &c);
	CHECK_EQ_INT(c.count, 1);
	check_item(&c.items[0], "A\rB", false, false);
}

static void test_line_too_long(void)
{
	/* max_line 8: "0123456789ABC" is cut to 8 bytes and the rest skipped to the LF. */
	static const char in[] = "0123456789ABC\r\nok\r\n";

	for (size_t step = 0; step <= 4; step++) {
		struct collected c;

		run(in, sizeof(in) - 1, step, 8, NULL, &c);
		CHECK_EQ_INT(c.count, 2);
		check_item(&c.items[0], "01234567", true, false);
		check_item(&c.items[1], "ok", false, false);
	}
}

static void test_line_exactly_max(void)
{
	/* A line whose bytes before the LF fill the buffer exactly is not too long. */
	static const char in[] = "1234567\r\n12345678\n";

	for (size_t step = 0; step <= 2; step++) {
		struct collected c;

		run(in, sizeof(in) - 1, step, 8, NULL, &c);
		CHECK_EQ_INT(c.count, 2);
		check_item(&c.items[0], "1234567", false, false);
		check_item(&c.items[1], "12345678", false, true);
	}
}

static void test_line_counted_keep_prefix(void)
{
	static const char in[] = "a LOGIN {5}\r\nalice {4}\r\nnext\r\n";
	struct counted_plan plan = {0, 5, 3};

	for (size_t step = 0; step <= 3; step++) {
		struct collected c;

		run(in, sizeof(in) - 1, step, 64, &plan, &c);
		CHECK_EQ_INT(c.count, 4);
		check_item(&c.items[0], "a LOGIN {5}", false, false);
		CHECK_EQ_INT(c.items[1].counted, true);
		CHECK_EQ_INT(c.items[1].counted_len, 5);
		CHECK_EQ_MEM(c.items[1].data, c.items[1].len, "ali", 3);
		check_item(&c.items[2], " {4}", false, false);
		check_item(&c.items[3], "next", false, false);
	}
}

static void test_line_counted_zero(void)
{
	static const char in[] = "BDAT 0 LAST\r\nQUIT\r\n";
	struct counted_plan plan = {0, 0, 16};
	struct collected c;

	run(in, sizeof(in) - 1, 1, 64, &plan, &c);
	CHECK_EQ_INT(c.count, 3);
	CHECK_EQ_INT(c.items[1].counted, true);
	CHECK_EQ_INT(c.items[1].counted_len, 0);
	CHECK_EQ_INT(c.items[1].len, 0);
	check_item(&c.items[2], "QUIT", false, false);
}

static void test_line_counted_binary_with_lf(void)
{
	/* Counted bytes may hold CR LF and NUL; they are not lines. */
	static const char in[] = "BDAT 6\r\n\r\n\0.\r\nRSET\r\n";
	struct counted_plan plan = {0, 6, 0};
	struct collected c;

	run(in, sizeof(in) - 1, 0, 64, &plan, &c);
	CHECK_EQ_INT(c.count, 3);
	CHECK_EQ_INT(c.items[1].counted, true);
	CHECK_EQ_INT(c.items[1].len, 0);
	CHECK_EQ_INT(c.items[1].counted_len, 6);
	check_item(&c.items[2], "RSET", false, false);
}

static void test_line_counted_huge(void)
{
	/* A lying size never allocates: the reader just keeps counting. */
	struct line_reader r;
	static const uint8_t chunk[1000] = {0};
	struct line l;
	size_t used;

	CHECK_EQ_INT(line_reader_init(&r, 64), 0);
	line_reader_expect_counted(&r, UINT64_MAX, 1u << 30);
	CHECK(line_reader_is_counted(&r));
	for (int i = 0; i < 100; i++) {
		CHECK_EQ_INT(line_reader_feed(&r, chunk, sizeof(chunk), &used, &l), LINE_NEED_MORE);
		CHECK_EQ_INT(used, sizeof(chunk));
	}
	CHECK_EQ_INT(r.counted_left, UINT64_MAX - 100000u);
	CHECK(r.counted_keep <= 64);
	line_reader_release(&r);
}

static void test_line_gap_resync(void)
{
	struct line_reader r;
	struct line l;
	size_t used;
	static const char a[] = "MAIL FR";
	static const char b[] = "OM:<x@example.org>\r\nRCPT TO:<y@example.org>\r\n";

	CHECK_EQ_INT(line_reader_init(&r, 64), 0);
	CHECK_EQ_INT(line_reader_feed(&r, (const uint8_t *)a, sizeof(a) - 1, &used, &l), LINE_NEED_MORE);
	line_reader_gap(&r, 10);
	CHECK_EQ_INT(line_reader_feed(&r, (const uint8_t *)b, sizeof(b) - 1, &used, &l), LINE_DONE);
	CHECK_EQ_MEM(l.data, l.len, "RCPT TO:<y@example.org>", 23);
	CHECK_EQ_INT(used, sizeof(b) - 1);
	line_reader_release(&r);
}

static void test_line_gap_inside_counted(void)
{
	/* A gap shorter than the rest of a counted item keeps the framing. */
	struct line_reader r;
	struct line l;
	size_t used;
	static const char tail[] = "xyQUIT\r\n";

	CHECK_EQ_INT(line_reader_init(&r, 64), 0);
	line_reader_expect_counted(&r, 12, 0);
	line_reader_gap(&r, 10);
	CHECK_EQ_INT(line_reader_feed(&r, (const uint8_t *)tail, sizeof(tail) - 1, &used, &l), LINE_DONE);
	CHECK_EQ_INT(l.counted, true);
	CHECK_EQ_INT(used, 2);
	CHECK_EQ_INT(line_reader_feed(&r, (const uint8_t *)tail + 2, sizeof(tail) - 3, &used, &l), LINE_DONE);
	CHECK_EQ_MEM(l.data, l.len, "QUIT", 4);
	line_reader_release(&r);
}

static void test_line_cancel_counted(void)
{
	/* A counted item can be cancelled before its first byte, not after. */
	struct line_reader r;
	struct line l;
	size_t used;

	CHECK_EQ_INT(line_reader_init(&r, 64), 0);
	line_reader_expect_counted(&r, 5, 5);
	CHECK(line_reader_cancel_counted(&r));
	CHECK(line_reader_at_line_start(&r));
	CHECK_EQ_INT(line_reader_feed(&r, (const uint8_t *)"a NOOP\r\n", 8, &used, &l), LINE_DONE);
	CHECK_EQ_MEM(l.data, l.len, "a NOOP", 6);

	line_reader_expect_counted(&r, 5, 5);
	CHECK_EQ_INT(line_reader_feed(&r, (const uint8_t *)"ab", 2, &used, &l), LINE_NEED_MORE);
	CHECK(!line_reader_cancel_counted(&r));
	CHECK(line_reader_is_counted(&r));
	line_reader_release(&r);
}

static void test_line_buffer_grows_on_demand(void)
{
	/* Short lines keep the buffer small; a long one grows it, never past max_line. */
	static char long_line[3000];
	struct line_reader r;
	struct line l;
	size_t used;

	CHECK_EQ_INT(line_reader_init(&r, 2048), 0);
	CHECK(r.buf == NULL);
	CHECK_EQ_INT(line_reader_feed(&r, (const uint8_t *)"NOOP\r\n", 6, &used, &l), LINE_DONE);
	CHECK(r.buf_size <= 256);
	memset(long_line, 'a', sizeof(long_line));
	long_line[sizeof(long_line) - 1] = '\n';
	CHECK_EQ_INT(line_reader_feed(&r, (const uint8_t *)long_line, 1000, &used, &l), LINE_NEED_MORE);
	CHECK(r.buf_size >= 1000);
	CHECK(r.buf_size <= 2048);
	CHECK_EQ_INT(line_reader_feed(&r, (const uint8_t *)long_line + 1000, 2000, &used, &l), LINE_DONE);
	CHECK_EQ_INT(l.len, 2048);
	CHECK(l.too_long);
	CHECK_EQ_INT(r.buf_size, 2048);
	line_reader_release(&r);
}

static void test_line_no_buffer(void)
{
	struct line_reader r;
	struct line l;
	size_t used;

	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(line_reader_feed(&r, (const uint8_t *)"x\n", 2, &used, &l), LINE_LIMIT);
	CHECK_EQ_INT(used, 2);
}

static void test_line_garbage_every_split(void)
{
	/* Random bytes split at every offset give the same lines as whole input. */
	uint8_t in[600];
	uint32_t seed = 12345;
	struct collected whole;

	for (size_t i = 0; i < sizeof(in); i++) {
		seed = seed * 1103515245u + 12345u;
		in[i] = (uint8_t)(seed >> 16);
		if (in[i] % 17 == 0)
			in[i] = '\n';
	}
	run((const char *)in, sizeof(in), 0, 16, NULL, &whole);
	for (size_t step = 1; step < 40; step++) {
		struct collected c;

		run((const char *)in, sizeof(in), step, 16, NULL, &c);
		CHECK_EQ_INT(c.count, whole.count);
		for (size_t i = 0; i < c.count && i < whole.count; i++) {
			CHECK_EQ_MEM(c.items[i].data, c.items[i].len, whole.items[i].data, whole.items[i].len);
			CHECK_EQ_INT(c.items[i].too_long, whole.items[i].too_long);
		}
	}
}

/*
 * Feeds input split at every position into a reader that enters dot-body
 * mode after its first line, and collects every delivered line.
 */
static void run_dot_body(const char *input, size_t split, struct collected *out)
{
	struct line_reader r;
	size_t len = strlen(input);
	size_t cuts[2] = {split, len};
	size_t pos = 0;

	memset(out, 0, sizeof(*out));
	CHECK_EQ_INT(line_reader_init(&r, 64), 0);
	for (int c = 0; c < 2; c++) {
		while (pos < cuts[c]) {
			struct line l;
			size_t used = 0;
			int rc = line_reader_feed(&r, (const uint8_t *)input + pos, cuts[c] - pos, &used, &l);

			pos += used;
			if (rc != LINE_DONE)
				break;
			collect(out, &l);
			if (out->count == 1)
				CHECK(line_reader_skip_to_dot_line(&r));
		}
	}
	line_reader_release(&r);
}

/* Message text is passed over up to the "." line; dot-stuffed and long lines do not end it. */
static void test_line_dot_body_every_split(void)
{
	static const char input[] =
		"DATA\r\n"
		"first line\r\n"
		"..stuffed\r\n"
		".text after a dot\n"
		".\rnot the end\r\n"
		"a line far longer than the sixty-four byte line cap of this reader, still text\r\n"
		"\r\n"
		".\r\n"
		"QUIT\r\n";
	struct collected c;

	for (size_t split = 0; split <= strlen(input); split++) {
		run_dot_body(input, split, &c);
		CHECK_EQ_INT(c.count, 3);
		CHECK_EQ_STR(c.items[0].data, "DATA");
		CHECK_EQ_INT(c.items[1].len, 1);
		CHECK_EQ_STR(c.items[1].data, ".");
		CHECK(!c.items[1].bare_lf);
		CHECK(!c.items[1].too_long);
		CHECK_EQ_STR(c.items[2].data, "QUIT");
	}
}

/* A bare-LF terminator and an empty message both end the body. */
static void test_line_dot_body_bare_lf_and_empty(void)
{
	struct collected c;

	for (size_t split = 0; split <= 12; split++) {
		run_dot_body("RETR 1\n.\nQUIT\n", split, &c);
		CHECK_EQ_INT(c.count, 3);
		CHECK_EQ_STR(c.items[1].data, ".");
		CHECK(c.items[1].bare_lf);
		CHECK_EQ_STR(c.items[2].data, "QUIT");
	}
}

/* Stopping the mode mid-line skips the rest of that line, then frames lines again. */
static void test_line_dot_body_stop(void)
{
	struct line_reader r;
	struct line l;
	size_t used = 0;
	static const char text[] = "partial body line\r\nNOOP\r\n";

	CHECK_EQ_INT(line_reader_init(&r, 64), 0);
	CHECK(line_reader_skip_to_dot_line(&r));
	CHECK_EQ_INT(line_reader_feed(&r, (const uint8_t *)text, 7, &used, &l), LINE_NEED_MORE);
	line_reader_stop_dot_body(&r);
	CHECK_EQ_INT(line_reader_feed(&r, (const uint8_t *)text + 7, sizeof(text) - 1 - 7, &used, &l), LINE_DONE);
	CHECK_EQ_INT(l.len, 4);
	CHECK(memcmp(l.data, "NOOP", 4) == 0);

	/* The mode is refused in the middle of a line. */
	CHECK_EQ_INT(line_reader_feed(&r, (const uint8_t *)"half", 4, &used, &l), LINE_NEED_MORE);
	CHECK(!line_reader_skip_to_dot_line(&r));
	line_reader_release(&r);
}

int main(void)
{
	test_line_dot_body_every_split();
	test_line_dot_body_bare_lf_and_empty();
	test_line_dot_body_stop();
	test_line_crlf_and_bare_lf();
	test_line_partial_last_line();
	test_line_cr_inside_line();
	test_line_too_long();
	test_line_exactly_max();
	test_line_counted_keep_prefix();
	test_line_counted_zero();
	test_line_counted_binary_with_lf();
	test_line_counted_huge();
	test_line_gap_resync();
	test_line_gap_inside_counted();
	test_line_cancel_counted();
	test_line_buffer_grows_on_demand();
	test_line_no_buffer();
	test_line_garbage_every_split();
	return test_finish("test_line");
}
