/* MTA-STS policy parsing (RFC 8461 3.2), mx patterns (4.1) and session verdicts. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/session.h"
#include "policy/mta_sts.h"
#include "policy/mta_sts_learn.h"
#include "test.h"
#include "tls/tls_cert.h"

static const char policy_text[] = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
				  "mx: *.example.net\r\nmax_age: 604800\r\n";

/* Parses a NUL-terminated policy text. */
static int parse_text(const char *text, struct mta_sts_policy *p, char *err, size_t err_size)
{
	return mta_sts_parse_policy(text, strlen(text), p, err, err_size);
}

static void test_mta_sts_parse(void)
{
	struct mta_sts_policy p;
	char err[256];

	CHECK_EQ_INT(mta_sts_parse_policy(policy_text, strlen(policy_text), &p, err, sizeof(err)), 0);
	CHECK_EQ_INT(p.mode, MTA_STS_MODE_ENFORCE);
	CHECK_EQ_INT(p.mx_count, 2);
	CHECK_EQ_STR(p.mx[0], "mail.example.com");
	CHECK_EQ_STR(p.mx[1], "*.example.net");

	/* Mode and version values are case-sensitive and must be known. */
	CHECK_EQ_INT(mta_sts_parse_policy("version: STSv1\nmode: strict\nmx: a.b\n", 36, &p, err, sizeof(err)), -1);
	CHECK(strstr(err, "strict") != NULL);
	CHECK_EQ_INT(mta_sts_parse_policy("version: STSv2\nmode: none\n", 26, &p, err, sizeof(err)), -1);

	/* testing and enforce need an mx line; none does not. */
	CHECK_EQ_INT(parse_text("version: STSv1\nmode: testing\nmax_age: 86400\n", &p, err, sizeof(err)), -1);
	CHECK_EQ_INT(parse_text("version: STSv1\nmode: none\nmax_age: 86400\n", &p, err, sizeof(err)), 0);

	/* version, mode and max_age are required (RFC 8461 section 3.2), and max_age is at most 31557600. */
	CHECK_EQ_INT(parse_text("mode: enforce\nmx: a.b\nmax_age: 1\n", &p, err, sizeof(err)), -1);
	CHECK(strstr(err, "version") != NULL);
	CHECK_EQ_INT(parse_text("version: STSv1\nmx: a.b\nmax_age: 1\n", &p, err, sizeof(err)), -1);
	CHECK(strstr(err, "mode") != NULL);
	CHECK_EQ_INT(parse_text("version: STSv1\nmode: enforce\nmx: a.b\n", &p, err, sizeof(err)), -1);
	CHECK(strstr(err, "max_age") != NULL);
	CHECK_EQ_INT(parse_text("version: STSv1\nmode: none\nmax_age: 31557601\n", &p, err, sizeof(err)),
		     -1);
	CHECK_EQ_INT(parse_text("version: STSv1\nmode: none\nmax_age: 31557600\n", &p, err, sizeof(err)),
		     0);
	CHECK_EQ_INT(parse_text("version: STSv1\nmode: none\nmax_age: -1\n", &p, err, sizeof(err)), -1);

	/* Cut anywhere, a policy parses or fails cleanly; only the whole text has every required line. */
	for (size_t n = 0; n <= strlen(policy_text); n++) {
		int rc = mta_sts_parse_policy(policy_text, n, &p, err, sizeof(err));

		if (n < strlen(policy_text) - strlen("604800\r\n"))
			CHECK_EQ_INT(rc, -1);
	}
}

static void test_mta_sts_mx_patterns(void)
{
	struct mta_sts_policy p;
	char err[256];

	CHECK_EQ_INT(mta_sts_parse_policy(policy_text, strlen(policy_text), &p, err, sizeof(err)), 0);
	CHECK(mta_sts_mx_matches(&p, "mail.example.com", 16));
	CHECK(mta_sts_mx_matches(&p, "MAIL.Example.COM.", 17));
	CHECK(mta_sts_mx_matches(&p, "mx1.example.net", 15));
	/* The wildcard stands for exactly one label. */
	CHECK(!mta_sts_mx_matches(&p, "a.mx1.example.net", 17));
	CHECK(!mta_sts_mx_matches(&p, "example.net", 11));
	CHECK(!mta_sts_mx_matches(&p, "mail.example.org", 16));
}

static struct mta_sts_store *store_with_policy(char *dir, size_t size)
{
	char path[512];
	char err[256];
	FILE *f;

	snprintf(dir, size, "/tmp/mailtap-mta-sts-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/example.com.txt", dir);
	f = fopen(path, "w");
	if (f == NULL)
		return NULL;
	fputs(policy_text, f);
	fclose(f);
	return mta_sts_load_dir(dir, err, sizeof(err));
}

static void session_to(struct session *s, const char *rcpt_domain, const char *greeting)
{
	memset(s, 0, sizeof(*s));
	s->app_proto = APP_PROTO_SMTP;
	s->mail.starttls.offered = TRISTATE_TRUE;
	wire_text_set(&s->mail.rcpt_domains, rcpt_domain, strlen(rcpt_domain));
	wire_text_set(&s->mail.greeting_host, greeting, strlen(greeting));
}

static void test_mta_sts_verdicts(void)
{
	char dir[64];
	struct mta_sts_store *store = store_with_policy(dir, sizeof(dir));
	struct tls_cert_summary cert;
	struct session s;

	CHECK(store != NULL);
	if (store == NULL)
		return;
	CHECK_EQ_INT(mta_sts_count(store), 1);

	/* Offered and not used: the message went in clear. */
	session_to(&s, "example.com", "mail.example.com");
	mta_sts_apply(store, NULL, &s);
	CHECK(s.mta_sts.checked);
	CHECK_EQ_STR(s.mta_sts.domain, "example.com");
	CHECK_EQ_STR(s.mta_sts.mode, "enforce");
	CHECK_EQ_STR(s.mta_sts.result, "starttls-not-supported");
	CHECK(session_has_anomaly(&s, ANOMALY_MTA_STS_POLICY_VIOLATION));

	/* TLS 1.3 to a listed MX: success, no anomaly. */
	session_to(&s, "", "mail.example.com");
	s.mail.starttls.attempted = true;
	s.mail.starttls.result = STARTTLS_RESULT_OK;
	s.tls.server_hello_seen = true;
	s.tls.version = TLS_VERSION_TLS13;
	mta_sts_apply(store, NULL, &s);
	CHECK_EQ_STR(s.mta_sts.result, "success");
	CHECK(!session_has_anomaly(&s, ANOMALY_MTA_STS_POLICY_VIOLATION));

	/* TLS 1.0 is below the floor of RFC 8461 section 4. */
	s.tls.version = TLS_VERSION_TLS10;
	s.anomalies = 0;
	mta_sts_apply(store, NULL, &s);
	CHECK_EQ_STR(s.mta_sts.result, "validation-failure");

	/* An expired chain and a name mismatch get their own result types. */
	memset(&cert, 0, sizeof(cert));
	cert.chain_checked = true;
	snprintf(cert.chain_error, sizeof(cert.chain_error), "certificate has expired");
	s.tls.version = TLS_VERSION_TLS12;
	s.tls.cert = &cert;
	mta_sts_apply(store, NULL, &s);
	CHECK_EQ_STR(s.mta_sts.result, "certificate-expired");
	cert.chain_valid = true;
	cert.hostname_checked = true;
	mta_sts_apply(store, NULL, &s);
	CHECK_EQ_STR(s.mta_sts.result, "certificate-host-mismatch");
	s.tls.cert = NULL;

	/* An MX outside the policy's patterns. */
	session_to(&s, "example.com", "relay.example.org");
	s.mail.starttls.result = STARTTLS_RESULT_OK;
	mta_sts_apply(store, NULL, &s);
	CHECK_EQ_STR(s.mta_sts.result, "certificate-host-mismatch");

	/* Unknown STARTTLS support: no verdict. */
	session_to(&s, "example.com", "mail.example.com");
	s.mail.starttls.offered = TRISTATE_UNKNOWN;
	mta_sts_apply(store, NULL, &s);
	CHECK(!s.mta_sts.checked);

	/* Submission is not relaying between MTAs: not checked. */
	session_to(&s, "example.com", "mail.example.com");
	s.app_proto = APP_PROTO_SUBMISSION;
	mta_sts_apply(store, NULL, &s);
	CHECK(!s.mta_sts.checked);

	/* A domain without a policy. */
	session_to(&s, "example.org", "mx.example.org");
	mta_sts_apply(store, NULL, &s);
	CHECK(!s.mta_sts.checked);

	mta_sts_free(store);
	{
		char path[512];

		snprintf(path, sizeof(path), "%s/example.com.txt", dir);
		remove(path);
		rmdir(dir);
	}
}

/* Learnt policies: no mode, no mx list, and operator files win. */
static void test_mta_sts_learnt_verdicts(void)
{
	char dir[64];
	struct mta_sts_store *store = store_with_policy(dir, sizeof(dir));
	struct mta_sts_learner *learner = mta_sts_learner_new(8);
	struct session s;
	const uint64_t day = 86400ull * 1000000ull;

	CHECK(store != NULL);
	CHECK(learner != NULL);
	if (store == NULL || learner == NULL)
		return;
	CHECK_EQ_INT(mta_sts_learner_add(learner, "Example.TEST", MTA_STS_SOURCE_DNS, "20240101", day, day, false), 0);
	CHECK_EQ_INT(mta_sts_learner_add(learner, "example.com", MTA_STS_SOURCE_HTTPS, NULL, day, day, false), 0);

	/* STARTTLS offered but not used, to a learnt domain: the learnt anomaly, not the operator one. */
	session_to(&s, "example.test", "mail.example.test");
	s.first_ts_usec = 2 * day;
	mta_sts_apply(store, learner, &s);
	CHECK(s.mta_sts.checked);
	CHECK_EQ_STR(s.mta_sts.domain, "example.test");
	CHECK_EQ_STR(s.mta_sts.mode, "");
	CHECK_EQ_STR(s.mta_sts.policy_source, "learnt");
	CHECK_EQ_STR(s.mta_sts.policy_id, "20240101");
	CHECK_EQ_STR(s.mta_sts.result, "starttls-not-supported");
	CHECK(session_has_anomaly(&s, ANOMALY_MTA_STS_LEARNT_POLICY_VIOLATION));
	CHECK(!session_has_anomaly(&s, ANOMALY_MTA_STS_POLICY_VIOLATION));

	/* STARTTLS not offered at all is the same result type. */
	session_to(&s, "example.test", "mail.example.test");
	s.mail.starttls.offered = TRISTATE_FALSE;
	mta_sts_apply(store, learner, &s);
	CHECK_EQ_STR(s.mta_sts.result, "starttls-not-supported");

	/* Any MX name passes, because the mx list of a learnt policy is unknown. */
	session_to(&s, "example.test", "relay.elsewhere.example");
	s.mail.starttls.attempted = true;
	s.mail.starttls.result = STARTTLS_RESULT_OK;
	s.tls.server_hello_seen = true;
	s.tls.version = TLS_VERSION_TLS13;
	mta_sts_apply(store, learner, &s);
	CHECK_EQ_STR(s.mta_sts.result, "success");
	CHECK(!session_has_anomaly(&s, ANOMALY_MTA_STS_LEARNT_POLICY_VIOLATION));

	/* TLS 1.0 fails the RFC 8996 floor. */
	s.tls.version = TLS_VERSION_TLS10;
	mta_sts_apply(store, learner, &s);
	CHECK_EQ_STR(s.mta_sts.result, "validation-failure");
	CHECK(session_has_anomaly(&s, ANOMALY_MTA_STS_LEARNT_POLICY_VIOLATION));

	/* example.com has an operator file, which takes precedence over the learnt entry. */
	session_to(&s, "example.com", "mail.example.com");
	mta_sts_apply(store, learner, &s);
	CHECK_EQ_STR(s.mta_sts.policy_source, "operator");
	CHECK_EQ_STR(s.mta_sts.mode, "enforce");
	CHECK(session_has_anomaly(&s, ANOMALY_MTA_STS_POLICY_VIOLATION));
	CHECK(!session_has_anomaly(&s, ANOMALY_MTA_STS_LEARNT_POLICY_VIOLATION));

	/* The second RCPT domain is learnt when the first is unknown. */
	session_to(&s, "unknown.example\nexample.test", "mail.example.test");
	mta_sts_apply(NULL, learner, &s);
	CHECK_EQ_STR(s.mta_sts.domain, "example.test");

	/* A policy last seen more than the largest max_age (one year) before the session has expired. */
	session_to(&s, "example.test", "mail.example.test");
	s.first_ts_usec = 400 * day;
	mta_sts_apply(NULL, learner, &s);
	CHECK(!s.mta_sts.checked);

	mta_sts_learner_free(learner);
	mta_sts_free(store);
	{
		char path[512];

		snprintf(path, sizeof(path), "%s/example.com.txt", dir);
		remove(path);
		rmdir(dir);
	}
}

int main(void)
{
	test_mta_sts_parse();
	test_mta_sts_mx_patterns();
	test_mta_sts_verdicts();
	test_mta_sts_learnt_verdicts();
	return test_finish("test_mta_sts");
}
