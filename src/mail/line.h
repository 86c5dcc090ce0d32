/*
 * Line framing shared by the SMTP, POP3 and IMAP analyzers (one reader per
 * direction). Lines end at LF, with or without a CR before it (RFC 5321
 * section 2.3.8 requires CRLF, but real peers send bare LF too). The reader
 * is resumable: a line may arrive split over any number of feeds. Its one
 * buffer starts small on first use and doubles when a longer line comes, up
 * to max_line bytes, so a flow of short lines costs a few hundred bytes and
 * nothing is allocated per line.
 *
 * An over-long line is delivered truncated to max_line bytes with too_long
 * set, and the rest of it up to the next LF is skipped and counted. The
 * counted-bytes mode consumes exactly n bytes (a BDAT chunk of RFC 3030, an
 * IMAP literal of RFC 3501 section 4.3) without ever allocating from n, and
 * keeps a prefix of at most `keep` bytes when the caller wants one. A gap
 * drops the partial line and resynchronises at the next LF.
 */
#ifndef MAILTAP_LINE_H
#define MAILTAP_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Results of line_reader_feed(), following the parser convention. */
enum line_status {
	LINE_DONE = 0,	     /* *out contains a line or a finished counted item */
	LINE_NEED_MORE = 1,  /* every byte was consumed and no item is complete */
	LINE_MALFORMED = -1, /* reserved: the reader itself accepts any bytes */
	LINE_LIMIT = -2,     /* the reader was never initialised */
};

/* One delivered item. data points into the reader's buffer or the input and is valid until the next feed. */
struct line {
	const uint8_t *data; /* the line without its CR LF, or the kept prefix of a counted item */
	size_t len;
	bool too_long;	     /* text line longer than max_line: data is its first max_line bytes */
	bool bare_lf;	     /* text line ended by LF without CR */
	bool counted;	     /* a counted-bytes item rather than a text line */
	uint64_t counted_len; /* counted items: the full size; len <= keep is what was kept */
};

enum line_mode {
	LINE_MODE_TEXT = 0,
	LINE_MODE_SKIP_TO_LF, /* after an over-long line or a gap */
	LINE_MODE_COUNTED,
	LINE_MODE_DOT_BODY, /* message text skipped up to its "." line */
};

/* Position of the dot-body scan within the current line. */
enum line_dot_state {
	LINE_DOT_LINE_START = 0, /* the next byte starts a line */
	LINE_DOT_SEEN,		 /* the line so far is "." */
	LINE_DOT_CR_SEEN,	 /* the line so far is ".\r" */
	LINE_DOT_IN_LINE,	 /* inside another line: wait for its LF */
};

struct line_reader {
	uint8_t *buf;	 /* owned; buf_size bytes, NULL until the first byte */
	size_t buf_size; /* grows by doubling up to max_line */
	size_t max_line;
	size_t len; /* bytes of the current line (or counted prefix) held in buf */
	enum line_mode mode;
	uint64_t counted_left; /* counted mode: bytes still to consume */
	uint64_t counted_len;  /* counted mode: the item's full size */
	size_t counted_keep;   /* counted mode: prefix bytes to keep, at most max_line */
	enum line_dot_state dot_state; /* dot-body mode only */
	uint64_t body_bytes;	       /* bytes passed over in dot-body mode */
	uint64_t too_long_lines;
	uint64_t skipped_bytes; /* bytes dropped after over-long lines and gaps */
	uint64_t gaps;
	uint64_t dropped_lines; /* lines lost because the buffer could not grow */
};

/* Sets up a reader for lines of at most max_line bytes (at least 1). Allocates nothing yet; returns 0. */
int line_reader_init(struct line_reader *r, size_t max_line);
/* Frees the buffer; the reader may be initialised again. */
void line_reader_release(struct line_reader *r);

/*
 * Consumes input until one item is complete. Returns LINE_DONE with *out
 * filled and *consumed set to the bytes used, and the rest of the input is
 * for the next call. Returns LINE_NEED_MORE when every byte was consumed.
 * Returns LINE_LIMIT when the reader was never initialised, with *consumed
 * set to len because the bytes are dropped. When the buffer cannot grow,
 * the line is dropped and counted.
 */
int line_reader_feed(struct line_reader *r, const uint8_t *data, size_t len, size_t *consumed,
		     struct line *out);

/*
 * Switches to counted mode: the next n bytes (any value up to 2^64-1) form
 * one item, of which the first min(n, keep, max_line) are kept. An item of
 * zero bytes is complete at once: line_reader_take_empty_counted() returns it.
 */
void line_reader_expect_counted(struct line_reader *r, uint64_t n, size_t keep);
/* True after expect_counted(0): fills *out with the empty item and returns to text mode. */
bool line_reader_take_empty_counted(struct line_reader *r, struct line *out);
/* Returns to text mode when the counted item has not consumed any byte yet. Returns true if it did. */
bool line_reader_cancel_counted(struct line_reader *r);
/*
 * Switches to dot-body mode for message text: SMTP DATA after the header
 * section, or a POP3 RETR or TOP reply. Its lines are passed over without
 * being framed, up to the line "." that ends the message (RFC 5321 section
 * 4.5.2, RFC 1939 section 3), which is delivered as a normal line. Lines of
 * message text are not protocol lines, so an over-long one is not counted. Takes effect only at a line start in text
 * mode and returns true when it did. A gap ends the mode like any partial
 * line, and the reader resynchronises at the next LF.
 */
bool line_reader_skip_to_dot_line(struct line_reader *r);
/* Leaves dot-body mode for text mode at the next line start, for a message the peer ended another way. */
void line_reader_stop_dot_body(struct line_reader *r);
/* True while a counted item is being consumed. */
bool line_reader_is_counted(const struct line_reader *r);
/* True when no partial line is buffered (the next byte starts a new line). */
bool line_reader_at_line_start(const struct line_reader *r);

/*
 * Notes that len bytes are missing. A counted item that covers the gap
 * stays in step; otherwise the partial line is dropped and the reader skips
 * to the next LF.
 */
void line_reader_gap(struct line_reader *r, uint64_t len);

#endif
