/*
 * Fuzz target: the shared line engine. The first byte picks the feed size;
 * a line that starts with '{' switches to counted mode for the decimal
 * length it carries, as an IMAP literal does.
 */
#include <stdint.h>
#include <stdlib.h>

#include "mail/line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fuzz_parse_count(const struct line *l)
{
	uint64_t n = 0;

	for (size_t i = 1; i < l->len && l->data[i] >= '0' && l->data[i] <= '9'; i++)
		n = n * 10 + (uint64_t)(l->data[i] - '0');
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct line_reader r;
	size_t chunk;
	size_t pos = 1;

	if (size < 1 || line_reader_init(&r, 64) != 0)
		return 0;
	chunk = (size_t)(data[0] % 17) + 1;
	while (pos < size) {
		size_t n = size - pos < chunk ? size - pos : chunk;
		size_t off = 0;

		while (off < n) {
			struct line l;
			size_t consumed = 0;
			int rc = line_reader_feed(&r, data + pos + off, n - off, &consumed, &l);

			if (consumed > n - off)
				abort();
			off += consumed;
			if (rc != LINE_DONE)
				break;
			if (l.len > 64)
				abort();
			if (!l.counted && l.len > 0 && l.data[0] == '{')
				line_reader_expect_counted(&r, fuzz_parse_count(&l), 16);
			if (!l.counted && l.len > 0 && l.data[0] == '#')
				line_reader_gap(&r, 5);
		}
		pos += n;
	}
	line_reader_release(&r);
	return 0;
}
