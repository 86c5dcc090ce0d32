/*
 * ClientHello and ServerHello parsing (RFC 8446 sections 4.1.2 and 4.1.3,
 * which keep the TLS 1.2 layout of RFC 5246 section 7.4.1). The extensions
 * read are server_name (RFC 6066 section 3), ALPN (RFC 7301 section 3.1),
 * supported_groups and ec_point_formats (RFC 8422 section 5.1),
 * signature_algorithms (RFC 8446 section 4.2.3) and supported_versions
 * (RFC 8446 section 4.2.1). GREASE values (RFC 8701) are left out of every
 * list the summary keeps.
 */
#include <string.h>

#include "core/proto.h"
#include "core/text.h"
#include "tls/tls_internal.h"

#define TLS_RANDOM_LEN 32u
#define TLS_SESSION_ID_MAX 32u

/* ServerHello.random of a HelloRetryRequest: SHA-256 of "HelloRetryRequest" (RFC 8446 4.1.3). */
static const uint8_t tls_hello_retry_random[TLS_RANDOM_LEN] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

typedef int (*tls_extension_reader)(struct cursor *data, struct tls_client_hello *ch,
				    struct tls_summary *sum);

/* Reads a vector with a 1- or 2-byte length prefix into sub; returns 0 or -1. */
static int tls_read_vector(struct cursor *c, size_t prefix, struct cursor *sub)
{
	uint8_t len8;
	uint16_t len16;

	if (prefix == 1) {
		if (cursor_u8(c, &len8) < 0)
			return -1;
		return cursor_sub(c, len8, sub);
	}
	if (cursor_be16(c, &len16) < 0)
		return -1;
	return cursor_sub(c, len16, sub);
}

static int tls_read_server_name(struct cursor *data, struct tls_client_hello *ch,
				struct tls_summary *sum)
{
	struct cursor list;

	if (tls_read_vector(data, 2, &list) < 0)
		return -1;
	while (cursor_remaining(&list) > 0) {
		uint8_t name_type;
		uint16_t name_len;
		const uint8_t *name;

		if (cursor_u8(&list, &name_type) < 0 || cursor_be16(&list, &name_len) < 0 ||
		    cursor_bytes(&list, name_len, &name) < 0)
			return -1;
		/* RFC 6066 allows one name per type; only host_name (0) is defined. */
		if (name_type == 0 && !wire_text_is_set(&sum->sni))
			wire_text_set(&sum->sni, name, name_len);
	}
	ch->has_sni = true;
	return 0;
}

static int tls_read_alpn(struct cursor *data, struct tls_client_hello *ch, struct tls_summary *sum)
{
	struct cursor list;

	if (tls_read_vector(data, 2, &list) < 0)
		return -1;
	while (cursor_remaining(&list) > 0) {
		struct cursor name;
		size_t keep;

		if (tls_read_vector(&list, 1, &name) < 0)
			return -1;
		if (ch->alpn_first == NULL) {
			ch->alpn_first = name.data;
			ch->alpn_first_len = name.len;
		}
		/* Names past the summary's room are dropped; the fingerprints use only the first. */
		if (sum->alpn_count >= TLS_SUMMARY_MAX_ALPN)
			continue;
		keep = name.len < TLS_SUMMARY_ALPN_LEN ? name.len : TLS_SUMMARY_ALPN_LEN;
		memcpy(sum->alpn[sum->alpn_count], name.data, keep);
		sum->alpn[sum->alpn_count][keep] = '\0';
		sum->alpn_len[sum->alpn_count] = (uint8_t)keep;
		sum->alpn_count++;
	}
	return 0;
}

static int tls_read_supported_groups(struct cursor *data, struct tls_client_hello *ch,
				     struct tls_summary *sum)
{
	(void)sum;
	if (tls_read_vector(data, 2, &ch->groups) < 0 || ch->groups.len % 2 != 0)
		return -1;
	return 0;
}

static int tls_read_point_formats(struct cursor *data, struct tls_client_hello *ch,
				  struct tls_summary *sum)
{
	(void)sum;
	return tls_read_vector(data, 1, &ch->point_formats);
}

static int tls_read_signature_algorithms(struct cursor *data, struct tls_client_hello *ch,
					 struct tls_summary *sum)
{
	(void)sum;
	if (tls_read_vector(data, 2, &ch->sig_algs) < 0 || ch->sig_algs.len % 2 != 0)
		return -1;
	return 0;
}

/* Keeps the non-GREASE versions; client_max_version is the highest in protocol order. */
static int tls_read_supported_versions(struct cursor *data, struct tls_client_hello *ch,
				       struct tls_summary *sum)
{
	struct cursor list;
	uint16_t version;

	if (tls_read_vector(data, 1, &list) < 0 || list.len % 2 != 0)
		return -1;
	ch->has_supported_versions = true;
	while (cursor_be16(&list, &version) == 0) {
		if (tls_is_grease(version))
			continue;
		if (sum->client_max_version == 0 ||
		    tls_version_rank(version) > tls_version_rank(sum->client_max_version))
			sum->client_max_version = version;
		if (sum->client_versions_count < TLS_SUMMARY_MAX_VERSIONS)
			sum->client_versions[sum->client_versions_count++] = version;
	}
	return 0;
}

static tls_extension_reader tls_client_extension_reader(uint16_t type)
{
	switch (type) {
	case TLS_EXT_SERVER_NAME: return tls_read_server_name;
	case TLS_EXT_ALPN: return tls_read_alpn;
	case TLS_EXT_SUPPORTED_GROUPS: return tls_read_supported_groups;
	case TLS_EXT_EC_POINT_FORMATS: return tls_read_point_formats;
	case TLS_EXT_SIGNATURE_ALGORITHMS: return tls_read_signature_algorithms;
	case TLS_EXT_SUPPORTED_VERSIONS: return tls_read_supported_versions;
	default: return NULL;
	}
}

/* Walks the extensions block; a lying length in a known extension makes the hello malformed. */
static int tls_read_client_extensions(struct tls_client_hello *ch, struct tls_summary *sum)
{
	struct cursor block = ch->extensions;

	while (cursor_remaining(&block) > 0) {
		uint16_t type;
		struct cursor data;
		tls_extension_reader reader;

		if (cursor_be16(&block, &type) < 0 || tls_read_vector(&block, 2, &data) < 0)
			return -1;
		reader = tls_client_extension_reader(type);
		if (reader != NULL && reader(&data, ch, sum) < 0)
			return -1;
	}
	return 0;
}

static void tls_read_cipher_suites(const struct tls_client_hello *ch, struct tls_summary *sum)
{
	struct cursor list = ch->ciphers;
	uint16_t suite;

	while (cursor_be16(&list, &suite) == 0) {
		if (tls_is_grease(suite))
			continue;
		sum->client_cipher_count++;
		if (suite == TLS_FALLBACK_SCSV)
			sum->fallback_scsv = true;
	}
}

/* Forgets what an earlier ClientHello left, so the summary describes the last one. */
static void tls_clear_client_fields(struct tls_summary *sum)
{
	sum->client_versions_count = 0;
	sum->client_max_version = 0;
	sum->client_cipher_count = 0;
	sum->fallback_scsv = false;
	sum->sni.len = 0;
	sum->sni.truncated = false;
	sum->alpn_count = 0;
	sum->ja3[0] = '\0';
	sum->ja4[0] = '\0';
}

int tls_hello_parse_client(const uint8_t *body, size_t len, struct tls_client_hello *ch,
			   struct tls_summary *sum)
{
	struct cursor c;
	struct cursor compression;
	uint8_t session_id_len;

	memset(ch, 0, sizeof(*ch));
	cursor_init(&c, body, len);
	cursor_init(&ch->extensions, body, 0);
	cursor_init(&ch->groups, body, 0);
	cursor_init(&ch->point_formats, body, 0);
	cursor_init(&ch->sig_algs, body, 0);
	if (cursor_be16(&c, &ch->legacy_version) < 0 || cursor_skip(&c, TLS_RANDOM_LEN) < 0 ||
	    cursor_u8(&c, &session_id_len) < 0)
		return -1;

	/* RFC 8446 4.1.2 caps legacy_session_id at 32 bytes. */
	if (session_id_len > TLS_SESSION_ID_MAX || cursor_skip(&c, session_id_len) < 0)
		return -1;

	if (tls_read_vector(&c, 2, &ch->ciphers) < 0 || ch->ciphers.len % 2 != 0 ||
	    tls_read_vector(&c, 1, &compression) < 0)
		return -1;

	tls_clear_client_fields(sum);
	if (cursor_remaining(&c) > 0) {
		if (tls_read_vector(&c, 2, &ch->extensions) < 0 ||
		    tls_read_client_extensions(ch, sum) < 0)
			return -1;
	}
	sum->client_legacy_version = ch->legacy_version;
	if (sum->client_max_version == 0)
		sum->client_max_version = ch->legacy_version;
	tls_read_cipher_suites(ch, sum);
	return 0;
}

static int tls_read_server_extensions(struct tls_server_hello *sh)
{
	struct cursor block = sh->extensions;

	while (cursor_remaining(&block) > 0) {
		uint16_t type;
		struct cursor data;

		if (cursor_be16(&block, &type) < 0 || tls_read_vector(&block, 2, &data) < 0)
			return -1;
		if (type != TLS_EXT_SUPPORTED_VERSIONS)
			continue;
		/* The server's supported_versions contains exactly one selected version. */
		if (data.len != 2 || cursor_be16(&data, &sh->selected_version) < 0)
			return -1;
	}
	return 0;
}

int tls_hello_parse_server(const uint8_t *body, size_t len, struct tls_server_hello *sh,
			   struct tls_summary *sum)
{
	struct cursor c;
	const uint8_t *random;
	uint8_t session_id_len;
	uint8_t compression;

	memset(sh, 0, sizeof(*sh));
	cursor_init(&c, body, len);
	cursor_init(&sh->extensions, body, 0);
	if (cursor_be16(&c, &sh->legacy_version) < 0 || cursor_bytes(&c, TLS_RANDOM_LEN, &random) < 0 ||
	    cursor_u8(&c, &session_id_len) < 0)
		return -1;

	/* RFC 8446 4.1.3 caps legacy_session_id_echo at 32 bytes. */
	if (session_id_len > TLS_SESSION_ID_MAX || cursor_skip(&c, session_id_len) < 0 ||
	    cursor_be16(&c, &sh->cipher) < 0 || cursor_u8(&c, &compression) < 0)
		return -1;

	if (cursor_remaining(&c) > 0) {
		if (tls_read_vector(&c, 2, &sh->extensions) < 0 || tls_read_server_extensions(sh) < 0)
			return -1;
	}
	sh->is_hello_retry_request = memcmp(random, tls_hello_retry_random, TLS_RANDOM_LEN) == 0;
	if (sh->is_hello_retry_request) {
		sum->hello_retry_request_seen = true;
		sum->hello_retry_request_count++;
		return 0;
	}
	sum->server_hello_seen = true;
	sum->server_legacy_version = sh->legacy_version;
	sum->version = sh->selected_version != 0 ? sh->selected_version : sh->legacy_version;
	sum->cipher = sh->cipher;
	return 0;
}
