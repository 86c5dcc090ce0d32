/*
 * Client and server fingerprints of a handshake.
 *
 * JA3 and JA3S follow the method published by Salesforce
 * (github.com/salesforce/ja3): decimal values joined by "-", fields joined
 * by ",", GREASE values left out, MD5 of the string.
 * JA4 follows FoxIO's JA4 specification (technical_details/JA4.md in
 * github.com/FoxIO-LLC/ja4, BSD 3-Clause): a readable prefix, then
 * truncated SHA-256 hashes of the sorted cipher list and of the sorted
 * extension list followed by the signature algorithms.
 * Digests go through libcrypto's EVP interface.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/fnv.h"
#include "core/proto.h"
#include "tls/tls_internal.h"

/* JA4 hashes are the first 12 hex digits of a SHA-256. */
#define JA4_HASH_LEN 12
#define JA4_EMPTY_HASH "000000000000"

static void tls_hex_encode(const uint8_t *bytes, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

/*
 * Digest algorithms fetched once per process. EVP_md5() and EVP_sha256()
 * make every EVP_DigestInit_ex() look the algorithm up in the provider
 * again, which costs more than hashing a ClientHello.
 */
static EVP_MD *tls_md5_algorithm;
static EVP_MD *tls_sha256_algorithm;
static pthread_once_t tls_digest_once = PTHREAD_ONCE_INIT;

static void tls_digest_fetch(void)
{
	tls_md5_algorithm = EVP_MD_fetch(NULL, "MD5", NULL);
	tls_sha256_algorithm = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/*
 * Text fed to a digest through a small buffer, so a fingerprint string of
 * any length costs a few EVP_DigestUpdate() calls rather than one per value.
 */
struct text_digest {
	EVP_MD_CTX *md;
	size_t len;
	char buf[512];
};

static int text_digest_begin(struct text_digest *td, bool sha256)
{
	const EVP_MD *algorithm;

	pthread_once(&tls_digest_once, tls_digest_fetch);
	algorithm = sha256 ? tls_sha256_algorithm : tls_md5_algorithm;
	td->len = 0;
	td->md = algorithm != NULL ? EVP_MD_CTX_new() : NULL;
	if (td->md == NULL)
		return -1;
	if (EVP_DigestInit_ex(td->md, algorithm, NULL) != 1) {
		EVP_MD_CTX_free(td->md);
		td->md = NULL;
		return -1;
	}
	return 0;
}

static void text_digest_flush(struct text_digest *td)
{
	EVP_DigestUpdate(td->md, td->buf, td->len);
	td->len = 0;
}

/* Every append writes at most 6 bytes: a separator and a 5-digit value. */
static void text_digest_reserve(struct text_digest *td)
{
	if (td->len + 6 > sizeof(td->buf))
		text_digest_flush(td);
}

static void text_digest_char(struct text_digest *td, char c)
{
	text_digest_reserve(td);
	td->buf[td->len++] = c;
}

/* Appends the optional separator, then value in decimal. */
static void text_digest_decimal(struct text_digest *td, char separator, uint16_t value)
{
	char digits[5];
	size_t n = 0;

	text_digest_reserve(td);
	if (separator != '\0')
		td->buf[td->len++] = separator;
	do {
		digits[n++] = (char)('0' + value % 10);
		value /= 10;
	} while (value != 0);
	while (n > 0)
		td->buf[td->len++] = digits[--n];
}

/* Appends the optional separator, then value as 4 lowercase hex digits. */
static void text_digest_hex4(struct text_digest *td, char separator, uint16_t value)
{
	static const char digits[] = "0123456789abcdef";

	text_digest_reserve(td);
	if (separator != '\0')
		td->buf[td->len++] = separator;
	for (int shift = 12; shift >= 0; shift -= 4)
		td->buf[td->len++] = digits[(value >> shift) & 0x0f];
}

/* Finishes the digest into hex digits (2 per digest byte); returns -1 when libcrypto fails. */
static int text_digest_finish(struct text_digest *td, size_t digest_size, char *hex)
{
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	int rc = -1;

	text_digest_flush(td);
	if (EVP_DigestFinal_ex(td->md, digest, &digest_len) == 1 && digest_len == digest_size) {
		tls_hex_encode(digest, digest_len, hex);
		rc = 0;
	}
	EVP_MD_CTX_free(td->md);
	td->md = NULL;
	return rc;
}

/* Appends the values of list (width 1 or 2 bytes) in decimal joined by "-", GREASE left out. */
static void tls_ja3_append_list(struct text_digest *td, struct cursor list, size_t width)
{
	char separator = '\0';

	while (cursor_remaining(&list) >= width) {
		uint16_t value = 0;
		uint8_t byte;

		if (width == 1 && cursor_u8(&list, &byte) == 0)
			value = byte;
		else if (width == 2 && cursor_be16(&list, &value) < 0)
			break;
		if (width == 2 && tls_is_grease(value))
			continue;
		text_digest_decimal(td, separator, value);
		separator = '-';
	}
}

/* Appends the extension types of an extensions block, as tls_ja3_append_list does. */
static void tls_ja3_append_extensions(struct text_digest *td, struct cursor block)
{
	char separator = '\0';
	uint16_t type;
	uint16_t len;

	while (cursor_be16(&block, &type) == 0 && cursor_be16(&block, &len) == 0) {
		if (cursor_skip(&block, len) < 0)
			break;
		if (tls_is_grease(type))
			continue;
		text_digest_decimal(td, separator, type);
		separator = '-';
	}
}

void tls_fingerprint_ja3(const struct tls_client_hello *ch, char out[33])
{
	struct text_digest td;

	out[0] = '\0';
	if (text_digest_begin(&td, false) < 0)
		return;
	text_digest_decimal(&td, '\0', ch->legacy_version);
	text_digest_char(&td, ',');
	tls_ja3_append_list(&td, ch->ciphers, 2);
	text_digest_char(&td, ',');
	tls_ja3_append_extensions(&td, ch->extensions);
	text_digest_char(&td, ',');
	tls_ja3_append_list(&td, ch->groups, 2);
	text_digest_char(&td, ',');
	tls_ja3_append_list(&td, ch->point_formats, 1);
	if (text_digest_finish(&td, 16, out) < 0)
		out[0] = '\0';
}

void tls_fingerprint_ja3s(const struct tls_server_hello *sh, char out[33])
{
	struct text_digest td;

	out[0] = '\0';
	if (text_digest_begin(&td, false) < 0)
		return;
	text_digest_decimal(&td, '\0', sh->legacy_version);
	text_digest_decimal(&td, ',', sh->cipher);
	text_digest_char(&td, ',');
	tls_ja3_append_extensions(&td, sh->extensions);
	if (text_digest_finish(&td, 16, out) < 0)
		out[0] = '\0';
}

/* Two-character version code of JA4, from the highest supported_versions value or legacy_version. */
static const char *tls_ja4_version(const struct tls_client_hello *ch)
{
	uint16_t version = ch->legacy_version;

	if (ch->has_supported_versions) {
		struct cursor list;
		struct cursor data = ch->extensions;
		uint16_t type;
		uint16_t len;
		uint16_t value;

		version = 0;
		while (cursor_be16(&data, &type) == 0 && cursor_be16(&data, &len) == 0 &&
		       cursor_sub(&data, len, &list) == 0) {
			uint8_t list_len;

			if (type != TLS_EXT_SUPPORTED_VERSIONS || cursor_u8(&list, &list_len) < 0)
				continue;
			while (cursor_be16(&list, &value) == 0) {
				if (!tls_is_grease(value) && value > version)
					version = value;
			}
		}
	}
	switch (version) {
	case 0x0304: return "13";
	case 0x0303: return "12";
	case 0x0302: return "11";
	case 0x0301: return "10";
	case 0x0300: return "s3";
	case 0x0002: return "s2";
	case 0xfeff: return "d1";
	case 0xfefd: return "d2";
	case 0xfefc: return "d3";
	default: return "00";
	}
}

static bool tls_is_alnum(uint8_t byte)
{
	return (byte >= '0' && byte <= '9') || (byte >= 'A' && byte <= 'Z') ||
	       (byte >= 'a' && byte <= 'z');
}

/* First and last character of the first ALPN value; hex digits when either is not alphanumeric. */
static void tls_ja4_alpn(const struct tls_client_hello *ch, char out[3])
{
	static const char digits[] = "0123456789abcdef";
	uint8_t first;
	uint8_t last;

	if (ch->alpn_first == NULL || ch->alpn_first_len == 0) {
		memcpy(out, "00", 3);
		return;
	}
	first = ch->alpn_first[0];
	last = ch->alpn_first[ch->alpn_first_len - 1];
	if (tls_is_alnum(first) && tls_is_alnum(last)) {
		out[0] = (char)first;
		out[1] = (char)last;
	} else {
		out[0] = digits[first >> 4];
		out[1] = digits[last & 0x0f];
	}
	out[2] = '\0';
}

static int tls_compare_u16(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a;
	uint16_t y = *(const uint16_t *)b;

	return (x > y) - (x < y);
}

/*
 * Collects the non-GREASE 2-byte values of list into a new sorted array.
 * With extension_block, list is an extensions block and SNI and ALPN are
 * left out as JA4 requires. Returns the count, or -1 when out of memory;
 * *out is owned by the caller (NULL when the count is 0).
 */
static int tls_ja4_collect(struct cursor list, bool extension_block, uint16_t **out)
{
	/* Every value takes at least 2 bytes of list, so this bounds the count by bytes present. */
	size_t room = list.len / 2;
	uint16_t *values = NULL;
	size_t count = 0;
	uint16_t value;
	uint16_t len;

	*out = NULL;
	if (room == 0)
		return 0;
	values = malloc(room * sizeof(*values));
	if (values == NULL)
		return -1;
	while (cursor_be16(&list, &value) == 0) {
		if (extension_block && (cursor_be16(&list, &len) < 0 || cursor_skip(&list, len) < 0))
			break;
		if (tls_is_grease(value))
			continue;
		if (extension_block && (value == TLS_EXT_SERVER_NAME || value == TLS_EXT_ALPN))
			continue;
		values[count++] = value;
	}
	if (count > 1)
		qsort(values, count, sizeof(*values), tls_compare_u16);
	*out = values;
	return (int)count;
}

/* Hashes values as comma-joined 4-digit hex; sig_algs (unsorted, GREASE left out) follow after "_". */
static void tls_ja4_hash(const uint16_t *values, size_t count, const struct cursor *sig_algs,
			 char out[JA4_HASH_LEN + 1])
{
	struct text_digest td;
	char hex[2 * 32 + 1];

	memcpy(out, JA4_EMPTY_HASH, JA4_HASH_LEN + 1);
	if (text_digest_begin(&td, true) < 0)
		return;
	for (size_t i = 0; i < count; i++)
		text_digest_hex4(&td, i == 0 ? '\0' : ',', values[i]);
	if (sig_algs != NULL) {
		struct cursor list = *sig_algs;
		uint16_t value;
		char separator = '_';

		while (cursor_be16(&list, &value) == 0) {
			if (tls_is_grease(value))
				continue;
			text_digest_hex4(&td, separator, value);
			separator = ',';
		}
	}
	if (text_digest_finish(&td, 32, hex) == 0) {
		memcpy(out, hex, JA4_HASH_LEN);
		out[JA4_HASH_LEN] = '\0';
	}
}

/* Counts the non-GREASE extensions of a block (SNI and ALPN included). */
static unsigned tls_ja4_count_extensions(struct cursor block)
{
	unsigned count = 0;
	uint16_t type;
	uint16_t len;

	while (cursor_be16(&block, &type) == 0 && cursor_be16(&block, &len) == 0 &&
	       cursor_skip(&block, len) == 0) {
		if (!tls_is_grease(type))
			count++;
	}
	return count;
}

void tls_fingerprint_ja4(const struct tls_client_hello *ch, char out[40])
{
	uint16_t *ciphers = NULL;
	uint16_t *extensions = NULL;
	int cipher_count = tls_ja4_collect(ch->ciphers, false, &ciphers);
	int extension_count = tls_ja4_collect(ch->extensions, true, &extensions);
	unsigned all_extensions = tls_ja4_count_extensions(ch->extensions);
	char cipher_hash[JA4_HASH_LEN + 1];
	char extension_hash[JA4_HASH_LEN + 1];
	char alpn[3];

	out[0] = '\0';
	if (cipher_count < 0 || extension_count < 0)
		goto out;
	memcpy(cipher_hash, JA4_EMPTY_HASH, sizeof(cipher_hash));
	memcpy(extension_hash, JA4_EMPTY_HASH, sizeof(extension_hash));
	if (cipher_count > 0)
		tls_ja4_hash(ciphers, (size_t)cipher_count, NULL, cipher_hash);
	if (extension_count > 0)
		tls_ja4_hash(extensions, (size_t)extension_count,
			     ch->sig_algs.len > 0 ? &ch->sig_algs : NULL, extension_hash);
	tls_ja4_alpn(ch, alpn);
	snprintf(out, 40, "t%s%c%02u%02u%s_%s_%s", tls_ja4_version(ch), ch->has_sni ? 'd' : 'i',
		 cipher_count > 99 ? 99u : (unsigned)cipher_count,
		 all_extensions > 99 ? 99u : all_extensions, alpn, cipher_hash, extension_hash);
out:
	free(ciphers);
	free(extensions);
}

/* A key under construction; overflowed when the inputs do not fit. */
struct fingerprint_key {
	size_t len;
	bool overflowed;
	uint8_t bytes[TLS_FINGERPRINT_KEY_MAX];
};

static void fingerprint_key_add(struct fingerprint_key *k, const void *data, size_t len)
{
	if (len == 0)
		return;
	if (k->overflowed || len > sizeof(k->bytes) - k->len) {
		k->overflowed = true;
		return;
	}
	memcpy(k->bytes + k->len, data, len);
	k->len += len;
}

/* Adds a length-prefixed byte string, so that two lists never run into each other. */
static void fingerprint_key_add_list(struct fingerprint_key *k, const uint8_t *data, size_t len)
{
	uint16_t prefix = (uint16_t)len;

	if (len > UINT16_MAX) {
		k->overflowed = true;
		return;
	}
	fingerprint_key_add(k, &prefix, sizeof(prefix));
	fingerprint_key_add(k, data, len);
}

/*
 * Collects what JA3 and JA4 read: the versions, the SNI flag, the cipher,
 * group, point format and signature algorithm lists, the extension types
 * in order and the first ALPN value. Extension contents such as key shares
 * differ between connections and are left out.
 */
static void fingerprint_key_build(const struct tls_client_hello *ch, struct fingerprint_key *k)
{
	const char *version = tls_ja4_version(ch);
	uint8_t flags = (uint8_t)((ch->has_sni ? 1 : 0) | (ch->has_supported_versions ? 2 : 0));
	struct cursor block = ch->extensions;
	uint8_t types[TLS_FINGERPRINT_KEY_MAX];
	size_t type_bytes = 0;
	uint16_t type;
	uint16_t len;

	k->len = 0;
	k->overflowed = false;
	fingerprint_key_add(k, &ch->legacy_version, sizeof(ch->legacy_version));
	fingerprint_key_add(k, version, 2);
	fingerprint_key_add(k, &flags, sizeof(flags));
	fingerprint_key_add_list(k, ch->ciphers.data + ch->ciphers.pos, cursor_remaining(&ch->ciphers));
	fingerprint_key_add_list(k, ch->groups.data + ch->groups.pos, cursor_remaining(&ch->groups));
	fingerprint_key_add_list(k, ch->point_formats.data + ch->point_formats.pos,
				 cursor_remaining(&ch->point_formats));
	fingerprint_key_add_list(k, ch->sig_algs.data + ch->sig_algs.pos, cursor_remaining(&ch->sig_algs));
	fingerprint_key_add_list(k, ch->alpn_first, ch->alpn_first != NULL ? ch->alpn_first_len : 0);

	/* The walk stops where the JA3 and JA4 walks stop: at the first extension that does not fit. */
	while (cursor_be16(&block, &type) == 0 && cursor_be16(&block, &len) == 0 && cursor_skip(&block, len) == 0) {
		if (type_bytes + 2 > sizeof(types)) {
			k->overflowed = true;
			return;
		}
		types[type_bytes++] = (uint8_t)(type >> 8);
		types[type_bytes++] = (uint8_t)type;
	}
	fingerprint_key_add_list(k, types, type_bytes);
}

/* Spreads keys over the slots; the slot compares the whole key. */
static uint32_t fingerprint_key_hash(const struct fingerprint_key *k)
{
	return fnv1a_32(k->bytes, k->len);
}

void tls_fingerprint_client(const struct tls_context *ctx, const struct tls_client_hello *ch, char ja3[33],
			    char ja4[40])
{
	struct tls_context *memo = (struct tls_context *)ctx;
	struct tls_fingerprint_memo_slot *slot = NULL;
	struct fingerprint_key key;
	bool hit = false;

	/* The context is shared read-only; only its memo changes, under its lock. */
	if (memo != NULL) {
		fingerprint_key_build(ch, &key);
		if (!key.overflowed)
			slot = &memo->fingerprints[fingerprint_key_hash(&key) % TLS_FINGERPRINT_MEMO_SLOTS];
	}
	if (slot != NULL) {
		pthread_mutex_lock(&memo->fingerprint_lock);
		if (slot->used && slot->key_len == key.len && memcmp(slot->key, key.bytes, key.len) == 0) {
			memcpy(ja3, slot->ja3, sizeof(slot->ja3));
			memcpy(ja4, slot->ja4, sizeof(slot->ja4));
			hit = true;
		}
		pthread_mutex_unlock(&memo->fingerprint_lock);
	}
	if (hit)
		return;

	tls_fingerprint_ja3(ch, ja3);
	tls_fingerprint_ja4(ch, ja4);
	if (slot != NULL) {
		pthread_mutex_lock(&memo->fingerprint_lock);
		slot->used = true;
		slot->key_len = (uint16_t)key.len;
		memcpy(slot->key, key.bytes, key.len);
		memcpy(slot->ja3, ja3, sizeof(slot->ja3));
		memcpy(slot->ja4, ja4, sizeof(slot->ja4));
		pthread_mutex_unlock(&memo->fingerprint_lock);
	}
}
