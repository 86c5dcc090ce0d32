/*
 * Certificate message of TLS 1.2 and earlier (RFC 5246 section 7.4.2).
 * libcrypto parses the leaf certificate's facts and checks the chain
 * against the system trust store at the capture's time (RFC 5280 path
 * validation as OpenSSL implements it). X509_check_host checks the name
 * against the expected host (RFC 6125 rules).
 */
#include "tls/tls_cert.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/limits.h"
#include "tls/tls_internal.h"

void tls_cert_summary_free(struct tls_cert_summary *cert)
{
	free(cert);
}

int tls_cert_load_store(struct tls_context *ctx)
{
	/* The store itself is loaded on first use: many runs never see a certificate. */
	pthread_mutex_init(&ctx->cache_lock, NULL);
	ctx->store = NULL;
	ctx->store_tried = false;
	return 0;
}

/*
 * Adds the system's hashed certificate directory (c_rehash layout, as
 * Debian's update-ca-certificates writes it) as the only lookup. OpenSSL
 * then reads just the CA files whose subject hash an issuer lookup
 * requests. Parsing the whole bundle before the first verdict cost about
 * 200 million instructions for Debian 12's roughly 140 CAs (callgrind).
 * Returns -1 when the directory has no hashed names, so the caller falls
 * back to the bundle file.
 */
static int tls_cert_store_add_hashed_dir(X509_STORE *store)
{
	const char *dir = getenv(X509_get_default_cert_dir_env());
	X509_LOOKUP *lookup;
	char probe[4096];
	struct stat st;
	DIR *d;
	struct dirent *entry;
	bool hashed = false;

	if (dir == NULL || dir[0] == '\0')
		dir = X509_get_default_cert_dir();
	/* A directory without hashed names (not rehashed) would make every chain look untrusted. */
	d = opendir(dir);
	if (d == NULL)
		return -1;
	while (!hashed && (entry = readdir(d)) != NULL) {
		size_t n = strlen(entry->d_name);

		hashed = n == 10 && entry->d_name[8] == '.' && strspn(entry->d_name, "0123456789abcdef") == 8;
		if (hashed && (snprintf(probe, sizeof(probe), "%s/%s", dir, entry->d_name) >= (int)sizeof(probe) ||
			       stat(probe, &st) != 0))
			hashed = false;
	}
	closedir(d);
	if (!hashed)
		return -1;
	lookup = X509_STORE_add_lookup(store, X509_LOOKUP_hash_dir());
	if (lookup == NULL || X509_LOOKUP_add_dir(lookup, dir, X509_FILETYPE_PEM) != 1)
		return -1;
	return 0;
}

/*
 * Returns the trust store, loading it the first time a chain needs it, or
 * NULL when the system store cannot be read (chains are then not checked).
 * The hashed directory comes first, then the bundle file, then the default
 * paths. The default paths alone would add OpenSSL 3's store lookup, which
 * rereads the directory on every issuer lookup.
 */
static X509_STORE *tls_cert_store_get(struct tls_context *ctx)
{
	X509_STORE *store;

	pthread_mutex_lock(&ctx->cache_lock);
	if (!ctx->store_tried) {
		ctx->store_tried = true;
		store = X509_STORE_new();
		if (store != NULL && tls_cert_store_add_hashed_dir(store) != 0 &&
		    X509_STORE_load_file(store, X509_get_default_cert_file()) != 1 &&
		    X509_STORE_set_default_paths(store) != 1) {
			X509_STORE_free(store);
			store = NULL;
		}
		ctx->store = store;
	}
	store = ctx->store;
	pthread_mutex_unlock(&ctx->cache_lock);
	return store;
}

void tls_cert_free_store(struct tls_context *ctx)
{
	X509_STORE_free(ctx->store);
	ctx->store = NULL;
	for (unsigned i = 0; i < TLS_CERT_CACHE_SLOTS; i++) {
		free(ctx->cache[i].summary);
		ctx->cache[i].summary = NULL;
		ctx->cache[i].used = false;
	}
	pthread_mutex_destroy(&ctx->cache_lock);
}

/* Hashes what decides a verdict: the message bytes, the name checked and the day of the check. */
static int tls_cert_cache_key(const uint8_t *body, size_t len, const struct tls_cert_check *check,
			      unsigned char key[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t day = check->now_usec / 1000000u / 86400u;
	unsigned int key_len = 0;
	int ok;

	if (md == NULL)
		return -1;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(md, body, len) == 1 &&
	     EVP_DigestUpdate(md, &day, sizeof(day)) == 1 &&
	     EVP_DigestUpdate(md, check->hostname != NULL ? check->hostname : "", check->hostname_len) == 1 &&
	     EVP_DigestFinal_ex(md, key, &key_len) == 1 && key_len == 32;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

static struct tls_cert_cache_slot *tls_cert_cache_slot(struct tls_context *ctx, const unsigned char key[32])
{
	uint32_t index;

	memcpy(&index, key, sizeof(index));
	return &ctx->cache[index % TLS_CERT_CACHE_SLOTS];
}

/* Returns a fresh copy of a remembered summary, or NULL on a miss. */
static struct tls_cert_summary *tls_cert_cache_get(struct tls_context *ctx, const unsigned char key[32])
{
	struct tls_cert_summary *copy = NULL;
	struct tls_cert_cache_slot *slot;

	pthread_mutex_lock(&ctx->cache_lock);
	slot = tls_cert_cache_slot(ctx, key);
	if (slot->used && memcmp(slot->key, key, 32) == 0) {
		copy = malloc(sizeof(*copy));
		if (copy != NULL)
			*copy = *slot->summary;
	}
	if (copy != NULL)
		ctx->cache_hits++;
	else
		ctx->cache_misses++;
	pthread_mutex_unlock(&ctx->cache_lock);
	return copy;
}

static void tls_cert_cache_put(struct tls_context *ctx, const unsigned char key[32],
			       const struct tls_cert_summary *cert)
{
	struct tls_cert_summary *copy = malloc(sizeof(*copy));
	struct tls_cert_cache_slot *slot;

	if (copy == NULL)
		return;
	*copy = *cert;
	pthread_mutex_lock(&ctx->cache_lock);
	slot = tls_cert_cache_slot(ctx, key);
	free(slot->summary);
	slot->summary = copy;
	memcpy(slot->key, key, 32);
	slot->used = true;
	pthread_mutex_unlock(&ctx->cache_lock);
}

/* Writes an X.509 name in RFC 2253 form. */
static void tls_cert_name(const X509_NAME *name, struct wire_text *out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *text = NULL;
	long len;

	out->len = 0;
	if (bio == NULL)
		return;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
		len = BIO_get_mem_data(bio, &text);
		if (len > 0 && text != NULL)
			wire_text_set(out, text, (size_t)len);
	}
	BIO_free(bio);
}

static void tls_cert_serial(X509 *x, struct wire_text *out)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex;

	out->len = 0;
	if (bn == NULL)
		return;
	hex = BN_bn2hex(bn);
	if (hex != NULL) {
		for (char *p = hex; *p != '\0'; p++) {
			if (*p >= 'A' && *p <= 'F')
				*p = (char)(*p - 'A' + 'a');
		}
		wire_text_set(out, hex, strlen(hex));
		OPENSSL_free(hex);
	}
	BN_free(bn);
}

static uint64_t tls_cert_time(const ASN1_TIME *t)
{
	struct tm tm;
	time_t seconds;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	seconds = timegm(&tm);
	return seconds > 0 ? (uint64_t)seconds : 0;
}

static void tls_cert_key(X509 *x, struct tls_cert_summary *cert)
{
	EVP_PKEY *key = X509_get0_pubkey(x);
	const char *type;

	if (key == NULL)
		return;
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_RSA: type = "RSA"; break;
	case EVP_PKEY_RSA_PSS: type = "RSA-PSS"; break;
	case EVP_PKEY_EC: type = "EC"; break;
	case EVP_PKEY_DSA: type = "DSA"; break;
	case EVP_PKEY_DH: type = "DH"; break;
	case EVP_PKEY_ED25519: type = "Ed25519"; break;
	case EVP_PKEY_ED448: type = "Ed448"; break;
	default: type = "unknown"; break;
	}
	snprintf(cert->key_type, sizeof(cert->key_type), "%s", type);
	cert->key_bits = (uint32_t)EVP_PKEY_get_bits(key);
}

/* Fills the facts read from the leaf alone. */
static void tls_cert_describe(X509 *x, const uint8_t *der, size_t der_len, struct tls_cert_summary *cert)
{
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	int nid = X509_get_signature_nid(x);
	static const char digits[] = "0123456789abcdef";

	tls_cert_name(X509_get_subject_name(x), &cert->subject);
	tls_cert_name(X509_get_issuer_name(x), &cert->issuer);
	tls_cert_serial(x, &cert->serial);
	cert->not_before = tls_cert_time(X509_get0_notBefore(x));
	cert->not_after = tls_cert_time(X509_get0_notAfter(x));
	tls_cert_key(x, cert);
	snprintf(cert->signature_algorithm, sizeof(cert->signature_algorithm), "%s",
		 nid != NID_undef ? OBJ_nid2ln(nid) : "unknown");
	if (EVP_Digest(der, der_len, digest, &digest_len, EVP_sha256(), NULL) == 1 && digest_len == 32) {
		for (unsigned i = 0; i < digest_len; i++) {
			cert->sha256[2 * i] = digits[digest[i] >> 4];
			cert->sha256[2 * i + 1] = digits[digest[i] & 0x0f];
		}
		cert->sha256[64] = '\0';
	}
	cert->self_signed = X509_self_signed(x, 1) == 1;
}

/* Validates the chain (leaf plus the untrusted certificates sent with it) at the capture's time. */
static void tls_cert_verify_chain(X509 *leaf, STACK_OF(X509) *untrusted,
				  const struct tls_cert_check *check, struct tls_cert_summary *cert)
{
	X509_STORE_CTX *store_ctx;
	X509_STORE *store;

	/* The context is shared read-only; only its lazily loaded store and memo change, under its lock. */
	if (check->ctx == NULL)
		return;
	store = tls_cert_store_get((struct tls_context *)check->ctx);
	if (store == NULL)
		return;
	store_ctx = X509_STORE_CTX_new();
	if (store_ctx == NULL)
		return;
	if (X509_STORE_CTX_init(store_ctx, store, leaf, untrusted) == 1) {
		if (check->now_usec != 0)
			X509_STORE_CTX_set_time(store_ctx, 0, (time_t)(check->now_usec / 1000000u));
		cert->chain_checked = true;
		cert->chain_valid = X509_verify_cert(store_ctx) == 1;
		if (!cert->chain_valid)
			snprintf(cert->chain_error, sizeof(cert->chain_error), "%s",
				 X509_verify_cert_error_string(X509_STORE_CTX_get_error(store_ctx)));
	}
	X509_STORE_CTX_free(store_ctx);
}

static void tls_cert_verify_name(X509 *leaf, const struct tls_cert_check *check,
				 struct tls_cert_summary *cert)
{
	if (check->hostname == NULL || check->hostname_len == 0)
		return;
	wire_text_set(&cert->hostname, check->hostname, check->hostname_len);
	cert->hostname_checked = true;
	cert->hostname_valid = X509_check_host(leaf, check->hostname, check->hostname_len, 0, NULL) == 1;
	if (!cert->hostname_valid && cert->chain_error[0] == '\0')
		snprintf(cert->chain_error, sizeof(cert->chain_error), "hostname mismatch");
}

/*
 * Decodes up to LIMIT_TLS_CERTIFICATES DER certificates from the list.
 * The first goes to *leaf (with its DER bytes), the rest to chain.
 * Returns the number of certificates in the message, or -1 when malformed.
 */
static int tls_cert_decode_list(struct cursor *list, X509 **leaf, const uint8_t **leaf_der,
				size_t *leaf_der_len, STACK_OF(X509) *chain)
{
	int count = 0;

	while (cursor_remaining(list) > 0) {
		uint32_t der_len;
		const uint8_t *der;
		const unsigned char *p;
		X509 *x;

		if (cursor_be24(list, &der_len) < 0 || der_len == 0 || cursor_bytes(list, der_len, &der) < 0)
			return -1;
		count++;
		/* Certificates past the cap are counted, not decoded. */
		if ((unsigned)count > LIMIT_TLS_CERTIFICATES)
			continue;
		p = der;
		x = d2i_X509(NULL, &p, (long)der_len);
		if (x == NULL) {
			if (count == 1)
				return -1;
			continue;
		}
		if (count == 1) {
			*leaf = x;
			*leaf_der = der;
			*leaf_der_len = der_len;
		} else if (sk_X509_push(chain, x) == 0) {
			X509_free(x);
		}
	}
	return count;
}

struct tls_cert_summary *tls_cert_parse_message(const uint8_t *body, size_t len,
						const struct tls_cert_check *check)
{
	struct cursor c;
	struct cursor list;
	uint32_t list_len;
	X509 *leaf = NULL;
	const uint8_t *leaf_der = NULL;
	size_t leaf_der_len = 0;
	STACK_OF(X509) *chain = sk_X509_new_null();
	struct tls_cert_summary *cert = NULL;
	struct tls_context *cache_ctx = NULL;
	unsigned char key[32];
	bool keyed = false;
	int count;

	/* The context is shared read-only; only its memo of verdicts changes, under its lock. */
	if (check->ctx != NULL && tls_cert_store_get((struct tls_context *)check->ctx) != NULL) {
		cache_ctx = (struct tls_context *)check->ctx;
		if (tls_cert_cache_key(body, len, check, key) == 0) {
			keyed = true;
			cert = tls_cert_cache_get(cache_ctx, key);
			if (cert != NULL)
				goto out;
		}
	}
	cursor_init(&c, body, len);
	if (chain == NULL || cursor_be24(&c, &list_len) < 0 || cursor_sub(&c, list_len, &list) < 0)
		goto out;
	count = tls_cert_decode_list(&list, &leaf, &leaf_der, &leaf_der_len, chain);
	if (count <= 0 || leaf == NULL)
		goto out;
	cert = calloc(1, sizeof(*cert));
	if (cert == NULL)
		goto out;
	cert->chain_length = (uint32_t)count;
	tls_cert_describe(leaf, leaf_der, leaf_der_len, cert);
	tls_cert_verify_chain(leaf, chain, check, cert);
	tls_cert_verify_name(leaf, check, cert);
	if (keyed)
		tls_cert_cache_put(cache_ctx, key, cert);
out:
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	return cert;
}
