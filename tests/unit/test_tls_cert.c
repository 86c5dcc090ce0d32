/*
 * TLS Certificate message tests: certificates made here with libcrypto
 * (self-signed leaves, and a CA with a leaf it signed), wrapped in a TLS
 * 1.2 handshake and fed whole, split at every offset, byte by byte,
 * truncated and with lying lengths. Expected subject strings follow the
 * RFC 2253 rule (the last RDN of the sequence is written first).
 */
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/session.h"
#include "test.h"
#include "test_tls_build.h"
#include "tls/tls.h"
#include "tls/tls_cert.h"
#include "tls/tls_internal.h"

#define SNI "mail.example.org"
#define DAY 86400L

struct issued {
	X509 *cert;
	EVP_PKEY *key;
	uint8_t *der;
	int der_len;
};

static void add_extension(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL || X509_add_ext(x, ext, -1) != 1)
		abort();
	X509_EXTENSION_free(ext);
}

/*
 * Makes a certificate for cn valid from now + from_days to now + to_days,
 * signed by signer (self-signed when NULL). ca makes it a CA certificate.
 */
static struct issued make_cert(const char *cn, const struct issued *signer, bool ca, bool rsa, long from_days,
			       long to_days, long serial)
{
	struct issued out = {0};
	X509_NAME *name;
	unsigned char *p;

	out.key = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
	out.cert = X509_new();
	if (out.key == NULL || out.cert == NULL)
		abort();
	X509_set_version(out.cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(out.cert), serial);
	X509_gmtime_adj(X509_getm_notBefore(out.cert), from_days * DAY);
	X509_gmtime_adj(X509_getm_notAfter(out.cert), to_days * DAY);
	name = X509_get_subject_name(out.cert);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Example Mail", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(out.cert, signer != NULL ? X509_get_subject_name(signer->cert) : name);
	X509_set_pubkey(out.cert, out.key);
	if (ca) {
		add_extension(out.cert, signer != NULL ? signer->cert : out.cert, NID_basic_constraints,
			      "critical,CA:TRUE");
		add_extension(out.cert, signer != NULL ? signer->cert : out.cert, NID_key_usage,
			      "critical,keyCertSign,cRLSign");
	} else {
		char san[128];

		snprintf(san, sizeof(san), "DNS:%s", cn);
		add_extension(out.cert, signer != NULL ? signer->cert : out.cert, NID_subject_alt_name, san);
	}
	if (X509_sign(out.cert, signer != NULL ? signer->key : out.key, EVP_sha256()) == 0)
		abort();
	out.der_len = i2d_X509(out.cert, NULL);
	out.der = malloc((size_t)out.der_len);
	p = out.der;
	if (out.der == NULL || i2d_X509(out.cert, &p) != out.der_len)
		abort();
	return out;
}

static void issued_free(struct issued *c)
{
	X509_free(c->cert);
	EVP_PKEY_free(c->key);
	free(c->der);
}

/* Creates a context whose trust store contains exactly one certificate. */
static struct tls_context *context_trusting(const struct issued *root)
{
	struct tls_context *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		abort();
	pthread_mutex_init(&ctx->cache_lock, NULL);
	ctx->store = X509_STORE_new();
	ctx->store_tried = true; /* keep this store: no lazy load of the system one */
	if (ctx->store == NULL || X509_STORE_add_cert(ctx->store, root->cert) != 1)
		abort();
	return ctx;
}

/* Certificate message body for a chain of DER certificates. */
static void tb_certificate(struct tb *b, const struct issued *const *chain, size_t count)
{
	size_t list = tb_open(b, 3);

	for (size_t i = 0; i < count; i++) {
		tb_u24(b, (unsigned long)chain[i]->der_len);
		tb_bytes(b, chain[i]->der, (size_t)chain[i]->der_len);
	}
	tb_close(b, list, 3);
}

/* Server flight: ServerHello (TLS 1.2), Certificate, ServerHelloDone, in records of fragment bytes. */
static struct tb server_flight(const struct issued *const *chain, size_t count, size_t fragment)
{
	struct tb body = tb_new();
	struct tb msgs = tb_new();
	struct tb rec = tb_new();
	struct tb empty = tb_new();

	tb_server_hello(&body, 0x0303, 0xc02b, 0, false);
	tb_handshake(&msgs, 2, &body);
	body.len = 0;
	tb_certificate(&body, chain, count);
	tb_handshake(&msgs, 11, &body);
	tb_handshake(&msgs, 14, &empty);
	tb_records(&rec, 22, 0x0303, msgs.data, msgs.len, fragment);
	tb_free(&body);
	tb_free(&msgs);
	tb_free(&empty);
	return rec;
}

static struct tb client_hello_record(const char *sni)
{
	static const uint16_t suites[] = {0xc02b, 0xc02f};
	struct tb body = tb_new();
	struct tb msg = tb_new();
	struct tb rec = tb_new();

	if (sni != NULL)
		tb_client_hello_full(&body, sni);
	else
		tb_client_hello_plain(&body, 0x0303, suites, 2);
	tb_handshake(&msg, 1, &body);
	tb_records(&rec, 22, 0x0301, msg.data, msg.len, 16384);
	tb_free(&body);
	tb_free(&msg);
	return rec;
}

struct fixture {
	struct session s;
	struct event_sink sink;
	struct event_counter events;
	struct tls_parser *p;
};

static void fixture_init(struct fixture *f, const struct tls_context *ctx, enum app_proto proto, long clock_days)
{
	memset(f, 0, sizeof(*f));
	f->sink.emit = event_counter_emit;
	f->sink.ctx = &f->events;
	f->s.sink = &f->sink;
	f->s.app_proto = proto;
	f->s.evidence.seen[DIR_TO_SERVER] = true;
	f->s.evidence.seen[DIR_TO_CLIENT] = true;
	f->s.now_usec = (uint64_t)(time(NULL) + clock_days * DAY) * 1000000u;
	f->p = tls_parser_new(&f->s, ctx);
	if (f->p == NULL)
		abort();
}

static void fixture_free(struct fixture *f)
{
	tls_parser_free(f->p);
	session_release(&f->s);
}

/* Returns the session's certificate, or an empty one (after a failed check) so later checks fail cleanly. */
static const struct tls_cert_summary *cert_of(const struct fixture *f)
{
	static const struct tls_cert_summary missing;

	CHECK(f->s.tls.cert != NULL);
	return f->s.tls.cert != NULL ? f->s.tls.cert : &missing;
}

/* Runs a client hello and a server flight through a new parser. */
static void run_handshake(struct fixture *f, const char *sni, const struct tb *flight)
{
	struct tb ch = client_hello_record(sni);

	CHECK_EQ_INT(tls_parser_feed(f->p, DIR_TO_SERVER, ch.data, ch.len), 0);
	CHECK_EQ_INT(tls_parser_feed(f->p, DIR_TO_CLIENT, flight->data, flight->len), 0);
	tb_free(&ch);
}

static void test_cert_fields(void)
{
	time_t before = time(NULL);
	struct issued leaf = make_cert(SNI, NULL, false, false, -1, 30, 0x1234abcd);
	time_t after = time(NULL);
	const struct issued *chain[] = {&leaf};
	struct tb flight = server_flight(chain, 1, 16384);
	struct tls_context *ctx = tls_context_new();
	uint8_t digest[32];
	unsigned int digest_len = 0;
	char hex[65];
	struct fixture f;
	const struct tls_cert_summary *cert;

	CHECK(ctx != NULL);
	fixture_init(&f, ctx, APP_PROTO_SMTPS, 0);
	run_handshake(&f, SNI, &flight);
	cert = f.s.tls.cert;
	CHECK(cert != NULL);
	if (cert != NULL) {
		CHECK_EQ_MEM(cert->subject.data, cert->subject.len, "CN=mail.example.org,O=Example Mail", 34);
		CHECK_EQ_MEM(cert->issuer.data, cert->issuer.len, "CN=mail.example.org,O=Example Mail", 34);
		CHECK_EQ_MEM(cert->serial.data, cert->serial.len, "1234abcd", 8);
		CHECK(cert->not_before >= (uint64_t)(before - DAY));
		CHECK(cert->not_before <= (uint64_t)(after - DAY));
		CHECK(cert->not_after >= (uint64_t)(before + 30 * DAY));
		CHECK(cert->not_after <= (uint64_t)(after + 30 * DAY));
		CHECK_EQ_STR(cert->key_type, "EC");
		CHECK_EQ_INT(cert->key_bits, 256);
		CHECK_EQ_STR(cert->signature_algorithm, "ecdsa-with-SHA256");
		EVP_Digest(leaf.der, (size_t)leaf.der_len, digest, &digest_len, EVP_sha256(), NULL);
		for (unsigned i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", digest[i]);
		CHECK_EQ_STR(cert->sha256, hex);
		CHECK(cert->self_signed);
		CHECK_EQ_INT(cert->chain_length, 1);
		/* The system store does not trust a certificate made a moment ago. */
		CHECK(cert->chain_checked);
		CHECK(!cert->chain_valid);
		CHECK(strstr(cert->chain_error, "self") != NULL);
		CHECK(cert->hostname_checked);
		CHECK(cert->hostname_valid);
		CHECK_EQ_MEM(cert->hostname.data, cert->hostname.len, SNI, strlen(SNI));
	}
	CHECK(session_has_anomaly(&f.s, ANOMALY_CERTIFICATE_INVALID));
	CHECK_EQ_INT(f.events.count[EVENT_TLS_CERTIFICATE], 1);
	fixture_free(&f);
	tls_context_free(ctx);
	tb_free(&flight);
	issued_free(&leaf);
}

static void test_cert_rsa_key(void)
{
	struct issued leaf = make_cert(SNI, NULL, false, true, -1, 30, 7);
	const struct issued *chain[] = {&leaf};
	struct tb flight = server_flight(chain, 1, 16384);
	struct fixture f;

	fixture_init(&f, NULL, APP_PROTO_SMTPS, 0);
	run_handshake(&f, SNI, &flight);
	CHECK(f.s.tls.cert != NULL);
	if (f.s.tls.cert != NULL) {
		CHECK_EQ_STR(f.s.tls.cert->key_type, "RSA");
		CHECK_EQ_INT(f.s.tls.cert->key_bits, 2048);
		CHECK_EQ_STR(f.s.tls.cert->signature_algorithm, "sha256WithRSAEncryption");
		CHECK_EQ_MEM(f.s.tls.cert->serial.data, f.s.tls.cert->serial.len, "07", 2);
		/* Without a context there is no store, so the chain is not judged. */
		CHECK(!f.s.tls.cert->chain_checked);
	}
	CHECK(!session_has_anomaly(&f.s, ANOMALY_CERTIFICATE_INVALID));
	fixture_free(&f);
	tb_free(&flight);
	issued_free(&leaf);
}

/* A CA in the store and a leaf it signed: valid now, expired later, not yet valid earlier, name checked. */
static void test_cert_chain_time_and_name(void)
{
	struct issued root = make_cert("Example Test Root", NULL, true, false, -10, 3650, 1);
	struct issued leaf = make_cert(SNI, &root, false, false, -1, 30, 2);
	const struct issued *chain[] = {&leaf, &root};
	struct tb flight = server_flight(chain, 2, 16384);
	struct tls_context *ctx = context_trusting(&root);
	const struct tls_cert_summary *cert;
	struct fixture f;

	fixture_init(&f, ctx, APP_PROTO_SMTPS, 0);
	run_handshake(&f, SNI, &flight);
	cert = cert_of(&f);
	CHECK(cert->chain_valid);
	CHECK(cert->hostname_valid);
	CHECK_EQ_INT(cert->chain_length, 2);
	CHECK(!cert->self_signed);
	CHECK_EQ_STR(cert->chain_error, "");
	CHECK(!session_has_anomaly(&f.s, ANOMALY_CERTIFICATE_INVALID));
	fixture_free(&f);

	fixture_init(&f, ctx, APP_PROTO_SMTPS, 60);
	run_handshake(&f, SNI, &flight);
	cert = cert_of(&f);
	CHECK(!cert->chain_valid);
	CHECK(strstr(cert->chain_error, "expired") != NULL);
	CHECK(session_has_anomaly(&f.s, ANOMALY_CERTIFICATE_INVALID));
	fixture_free(&f);

	fixture_init(&f, ctx, APP_PROTO_SMTPS, -5);
	run_handshake(&f, SNI, &flight);
	cert = cert_of(&f);
	CHECK(strstr(cert->chain_error, "not yet valid") != NULL);
	fixture_free(&f);

	fixture_init(&f, ctx, APP_PROTO_SMTPS, 0);
	run_handshake(&f, "other.example.net", &flight);
	cert = cert_of(&f);
	CHECK(cert->chain_valid);
	CHECK(!cert->hostname_valid);
	CHECK_EQ_STR(cert->chain_error, "hostname mismatch");
	CHECK(session_has_anomaly(&f.s, ANOMALY_CERTIFICATE_INVALID));
	fixture_free(&f);

	tls_context_free(ctx);
	tb_free(&flight);
	issued_free(&leaf);
	issued_free(&root);
}

/* No SNI: SMTP checks the greeting host, IMAP checks nothing. */
static void test_cert_greeting_host(void)
{
	struct issued leaf = make_cert(SNI, NULL, false, false, -1, 30, 3);
	const struct issued *chain[] = {&leaf};
	struct tb flight = server_flight(chain, 1, 16384);
	const struct tls_cert_summary *cert;
	struct fixture f;

	fixture_init(&f, NULL, APP_PROTO_SMTP, 0);
	wire_text_set(&f.s.mail.greeting_host, SNI, strlen(SNI));
	run_handshake(&f, NULL, &flight);
	cert = cert_of(&f);
	CHECK(cert->hostname_checked);
	CHECK(cert->hostname_valid);
	fixture_free(&f);

	fixture_init(&f, NULL, APP_PROTO_SMTP, 0);
	wire_text_set(&f.s.mail.greeting_host, "mx.example.net", 14);
	run_handshake(&f, NULL, &flight);
	cert = cert_of(&f);
	CHECK(cert->hostname_checked);
	CHECK(!cert->hostname_valid);
	CHECK(session_has_anomaly(&f.s, ANOMALY_CERTIFICATE_INVALID));
	fixture_free(&f);

	fixture_init(&f, NULL, APP_PROTO_IMAP, 0);
	wire_text_set(&f.s.mail.greeting_host, SNI, strlen(SNI));
	run_handshake(&f, NULL, &flight);
	cert = cert_of(&f);
	CHECK(!cert->hostname_checked);
	fixture_free(&f);
	tb_free(&flight);
	issued_free(&leaf);
}

static void test_cert_split(void)
{
	struct issued leaf = make_cert(SNI, NULL, false, false, -1, 30, 4);
	const struct issued *chain[] = {&leaf};
	struct tb flight = server_flight(chain, 1, 16384);
	struct tb small_records = server_flight(chain, 1, 37);
	struct tb ch = client_hello_record(SNI);
	unsigned wrong = 0;

	for (size_t k = 1; k < flight.len; k++) {
		struct fixture f;

		fixture_init(&f, NULL, APP_PROTO_SMTPS, 0);
		tls_parser_feed(f.p, DIR_TO_SERVER, ch.data, ch.len);
		tls_parser_feed(f.p, DIR_TO_CLIENT, flight.data, k);
		tls_parser_feed(f.p, DIR_TO_CLIENT, flight.data + k, flight.len - k);
		if (f.s.tls.cert == NULL || f.s.tls.cert->key_bits != 256 || f.events.count[EVENT_TLS_CERTIFICATE] != 1)
			wrong++;
		fixture_free(&f);
	}
	CHECK_EQ_INT(wrong, 0);

	{
		struct fixture f;

		fixture_init(&f, NULL, APP_PROTO_SMTPS, 0);
		tls_parser_feed(f.p, DIR_TO_SERVER, ch.data, ch.len);
		for (size_t i = 0; i < small_records.len; i++)
			tls_parser_feed(f.p, DIR_TO_CLIENT, small_records.data + i, 1);
		CHECK(cert_of(&f)->self_signed);
		fixture_free(&f);
	}
	tb_free(&flight);
	tb_free(&small_records);
	tb_free(&ch);
	issued_free(&leaf);
}

static void test_cert_truncated(void)
{
	struct issued leaf = make_cert(SNI, NULL, false, false, -1, 30, 5);
	const struct issued *chain[] = {&leaf};
	struct tb flight = server_flight(chain, 1, 16384);
	struct tb ch = client_hello_record(SNI);
	/* ServerHello record: 5-byte header + 4-byte handshake header + body; the Certificate follows it. */
	unsigned claimed = 0;

	for (size_t t = 0; t < flight.len - 4; t++) {
		struct fixture f;

		fixture_init(&f, NULL, APP_PROTO_SMTPS, 0);
		tls_parser_feed(f.p, DIR_TO_SERVER, ch.data, ch.len);
		tls_parser_feed(f.p, DIR_TO_CLIENT, flight.data, t);
		if (f.s.tls.cert != NULL || f.events.count[EVENT_TLS_CERTIFICATE] != 0)
			claimed++;
		fixture_free(&f);
	}
	CHECK_EQ_INT(claimed, 0);
	tb_free(&flight);
	tb_free(&ch);
	issued_free(&leaf);
}

/* Lengths inside the Certificate message that lie: no certificate, an inconclusive mark, no crash. */
static void test_cert_lying_lengths(void)
{
	struct issued leaf = make_cert(SNI, NULL, false, false, -1, 30, 6);
	const struct issued *chain[] = {&leaf};
	struct tb flight = server_flight(chain, 1, 16384);
	struct tb ch = client_hello_record(SNI);
	/* Record header (5), ServerHello message, then the Certificate's handshake header (4). */
	size_t list_at = 5 + 4 + ((size_t)flight.data[7] << 8 | flight.data[8]) + 4;
	size_t entry_at = list_at + 3;
	const struct {
		size_t offset;
		int delta;
	} cases[] = {{list_at, 1}, {list_at, -1}, {entry_at, 1}, {entry_at, -1}, {entry_at, -(int)leaf.der_len}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tb copy = tb_new();
		struct fixture f;
		unsigned long value;

		tb_bytes(&copy, flight.data, flight.len);
		value = ((unsigned long)copy.data[cases[i].offset] << 16) | ((unsigned long)copy.data[cases[i].offset + 1] << 8) |
			copy.data[cases[i].offset + 2];
		value = (unsigned long)((long)value + cases[i].delta);
		copy.data[cases[i].offset] = (uint8_t)(value >> 16);
		copy.data[cases[i].offset + 1] = (uint8_t)(value >> 8);
		copy.data[cases[i].offset + 2] = (uint8_t)value;
		fixture_init(&f, NULL, APP_PROTO_SMTPS, 0);
		run_handshake(&f, SNI, &copy);
		CHECK(f.s.tls.cert == NULL);
		CHECK(f.s.evidence.inconclusive != NULL);
		CHECK_EQ_INT(f.events.count[EVENT_TLS_CERTIFICATE], 0);
		fixture_free(&f);
		tb_free(&copy);
	}
	tb_free(&flight);
	tb_free(&ch);
	issued_free(&leaf);
}

/* DER bytes flipped one at a time: whatever libcrypto makes of them, nothing crashes. */
static void test_cert_corrupted_der(void)
{
	struct issued leaf = make_cert(SNI, NULL, false, false, -1, 30, 8);
	const struct issued *chain[] = {&leaf};
	struct tb flight = server_flight(chain, 1, 16384);
	size_t der_at = (size_t)((uint8_t *)memmem(flight.data, flight.len, leaf.der, (size_t)leaf.der_len) - flight.data);
	unsigned parsed = 0;

	for (int i = 0; i < leaf.der_len; i++) {
		struct tb copy = tb_new();
		struct fixture f;

		tb_bytes(&copy, flight.data, flight.len);
		copy.data[der_at + (size_t)i] ^= 0x5a;
		fixture_init(&f, NULL, APP_PROTO_SMTPS, 0);
		run_handshake(&f, SNI, &copy);
		if (f.s.tls.cert != NULL)
			parsed++;
		fixture_free(&f);
		tb_free(&copy);
	}
	CHECK(parsed < (unsigned)leaf.der_len);
	tb_free(&flight);
	issued_free(&leaf);
}

/* After a TLS 1.3 ServerHello the certificate cannot be seen. */
static void test_cert_tls13(void)
{
	struct tb body = tb_new();
	struct tb msg = tb_new();
	struct tb sh = tb_new();
	struct tb ch = client_hello_record(SNI);
	struct fixture f;

	tb_server_hello(&body, 0x0303, 0x1301, 0x0304, false);
	tb_handshake(&msg, 2, &body);
	tb_records(&sh, 22, 0x0303, msg.data, msg.len, 16384);
	fixture_init(&f, NULL, APP_PROTO_SMTPS, 0);
	CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, ch.data, ch.len), 0);
	CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_CLIENT, sh.data, sh.len), 0);
	CHECK(f.s.tls.certificate_not_observable);
	CHECK(f.s.tls.cert == NULL);
	CHECK_EQ_INT(f.events.count[EVENT_TLS_CERTIFICATE], 0);
	fixture_free(&f);
	tb_free(&body);
	tb_free(&msg);
	tb_free(&sh);
	tb_free(&ch);
}

int main(void)
{
	test_cert_fields();
	test_cert_rsa_key();
	test_cert_chain_time_and_name();
	test_cert_greeting_host();
	test_cert_split();
	test_cert_truncated();
	test_cert_lying_lengths();
	test_cert_corrupted_der();
	test_cert_tls13();
	return test_finish("test_tls_cert");
}
