/*
 * TLS analyzer unit tests on handshakes built here: ClientHello with every
 * extension the analyzer reads, ServerHello for TLS 1.2 and 1.3,
 * HelloRetryRequest, alerts, SSL 2.0 hellos. Each is fed whole, split at
 * every offset, byte by byte, truncated at every offset, with lengths that
 * lie and with mutated bytes.
 *
 * Expected JA3/JA3S values are the MD5 of JA3 strings written out by hand
 * from the JA3 method (shown next to each). The expected JA4 value is the
 * example of FoxIO's JA4 specification, because the full ClientHello
 * carries the same cipher, extension and signature algorithm lists.
 */
#include <string.h>

#include "core/limits.h"
#include "core/session.h"
#include "test.h"
#include "test_tls_build.h"
#include "tls/tls.h"

/* t13d1516h2_8daaf6152771_e5627efa2ab1: the example fingerprint of the JA4 specification. */
#define FULL_JA4 "t13d1516h2_8daaf6152771_e5627efa2ab1"
/* MD5 of "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,
 * 27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,29-23-24,0". */
#define FULL_JA3 "c000e2caf3a25423f9de6c8a4b12a975"
/* MD5 of "771,4866,43-51". */
#define TLS13_JA3S "15af977ce25de452b96affa2addb1036"
/* MD5 of "771,49199,65281-11". */
#define TLS12_JA3S "303951d4c50efb2e991652225a6f02b1"
/* MD5 of "769,47-53-10-22016,,,". */
#define PLAIN_JA3 "d54fdfb8d7c5767c8544bf9fcc0f567e"
/* JA4 of that hello: TLS 1.0, no SNI, 4 suites, no extensions, no ALPN; then the first
 * 12 hex digits of SHA-256("000a,002f,0035,5600"), and the all-zero hash for no extensions. */
#define PLAIN_JA4 "t10i040000_45084c988c05_000000000000"

#define SNI "mail.example.org"

struct fixture {
	struct session s;
	struct event_sink sink;
	struct event_counter events;
	struct tls_parser *p;
};

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->sink.emit = event_counter_emit;
	f->sink.ctx = &f->events;
	f->s.sink = &f->sink;
	f->s.app_proto = APP_PROTO_SMTPS;
	f->s.evidence.seen[DIR_TO_SERVER] = true;
	f->s.evidence.seen[DIR_TO_CLIENT] = true;
	f->p = tls_parser_new(&f->s, NULL);
	if (f->p == NULL)
		abort();
}

static void fixture_free(struct fixture *f)
{
	tls_parser_free(f->p);
	session_release(&f->s);
}

static int feed(struct fixture *f, enum direction dir, const struct tb *b)
{
	return tls_parser_feed(f->p, dir, b->data, b->len);
}

/* The full ClientHello in records of at most fragment bytes. */
static struct tb record_client_hello(const char *sni, size_t fragment)
{
	struct tb body = tb_new();
	struct tb msg = tb_new();
	struct tb rec = tb_new();

	tb_client_hello_full(&body, sni);
	tb_handshake(&msg, 1, &body);
	tb_records(&rec, 22, 0x0301, msg.data, msg.len, fragment);
	tb_free(&body);
	tb_free(&msg);
	return rec;
}

static struct tb record_server_hello(unsigned legacy, unsigned cipher, unsigned selected, bool hrr)
{
	struct tb body = tb_new();
	struct tb msg = tb_new();
	struct tb rec = tb_new();

	tb_server_hello(&body, legacy, cipher, selected, hrr);
	tb_handshake(&msg, 2, &body);
	tb_records(&rec, 22, 0x0303, msg.data, msg.len, 16384);
	tb_free(&body);
	tb_free(&msg);
	return rec;
}

static struct tb record_bytes(unsigned type, const uint8_t *data, size_t len)
{
	struct tb rec = tb_new();

	tb_records(&rec, type, 0x0303, data, len, 16384);
	return rec;
}

static size_t find_bytes(const struct tb *b, const void *pattern, size_t len)
{
	const uint8_t *at = memmem(b->data, b->len, pattern, len);

	if (at == NULL)
		abort();
	return (size_t)(at - b->data);
}

static void check_full_client_hello(const struct tls_summary *t)
{
	CHECK(t->client_hello_seen);
	CHECK_EQ_INT(t->hello_format, TLS_HELLO_FORMAT_TLS);
	CHECK_EQ_INT(t->record_version, 0x0301);
	CHECK_EQ_INT(t->client_legacy_version, 0x0303);
	CHECK_EQ_INT(t->client_versions_count, 2);
	CHECK_EQ_INT(t->client_versions[0], 0x0304);
	CHECK_EQ_INT(t->client_versions[1], 0x0303);
	CHECK_EQ_INT(t->client_max_version, 0x0304);
	CHECK_EQ_INT(t->client_cipher_count, 15);
	CHECK(!t->fallback_scsv);
	CHECK_EQ_MEM(t->sni.data, t->sni.len, SNI, strlen(SNI));
	CHECK_EQ_INT(t->alpn_count, 2);
	CHECK_EQ_STR(t->alpn[0], "h2");
	CHECK_EQ_STR(t->alpn[1], "http/1.1");
	CHECK_EQ_STR(t->ja3, FULL_JA3);
	CHECK_EQ_STR(t->ja4, FULL_JA4);
}

static void test_detect_record(void)
{
	static const uint8_t handshake[] = {0x16, 0x03, 0x01};
	static const uint8_t alert[] = {0x15, 0x03, 0x03};
	static const uint8_t tls13_record[] = {0x16, 0x03, 0x04};
	static const uint8_t sslv2_hello[] = {0x80, 0x2e, 0x01};
	static const uint8_t sslv2_server[] = {0x83, 0xb4, 0x04};
	static const uint8_t sslv2_other[] = {0x80, 0x2e, 0x02};
	static const uint8_t app_data[] = {0x17, 0x03, 0x03};
	static const uint8_t bad_minor[] = {0x16, 0x03, 0x05};
	static const uint8_t smtp[] = {'2', '2', '0'};

	CHECK_EQ_INT(tls_detect_record(handshake, 3), 1);
	CHECK_EQ_INT(tls_detect_record(alert, 3), 1);
	CHECK_EQ_INT(tls_detect_record(tls13_record, 3), 1);
	CHECK_EQ_INT(tls_detect_record(sslv2_hello, 3), 1);
	CHECK_EQ_INT(tls_detect_record(sslv2_server, 3), 1);
	CHECK_EQ_INT(tls_detect_record(sslv2_other, 3), 0);
	CHECK_EQ_INT(tls_detect_record(app_data, 3), 0);
	CHECK_EQ_INT(tls_detect_record(bad_minor, 3), 0);
	CHECK_EQ_INT(tls_detect_record(smtp, 3), 0);
	CHECK_EQ_INT(tls_detect_record(smtp, 1), 0);
	CHECK_EQ_INT(tls_detect_record(handshake, 0), -1);
	CHECK_EQ_INT(tls_detect_record(handshake, 1), -1);
	CHECK_EQ_INT(tls_detect_record(handshake, 2), -1);
	CHECK_EQ_INT(tls_detect_record(sslv2_hello, 2), -1);
}

static void test_client_hello_whole(void)
{
	struct fixture f;
	struct tb rec = record_client_hello(SNI, 16384);

	fixture_init(&f);
	CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &rec), 0);
	check_full_client_hello(&f.s.tls);
	CHECK_EQ_INT(f.events.count[EVENT_TLS_CLIENT_HELLO], 1);
	CHECK_EQ_INT(f.events.last_aux[EVENT_TLS_CLIENT_HELLO], 1);
	CHECK_EQ_INT(f.s.anomalies, 0);
	CHECK(!tls_parser_is_done(f.p));
	fixture_free(&f);
	tb_free(&rec);
}

static void test_client_hello_split(void)
{
	struct tb rec = record_client_hello(SNI, 16384);

	for (size_t k = 1; k < rec.len; k++) {
		struct fixture f;

		fixture_init(&f);
		CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, rec.data, k), 0);
		CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, rec.data + k, rec.len - k), 0);
		CHECK_EQ_STR(f.s.tls.ja4, FULL_JA4);
		CHECK_EQ_STR(f.s.tls.ja3, FULL_JA3);
		CHECK_EQ_MEM(f.s.tls.sni.data, f.s.tls.sni.len, SNI, strlen(SNI));
		CHECK_EQ_INT(f.events.count[EVENT_TLS_CLIENT_HELLO], 1);
		fixture_free(&f);
	}
	tb_free(&rec);
}

static void test_client_hello_byte_by_byte(void)
{
	struct fixture f;
	struct tb rec = record_client_hello(SNI, 16384);

	fixture_init(&f);
	for (size_t i = 0; i < rec.len; i++)
		CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, rec.data + i, 1), 0);
	check_full_client_hello(&f.s.tls);
	fixture_free(&f);
	tb_free(&rec);
}

/* The message spread over records of 1 to 40 bytes: handshake reassembly across records. */
static void test_client_hello_fragmented(void)
{
	for (size_t fragment = 1; fragment <= 40; fragment++) {
		struct fixture f;
		struct tb rec = record_client_hello(SNI, fragment);

		fixture_init(&f);
		CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &rec), 0);
		CHECK_EQ_STR(f.s.tls.ja4, FULL_JA4);
		CHECK_EQ_INT(f.s.tls.client_cipher_count, 15);
		fixture_free(&f);
		tb_free(&rec);
	}
}

/* JA4's ALPN part uses hex digits when the first or last byte is not alphanumeric (the spec's own examples). */
static void test_ja4_alpn_hex(void)
{
	static const struct {
		uint8_t first;
		uint8_t last;
		const char *ja4;
	} cases[] = {
		{0x30, 0xab, "t13d15163b_8daaf6152771_e5627efa2ab1"},
		{0xab, 0xcd, "t13d1516ad_8daaf6152771_e5627efa2ab1"},
		{'h', '2', FULL_JA4},
	};
	struct tb rec = record_client_hello(SNI, 16384);
	size_t name = find_bytes(&rec, "\x02h2\x08", 4) + 1;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture f;

		rec.data[name] = cases[i].first;
		rec.data[name + 1] = cases[i].last;
		fixture_init(&f);
		CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &rec), 0);
		CHECK_EQ_STR(f.s.tls.ja4, cases[i].ja4);
		fixture_free(&f);
	}
	tb_free(&rec);
}

static void test_client_hello_truncated(void)
{
	struct tb rec = record_client_hello(SNI, 16384);

	for (size_t t = 0; t < rec.len; t++) {
		struct fixture f;

		fixture_init(&f);
		CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, rec.data, t), 0);
		CHECK(!f.s.tls.client_hello_seen);
		CHECK_EQ_INT(f.events.count[EVENT_TLS_CLIENT_HELLO], 0);
		tls_parser_finish(f.p);
		CHECK(!session_has_anomaly(&f.s, ANOMALY_TLS_HANDSHAKE_FAILED));
		fixture_free(&f);
	}
	tb_free(&rec);
}

/* Feeds rec with the 16-bit field at offset replaced by value; returns the feed result. */
static int feed_patched16(struct fixture *f, const struct tb *rec, size_t offset, unsigned value)
{
	struct tb copy = tb_new();
	int rc;

	tb_bytes(&copy, rec->data, rec->len);
	copy.data[offset] = (uint8_t)(value >> 8);
	copy.data[offset + 1] = (uint8_t)value;
	rc = feed(f, DIR_TO_SERVER, &copy);
	tb_free(&copy);
	return rc;
}

struct lying_case {
	const char *name;
	size_t offset; /* of a 16-bit field in the record */
	int delta;     /* added to the true value; ignored when absolute is set */
	bool absolute;
	unsigned value;
	int expected_rc;
	bool expected_seen;
};

static void test_client_hello_lying_lengths(void)
{
	struct tb rec = record_client_hello(SNI, 16384);
	size_t sni_name_len = find_bytes(&rec, SNI, strlen(SNI)) - 2;
	size_t alpn_list = find_bytes(&rec, "\x02h2\x08", 4) - 2;
	size_t versions = find_bytes(&rec, "\x06\x2a\x2a\x03\x04", 5) - 1;
	const struct lying_case cases[] = {
		{"record longer", 3, 10, false, 0, 0, true},
		{"record shorter", 3, -10, false, 0, TLS_ERR_MALFORMED, false},
		{"handshake longer", 7, 1, false, 0, 0, false},
		{"handshake shorter", 7, -1, false, 0, TLS_ERR_MALFORMED, false},
		{"handshake zero", 7, 0, true, 0, TLS_ERR_MALFORMED, false},
		{"session id 33", 42, 0, true, (0x03u << 8) | 33, TLS_ERR_MALFORMED, false},
		{"cipher list odd", 76, 0, true, 31, TLS_ERR_MALFORMED, false},
		{"cipher list huge", 76, 0, true, 0xffff, TLS_ERR_MALFORMED, false},
		{"cipher list zero", 76, 0, true, 0, TLS_ERR_MALFORMED, false},
		{"extensions shorter", 112, -4, false, 0, TLS_ERR_MALFORMED, false},
		{"extensions longer", 112, 1, false, 0, TLS_ERR_MALFORMED, false},
		{"sni name longer", sni_name_len, 1, false, 0, TLS_ERR_MALFORMED, false},
		{"sni name huge", sni_name_len, 0, true, 0xffff, TLS_ERR_MALFORMED, false},
		{"alpn list longer", alpn_list, 1, false, 0, TLS_ERR_MALFORMED, false},
		{"versions list odd", versions, 0, true, 0x052a, TLS_ERR_MALFORMED, false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct lying_case *c = &cases[i];
		unsigned true_value = ((unsigned)rec.data[c->offset] << 8) | rec.data[c->offset + 1];
		unsigned value = c->absolute ? c->value : (unsigned)((int)true_value + c->delta);
		struct fixture f;
		int rc;

		fixture_init(&f);
		rc = feed_patched16(&f, &rec, c->offset, value);
		if (rc != c->expected_rc || f.s.tls.client_hello_seen != c->expected_seen)
			fprintf(stderr, "lying length case: %s\n", c->name);
		CHECK_EQ_INT(rc, c->expected_rc);
		CHECK_EQ_INT(f.s.tls.client_hello_seen, c->expected_seen);
		if (!c->expected_seen) {
			CHECK(!wire_text_is_set(&f.s.tls.sni));
			CHECK_EQ_INT(f.s.tls.ja4[0], '\0');
		}
		fixture_free(&f);
	}
	tb_free(&rec);
}

/* An empty handshake record first: tolerated, and the real hello still parses. */
static void test_record_zero_length(void)
{
	struct fixture f;
	struct tb rec = record_client_hello(SNI, 16384);
	static const uint8_t empty[] = {0x16, 0x03, 0x01, 0x00, 0x00};

	fixture_init(&f);
	CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, empty, sizeof(empty)), 0);
	CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &rec), 0);
	check_full_client_hello(&f.s.tls);
	fixture_free(&f);
	tb_free(&rec);
}

/* A handshake message over LIMIT_TLS_HANDSHAKE_BYTES is skipped and counted; the next one parses. */
static void test_oversized_message(void)
{
	struct fixture f;
	struct tb big = tb_new();
	struct tb rec = tb_new();
	struct tb hello = record_client_hello(SNI, 16384);
	size_t body_len = LIMIT_TLS_HANDSHAKE_BYTES + 1000;

	tb_u8(&big, 1);
	tb_u24(&big, body_len);
	memset(big.data + big.len, 0x41, body_len);
	big.len += body_len;
	tb_records(&rec, 22, 0x0303, big.data, big.len, 16384);
	fixture_init(&f);
	CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &rec), 0);
	CHECK_EQ_INT(f.s.tls.oversized_messages, 1);
	CHECK(f.s.evidence.inconclusive != NULL);
	CHECK(!f.s.tls.client_hello_seen);
	CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &hello), 0);
	check_full_client_hello(&f.s.tls);
	fixture_free(&f);
	tb_free(&big);
	tb_free(&rec);
	tb_free(&hello);
}

/* Every byte of the hello replaced by a few values: no crash, and the summary stays in bounds. */
static void test_client_hello_mutated(void)
{
	struct tb rec = record_client_hello(SNI, 16384);
	struct tb copy = tb_new();
	unsigned bad_runs = 0;

	for (size_t i = 0; i < rec.len; i++) {
		const uint8_t values[] = {0x00, 0xff, (uint8_t)(rec.data[i] + 1), (uint8_t)(rec.data[i] ^ 0x80)};

		for (size_t v = 0; v < sizeof(values); v++) {
			struct fixture f;
			int rc;

			copy.len = 0;
			tb_bytes(&copy, rec.data, rec.len);
			copy.data[i] = values[v];
			fixture_init(&f);
			rc = feed(&f, DIR_TO_SERVER, &copy);
			tls_parser_finish(f.p);
			if ((rc != 0 && rc != TLS_ERR_MALFORMED && rc != TLS_ERR_NOT_TLS) ||
			    f.s.tls.client_versions_count > TLS_SUMMARY_MAX_VERSIONS ||
			    f.s.tls.alpn_count > TLS_SUMMARY_MAX_ALPN || f.s.tls.sni.len > WIRE_TEXT_MAX ||
			    memchr(f.s.tls.ja4, '\0', sizeof(f.s.tls.ja4)) == NULL)
				bad_runs++;
			fixture_free(&f);
		}
	}
	CHECK_EQ_INT(bad_runs, 0);
	tb_free(&rec);
	tb_free(&copy);
}

/* Pseudo-random bytes after a plausible record start: no crash, no hello claimed. */
static void test_garbage(void)
{
	uint32_t state = 12345;
	uint8_t buf[600];
	unsigned claimed = 0;

	for (unsigned run = 0; run < 2000; run++) {
		struct fixture f;
		size_t len = 5 + run % (sizeof(buf) - 5);

		for (size_t i = 0; i < len; i++) {
			state = state * 1103515245u + 12345u;
			buf[i] = (uint8_t)(state >> 16);
		}
		buf[0] = 0x16;
		buf[1] = 0x03;
		buf[2] = 0x01;
		fixture_init(&f);
		(void)tls_parser_feed(f.p, (enum direction)(run % 2), buf, len);
		(void)tls_parser_feed(f.p, (enum direction)(run % 2), buf + 3, len - 3);
		tls_parser_finish(f.p);
		if (f.s.tls.client_hello_seen && f.s.tls.client_cipher_count > 300)
			claimed++;
		fixture_free(&f);
	}
	CHECK_EQ_INT(claimed, 0);
}

static void test_server_hello_tls12(void)
{
	struct fixture f;
	struct tb ch = record_client_hello(SNI, 16384);
	struct tb body = tb_new();
	struct tb msgs = tb_new();
	struct tb flight = tb_new();
	struct tb empty = tb_new();
	static const uint8_t ccs[] = {0x14, 0x03, 0x03, 0x00, 0x01, 0x01};
	static const uint8_t finished_ciphertext[] = {0x16, 0x03, 0x03, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef};

	/* ServerHello and ServerHelloDone in one record: several messages per record. */
	tb_server_hello(&body, 0x0303, 0xc02f, 0, false);
	tb_handshake(&msgs, 2, &body);
	tb_handshake(&msgs, 14, &empty);
	tb_records(&flight, 22, 0x0303, msgs.data, msgs.len, 16384);
	fixture_init(&f);
	CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &ch), 0);
	CHECK_EQ_INT(feed(&f, DIR_TO_CLIENT, &flight), 0);
	CHECK(f.s.tls.server_hello_seen);
	CHECK_EQ_INT(f.s.tls.server_legacy_version, 0x0303);
	CHECK_EQ_INT(f.s.tls.version, 0x0303);
	CHECK_EQ_INT(f.s.tls.cipher, 0xc02f);
	CHECK_EQ_STR(f.s.tls.ja3s, TLS12_JA3S);
	CHECK(!f.s.tls.certificate_not_observable);
	CHECK_EQ_INT(f.events.count[EVENT_TLS_SERVER_HELLO], 1);
	CHECK_EQ_INT(f.s.anomalies, 0);
	CHECK(!tls_parser_is_done(f.p));

	/* The client's Finished after its CCS is ciphertext and must not be parsed. */
	CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, ccs, sizeof(ccs)), 0);
	CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, finished_ciphertext, sizeof(finished_ciphertext)), 0);
	CHECK(!tls_parser_is_done(f.p));
	CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_CLIENT, ccs, sizeof(ccs)), 0);
	CHECK(tls_parser_is_done(f.p));
	CHECK(f.s.tls.handshake_complete);
	tls_parser_finish(f.p);
	CHECK_EQ_INT(f.s.anomalies, 0);
	CHECK(f.s.evidence.inconclusive == NULL);
	fixture_free(&f);
	tb_free(&ch);
	tb_free(&body);
	tb_free(&msgs);
	tb_free(&flight);
	tb_free(&empty);
}

static void test_server_hello_tls13(void)
{
	struct fixture f;
	struct tb ch = record_client_hello(SNI, 16384);
	struct tb sh = record_server_hello(0x0303, 0x1302, 0x0304, false);

	fixture_init(&f);
	CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &ch), 0);
	for (size_t i = 0; i < sh.len; i++)
		CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_CLIENT, sh.data + i, 1), 0);
	CHECK(f.s.tls.server_hello_seen);
	CHECK_EQ_INT(f.s.tls.server_legacy_version, 0x0303);
	CHECK_EQ_INT(f.s.tls.version, 0x0304);
	CHECK_EQ_INT(f.s.tls.cipher, 0x1302);
	CHECK_EQ_STR(f.s.tls.ja3s, TLS13_JA3S);
	CHECK(f.s.tls.certificate_not_observable);
	CHECK(f.s.tls.handshake_complete);
	CHECK(!f.s.tls.hello_retry_request_seen);
	CHECK(tls_parser_is_done(f.p));
	CHECK_EQ_INT(f.s.anomalies, 0);
	fixture_free(&f);
	tb_free(&ch);
	tb_free(&sh);
}

/* ClientHello, HelloRetryRequest and CCS, CCS and second ClientHello, ServerHello. */
static void test_hello_retry_request(void)
{
	struct fixture f;
	struct tb ch1 = record_client_hello("first.example.org", 16384);
	struct tb hrr = record_server_hello(0x0303, 0x1302, 0x0304, true);
	struct tb ch2 = record_client_hello(SNI, 16384);
	struct tb sh = record_server_hello(0x0303, 0x1302, 0x0304, false);
	static const uint8_t ccs[] = {0x14, 0x03, 0x03, 0x00, 0x01, 0x01};

	fixture_init(&f);
	CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &ch1), 0);
	CHECK_EQ_INT(feed(&f, DIR_TO_CLIENT, &hrr), 0);
	CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_CLIENT, ccs, sizeof(ccs)), 0);
	CHECK(f.s.tls.hello_retry_request_seen);
	CHECK_EQ_INT(f.s.tls.hello_retry_request_count, 1);
	CHECK(!f.s.tls.server_hello_seen);
	CHECK_EQ_INT(f.events.count[EVENT_TLS_SERVER_HELLO], 0);
	CHECK(!tls_parser_is_done(f.p));

	CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, ccs, sizeof(ccs)), 0);
	CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &ch2), 0);
	CHECK_EQ_INT(f.s.tls.client_hello_count, 2);
	CHECK_EQ_MEM(f.s.tls.sni.data, f.s.tls.sni.len, SNI, strlen(SNI));
	CHECK(!tls_parser_is_done(f.p));

	CHECK_EQ_INT(feed(&f, DIR_TO_CLIENT, &sh), 0);
	CHECK(f.s.tls.server_hello_seen);
	CHECK_EQ_INT(f.s.tls.version, 0x0304);
	CHECK_EQ_INT(f.events.count[EVENT_TLS_CLIENT_HELLO], 2);
	CHECK_EQ_INT(f.events.count[EVENT_TLS_SERVER_HELLO], 1);
	CHECK_EQ_INT(f.events.last_aux[EVENT_TLS_SERVER_HELLO], 2);
	CHECK(tls_parser_is_done(f.p));
	fixture_free(&f);
	tb_free(&ch1);
	tb_free(&hrr);
	tb_free(&ch2);
	tb_free(&sh);
}

static void test_alert_handshake_failure(void)
{
	struct fixture f;
	struct tb ch = record_client_hello(SNI, 16384);
	static const uint8_t alert[] = {0x02, 40};
	struct tb rec = record_bytes(21, alert, sizeof(alert));

	fixture_init(&f);
	CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &ch), 0);
	CHECK_EQ_INT(feed(&f, DIR_TO_CLIENT, &rec), 0);
	CHECK(f.s.tls.alert_seen);
	CHECK(f.s.tls.alert_from_server);
	CHECK_EQ_INT(f.s.tls.alert_level, 2);
	CHECK_EQ_INT(f.s.tls.alert_description, 40);
	CHECK_EQ_INT(f.s.tls.alert_count, 1);
	CHECK_EQ_STR(tls_alert_level_name(f.s.tls.alert_level), "fatal");
	CHECK_EQ_STR(tls_alert_description_name(f.s.tls.alert_description), "handshake_failure");
	CHECK_EQ_INT(f.events.count[EVENT_TLS_ALERT], 1);
	CHECK_EQ_INT(f.events.last_aux[EVENT_TLS_ALERT], (1 << 16) | (2 << 8) | 40);
	tls_parser_finish(f.p);
	CHECK(session_has_anomaly(&f.s, ANOMALY_TLS_HANDSHAKE_FAILED));
	fixture_free(&f);
	tb_free(&ch);
	tb_free(&rec);
}

/* Two alerts in one record, the second split from the first by a feed boundary. */
static void test_alert_split(void)
{
	struct fixture f;
	struct tb ch = record_client_hello(SNI, 16384);
	static const uint8_t alerts[] = {0x01, 0x00, 0x02, 70};
	struct tb rec = record_bytes(21, alerts, sizeof(alerts));

	fixture_init(&f);
	CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &ch), 0);
	CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_CLIENT, rec.data, 8), 0);
	CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_CLIENT, rec.data + 8, rec.len - 8), 0);
	CHECK_EQ_INT(f.s.tls.alert_count, 2);
	CHECK_EQ_INT(f.s.tls.alert_level, 1);
	CHECK_EQ_INT(f.s.tls.alert_description, 0);
	CHECK_EQ_INT(f.events.last_aux[EVENT_TLS_ALERT], (1 << 16) | (2 << 8) | 70);
	fixture_free(&f);
	tb_free(&ch);
	tb_free(&rec);
}

static void test_finish_inconclusive(void)
{
	struct tb ch = record_client_hello(SNI, 16384);
	struct fixture f;

	/* The server side was never captured: no verdict. */
	fixture_init(&f);
	f.s.evidence.seen[DIR_TO_CLIENT] = false;
	CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &ch), 0);
	tls_parser_finish(f.p);
	CHECK(!session_has_anomaly(&f.s, ANOMALY_TLS_HANDSHAKE_FAILED));
	CHECK(f.s.evidence.inconclusive != NULL);
	fixture_free(&f);

	/* A gap in the server side before any ServerHello: no verdict either. */
	fixture_init(&f);
	CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &ch), 0);
	tls_parser_gap(f.p, DIR_TO_CLIENT, 1000);
	tls_parser_finish(f.p);
	CHECK(!session_has_anomaly(&f.s, ANOMALY_TLS_HANDSHAKE_FAILED));
	CHECK(f.s.evidence.inconclusive != NULL);
	fixture_free(&f);

	/* The connection closed and the server sent nothing back: the handshake failed. */
	fixture_init(&f);
	CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &ch), 0);
	f.s.end = SESSION_END_FIN;
	tls_parser_finish(f.p);
	CHECK(session_has_anomaly(&f.s, ANOMALY_TLS_HANDSHAKE_FAILED));
	CHECK(f.s.evidence.inconclusive == NULL);
	fixture_free(&f);

	/* The capture ended while the connection was open: the ServerHello may still have come. */
	fixture_init(&f);
	CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &ch), 0);
	f.s.end = SESSION_END_OPEN;
	tls_parser_finish(f.p);
	CHECK(!session_has_anomaly(&f.s, ANOMALY_TLS_HANDSHAKE_FAILED));
	CHECK(f.s.evidence.inconclusive != NULL);
	fixture_free(&f);
	tb_free(&ch);
}

static void test_gap_stops_direction(void)
{
	struct tb ch = record_client_hello(SNI, 16384);
	struct fixture f;

	fixture_init(&f);
	CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, ch.data, 50), 0);
	tls_parser_gap(f.p, DIR_TO_SERVER, 20);
	CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, ch.data + 70, ch.len - 70), 0);
	CHECK(!f.s.tls.client_hello_seen);
	CHECK(f.s.evidence.inconclusive != NULL);
	CHECK(!tls_parser_is_done(f.p));
	tls_parser_gap(f.p, DIR_TO_CLIENT, 20);
	CHECK(tls_parser_is_done(f.p));
	fixture_free(&f);
	tb_free(&ch);
}

static void test_obsolete_and_weak(void)
{
	static const uint16_t suites[] = {0x002f, 0x0035, 0x000a, 0x5600};
	struct tb body = tb_new();
	struct tb msg = tb_new();
	struct tb ch = tb_new();
	struct tb sh = record_server_hello(0x0301, 0x000a, 0, false);
	struct fixture f;

	tb_client_hello_plain(&body, 0x0301, suites, 4);
	tb_handshake(&msg, 1, &body);
	tb_records(&ch, 22, 0x0301, msg.data, msg.len, 16384);
	fixture_init(&f);
	CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &ch), 0);
	CHECK(f.s.tls.fallback_scsv);
	CHECK_EQ_INT(f.s.tls.client_cipher_count, 4);
	CHECK_EQ_INT(f.s.tls.client_max_version, 0x0301);
	CHECK_EQ_INT(f.s.tls.client_versions_count, 0);
	CHECK_EQ_STR(f.s.tls.ja3, PLAIN_JA3);
	CHECK_EQ_STR(f.s.tls.ja4, PLAIN_JA4);
	CHECK(session_has_anomaly(&f.s, ANOMALY_OBSOLETE_TLS_VERSION));
	CHECK(!session_has_anomaly(&f.s, ANOMALY_WEAK_CIPHER));
	CHECK_EQ_INT(feed(&f, DIR_TO_CLIENT, &sh), 0);
	CHECK_EQ_INT(f.s.tls.version, 0x0301);
	CHECK_EQ_INT(f.s.tls.cipher, 0x000a);
	CHECK(session_has_anomaly(&f.s, ANOMALY_WEAK_CIPHER));
	fixture_free(&f);
	tb_free(&body);
	tb_free(&msg);
	tb_free(&ch);
	tb_free(&sh);
}

/* SSL 2.0 CLIENT-HELLO with the given version and 3-byte cipher specs. */
static struct tb record_sslv2_client_hello(unsigned version, const uint32_t *specs, size_t count)
{
	struct tb msg = tb_new();
	struct tb rec = tb_new();

	tb_u8(&msg, 1);
	tb_u16(&msg, version);
	tb_u16(&msg, (unsigned)(count * 3));
	tb_u16(&msg, 0);
	tb_u16(&msg, 16);
	for (size_t i = 0; i < count; i++)
		tb_u24(&msg, specs[i]);
	for (unsigned i = 0; i < 16; i++)
		tb_u8(&msg, 0xa0 + i);
	tb_u16(&rec, 0x8000u | (unsigned)msg.len);
	tb_bytes(&rec, msg.data, msg.len);
	tb_free(&msg);
	return rec;
}

static void test_sslv2_pure(void)
{
	static const uint32_t specs[] = {0x010080, 0x0700c0};
	struct tb ch = record_sslv2_client_hello(0x0002, specs, 2);
	struct tb msg = tb_new();
	struct tb sh = tb_new();
	struct tb cmk_msg = tb_new();
	struct tb cmk = tb_new();

	/* SERVER-HELLO: no session hit, X.509 type, version 2, no certificate, one cipher, 16-byte id. */
	tb_u8(&msg, 4);
	tb_u8(&msg, 0);
	tb_u8(&msg, 1);
	tb_u16(&msg, 0x0002);
	tb_u16(&msg, 0);
	tb_u16(&msg, 3);
	tb_u16(&msg, 16);
	tb_u24(&msg, 0x010080);
	for (unsigned i = 0; i < 16; i++)
		tb_u8(&msg, i);
	tb_u16(&sh, 0x8000u | (unsigned)msg.len);
	tb_bytes(&sh, msg.data, msg.len);

	/* CLIENT-MASTER-KEY: type 2, DES-EDE3 kind, then clear/encrypted key and key-arg lengths (empty). */
	tb_u8(&cmk_msg, 2);
	tb_u24(&cmk_msg, 0x0700c0);
	tb_u16(&cmk_msg, 0);
	tb_u16(&cmk_msg, 0);
	tb_u16(&cmk_msg, 0);
	tb_u16(&cmk, 0x8000u | (unsigned)cmk_msg.len);
	tb_bytes(&cmk, cmk_msg.data, cmk_msg.len);

	for (size_t k = 1; k <= ch.len; k++) {
		struct fixture f;

		fixture_init(&f);
		CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, ch.data, k), 0);
		CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, ch.data + k, ch.len - k), 0);
		CHECK(f.s.tls.client_hello_seen);
		CHECK_EQ_INT(f.s.tls.hello_format, TLS_HELLO_FORMAT_SSLV2);
		CHECK_EQ_INT(f.s.tls.client_legacy_version, 0x0002);
		CHECK_EQ_INT(f.s.tls.client_max_version, 0x0002);
		CHECK_EQ_INT(f.s.tls.client_cipher_count, 2);
		CHECK(session_has_anomaly(&f.s, ANOMALY_SSLV2_CLIENT_HELLO));
		CHECK(session_has_anomaly(&f.s, ANOMALY_OBSOLETE_TLS_VERSION));
		CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_CLIENT, sh.data, sh.len), 0);
		CHECK(f.s.tls.server_hello_seen);
		CHECK_EQ_INT(f.s.tls.version, 0x0002);
		CHECK_EQ_INT(f.s.tls.sslv2_cipher, 0x010080);
		CHECK(session_has_anomaly(&f.s, ANOMALY_WEAK_CIPHER));

		/* The client's CLIENT-MASTER-KEY names the cipher it chose and ends the clear part. */
		CHECK(!tls_parser_is_done(f.p));
		CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, cmk.data, cmk.len), 0);
		CHECK_EQ_INT(f.s.tls.sslv2_cipher, 0x0700c0);
		CHECK(tls_parser_is_done(f.p));
		fixture_free(&f);
	}
	for (size_t t = 0; t < ch.len; t++) {
		struct fixture f;

		fixture_init(&f);
		CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, ch.data, t), 0);
		CHECK(!f.s.tls.client_hello_seen);
		fixture_free(&f);
	}
	tb_free(&ch);
	tb_free(&msg);
	tb_free(&sh);
	tb_free(&cmk_msg);
	tb_free(&cmk);
}

/* An SSLv2-framed hello offering TLS 1.2, followed by a TLS ServerHello from the server. */
static void test_sslv2_compatible(void)
{
	static const uint32_t specs[] = {0x00c02f, 0x000035, 0x005600};
	struct tb ch = record_sslv2_client_hello(0x0303, specs, 3);
	struct tb sh = record_server_hello(0x0303, 0xc02f, 0, false);
	struct fixture f;

	fixture_init(&f);
	CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &ch), 0);
	CHECK_EQ_INT(f.s.tls.hello_format, TLS_HELLO_FORMAT_SSLV2);
	CHECK_EQ_INT(f.s.tls.client_legacy_version, 0x0303);
	CHECK_EQ_INT(f.s.tls.client_max_version, 0x0303);
	CHECK_EQ_INT(f.s.tls.client_cipher_count, 3);
	CHECK(f.s.tls.fallback_scsv);
	CHECK(session_has_anomaly(&f.s, ANOMALY_SSLV2_CLIENT_HELLO));
	CHECK(!session_has_anomaly(&f.s, ANOMALY_OBSOLETE_TLS_VERSION));
	CHECK_EQ_INT(feed(&f, DIR_TO_CLIENT, &sh), 0);
	CHECK_EQ_INT(f.s.tls.version, 0x0303);
	CHECK_EQ_INT(f.s.tls.cipher, 0xc02f);
	CHECK(!session_has_anomaly(&f.s, ANOMALY_WEAK_CIPHER));
	fixture_free(&f);
	tb_free(&ch);
	tb_free(&sh);
}

/* SSLv2 framing (high bit) in a direction that began with TLS records is malformed. */
static void test_sslv2_after_tls(void)
{
	struct fixture f;
	struct tb ch = record_client_hello(SNI, 16384);
	static const uint8_t sslv2[] = {0x80, 0x03, 0x01, 0x00, 0x02};

	fixture_init(&f);
	CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &ch), 0);
	CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, sslv2, sizeof(sslv2)), TLS_ERR_MALFORMED);
	CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, ch.data, ch.len), TLS_ERR_MALFORMED);
	fixture_free(&f);
	tb_free(&ch);
}

static void test_not_tls(void)
{
	static const char greeting[] = "220 mail.example.org ESMTP ready\r\n";
	static const uint8_t half[] = {0x16};
	static const uint8_t rest[] = {'A', 'B', 'C'};
	struct fixture f;

	fixture_init(&f);
	CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_CLIENT, (const uint8_t *)greeting, strlen(greeting)),
		     TLS_ERR_NOT_TLS);
	CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, half, sizeof(half)), 0);
	CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, rest, sizeof(rest)), TLS_ERR_NOT_TLS);
	CHECK(!f.s.tls.client_hello_seen);
	CHECK_EQ_INT(f.s.anomalies, 0);
	fixture_free(&f);
}

/* Clear text after the hello (say, a client that gave up on TLS) makes the direction malformed. */
static void test_malformed_record(void)
{
	struct fixture f;
	struct tb ch = record_client_hello(SNI, 16384);
	static const char text[] = "QUIT\r\n";

	fixture_init(&f);
	CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &ch), 0);
	CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, (const uint8_t *)text, strlen(text)), TLS_ERR_MALFORMED);
	CHECK(f.s.tls.client_hello_seen);
	CHECK(f.s.evidence.inconclusive != NULL);
	fixture_free(&f);
	tb_free(&ch);
}

/* Application data from the server ends the handshake; early data from the client does not. */
static void test_application_data_done(void)
{
	struct fixture f;
	struct tb ch = record_client_hello(SNI, 16384);
	struct tb sh = record_server_hello(0x0303, 0xc02f, 0, false);
	static const uint8_t app_data[] = {0x17, 0x03, 0x03, 0x00, 0x02, 0xab, 0xcd};

	fixture_init(&f);
	CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &ch), 0);
	CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_SERVER, app_data, sizeof(app_data)), 0);
	CHECK(!tls_parser_is_done(f.p));
	CHECK_EQ_INT(feed(&f, DIR_TO_CLIENT, &sh), 0);
	CHECK(!tls_parser_is_done(f.p));
	CHECK_EQ_INT(tls_parser_feed(f.p, DIR_TO_CLIENT, app_data, sizeof(app_data)), 0);
	CHECK(tls_parser_is_done(f.p));
	CHECK(f.s.tls.handshake_complete);
	fixture_free(&f);
	tb_free(&ch);
	tb_free(&sh);
}

/* Fingerprints of one ClientHello body, through a parser that shares ctx (NULL: no memo). */
static void fingerprint_body(const struct tb *body, struct tls_context *ctx, char ja3[33], char ja4[40])
{
	struct fixture f;
	struct tb msg = tb_new();
	struct tb rec = tb_new();

	fixture_init(&f);
	tls_parser_free(f.p);
	f.p = tls_parser_new(&f.s, ctx);
	if (f.p == NULL)
		abort();
	tb_handshake(&msg, 1, body);
	tb_records(&rec, 22, 0x0301, msg.data, msg.len, 16384);
	CHECK_EQ_INT(feed(&f, DIR_TO_SERVER, &rec), 0);
	memcpy(ja3, f.s.tls.ja3, 33);
	memcpy(ja4, f.s.tls.ja4, 40);
	tb_free(&msg);
	tb_free(&rec);
	fixture_free(&f);
}

/*
 * The fingerprint memo returns what a fresh computation returns: hellos that
 * differ only in SNI contents and random share an entry, and hellos whose
 * lists differ never get each other's fingerprints.
 */
static void test_fingerprint_memo(void)
{
	static const uint16_t suites[] = {0x002f, 0x0035, 0x000a};
	static const uint16_t reordered[] = {0x0035, 0x002f, 0x000a};
	struct tls_context *ctx = tls_context_new();
	struct tb bodies[5];
	char direct_ja3[33];
	char direct_ja4[40];
	char memo_ja3[33];
	char memo_ja4[40];

	if (ctx == NULL)
		abort();
	for (size_t i = 0; i < 5; i++)
		bodies[i] = tb_new();
	tb_client_hello_full(&bodies[0], SNI);
	tb_client_hello_full(&bodies[1], "other.example.net");
	tb_client_hello_plain(&bodies[2], 0x0301, suites, 3);
	tb_client_hello_plain(&bodies[3], 0x0301, reordered, 3);
	tb_client_hello_plain(&bodies[4], 0x0303, suites, 3);

	/* Two rounds: the first fills the memo, the second reads it back. */
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < 5; i++) {
			fingerprint_body(&bodies[i], NULL, direct_ja3, direct_ja4);
			fingerprint_body(&bodies[i], ctx, memo_ja3, memo_ja4);
			CHECK(direct_ja3[0] != '\0');
			CHECK_EQ_STR(memo_ja3, direct_ja3);
			CHECK_EQ_STR(memo_ja4, direct_ja4);
		}
	}

	/* The reordered suites change JA3 but not JA4, which sorts them: the memo must keep both apart. */
	fingerprint_body(&bodies[2], ctx, direct_ja3, direct_ja4);
	fingerprint_body(&bodies[3], ctx, memo_ja3, memo_ja4);
	CHECK(strcmp(direct_ja3, memo_ja3) != 0);
	CHECK_EQ_STR(memo_ja4, direct_ja4);

	for (size_t i = 0; i < 5; i++)
		tb_free(&bodies[i]);
	tls_context_free(ctx);
}

int main(void)
{
	test_detect_record();
	test_fingerprint_memo();
	test_client_hello_whole();
	test_client_hello_split();
	test_client_hello_byte_by_byte();
	test_client_hello_fragmented();
	test_ja4_alpn_hex();
	test_client_hello_truncated();
	test_client_hello_lying_lengths();
	test_record_zero_length();
	test_oversized_message();
	test_client_hello_mutated();
	test_garbage();
	test_server_hello_tls12();
	test_server_hello_tls13();
	test_hello_retry_request();
	test_alert_handshake_failure();
	test_alert_split();
	test_finish_inconclusive();
	test_gap_stops_direction();
	test_obsolete_and_weak();
	test_sslv2_pure();
	test_sslv2_compatible();
	test_sslv2_after_tls();
	test_not_tls();
	test_malformed_record();
	test_application_data_done();
	return test_finish("test_tls_parser");
}
