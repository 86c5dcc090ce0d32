/*
 * MTA-STS (RFC 8461): policy files in the format of section 3.2, mx pattern
 * matching of section 4.1, and the checks of section 4 applied to what a
 * passive sensor can observe. Result names are the TLS-RPT types of RFC 8460
 * section 4.3.
 */
#include "policy/mta_sts.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/proto.h"
#include "core/session.h"
#include "policy/mta_sts_learn.h"
#include "tls/tls_cert.h"

/* Policy files larger than this are not policies: RFC 8461 section 3.3 caps fetches at 64 KiB. */
#define MTA_STS_FILE_MAX (64u * 1024u)
/* The largest max_age of RFC 8461 section 3.2 (about one year): a learnt policy older than this has expired. */
#define MTA_STS_MAX_AGE_USEC (31557600ull * 1000000ull)

struct mta_sts_store {
	struct mta_sts_policy *policies; /* owned, sorted by domain */
	size_t count;
};

static void mta_sts_lower_copy(char *dst, size_t size, const char *src, size_t len)
{
	size_t n = len < size - 1 ? len : size - 1;

	for (size_t i = 0; i < n; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[n] = '\0';
}

static size_t mta_sts_trim(const char **p, size_t len)
{
	while (len > 0 && isspace((unsigned char)**p)) {
		(*p)++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)(*p)[len - 1]))
		len--;
	return len;
}

/* The fields RFC 8461 section 3.2 requires in every policy, noted as the lines are read. */
struct mta_sts_required {
	bool version;
	bool mode;
	bool max_age;
};

/* True for a max_age value: decimal seconds from 0 to 31557600 (RFC 8461 section 3.2). */
static bool mta_sts_valid_max_age(const char *value, size_t len)
{
	uint64_t seconds = 0;

	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (value[i] < '0' || value[i] > '9')
			return false;
		seconds = seconds * 10 + (uint64_t)(value[i] - '0');
	}
	return seconds <= 31557600u;
}

/* Applies one "key: value" line. Unknown keys are ignored, as RFC 8461 section 3.2 requires. */
static int mta_sts_policy_line(struct mta_sts_policy *out, struct mta_sts_required *seen, const char *line,
			       size_t len, char *err, size_t err_size)
{
	const char *colon = memchr(line, ':', len);
	const char *value;
	size_t key_len;
	size_t value_len;

	if (colon == NULL)
		return 0;
	key_len = mta_sts_trim(&line, (size_t)(colon - line));
	value = colon + 1;
	value_len = mta_sts_trim(&value, len - (size_t)(colon + 1 - line));
	if (key_len == 4 && memcmp(line, "mode", 4) == 0) {
		seen->mode = true;
		if (value_len == 7 && memcmp(value, "enforce", 7) == 0)
			out->mode = MTA_STS_MODE_ENFORCE;
		else if (value_len == 7 && memcmp(value, "testing", 7) == 0)
			out->mode = MTA_STS_MODE_TESTING;
		else if (value_len == 4 && memcmp(value, "none", 4) == 0)
			out->mode = MTA_STS_MODE_NONE;
		else {
			snprintf(err, err_size, "invalid mode '%.*s': expected enforce, testing or none", (int)value_len, value);
			return -1;
		}
	} else if (key_len == 2 && memcmp(line, "mx", 2) == 0) {
		if (value_len == 0) {
			snprintf(err, err_size, "empty mx line: expected a host name or *.domain");
			return -1;
		}
		if (out->mx_count >= MTA_STS_MAX_MX) {
			snprintf(err, err_size, "too many mx lines: at most %u", MTA_STS_MAX_MX);
			return -1;
		}
		mta_sts_lower_copy(out->mx[out->mx_count++], sizeof(out->mx[0]), value, value_len);
	} else if (key_len == 7 && memcmp(line, "version", 7) == 0) {
		if (value_len != 5 || memcmp(value, "STSv1", 5) != 0) {
			snprintf(err, err_size, "invalid version '%.*s': expected STSv1", (int)value_len, value);
			return -1;
		}
		seen->version = true;
	} else if (key_len == 7 && memcmp(line, "max_age", 7) == 0) {
		if (!mta_sts_valid_max_age(value, value_len)) {
			snprintf(err, err_size, "invalid max_age '%.*s': expected seconds from 0 to 31557600",
				 (int)value_len, value);
			return -1;
		}
		seen->max_age = true;
	}
	return 0;
}

int mta_sts_parse_policy(const char *text, size_t len, struct mta_sts_policy *out, char *err, size_t err_size)
{
	struct mta_sts_required seen = {false, false, false};
	size_t pos = 0;

	out->mode = MTA_STS_MODE_NONE;
	out->mx_count = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t line_len = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;

		if (mta_sts_policy_line(out, &seen, text + pos, line_len, err, err_size) != 0)
			return -1;
		pos += line_len + (nl != NULL ? 1 : 0);
	}
	if (!seen.version || !seen.mode || !seen.max_age) {
		const char *missing = "max_age";

		if (!seen.version)
			missing = "version";
		else if (!seen.mode)
			missing = "mode";
		snprintf(err, err_size, "missing %s line: RFC 8461 requires version, mode and max_age in every policy",
			 missing);
		return -1;
	}
	if (out->mode != MTA_STS_MODE_NONE && out->mx_count == 0) {
		snprintf(err, err_size, "no mx line: a policy in testing or enforce mode needs at least one");
		return -1;
	}
	return 0;
}

bool mta_sts_mx_matches(const struct mta_sts_policy *p, const char *host, size_t host_len)
{
	char name[256];

	/* A trailing dot names the same host. */
	if (host_len > 0 && host[host_len - 1] == '.')
		host_len--;
	mta_sts_lower_copy(name, sizeof(name), host, host_len);
	for (unsigned i = 0; i < p->mx_count; i++) {
		const char *pattern = p->mx[i];
		const char *dot;

		if (strcmp(pattern, name) == 0)
			return true;

		/* "*.example.com" stands for exactly one label in front of example.com. */
		dot = strchr(name, '.');
		if (pattern[0] == '*' && pattern[1] == '.' && dot != NULL && dot != name && strcmp(pattern + 1, dot) == 0)
			return true;
	}
	return false;
}

static int mta_sts_compare(const void *a, const void *b)
{
	return strcmp(((const struct mta_sts_policy *)a)->domain, ((const struct mta_sts_policy *)b)->domain);
}

/* Reads one policy file; a file that is no policy is reported with its name. */
static int mta_sts_load_file(const char *path, const char *name, struct mta_sts_policy *out, char *err,
			     size_t err_size)
{
	char text[MTA_STS_FILE_MAX];
	char reason[256];
	size_t name_len = strlen(name);
	size_t len;
	FILE *f = fopen(path, "rb");

	if (f == NULL) {
		snprintf(err, err_size, "cannot open MTA-STS policy %s: %s", path, strerror(errno));
		return -1;
	}
	len = fread(text, 1, sizeof(text), f);
	fclose(f);
	if (len == sizeof(text)) {
		snprintf(err, err_size, "MTA-STS policy %s is larger than %u bytes", path, MTA_STS_FILE_MAX - 1);
		return -1;
	}
	if (name_len > 4 && strcmp(name + name_len - 4, ".txt") == 0)
		name_len -= 4;
	mta_sts_lower_copy(out->domain, sizeof(out->domain), name, name_len);
	if (mta_sts_parse_policy(text, len, out, reason, sizeof(reason)) != 0) {
		snprintf(err, err_size, "invalid MTA-STS policy %s: %s", path, reason);
		return -1;
	}
	return 0;
}

struct mta_sts_store *mta_sts_load_dir(const char *dir, char *err, size_t err_size)
{
	struct mta_sts_store *store = calloc(1, sizeof(*store));
	size_t cap = 0;
	DIR *d = opendir(dir);
	struct dirent *e;

	if (store == NULL || d == NULL) {
		snprintf(err, err_size, "cannot open MTA-STS policy directory %s: %s", dir,
			 store == NULL ? "out of memory" : strerror(errno));
		free(store);
		if (d != NULL)
			closedir(d);
		return NULL;
	}
	while ((e = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (store->count == MTA_STS_MAX_POLICIES) {
			snprintf(err, err_size, "too many MTA-STS policies in %s: at most %u", dir, MTA_STS_MAX_POLICIES);
			goto fail;
		}
		if (store->count == cap) {
			size_t grown = cap ? cap * 2 : 16;
			struct mta_sts_policy *p = realloc(store->policies, grown * sizeof(*p));

			if (p == NULL) {
				snprintf(err, err_size, "cannot load MTA-STS policies: out of memory");
				goto fail;
			}
			store->policies = p;
			cap = grown;
		}
		if (mta_sts_load_file(path, e->d_name, &store->policies[store->count], err, err_size) != 0)
			goto fail;
		store->count++;
	}
	closedir(d);
	qsort(store->policies, store->count, sizeof(*store->policies), mta_sts_compare);
	return store;
fail:
	closedir(d);
	mta_sts_free(store);
	return NULL;
}

void mta_sts_free(struct mta_sts_store *store)
{
	if (store == NULL)
		return;
	free(store->policies);
	free(store);
}

size_t mta_sts_count(const struct mta_sts_store *store)
{
	return store != NULL ? store->count : 0;
}

static const struct mta_sts_policy *mta_sts_find(const struct mta_sts_store *store, const char *domain, size_t len)
{
	struct mta_sts_policy key;

	mta_sts_lower_copy(key.domain, sizeof(key.domain), domain, len);
	return bsearch(&key, store->policies, store->count, sizeof(key), mta_sts_compare);
}

/* The policy of the first RCPT domain that has an active one, else of a domain this server is an MX of. */
static const struct mta_sts_policy *mta_sts_select(const struct mta_sts_store *store, const struct session *s)
{
	const struct wire_text *list = &s->mail.rcpt_domains;
	const struct wire_text *host = &s->mail.greeting_host;
	size_t start = 0;

	for (size_t i = 0; i <= list->len; i++) {
		if (i == list->len || list->data[i] == '\n') {
			const struct mta_sts_policy *p = i > start ? mta_sts_find(store, list->data + start, i - start) : NULL;

			if (p != NULL && p->mode != MTA_STS_MODE_NONE)
				return p;
			start = i + 1;
		}
	}
	if (list->len > 0 || host->len == 0)
		return NULL;
	for (size_t i = 0; i < store->count; i++) {
		if (store->policies[i].mode != MTA_STS_MODE_NONE && mta_sts_mx_matches(&store->policies[i], host->data, host->len))
			return &store->policies[i];
	}
	return NULL;
}

/*
 * Names what went wrong, or NULL when the capture cannot tell. The order
 * follows the delivery: STARTTLS first, then the MX name, the protocol
 * version and the certificate. A learnt policy (p NULL) has no mx list,
 * so the MX name is not checked.
 *
 * RFC 8461 names no TLS version; a version below TLS 1.2, which RFC 8996
 * forbids, is reported as the catch-all validation-failure of RFC 8460.
 */
static const char *mta_sts_evaluate(const struct mta_sts_policy *p, const struct session *s)
{
	const struct starttls_summary *st = &s->mail.starttls;
	const struct tls_cert_summary *cert = s->tls.cert;

	if (st->result != STARTTLS_RESULT_OK) {
		if (st->offered == TRISTATE_UNKNOWN && !st->attempted)
			return NULL;
		return "starttls-not-supported";
	}
	if (p != NULL && s->mail.greeting_host.len > 0 &&
	    !mta_sts_mx_matches(p, s->mail.greeting_host.data, s->mail.greeting_host.len))
		return "certificate-host-mismatch";
	if (s->tls.server_hello_seen && tls_version_rank(s->tls.version) < tls_version_rank(TLS_VERSION_TLS12))
		return "validation-failure";
	if (cert != NULL && cert->chain_checked && !cert->chain_valid)
		return strstr(cert->chain_error, "expired") != NULL ? "certificate-expired" : "certificate-not-trusted";
	if (cert != NULL && cert->hostname_checked && !cert->hostname_valid)
		return "certificate-host-mismatch";
	return "success";
}

/*
 * The learnt policy of the first RCPT domain that has one and no operator
 * file, and that was seen within the largest max_age before the session.
 */
static bool mta_sts_select_learnt(const struct mta_sts_store *store, struct mta_sts_learner *learner,
				  const struct session *s, struct mta_sts_learnt *out)
{
	const struct wire_text *list = &s->mail.rcpt_domains;
	size_t start = 0;

	for (size_t i = 0; i <= list->len; i++) {
		const char *domain = list->data + start;
		size_t len = i - start;

		if (i < list->len && list->data[i] != '\n')
			continue;
		start = i + 1;
		if (len == 0 || (store != NULL && mta_sts_find(store, domain, len) != NULL))
			continue;
		if (!mta_sts_learner_find(learner, domain, len, out))
			continue;
		if (s->first_ts_usec > out->last_usec + MTA_STS_MAX_AGE_USEC)
			continue;
		return true;
	}
	return false;
}

/* Records the verdict; result NULL (the capture cannot tell) leaves the session unchecked. */
static void mta_sts_record(struct session *s, const char *domain, const char *mode, const char *source,
			   const char *result, enum anomaly violation)
{
	if (result == NULL)
		return;
	s->mta_sts.checked = true;
	snprintf(s->mta_sts.domain, sizeof(s->mta_sts.domain), "%s", domain);
	snprintf(s->mta_sts.mode, sizeof(s->mta_sts.mode), "%s", mode);
	s->mta_sts.policy_source = source;
	s->mta_sts.result = result;
	if (strcmp(result, "success") != 0)
		session_add_anomaly(s, violation);
}

void mta_sts_apply(const struct mta_sts_store *store, struct mta_sts_learner *learner, struct session *s)
{
	const struct mta_sts_policy *p = NULL;
	struct mta_sts_learnt learnt;

	/* MTA-STS governs relaying between MTAs, on port 25 (RFC 8461 section 1). */
	if (s->app_proto != APP_PROTO_SMTP)
		return;
	if (store != NULL)
		p = mta_sts_select(store, s);
	if (p != NULL) {
		mta_sts_record(s, p->domain, p->mode == MTA_STS_MODE_ENFORCE ? "enforce" : "testing", "operator",
			       mta_sts_evaluate(p, s), ANOMALY_MTA_STS_POLICY_VIOLATION);
		return;
	}
	if (learner == NULL || !mta_sts_select_learnt(store, learner, s, &learnt))
		return;
	mta_sts_record(s, learnt.domain, "", "learnt", mta_sts_evaluate(NULL, s),
		       ANOMALY_MTA_STS_LEARNT_POLICY_VIOLATION);
	if (s->mta_sts.checked)
		snprintf(s->mta_sts.policy_id, sizeof(s->mta_sts.policy_id), "%s", learnt.id);
}
