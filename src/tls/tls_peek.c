/*
 * The server name of a ClientHello that arrives whole in one TCP segment,
 * read without a TLS parser or a flow. It reads the record header (RFC 8446
 * section 5.1) and the handshake header (section 4), then runs the hello
 * parser that the analyzer uses.
 */
#include <string.h>

#include "core/cursor.h"
#include "tls/tls_internal.h"

int tls_peek_sni(const uint8_t *data, size_t len, char *out, size_t size)
{
	struct cursor c;
	struct tls_client_hello ch;
	struct tls_summary sum;
	uint8_t content_type = 0;
	uint8_t major = 0;
	uint8_t msg_type = 0;
	uint16_t record_len = 0;
	uint32_t body_len = 0;
	const uint8_t *body = NULL;

	cursor_init(&c, data, len);
	if (cursor_u8(&c, &content_type) < 0 || cursor_u8(&c, &major) < 0 || cursor_skip(&c, 1) < 0 ||
	    cursor_be16(&c, &record_len) < 0 || cursor_u8(&c, &msg_type) < 0 || cursor_be24(&c, &body_len) < 0)
		return -1;
	if (content_type != TLS_CONTENT_HANDSHAKE || major != 3 || msg_type != TLS_HANDSHAKE_CLIENT_HELLO)
		return -1;

	/* A hello split over records or segments is left alone: reassembling it would need flow state. */
	if (body_len + TLS_HANDSHAKE_HEADER_LEN > record_len || cursor_bytes(&c, body_len, &body) < 0)
		return -1;

	memset(&sum, 0, sizeof(sum));
	if (tls_hello_parse_client(body, body_len, &ch, &sum) < 0 || sum.sni.len == 0 || sum.sni.truncated)
		return -1;
	if ((size_t)sum.sni.len >= size)
		return -1;
	memcpy(out, sum.sni.data, sum.sni.len);
	out[sum.sni.len] = '\0';
	return (int)sum.sni.len;
}
