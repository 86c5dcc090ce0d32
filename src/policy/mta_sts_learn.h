/*
 * MTA-STS policies learnt passively from the monitored link: a DNS answer
 * with a "v=STSv1" TXT record for _mta-sts.<domain> (RFC 8461 section 3.1)
 * shows that the domain publishes a policy, and a TLS ClientHello to
 * mta-sts.<domain> on port 443 shows a sender fetching it (section 3.3).
 * Neither shows the policy's mode or mx list, which travel inside HTTPS.
 *
 * The map is bounded (LIMIT_MTA_STS_LEARNT_DOMAINS); the least recently
 * seen domain is evicted first and counted. Learning runs on the capture
 * thread while sessions end on worker threads, so the map has a lock.
 */
#ifndef MAILTAP_MTA_STS_LEARN_H
#define MAILTAP_MTA_STS_LEARN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/dns.h"

#define MTA_STS_HTTPS_PORT 443u
/* RFC 8461 section 3.1: id = 1*32(ALPHA / DIGIT). */
#define MTA_STS_ID_MAX 32u

/* Sources of a learnt policy, as bits: an entry may have both. */
#define MTA_STS_SOURCE_DNS 0x1u   /* TXT record of _mta-sts.<domain> */
#define MTA_STS_SOURCE_HTTPS 0x2u /* ClientHello naming mta-sts.<domain> */

struct mta_sts_learnt {
	char domain[DNS_NAME_TEXT_MAX + 1]; /* lower case, without the _mta-sts or mta-sts label */
	char id[MTA_STS_ID_MAX + 1];	    /* id of the TXT record; "" when only HTTPS was seen */
	unsigned sources;		    /* MTA_STS_SOURCE_* bits */
	uint64_t first_usec;		    /* packet time of the first sighting */
	uint64_t last_usec;		    /* packet time of the latest sighting */
};

enum mta_sts_learn_count {
	MTA_STS_LEARN_DNS_RESPONSES = 0, /* UDP port 53 responses read */
	MTA_STS_LEARN_DNS_MALFORMED,	 /* port 53 messages that failed to parse; the reasons are counted apart */
	MTA_STS_LEARN_DNS_ANSWERS_OVER_LIMIT, /* responses with more answers than LIMIT_DNS_ANSWERS */
	MTA_STS_LEARN_TXT_RECORDS,	 /* _mta-sts TXT records that start with v=STSv1 */
	MTA_STS_LEARN_TXT_INVALID,	 /* responses whose v=STSv1 records were not exactly one valid record */
	MTA_STS_LEARN_HTTPS_HELLOS,	 /* ClientHellos naming mta-sts.<domain> */
	MTA_STS_LEARN_DOMAINS_ADDED,	 /* new domains learnt from the link; loads from the state file are not counted */
	MTA_STS_LEARN_DOMAINS_EVICTED,
	MTA_STS_LEARN_COUNT
};

/* Returns the stable snake_case name of a counter, or "unknown". */
const char *mta_sts_learn_count_name(enum mta_sts_learn_count c);

/* Called with the lock held after an entry was added or changed; it must not call back into the learner. */
typedef void (*mta_sts_learn_fn)(void *ctx, const struct mta_sts_learnt *entry);

struct mta_sts_learner;

/* Creates a map of at most capacity domains (at least 1). Returns NULL when memory runs out. */
struct mta_sts_learner *mta_sts_learner_new(uint32_t capacity);
void mta_sts_learner_free(struct mta_sts_learner *l);
/* Sets the function called with every new or changed entry, for the state file. */
void mta_sts_learner_set_hook(struct mta_sts_learner *l, mta_sts_learn_fn fn, void *ctx);

/* Reads one UDP payload from or to port 53 and learns from a response. */
void mta_sts_learn_dns(struct mta_sts_learner *l, const uint8_t *payload, size_t len, uint64_t ts_usec);
/* Reads one TCP payload to port 443 and learns from a ClientHello to mta-sts.<domain>. */
void mta_sts_learn_https(struct mta_sts_learner *l, const uint8_t *payload, size_t len, uint64_t ts_usec);

/*
 * Adds or refreshes a domain. sources are MTA_STS_SOURCE_* bits, id may be
 * NULL or "". Returns 0, or -1 when the domain is not a plain DNS name.
 * The hook is called unless quiet is set (a load from the state file).
 */
int mta_sts_learner_add(struct mta_sts_learner *l, const char *domain, unsigned sources, const char *id,
			uint64_t first_usec, uint64_t last_usec, bool quiet);
/* Copies the entry of domain (len bytes, any case) into out. Returns true when the domain is known. */
bool mta_sts_learner_find(struct mta_sts_learner *l, const char *domain, size_t len, struct mta_sts_learnt *out);

/* Copies the counters: MTA_STS_LEARN_COUNT of them, and DNS_ERROR_COUNT DNS error reasons (index -error). */
void mta_sts_learner_counts(struct mta_sts_learner *l, uint64_t counts[MTA_STS_LEARN_COUNT],
			    uint64_t dns_errors[DNS_ERROR_COUNT]);
/* Returns the domains in the map now. */
size_t mta_sts_learner_size(struct mta_sts_learner *l);
/* Calls fn for every entry, least recently seen first, under the lock. */
void mta_sts_learner_each(struct mta_sts_learner *l, mta_sts_learn_fn fn, void *ctx);

#endif
