/*
 * MTA-STS policies (RFC 8461) supplied by the operator, and the check of
 * an SMTP session against them, with failures named by the TLS-RPT result
 * types of RFC 8460.
 */
#ifndef MAILTAP_MTA_STS_H
#define MAILTAP_MTA_STS_H

#include <stdbool.h>
#include <stddef.h>

struct session;
struct mta_sts_learner;

/* Policies held at most; a larger directory is refused at load time. */
#define MTA_STS_MAX_POLICIES 100000u
/* mx patterns per policy. */
#define MTA_STS_MAX_MX 16u

enum mta_sts_mode {
	MTA_STS_MODE_NONE = 0,
	MTA_STS_MODE_TESTING,
	MTA_STS_MODE_ENFORCE,
};

struct mta_sts_policy {
	char domain[256]; /* lower case */
	enum mta_sts_mode mode;
	char mx[MTA_STS_MAX_MX][256]; /* lower case; "*.example.com" matches one label */
	unsigned mx_count;
};

struct mta_sts_store;

/*
 * Parses one policy text (RFC 8461 section 3.2: "key: value" lines).
 * Returns 0, or -1 with the reason in err.
 */
int mta_sts_parse_policy(const char *text, size_t len, struct mta_sts_policy *out, char *err, size_t err_size);
/* True when host matches an mx pattern of the policy (RFC 8461 section 4.1). */
bool mta_sts_mx_matches(const struct mta_sts_policy *p, const char *host, size_t host_len);

/*
 * Loads every file of dir as the policy of the domain named by the file
 * ("example.com" or "example.com.txt"). Returns NULL with the reason in err.
 */
struct mta_sts_store *mta_sts_load_dir(const char *dir, char *err, size_t err_size);
void mta_sts_free(struct mta_sts_store *store);
size_t mta_sts_count(const struct mta_sts_store *store);

/*
 * Checks an SMTP session against the operator's policy of its first RCPT
 * domain seen in clear that has one in testing or enforce mode, else of a
 * domain whose mx patterns match the server's greeting name. A failure
 * adds mta_sts_policy_violation.
 *
 * Without an operator policy, the check uses the learnt policy of the first
 * RCPT domain that has one and no operator file. Only the tests that need
 * neither mode nor mx list run, and a failure adds
 * mta_sts_learnt_policy_violation. Fills s->mta_sts; store and learner may
 * be NULL.
 */
void mta_sts_apply(const struct mta_sts_store *store, struct mta_sts_learner *learner, struct session *s);

#endif
