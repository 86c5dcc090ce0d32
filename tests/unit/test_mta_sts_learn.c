/*
 * DNS message reader (RFC 1035 section 4.1) and passive MTA-STS learning:
 * whole messages, every truncation, compression loops, oversized counts,
 * garbage, the TXT record rules of RFC 8461 section 3.1, ClientHellos to
 * mta-sts.<domain>, and the map's cap.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/dns.h"
#include "policy/mta_sts_learn.h"
#include "test.h"

struct msg {
	uint8_t bytes[2048];
	size_t len;
};

static void put8(struct msg *m, uint8_t v)
{
	if (m->len < sizeof(m->bytes))
		m->bytes[m->len++] = v;
}

static void put16(struct msg *m, uint16_t v)
{
	put8(m, (uint8_t)(v >> 8));
	put8(m, (uint8_t)v);
}

static void put_bytes(struct msg *m, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(m, ((const uint8_t *)p)[i]);
}

/* Writes a dotted name as labels, without compression. */
static void put_name(struct msg *m, const char *dotted)
{
	const char *p = dotted;

	while (*p != '\0') {
		const char *dot = strchr(p, '.');
		size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);

		put8(m, (uint8_t)n);
		put_bytes(m, p, n);
		p += n;
		if (*p == '.')
			p++;
	}
	put8(m, 0);
}

static void put_header(struct msg *m, uint16_t flags, uint16_t questions, uint16_t answers)
{
	m->len = 0;
	put16(m, 0x1234);
	put16(m, flags);
	put16(m, questions);
	put16(m, answers);
	put16(m, 0);
	put16(m, 0);
}

/* An answer owned by the question name (a pointer to offset 12) with one TXT string. */
static void put_txt_answer(struct msg *m, const char *text)
{
	size_t n = strlen(text);

	put16(m, 0xc00c);
	put16(m, DNS_TYPE_TXT);
	put16(m, DNS_CLASS_IN);
	put16(m, 0);
	put16(m, 300);
	put16(m, (uint16_t)(n + 1));
	put8(m, (uint8_t)n);
	put_bytes(m, text, n);
}

/* A response to "TXT? _mta-sts.example.test" with the given TXT answers. */
static void build_response(struct msg *m, const char *const *texts, uint16_t count)
{
	put_header(m, 0x8180, 1, count);
	put_name(m, "_mta-sts.Example.test");
	put16(m, DNS_TYPE_TXT);
	put16(m, DNS_CLASS_IN);
	for (uint16_t i = 0; i < count; i++)
		put_txt_answer(m, texts[i]);
}

/* Reads a whole message: the error of the header or of the first failing record, else DNS_OK. */
static int read_all(const uint8_t *data, size_t len)
{
	struct dns_message msg;
	size_t offset;
	int rc = dns_read_message(data, len, &msg);

	if (rc != DNS_OK)
		return rc;
	offset = msg.answers_offset;
	for (uint16_t i = 0; i < msg.answer_count; i++) {
		struct dns_record rec;

		rc = dns_read_record(&msg, &offset, &rec);
		if (rc != DNS_OK)
			return rc;
	}
	return DNS_OK;
}

static void test_dns_whole_message(void)
{
	static const char *const texts[] = {"v=STSv1; id=20240101T000000;"};
	struct msg m;
	struct dns_message msg;
	struct dns_record rec;
	char txt[128];
	bool truncated = true;
	size_t offset;

	build_response(&m, texts, 1);
	CHECK_EQ_INT(dns_read_message(m.bytes, m.len, &msg), DNS_OK);
	CHECK_EQ_STR(msg.question.text, "_mta-sts.example.test");
	CHECK(msg.question.plain);
	CHECK_EQ_INT(msg.question_type, DNS_TYPE_TXT);
	CHECK_EQ_INT(msg.answer_count, 1);
	CHECK(msg.flags & DNS_FLAG_RESPONSE);
	offset = msg.answers_offset;
	CHECK_EQ_INT(dns_read_record(&msg, &offset, &rec), DNS_OK);
	CHECK_EQ_INT(offset, m.len);
	CHECK_EQ_STR(rec.owner.text, "_mta-sts.example.test");
	CHECK_EQ_INT(rec.type, DNS_TYPE_TXT);
	CHECK_EQ_INT(rec.ttl, 300);
	CHECK_EQ_INT(dns_join_txt(&rec, txt, sizeof(txt), &truncated), (int)strlen(texts[0]));
	CHECK_EQ_STR(txt, texts[0]);
	CHECK(!truncated);

	/* A record split over two character-strings is read joined. */
	put_header(&m, 0x8180, 1, 1);
	put_name(&m, "_mta-sts.example.test");
	put16(&m, DNS_TYPE_TXT);
	put16(&m, DNS_CLASS_IN);
	put16(&m, 0xc00c);
	put16(&m, DNS_TYPE_TXT);
	put16(&m, DNS_CLASS_IN);
	put16(&m, 0);
	put16(&m, 60);
	put16(&m, 2 + 8 + 6);
	put8(&m, 8);
	put_bytes(&m, "v=STSv1;", 8);
	put8(&m, 6);
	put_bytes(&m, " id=42", 6);
	CHECK_EQ_INT(dns_read_message(m.bytes, m.len, &msg), DNS_OK);
	offset = msg.answers_offset;
	CHECK_EQ_INT(dns_read_record(&msg, &offset, &rec), DNS_OK);
	CHECK_EQ_INT(dns_join_txt(&rec, txt, sizeof(txt), &truncated), 14);
	CHECK_EQ_STR(txt, "v=STSv1; id=42");

	/* Text past the buffer is cut and flagged. */
	CHECK_EQ_INT(dns_join_txt(&rec, txt, 5, &truncated), 4);
	CHECK(truncated);
}

static void test_dns_every_truncation(void)
{
	static const char *const texts[] = {"v=STSv1; id=1", "other text"};
	struct msg m;

	build_response(&m, texts, 2);
	CHECK_EQ_INT(read_all(m.bytes, m.len), DNS_OK);
	for (size_t n = 0; n < m.len; n++) {
		uint8_t *copy = malloc(n > 0 ? n : 1);
		int rc;

		/* An exact-size heap copy lets the sanitizers catch a read past the end. */
		memcpy(copy, m.bytes, n);
		rc = read_all(copy, n);
		if (rc == DNS_OK) {
			printf("truncation at %zu read as whole\n", n);
			CHECK(rc != DNS_OK);
		}
		if (n < DNS_HEADER_LEN)
			CHECK_EQ_INT(rc, DNS_ERR_TRUNCATED_HEADER);
		free(copy);
	}
}

static void test_dns_compression(void)
{
	struct msg m;
	struct dns_message msg;
	struct dns_record rec;
	size_t offset;

	/* A question name that points at itself. */
	put_header(&m, 0x8180, 1, 0);
	put16(&m, 0xc00c);
	put16(&m, DNS_TYPE_TXT);
	put16(&m, DNS_CLASS_IN);
	CHECK_EQ_INT(dns_read_message(m.bytes, m.len, &msg), DNS_ERR_POINTER_LOOP);

	/* A pointer forwards. */
	put_header(&m, 0x8180, 1, 0);
	put16(&m, 0xc010);
	put16(&m, 0xc00c);
	CHECK_EQ_INT(dns_read_message(m.bytes, m.len, &msg), DNS_ERR_POINTER_LOOP);

	/* An answer name whose pointer, after the label "x", points at itself. */
	put_header(&m, 0x8180, 1, 1);
	put_name(&m, "a.test");
	put16(&m, DNS_TYPE_TXT);
	put16(&m, DNS_CLASS_IN);
	put8(&m, 1);
	put8(&m, 'x');
	put16(&m, (uint16_t)(0xc000u | (m.len + 0))); /* "x" then a pointer to this very pointer */
	CHECK_EQ_INT(read_all(m.bytes, m.len), DNS_ERR_POINTER_LOOP);

	/* A pointer into a label that jumps back before the label: legal, and it ends. */
	put_header(&m, 0x8180, 1, 1);
	put_name(&m, "_mta-sts.example.test");
	put16(&m, DNS_TYPE_TXT);
	put16(&m, DNS_CLASS_IN);
	put8(&m, 3);
	put_bytes(&m, "www", 3);
	put16(&m, 0xc015); /* "example.test" inside the question */
	put16(&m, DNS_TYPE_CNAME);
	put16(&m, DNS_CLASS_IN);
	put16(&m, 0);
	put16(&m, 60);
	put16(&m, 2);
	put16(&m, 0xc00c);
	CHECK_EQ_INT(dns_read_message(m.bytes, m.len, &msg), DNS_OK);
	offset = msg.answers_offset;
	CHECK_EQ_INT(dns_read_record(&msg, &offset, &rec), DNS_OK);
	CHECK_EQ_STR(rec.owner.text, "www.example.test");
	CHECK_EQ_INT(rec.type, DNS_TYPE_CNAME);

	/* Extended label types are not names. */
	put_header(&m, 0x8180, 1, 0);
	put8(&m, 0x41);
	put8(&m, 0);
	CHECK_EQ_INT(dns_read_message(m.bytes, m.len, &msg), DNS_ERR_BAD_LABEL_TYPE);
}

static void test_dns_limits(void)
{
	struct msg m;
	struct dns_message msg;
	char label[64];

	/* Five 63-byte labels make 319 characters, over the 253 of a name. */
	memset(label, 'a', 63);
	label[63] = '\0';
	put_header(&m, 0x8180, 1, 0);
	for (int i = 0; i < 5; i++) {
		put8(&m, 63);
		put_bytes(&m, label, 63);
	}
	put8(&m, 0);
	put16(&m, DNS_TYPE_TXT);
	put16(&m, DNS_CLASS_IN);
	CHECK_EQ_INT(dns_read_message(m.bytes, m.len, &msg), DNS_ERR_NAME_TOO_LONG);

	/* Question counts other than one. */
	put_header(&m, 0x8180, 0, 0);
	CHECK_EQ_INT(dns_read_message(m.bytes, m.len, &msg), DNS_ERR_QUESTION_COUNT);
	put_header(&m, 0x8180, 65535, 0);
	CHECK_EQ_INT(dns_read_message(m.bytes, m.len, &msg), DNS_ERR_QUESTION_COUNT);

	/* An answer count far above the records present ends at the message's end. */
	{
		static const char *const texts[] = {"v=STSv1; id=1"};

		build_response(&m, texts, 1);
		m.bytes[7] = 0xff;
		m.bytes[6] = 0xff;
		CHECK_EQ_INT(read_all(m.bytes, m.len), DNS_ERR_TRUNCATED_NAME);
	}

	/* RDLENGTH past the end, and a character-string past its RDATA. */
	put_header(&m, 0x8180, 1, 1);
	put_name(&m, "_mta-sts.example.test");
	put16(&m, DNS_TYPE_TXT);
	put16(&m, DNS_CLASS_IN);
	put16(&m, 0xc00c);
	put16(&m, DNS_TYPE_TXT);
	put16(&m, DNS_CLASS_IN);
	put16(&m, 0);
	put16(&m, 60);
	put16(&m, 4);
	put8(&m, 10);
	put_bytes(&m, "abc", 3);
	CHECK_EQ_INT(read_all(m.bytes, m.len), DNS_OK);
	{
		struct dns_message whole;
		struct dns_record rec;
		size_t offset;
		char txt[64];
		bool truncated;

		CHECK_EQ_INT(dns_read_message(m.bytes, m.len, &whole), DNS_OK);
		offset = whole.answers_offset;
		CHECK_EQ_INT(dns_read_record(&whole, &offset, &rec), DNS_OK);
		CHECK_EQ_INT(dns_join_txt(&rec, txt, sizeof(txt), &truncated), DNS_ERR_BAD_TXT_STRING);
	}
	m.bytes[m.len - 5] = 200; /* RDLENGTH 4 becomes 200 */
	CHECK_EQ_INT(read_all(m.bytes, m.len), DNS_ERR_RDATA_OVERRUN);
}

static void test_dns_error_names(void)
{
	CHECK_EQ_STR(dns_error_name(DNS_ERR_POINTER_LOOP), "pointer_loop");
	CHECK_EQ_STR(dns_error_name(DNS_ERR_BAD_TXT_STRING), "bad_txt_string");
	CHECK_EQ_STR(dns_error_name((enum dns_error)-99), "unknown");
	CHECK_EQ_STR(dns_error_name((enum dns_error)5), "unknown");
}

/* ---- learning ---- */

static uint64_t counter(struct mta_sts_learner *l, enum mta_sts_learn_count c)
{
	uint64_t counts[MTA_STS_LEARN_COUNT];
	uint64_t errors[DNS_ERROR_COUNT];

	mta_sts_learner_counts(l, counts, errors);
	return counts[c];
}

static uint64_t dns_error_count(struct mta_sts_learner *l, enum dns_error e)
{
	uint64_t counts[MTA_STS_LEARN_COUNT];
	uint64_t errors[DNS_ERROR_COUNT];

	mta_sts_learner_counts(l, counts, errors);
	return errors[-(int)e];
}

static void test_learn_dns_records(void)
{
	static const char *const one[] = {"not a policy", "v=STSv1; id=20240101T000000;"};
	static const char *const two[] = {"v=STSv1; id=1", "v=STSv1; id=2"};
	static const char *const bad_id[] = {"v=STSv1; id=has-dash"};
	static const char *const long_id[] = {"v=STSv1; id=123456789012345678901234567890123"};
	static const char *const no_id[] = {"v=STSv1;"};
	static const char *const version_only[] = {"v=STSv10; id=1"};
	struct mta_sts_learner *l = mta_sts_learner_new(16);
	struct mta_sts_learnt e;
	struct msg m;

	CHECK(l != NULL);
	if (l == NULL)
		return;

	/* Exactly one v=STSv1 record among other TXT records: learnt, with its id. */
	build_response(&m, one, 2);
	mta_sts_learn_dns(l, m.bytes, m.len, 1000);
	CHECK(mta_sts_learner_find(l, "EXAMPLE.test.", 13, &e));
	CHECK_EQ_STR(e.domain, "example.test");
	CHECK_EQ_STR(e.id, "20240101T000000");
	CHECK_EQ_INT(e.sources, MTA_STS_SOURCE_DNS);
	CHECK_EQ_INT(e.first_usec, 1000);
	CHECK_EQ_INT(counter(l, MTA_STS_LEARN_DNS_RESPONSES), 1);
	CHECK_EQ_INT(counter(l, MTA_STS_LEARN_TXT_RECORDS), 1);

	/* The same question sent as a query is not an answer. */
	m.bytes[2] = 0x01;
	m.bytes[3] = 0x00;
	mta_sts_learn_dns(l, m.bytes, m.len, 2000);
	CHECK_EQ_INT(counter(l, MTA_STS_LEARN_DNS_RESPONSES), 1);

	/* RFC 8461 section 3.1: two records, an invalid id, a missing id: no policy. */
	mta_sts_learner_free(l);
	l = mta_sts_learner_new(16);
	build_response(&m, two, 2);
	mta_sts_learn_dns(l, m.bytes, m.len, 1000);
	build_response(&m, bad_id, 1);
	mta_sts_learn_dns(l, m.bytes, m.len, 1000);
	build_response(&m, long_id, 1);
	mta_sts_learn_dns(l, m.bytes, m.len, 1000);
	build_response(&m, no_id, 1);
	mta_sts_learn_dns(l, m.bytes, m.len, 1000);
	CHECK_EQ_INT(counter(l, MTA_STS_LEARN_TXT_INVALID), 4);
	build_response(&m, version_only, 1);
	mta_sts_learn_dns(l, m.bytes, m.len, 1000);
	CHECK_EQ_INT(counter(l, MTA_STS_LEARN_TXT_INVALID), 4);
	CHECK_EQ_INT(mta_sts_learner_size(l), 0);
	CHECK(!mta_sts_learner_find(l, "example.test", 12, &e));

	/* An NXDOMAIN response teaches nothing. */
	build_response(&m, one, 2);
	m.bytes[3] = 0x83;
	mta_sts_learn_dns(l, m.bytes, m.len, 1000);
	CHECK_EQ_INT(mta_sts_learner_size(l), 0);

	/* A malformed response is counted by reason. */
	build_response(&m, one, 2);
	mta_sts_learn_dns(l, m.bytes, m.len - 3, 1000);
	CHECK_EQ_INT(counter(l, MTA_STS_LEARN_DNS_MALFORMED), 1);
	CHECK_EQ_INT(dns_error_count(l, DNS_ERR_RDATA_OVERRUN), 1);
	mta_sts_learn_dns(l, m.bytes, 5, 1000);
	CHECK_EQ_INT(dns_error_count(l, DNS_ERR_TRUNCATED_HEADER), 1);
	mta_sts_learner_free(l);
}

static void test_learn_dns_cname(void)
{
	struct mta_sts_learner *l = mta_sts_learner_new(16);
	struct mta_sts_learnt e;
	struct msg m;
	size_t target;
	const char text[] = "v=STSv1; id=7";

	CHECK(l != NULL);
	if (l == NULL)
		return;

	/* _mta-sts.example.test CNAME _mta-sts.provider.example, whose TXT record follows. */
	put_header(&m, 0x8180, 1, 2);
	put_name(&m, "_mta-sts.example.test");
	put16(&m, DNS_TYPE_TXT);
	put16(&m, DNS_CLASS_IN);
	put16(&m, 0xc00c);
	put16(&m, DNS_TYPE_CNAME);
	put16(&m, DNS_CLASS_IN);
	put16(&m, 0);
	put16(&m, 60);
	put16(&m, 27); /* "_mta-sts.provider.example" as labels */
	target = m.len;
	put_name(&m, "_mta-sts.provider.example");
	put16(&m, (uint16_t)(0xc000u | target));
	put16(&m, DNS_TYPE_TXT);
	put16(&m, DNS_CLASS_IN);
	put16(&m, 0);
	put16(&m, 60);
	put16(&m, (uint16_t)(sizeof(text)));
	put8(&m, (uint8_t)(sizeof(text) - 1));
	put_bytes(&m, text, sizeof(text) - 1);
	CHECK_EQ_INT(read_all(m.bytes, m.len), DNS_OK);
	mta_sts_learn_dns(l, m.bytes, m.len, 5);
	CHECK(mta_sts_learner_find(l, "example.test", 12, &e));
	CHECK_EQ_STR(e.id, "7");
	CHECK(!mta_sts_learner_find(l, "provider.example", 16, &e));
	mta_sts_learner_free(l);
}

/* Answers past LIMIT_DNS_ANSWERS are not read, and the response is counted. */
static void test_learn_dns_answer_cap(void)
{
	static const char *texts[LIMIT_DNS_ANSWERS + 8];
	struct mta_sts_learner *l = mta_sts_learner_new(16);
	struct mta_sts_learnt e;
	struct msg m;

	CHECK(l != NULL);
	if (l == NULL)
		return;
	for (size_t i = 0; i < LIMIT_DNS_ANSWERS + 8; i++)
		texts[i] = "filler";
	texts[LIMIT_DNS_ANSWERS + 2] = "v=STSv1; id=late";
	build_response(&m, texts, LIMIT_DNS_ANSWERS + 8);
	mta_sts_learn_dns(l, m.bytes, m.len, 5);
	CHECK_EQ_INT(counter(l, MTA_STS_LEARN_DNS_ANSWERS_OVER_LIMIT), 1);
	CHECK(!mta_sts_learner_find(l, "example.test", 12, &e));
	mta_sts_learner_free(l);
}

/* Random bytes, and random changes to a valid response, never crash and never read out of bounds. */
static void test_learn_dns_garbage(void)
{
	static const char *const texts[] = {"v=STSv1; id=1", "x"};
	struct mta_sts_learner *l = mta_sts_learner_new(64);
	struct msg base;
	uint32_t seed = 12345;

	CHECK(l != NULL);
	if (l == NULL)
		return;
	build_response(&base, texts, 2);
	for (int round = 0; round < 20000; round++) {
		uint8_t buf[600];
		size_t len;

		seed = seed * 1103515245u + 12345u;
		if (round % 2 == 0) {
			len = (seed >> 8) % sizeof(buf);
			for (size_t i = 0; i < len; i++) {
				seed = seed * 1103515245u + 12345u;
				buf[i] = (uint8_t)(seed >> 16);
			}
			buf[2] |= 0x80; /* most random headers are then responses */
		} else {
			len = base.len;
			memcpy(buf, base.bytes, len);
			for (int flips = 0; flips < 3; flips++) {
				seed = seed * 1103515245u + 12345u;
				buf[(seed >> 8) % len] = (uint8_t)(seed >> 20);
			}
		}
		{
			uint8_t *copy = malloc(len > 0 ? len : 1);

			memcpy(copy, buf, len);
			mta_sts_learn_dns(l, copy, len, (uint64_t)round);
			free(copy);
		}
	}
	CHECK(mta_sts_learner_size(l) <= 64);
	CHECK(counter(l, MTA_STS_LEARN_DNS_MALFORMED) > 0);
	mta_sts_learner_free(l);
}

/* ---- HTTPS ---- */

/* A ClientHello record naming sni, as one TCP payload. */
static void build_client_hello(struct msg *m, const char *sni)
{
	size_t n = strlen(sni);
	size_t ext_len = 4 + 2 + 3 + n;
	size_t body_len = 2 + 32 + 1 + 2 + 2 + 2 + 2 + ext_len;

	m->len = 0;
	put8(m, 22);
	put16(m, 0x0301);
	put16(m, (uint16_t)(4 + body_len));
	put8(m, 1);
	put8(m, 0);
	put16(m, (uint16_t)body_len);
	put16(m, 0x0303);
	for (int i = 0; i < 32; i++)
		put8(m, (uint8_t)i);
	put8(m, 0);
	put16(m, 2);
	put16(m, 0x1301);
	put8(m, 1);
	put8(m, 0);
	put16(m, (uint16_t)ext_len);
	put16(m, 0x0000);
	put16(m, (uint16_t)(2 + 3 + n));
	put16(m, (uint16_t)(3 + n));
	put8(m, 0);
	put16(m, (uint16_t)n);
	put_bytes(m, sni, n);
}

static void test_learn_https(void)
{
	struct mta_sts_learner *l = mta_sts_learner_new(16);
	struct mta_sts_learnt e;
	struct msg m;
	static const uint8_t app_data[] = {23, 3, 3, 0, 5, 1, 2, 3, 4, 5};

	CHECK(l != NULL);
	if (l == NULL)
		return;
	build_client_hello(&m, "MTA-STS.Example.ORG");
	mta_sts_learn_https(l, m.bytes, m.len, 77);
	CHECK(mta_sts_learner_find(l, "example.org", 11, &e));
	CHECK_EQ_INT(e.sources, MTA_STS_SOURCE_HTTPS);
	CHECK_EQ_STR(e.id, "");
	CHECK_EQ_INT(counter(l, MTA_STS_LEARN_HTTPS_HELLOS), 1);

	/* Other names, application data, and every truncation of the hello teach nothing. */
	build_client_hello(&m, "www.example.net");
	mta_sts_learn_https(l, m.bytes, m.len, 78);
	build_client_hello(&m, "mta-sts.");
	mta_sts_learn_https(l, m.bytes, m.len, 78);
	build_client_hello(&m, "mta-sts.bad..name");
	mta_sts_learn_https(l, m.bytes, m.len, 78);
	mta_sts_learn_https(l, app_data, sizeof(app_data), 79);
	build_client_hello(&m, "mta-sts.example.com");
	for (size_t n = 0; n < m.len; n++)
		mta_sts_learn_https(l, m.bytes, n, 80);
	CHECK_EQ_INT(mta_sts_learner_size(l), 1);
	CHECK_EQ_INT(counter(l, MTA_STS_LEARN_HTTPS_HELLOS), 1);
	mta_sts_learner_free(l);
}

/* ---- the map ---- */

struct hook_log {
	int calls;
	char last[DNS_NAME_TEXT_MAX + 1];
};

static void record_hook(void *ctx, const struct mta_sts_learnt *entry)
{
	struct hook_log *log = ctx;

	log->calls++;
	snprintf(log->last, sizeof(log->last), "%s", entry->domain);
}

static void test_learner_cap(void)
{
	struct mta_sts_learner *l = mta_sts_learner_new(4);
	struct mta_sts_learnt e;
	struct hook_log log = {0, ""};
	char name[32];

	CHECK(l != NULL);
	if (l == NULL)
		return;
	mta_sts_learner_set_hook(l, record_hook, &log);
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "d%d.example", i);
		CHECK_EQ_INT(mta_sts_learner_add(l, name, MTA_STS_SOURCE_DNS, "1", 10, 10, false), 0);
	}
	CHECK_EQ_INT(log.calls, 4);

	/* Seeing d0 again makes d1 the least recently seen; the same facts do not reach the hook. */
	CHECK_EQ_INT(mta_sts_learner_add(l, "d0.example", MTA_STS_SOURCE_DNS, "1", 20, 20, false), 0);
	CHECK_EQ_INT(log.calls, 4);
	CHECK_EQ_INT(mta_sts_learner_add(l, "d4.example", MTA_STS_SOURCE_DNS, "1", 30, 30, false), 0);
	CHECK_EQ_INT(mta_sts_learner_add(l, "d5.example", MTA_STS_SOURCE_DNS, "1", 30, 30, false), 0);
	CHECK_EQ_INT(mta_sts_learner_size(l), 4);
	CHECK_EQ_INT(counter(l, MTA_STS_LEARN_DOMAINS_EVICTED), 2);
	CHECK_EQ_INT(counter(l, MTA_STS_LEARN_DOMAINS_ADDED), 6);
	CHECK(mta_sts_learner_find(l, "d0.example", 10, &e));
	CHECK_EQ_INT(e.first_usec, 10);
	CHECK_EQ_INT(e.last_usec, 20);
	CHECK(!mta_sts_learner_find(l, "d1.example", 10, &e));
	CHECK(!mta_sts_learner_find(l, "d2.example", 10, &e));
	CHECK(mta_sts_learner_find(l, "d5.example", 10, &e));

	/* A new id or a new source is a change. */
	CHECK_EQ_INT(mta_sts_learner_add(l, "d5.example", MTA_STS_SOURCE_HTTPS, NULL, 40, 40, false), 0);
	CHECK_EQ_INT(log.calls, 7);
	CHECK(mta_sts_learner_find(l, "d5.example", 10, &e));
	CHECK_EQ_INT(e.sources, MTA_STS_SOURCE_DNS | MTA_STS_SOURCE_HTTPS);
	CHECK_EQ_STR(e.id, "1");

	/* Names that are not plain DNS names are refused. */
	CHECK_EQ_INT(mta_sts_learner_add(l, "", MTA_STS_SOURCE_DNS, NULL, 1, 1, false), -1);
	CHECK_EQ_INT(mta_sts_learner_add(l, "bad name", MTA_STS_SOURCE_DNS, NULL, 1, 1, false), -1);
	CHECK_EQ_INT(mta_sts_learner_add(l, ".lead", MTA_STS_SOURCE_DNS, NULL, 1, 1, false), -1);
	CHECK(!mta_sts_learner_find(l, "x\\n", 2, &e));
	mta_sts_learner_free(l);

	/* A large cap grows its array on demand and still evicts at the cap. */
	l = mta_sts_learner_new(300);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		mta_sts_learner_add(l, name, MTA_STS_SOURCE_DNS, NULL, (uint64_t)i, (uint64_t)i, true);
	}
	CHECK_EQ_INT(mta_sts_learner_size(l), 300);
	CHECK_EQ_INT(counter(l, MTA_STS_LEARN_DOMAINS_EVICTED), 700);
	CHECK_EQ_INT(counter(l, MTA_STS_LEARN_DOMAINS_ADDED), 0); /* quiet adds are loads from the state file */
	CHECK(mta_sts_learner_find(l, "n999.example", 12, &e));
	CHECK(!mta_sts_learner_find(l, "n699.example", 12, &e));
	CHECK(mta_sts_learner_find(l, "n700.example", 12, &e));
	mta_sts_learner_free(l);
}

int main(void)
{
	test_dns_whole_message();
	test_dns_every_truncation();
	test_dns_compression();
	test_dns_limits();
	test_dns_error_names();
	test_learn_dns_records();
	test_learn_dns_cname();
	test_learn_dns_answer_cap();
	test_learn_dns_garbage();
	test_learn_https();
	test_learner_cap();
	return test_finish("test_mta_sts_learn");
}
