/*
 * SSL 2.0 hellos (draft-hickman-netscape-ssl-00, "The SSL Protocol"):
 * the CLIENT-HELLO, both the pure SSL 2.0 one (version 0x0002) and the
 * SSLv2-compatible one that offers SSL 3.0 or TLS (RFC 5246 appendix
 * E.2), and the SERVER-HELLO that settles on SSL 2.0. The caller has
 * removed the 2-byte record header; msg starts at the message type.
 */
#include <string.h>

#include "core/proto.h"
#include "tls/tls_internal.h"

/* SSL 2.0 cipher kinds are 3 bytes; a TLS suite appears as 0x00 followed by its 2 bytes. */
#define SSLV2_CIPHER_SPEC_LEN 3u

int tls_sslv2_parse_client_hello(const uint8_t *msg, size_t len, struct tls_summary *sum)
{
	struct cursor c;
	struct cursor specs;
	uint8_t type;
	uint16_t version;
	uint16_t specs_len;
	uint16_t session_id_len;
	uint16_t challenge_len;

	cursor_init(&c, msg, len);
	if (cursor_u8(&c, &type) < 0 || type != SSLV2_MSG_CLIENT_HELLO || cursor_be16(&c, &version) < 0 ||
	    cursor_be16(&c, &specs_len) < 0 || cursor_be16(&c, &session_id_len) < 0 ||
	    cursor_be16(&c, &challenge_len) < 0)
		return -1;

	/* Each cipher spec is 3 bytes; a list that does not divide evenly is not a hello. */
	if (specs_len % SSLV2_CIPHER_SPEC_LEN != 0 || cursor_sub(&c, specs_len, &specs) < 0 ||
	    cursor_skip(&c, session_id_len) < 0 || cursor_skip(&c, challenge_len) < 0)
		return -1;

	sum->hello_format = TLS_HELLO_FORMAT_SSLV2;
	sum->record_version = TLS_VERSION_SSL2;
	sum->client_legacy_version = version;
	sum->client_max_version = version;
	sum->client_versions_count = 0;
	sum->client_cipher_count = (uint16_t)(specs_len / SSLV2_CIPHER_SPEC_LEN);
	sum->fallback_scsv = false;
	sum->sni.len = 0;
	sum->sni.truncated = false;
	sum->alpn_count = 0;
	/* TODO: JA3 and JA4 are not computed for SSL 2.0 framed hellos; both stay empty. */
	sum->ja3[0] = '\0';
	sum->ja4[0] = '\0';
	while (cursor_remaining(&specs) >= SSLV2_CIPHER_SPEC_LEN) {
		uint32_t spec;

		cursor_be24(&specs, &spec);
		if (spec == TLS_FALLBACK_SCSV)
			sum->fallback_scsv = true;
	}
	return 0;
}

int tls_sslv2_parse_server_hello(const uint8_t *msg, size_t len, struct tls_summary *sum)
{
	struct cursor c;
	uint8_t type;
	uint8_t session_id_hit;
	uint8_t certificate_type;
	uint16_t version;
	uint16_t certificate_len;
	uint16_t specs_len;
	uint16_t connection_id_len;
	uint32_t first_spec = 0;

	cursor_init(&c, msg, len);
	if (cursor_u8(&c, &type) < 0 || type != SSLV2_MSG_SERVER_HELLO ||
	    cursor_u8(&c, &session_id_hit) < 0 || cursor_u8(&c, &certificate_type) < 0 ||
	    cursor_be16(&c, &version) < 0 || cursor_be16(&c, &certificate_len) < 0 ||
	    cursor_be16(&c, &specs_len) < 0 || cursor_be16(&c, &connection_id_len) < 0)
		return -1;

	/* A resumed session (session_id_hit) carries no certificate and no cipher list. */
	if (specs_len % SSLV2_CIPHER_SPEC_LEN != 0)
		return -1;

	/* TODO: the SSL 2.0 server certificate is skipped, so tls.certificate is never raised for SSLv2. */
	if (cursor_skip(&c, certificate_len) < 0)
		return -1;
	if (specs_len > 0 && cursor_be24(&c, &first_spec) < 0)
		return -1;
	if (cursor_skip(&c, specs_len > 0 ? specs_len - SSLV2_CIPHER_SPEC_LEN : 0) < 0 ||
	    cursor_skip(&c, connection_id_len) < 0)
		return -1;

	sum->server_hello_seen = true;
	sum->server_legacy_version = version;
	sum->version = version;
	sum->cipher = 0;
	sum->sslv2_cipher = first_spec;
	return 0;
}
