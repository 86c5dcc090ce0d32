/*
 * Fuzz target: the TLS analyzer on its own. Byte 0 bit 0 picks whether the
 * server speaks first; the rest alternates between directions in chunks
 * whose sizes come from the input.
 */
#include <stdint.h>
#include <string.h>

#include "core/session.h"
#include "tls/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tls_context *fuzz_ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session s;
	struct tls_parser *p;
	size_t pos = 1;
	enum direction dir;

	if (size < 1)
		return 0;
	if (fuzz_ctx == NULL)
		fuzz_ctx = tls_context_new();
	memset(&s, 0, sizeof(s));
	s.app_proto = APP_PROTO_SMTPS;
	s.now_usec = 1700000000000000ull;
	p = tls_parser_new(&s, fuzz_ctx);
	if (p == NULL)
		return 0;
	dir = (data[0] & 1u) ? DIR_TO_CLIENT : DIR_TO_SERVER;
	while (pos + 2 <= size) {
		size_t len = (size_t)data[pos] << 8 | data[pos + 1];

		pos += 2;
		if (len > size - pos)
			len = size - pos;
		tls_parser_feed(p, dir, data + pos, len);
		pos += len;
		dir = dir == DIR_TO_SERVER ? DIR_TO_CLIENT : DIR_TO_SERVER;
	}
	tls_parser_finish(p);
	tls_parser_free(p);
	session_release(&s);
	return 0;
}
