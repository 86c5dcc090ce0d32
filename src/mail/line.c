/*
 * Line framing shared by the mail analyzers. Text lines end with CR LF or a
 * bare LF (RFC 5321 section 2.3.8, RFC 1939 section 3, RFC 3501 section
 * 2.2). Over-long lines are truncated. Counted items cover RFC 3030 BDAT
 * chunks and RFC 3501 section 4.3 literals. Gaps resynchronise at the next LF.
 */
#include "mail/line.h"

#include <stdlib.h>
#include <string.h>

/* First buffer size: most command and reply lines are well under 256 bytes. */
#define LINE_INITIAL_BYTES 256u

int line_reader_init(struct line_reader *r, size_t max_line)
{
	memset(r, 0, sizeof(*r));
	r->max_line = max_line > 0 ? max_line : 1;
	return 0;
}

/* Grows the buffer to hold at least need bytes (need <= max_line). Returns 0, or -1 when realloc failed. */
static int line_reader_reserve(struct line_reader *r, size_t need)
{
	size_t size = r->buf_size > 0 ? r->buf_size : LINE_INITIAL_BYTES;
	uint8_t *grown;

	/* Even an empty line needs a buffer, so delivered items never point at NULL. */
	if (need == 0)
		need = 1;
	if (need <= r->buf_size)
		return 0;
	while (size < need && size < r->max_line)
		size *= 2;
	if (size > r->max_line)
		size = r->max_line;
	grown = realloc(r->buf, size);
	if (grown == NULL)
		return -1;
	r->buf = grown;
	r->buf_size = size;
	return 0;
}

void line_reader_release(struct line_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

static void line_reader_deliver(struct line_reader *r, struct line *out, bool too_long, bool bare_lf)
{
	memset(out, 0, sizeof(*out));
	out->data = r->buf;
	out->len = r->len;
	out->too_long = too_long;
	out->bare_lf = bare_lf;
	r->len = 0;
}

/* Skips to the byte after the next LF. Returns true when the LF was found. */
static bool line_reader_skip(struct line_reader *r, const uint8_t *data, size_t len, size_t *used)
{
	const uint8_t *lf = memchr(data, '\n', len);

	if (lf == NULL) {
		*used = len;
		r->skipped_bytes += len;
		return false;
	}
	*used = (size_t)(lf - data) + 1;
	r->skipped_bytes += *used;
	r->mode = LINE_MODE_TEXT;
	return true;
}

/*
 * Consumes counted bytes, keeping up to counted_keep of them in buf.
 * Returns true when the item is complete.
 */
static bool line_reader_count(struct line_reader *r, const uint8_t *data, size_t len, size_t *used,
			      struct line *out)
{
	size_t take = len;

	if ((uint64_t)take > r->counted_left)
		take = (size_t)r->counted_left;
	if (line_reader_reserve(r, r->counted_keep) == 0 && r->len < r->counted_keep) {
		size_t room = r->counted_keep - r->len;
		size_t n = take < room ? take : room;

		memcpy(r->buf + r->len, data, n);
		r->len += n;
	}
	r->counted_left -= take;
	*used = take;
	if (r->counted_left > 0)
		return false;
	memset(out, 0, sizeof(*out));
	out->data = r->buf;
	out->len = r->len;
	out->counted = true;
	out->counted_len = r->counted_len;
	r->len = 0;
	r->mode = LINE_MODE_TEXT;
	return true;
}

/*
 * Passes over message text up to the line "." (CR LF or bare LF after it).
 * Returns true with the "." line delivered, as line_reader_text would
 * deliver it; dot-stuffed lines such as ".." are text and do not end it.
 */
static bool line_reader_dot_body(struct line_reader *r, const uint8_t *data, size_t len, size_t *used,
				 struct line *out)
{
	size_t i = 0;

	while (i < len) {
		uint8_t byte = data[i];

		switch (r->dot_state) {
		case LINE_DOT_IN_LINE: {
			const uint8_t *lf = memchr(data + i, '\n', len - i);

			if (lf == NULL) {
				i = len;
				continue;
			}
			i = (size_t)(lf - data) + 1;
			r->dot_state = LINE_DOT_LINE_START;
			continue;
		}
		case LINE_DOT_LINE_START:
			r->dot_state = byte == '.' ? LINE_DOT_SEEN : LINE_DOT_IN_LINE;
			if (byte == '\n')
				r->dot_state = LINE_DOT_LINE_START;
			i++;
			continue;
		case LINE_DOT_SEEN:
		case LINE_DOT_CR_SEEN:
			if (byte == '\n') {
				bool bare_lf = r->dot_state == LINE_DOT_SEEN;

				i++;
				r->body_bytes += i;
				*used = i;
				r->mode = LINE_MODE_TEXT;
				r->dot_state = LINE_DOT_LINE_START;
				/* line_reader_skip_to_dot_line reserved the byte. */
				r->buf[0] = '.';
				r->len = 1;
				line_reader_deliver(r, out, false, bare_lf);
				return true;
			}
			r->dot_state = byte == '\r' && r->dot_state == LINE_DOT_SEEN ? LINE_DOT_CR_SEEN : LINE_DOT_IN_LINE;
			i++;
			continue;
		}
	}
	r->body_bytes += len;
	*used = len;
	return false;
}

/* Appends text bytes up to and including the next LF. Returns true when a line is complete. */
static bool line_reader_text(struct line_reader *r, const uint8_t *data, size_t len, size_t *used,
			     struct line *out)
{
	const uint8_t *lf = memchr(data, '\n', len);
	size_t upto = lf != NULL ? (size_t)(lf - data) : len;
	size_t room = r->max_line - r->len;

	/* Without memory for the line, drop it whole rather than deliver a piece that looks complete. */
	if (line_reader_reserve(r, r->len + (upto < room ? upto : room)) != 0) {
		r->dropped_lines++;
		r->len = 0;
		r->mode = LINE_MODE_SKIP_TO_LF;
		*used = 0;
		return false;
	}

	/* The line does not fit: deliver what fits and skip the rest of it. */
	if (upto > room) {
		memcpy(r->buf + r->len, data, room);
		r->len += room;
		*used = room;
		r->too_long_lines++;
		r->mode = LINE_MODE_SKIP_TO_LF;
		line_reader_deliver(r, out, true, false);
		return true;
	}
	memcpy(r->buf + r->len, data, upto);
	r->len += upto;
	if (lf == NULL) {
		*used = len;
		return false;
	}
	*used = upto + 1;
	if (r->len > 0 && r->buf[r->len - 1] == '\r') {
		r->len--;
		line_reader_deliver(r, out, false, false);
	} else {
		line_reader_deliver(r, out, false, true);
	}
	return true;
}

int line_reader_feed(struct line_reader *r, const uint8_t *data, size_t len, size_t *consumed,
		     struct line *out)
{
	size_t pos = 0;

	*consumed = 0;
	/* An uninitialised reader cannot frame anything; the bytes are dropped. */
	if (r->max_line == 0) {
		*consumed = len;
		return LINE_LIMIT;
	}
	while (pos < len) {
		size_t used = 0;
		bool done = false;

		switch (r->mode) {
		case LINE_MODE_SKIP_TO_LF:
			line_reader_skip(r, data + pos, len - pos, &used);
			break;
		case LINE_MODE_COUNTED:
			done = line_reader_count(r, data + pos, len - pos, &used, out);
			break;
		case LINE_MODE_TEXT:
			done = line_reader_text(r, data + pos, len - pos, &used, out);
			break;
		case LINE_MODE_DOT_BODY:
			done = line_reader_dot_body(r, data + pos, len - pos, &used, out);
			break;
		}
		pos += used;
		if (done) {
			*consumed = pos;
			return LINE_DONE;
		}
	}
	*consumed = pos;
	return LINE_NEED_MORE;
}

void line_reader_expect_counted(struct line_reader *r, uint64_t n, size_t keep)
{
	if (keep > r->max_line)
		keep = r->max_line;
	if ((uint64_t)keep > n)
		keep = (size_t)n;

	/* Without memory for the prefix the item is still counted, just not kept. */
	if (line_reader_reserve(r, keep) != 0)
		keep = 0;
	r->len = 0;
	r->mode = LINE_MODE_COUNTED;
	r->counted_left = n;
	r->counted_len = n;
	r->counted_keep = keep;
}

bool line_reader_take_empty_counted(struct line_reader *r, struct line *out)
{
	if (r->mode != LINE_MODE_COUNTED || r->counted_left != 0)
		return false;
	memset(out, 0, sizeof(*out));
	out->data = r->buf;
	out->counted = true;
	r->len = 0;
	r->mode = LINE_MODE_TEXT;
	return true;
}

bool line_reader_cancel_counted(struct line_reader *r)
{
	if (r->mode != LINE_MODE_COUNTED || r->counted_left != r->counted_len)
		return false;
	r->len = 0;
	r->counted_left = 0;
	r->mode = LINE_MODE_TEXT;
	return true;
}

bool line_reader_is_counted(const struct line_reader *r)
{
	return r->mode == LINE_MODE_COUNTED;
}

bool line_reader_skip_to_dot_line(struct line_reader *r)
{
	if (r->mode != LINE_MODE_TEXT || r->len != 0 || line_reader_reserve(r, 1) != 0)
		return false;
	r->mode = LINE_MODE_DOT_BODY;
	r->dot_state = LINE_DOT_LINE_START;
	return true;
}

void line_reader_stop_dot_body(struct line_reader *r)
{
	if (r->mode != LINE_MODE_DOT_BODY)
		return;
	/* Inside a line, the rest of it up to LF is still message text. */
	r->mode = r->dot_state == LINE_DOT_LINE_START ? LINE_MODE_TEXT : LINE_MODE_SKIP_TO_LF;
	r->dot_state = LINE_DOT_LINE_START;
}

bool line_reader_at_line_start(const struct line_reader *r)
{
	return r->mode == LINE_MODE_TEXT && r->len == 0;
}

void line_reader_gap(struct line_reader *r, uint64_t len)
{
	r->gaps++;
	/* A gap inside a counted item only shortens it: the framing after it is still known. */
	if (r->mode == LINE_MODE_COUNTED && len < r->counted_left) {
		r->counted_left -= len;
		return;
	}
	r->len = 0;
	r->counted_left = 0;
	r->mode = LINE_MODE_SKIP_TO_LF;
}
