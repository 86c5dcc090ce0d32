/*
 * Passive MTA-STS learning: the _mta-sts TXT record of RFC 8461 section
 * 3.1 in DNS responses, and ClientHellos to the policy host of section 3.3.
 *
 * The map is a hash table over a slot array that grows by doubling up to
 * its capacity, with the slots on one list from least to most recently
 * seen. Slots are addressed by index, so growing the array never moves a
 * link.
 */
#include "policy/mta_sts_learn.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/fnv.h"
#include "tls/tls.h"

#define LEARN_NIL UINT32_MAX
#define LEARN_SLOTS_INITIAL 64u
/* A refreshed entry goes to the state file again once it is this much older than its last write. */
#define LEARN_REPORT_INTERVAL_USEC (3600ull * 1000000ull)
/* TXT text kept per record: a policy record is a few dozen bytes. */
#define LEARN_TXT_MAX 512u
#define LEARN_TXT_PREFIX "_mta-sts."
#define LEARN_HTTPS_PREFIX "mta-sts."

struct learn_slot {
	struct mta_sts_learnt entry;
	uint32_t hash;
	uint32_t hash_next;
	uint32_t lru_prev;
	uint32_t lru_next;
	uint64_t reported_usec; /* last_usec at the hook's last call for this entry */
};

struct mta_sts_learner {
	pthread_mutex_t lock;
	uint32_t capacity;
	uint32_t used;	    /* slots holding an entry */
	uint32_t allocated; /* slots in the array */
	struct learn_slot *slots;
	uint32_t *buckets; /* bucket_count heads, LEARN_NIL when empty */
	uint32_t bucket_count;
	uint32_t lru_head; /* least recently seen */
	uint32_t lru_tail;
	mta_sts_learn_fn hook;
	void *hook_ctx;
	uint64_t counts[MTA_STS_LEARN_COUNT];
	uint64_t dns_errors[DNS_ERROR_COUNT];
};

static const char *const learn_count_names[MTA_STS_LEARN_COUNT] = {
	[MTA_STS_LEARN_DNS_RESPONSES] = "dns_responses",
	[MTA_STS_LEARN_DNS_MALFORMED] = "dns_malformed",
	[MTA_STS_LEARN_DNS_ANSWERS_OVER_LIMIT] = "dns_answers_over_limit",
	[MTA_STS_LEARN_TXT_RECORDS] = "txt_records",
	[MTA_STS_LEARN_TXT_INVALID] = "txt_invalid",
	[MTA_STS_LEARN_HTTPS_HELLOS] = "https_hellos",
	[MTA_STS_LEARN_DOMAINS_ADDED] = "domains_added",
	[MTA_STS_LEARN_DOMAINS_EVICTED] = "domains_evicted",
};

const char *mta_sts_learn_count_name(enum mta_sts_learn_count c)
{
	if ((unsigned)c >= MTA_STS_LEARN_COUNT)
		return "unknown";
	return learn_count_names[c];
}

/* ---- the map ---- */

struct mta_sts_learner *mta_sts_learner_new(uint32_t capacity)
{
	struct mta_sts_learner *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->capacity = capacity > 0 ? capacity : 1;
	l->bucket_count = 16;
	while (l->bucket_count < l->capacity && l->bucket_count < (1u << 30))
		l->bucket_count <<= 1;
	l->buckets = malloc((size_t)l->bucket_count * sizeof(*l->buckets));
	if (l->buckets == NULL) {
		free(l);
		return NULL;
	}
	for (uint32_t i = 0; i < l->bucket_count; i++)
		l->buckets[i] = LEARN_NIL;
	l->lru_head = LEARN_NIL;
	l->lru_tail = LEARN_NIL;
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

void mta_sts_learner_free(struct mta_sts_learner *l)
{
	if (l == NULL)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l->slots);
	free(l->buckets);
	free(l);
}

void mta_sts_learner_set_hook(struct mta_sts_learner *l, mta_sts_learn_fn fn, void *ctx)
{
	pthread_mutex_lock(&l->lock);
	l->hook = fn;
	l->hook_ctx = ctx;
	pthread_mutex_unlock(&l->lock);
}

/* Hashes the lower-case name. */
static uint32_t learn_hash(const char *name)
{
	return fnv1a_32_string(name);
}

static void learn_lru_unlink(struct mta_sts_learner *l, uint32_t i)
{
	struct learn_slot *s = &l->slots[i];

	if (s->lru_prev != LEARN_NIL)
		l->slots[s->lru_prev].lru_next = s->lru_next;
	else
		l->lru_head = s->lru_next;
	if (s->lru_next != LEARN_NIL)
		l->slots[s->lru_next].lru_prev = s->lru_prev;
	else
		l->lru_tail = s->lru_prev;
	s->lru_prev = LEARN_NIL;
	s->lru_next = LEARN_NIL;
}

static void learn_lru_append(struct mta_sts_learner *l, uint32_t i)
{
	struct learn_slot *s = &l->slots[i];

	s->lru_prev = l->lru_tail;
	s->lru_next = LEARN_NIL;
	if (l->lru_tail != LEARN_NIL)
		l->slots[l->lru_tail].lru_next = i;
	else
		l->lru_head = i;
	l->lru_tail = i;
}

static uint32_t learn_find_slot(const struct mta_sts_learner *l, const char *domain, uint32_t hash)
{
	for (uint32_t i = l->buckets[hash & (l->bucket_count - 1)]; i != LEARN_NIL; i = l->slots[i].hash_next) {
		if (l->slots[i].hash == hash && strcmp(l->slots[i].entry.domain, domain) == 0)
			return i;
	}
	return LEARN_NIL;
}

static void learn_hash_unlink(struct mta_sts_learner *l, uint32_t i)
{
	uint32_t *link = &l->buckets[l->slots[i].hash & (l->bucket_count - 1)];

	while (*link != LEARN_NIL && *link != i)
		link = &l->slots[*link].hash_next;
	if (*link == i)
		*link = l->slots[i].hash_next;
}

/* Returns a free slot: a new one while the array can grow, else the least recently seen entry's. */
static uint32_t learn_take_slot(struct mta_sts_learner *l)
{
	uint32_t victim;

	if (l->used < l->allocated)
		return l->used++;
	if (l->allocated < l->capacity) {
		uint32_t grown = l->allocated > 0 ? l->allocated * 2 : LEARN_SLOTS_INITIAL;
		struct learn_slot *slots;

		if (grown > l->capacity)
			grown = l->capacity;
		slots = realloc(l->slots, (size_t)grown * sizeof(*slots));
		if (slots != NULL) {
			l->slots = slots;
			l->allocated = grown;
			return l->used++;
		}
	}

	/* Full, or out of memory: the oldest entry makes room. */
	victim = l->lru_head;
	if (victim == LEARN_NIL)
		return LEARN_NIL;
	learn_lru_unlink(l, victim);
	learn_hash_unlink(l, victim);
	l->counts[MTA_STS_LEARN_DOMAINS_EVICTED]++;
	return victim;
}

static bool learn_is_plain_domain(const char *name, size_t len)
{
	if (len == 0 || len > DNS_NAME_TEXT_MAX || name[0] == '.' || name[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_' || c == '.'))
			return false;
		if (c == '.' && name[i + 1] == '.')
			return false;
	}
	return true;
}

static void learn_lower_copy(char *dst, const char *src, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = src[i];

		dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	dst[len] = '\0';
}

/* Adds or refreshes an entry; the caller holds the lock and has checked the domain. */
static void learn_add_locked(struct mta_sts_learner *l, const char *domain, unsigned sources, const char *id,
			     uint64_t first_usec, uint64_t last_usec, bool quiet)
{
	uint32_t hash = learn_hash(domain);
	uint32_t i = learn_find_slot(l, domain, hash);
	struct learn_slot *s;
	bool changed = false;

	if (i == LEARN_NIL) {
		i = learn_take_slot(l);
		if (i == LEARN_NIL)
			return;
		s = &l->slots[i];
		memset(s, 0, sizeof(*s));
		snprintf(s->entry.domain, sizeof(s->entry.domain), "%s", domain);
		s->entry.first_usec = first_usec;
		s->hash = hash;
		s->hash_next = l->buckets[hash & (l->bucket_count - 1)];
		l->buckets[hash & (l->bucket_count - 1)] = i;
		if (!quiet)
			l->counts[MTA_STS_LEARN_DOMAINS_ADDED]++;
		changed = true;
	} else {
		s = &l->slots[i];
		learn_lru_unlink(l, i);
	}
	learn_lru_append(l, i);
	if ((s->entry.sources | sources) != s->entry.sources) {
		s->entry.sources |= sources;
		changed = true;
	}
	if (id != NULL && id[0] != '\0' && strcmp(s->entry.id, id) != 0) {
		snprintf(s->entry.id, sizeof(s->entry.id), "%s", id);
		changed = true;
	}
	if (first_usec < s->entry.first_usec)
		s->entry.first_usec = first_usec;
	if (last_usec > s->entry.last_usec)
		s->entry.last_usec = last_usec;
	if (quiet) {
		s->reported_usec = s->entry.last_usec;
		return;
	}
	if (changed || s->entry.last_usec >= s->reported_usec + LEARN_REPORT_INTERVAL_USEC) {
		s->reported_usec = s->entry.last_usec;
		if (l->hook != NULL)
			l->hook(l->hook_ctx, &s->entry);
	}
}

int mta_sts_learner_add(struct mta_sts_learner *l, const char *domain, unsigned sources, const char *id,
			uint64_t first_usec, uint64_t last_usec, bool quiet)
{
	char name[DNS_NAME_TEXT_MAX + 1];
	size_t len = strlen(domain);

	if (!learn_is_plain_domain(domain, len))
		return -1;
	learn_lower_copy(name, domain, len);
	pthread_mutex_lock(&l->lock);
	learn_add_locked(l, name, sources, id, first_usec, last_usec, quiet);
	pthread_mutex_unlock(&l->lock);
	return 0;
}

bool mta_sts_learner_find(struct mta_sts_learner *l, const char *domain, size_t len, struct mta_sts_learnt *out)
{
	char name[DNS_NAME_TEXT_MAX + 1];
	uint32_t i;

	/* A trailing dot names the same domain. */
	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (!learn_is_plain_domain(domain, len))
		return false;
	learn_lower_copy(name, domain, len);
	pthread_mutex_lock(&l->lock);
	i = learn_find_slot(l, name, learn_hash(name));
	if (i != LEARN_NIL)
		*out = l->slots[i].entry;
	pthread_mutex_unlock(&l->lock);
	return i != LEARN_NIL;
}

void mta_sts_learner_counts(struct mta_sts_learner *l, uint64_t counts[MTA_STS_LEARN_COUNT],
			    uint64_t dns_errors[DNS_ERROR_COUNT])
{
	pthread_mutex_lock(&l->lock);
	memcpy(counts, l->counts, sizeof(l->counts));
	memcpy(dns_errors, l->dns_errors, sizeof(l->dns_errors));
	pthread_mutex_unlock(&l->lock);
}

size_t mta_sts_learner_size(struct mta_sts_learner *l)
{
	size_t n;

	pthread_mutex_lock(&l->lock);
	n = l->used;
	pthread_mutex_unlock(&l->lock);
	return n;
}

void mta_sts_learner_each(struct mta_sts_learner *l, mta_sts_learn_fn fn, void *ctx)
{
	pthread_mutex_lock(&l->lock);
	for (uint32_t i = l->lru_head; i != LEARN_NIL; i = l->slots[i].lru_next)
		fn(ctx, &l->slots[i].entry);
	pthread_mutex_unlock(&l->lock);
}

/* ---- DNS ---- */

static bool learn_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* True when a TXT text is an MTA-STS record: "v=STSv1" followed by a field delimiter or its end. */
static bool learn_is_sts_record(const char *txt)
{
	const char *p = txt + 7;

	if (strncmp(txt, "v=STSv1", 7) != 0)
		return false;
	while (learn_is_wsp(*p))
		p++;
	return *p == ';' || *p == '\0';
}

/*
 * Reads the id of an MTA-STS record (RFC 8461 section 3.1): "v=STSv1",
 * then fields separated by ";" and optional white space, one of them
 * "id=" with 1 to 32 letters and digits. Returns 0, or -1 when the record
 * is invalid.
 */
static int learn_parse_sts_record(const char *txt, char id[MTA_STS_ID_MAX + 1])
{
	const char *p = txt + 7;
	bool have_id = false;

	while (*p != '\0') {
		const char *field;
		size_t len;

		while (learn_is_wsp(*p))
			p++;
		if (*p != ';')
			return -1;
		p++;
		while (learn_is_wsp(*p))
			p++;
		field = p;
		while (*p != '\0' && *p != ';' && !learn_is_wsp(*p))
			p++;
		len = (size_t)(p - field);
		if (len == 0)
			continue; /* a trailing delimiter */
		if (len > 3 && strncmp(field, "id=", 3) == 0 && !have_id) {
			size_t id_len = len - 3;

			if (id_len > MTA_STS_ID_MAX)
				return -1;
			for (size_t i = 0; i < id_len; i++) {
				char c = field[3 + i];

				if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
					return -1;
			}
			memcpy(id, field + 3, id_len);
			id[id_len] = '\0';
			have_id = true;
		}
	}
	return have_id ? 0 : -1;
}

static void learn_count_dns_error(struct mta_sts_learner *l, int rc)
{
	pthread_mutex_lock(&l->lock);
	l->counts[MTA_STS_LEARN_DNS_MALFORMED]++;
	if (-rc > 0 && -rc < DNS_ERROR_COUNT)
		l->dns_errors[-rc]++;
	pthread_mutex_unlock(&l->lock);
}

/* The MTA-STS records among the answers of one response. */
struct learn_answers {
	unsigned records; /* TXT records that start with v=STSv1 */
	bool valid;	  /* the last of them parsed */
	char id[MTA_STS_ID_MAX + 1];
	bool over_limit;
};

/*
 * Walks the answers, following CNAMEs from the question name, and reads
 * the TXT records of the name at the end of the chain. Returns DNS_OK or
 * the first read error.
 */
static int learn_read_answers(const struct dns_message *msg, struct learn_answers *out)
{
	struct dns_name current = msg->question;
	size_t offset = msg->answers_offset;

	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < msg->answer_count; i++) {
		struct dns_record rec;
		char txt[LEARN_TXT_MAX];
		bool truncated = false;
		int rc;

		if (i == LIMIT_DNS_ANSWERS) {
			out->over_limit = true;
			break;
		}
		rc = dns_read_record(msg, &offset, &rec);
		if (rc != DNS_OK)
			return rc;
		if (rec.rclass != DNS_CLASS_IN || strcmp(rec.owner.text, current.text) != 0)
			continue;
		if (rec.type == DNS_TYPE_CNAME) {
			rc = dns_read_name_at(msg, rec.rdata_offset, &current);
			if (rc != DNS_OK)
				return rc;
			continue;
		}
		if (rec.type != DNS_TYPE_TXT)
			continue;
		rc = dns_join_txt(&rec, txt, sizeof(txt), &truncated);
		if (rc < 0)
			return rc;
		if (!learn_is_sts_record(txt))
			continue;
		out->records++;
		out->valid = learn_parse_sts_record(txt, out->id) == 0;
	}
	return DNS_OK;
}

void mta_sts_learn_dns(struct mta_sts_learner *l, const uint8_t *payload, size_t len, uint64_t ts_usec)
{
	struct dns_message msg;
	struct learn_answers answers;
	const size_t prefix_len = sizeof(LEARN_TXT_PREFIX) - 1;
	int rc = dns_read_message(payload, len, &msg);

	if (rc == DNS_OK && (msg.flags & DNS_FLAG_RESPONSE) == 0)
		return;
	if (rc != DNS_OK) {
		learn_count_dns_error(l, rc);
		return;
	}
	pthread_mutex_lock(&l->lock);
	l->counts[MTA_STS_LEARN_DNS_RESPONSES]++;
	pthread_mutex_unlock(&l->lock);

	/* Only a successful TXT answer for _mta-sts.<domain> says anything about a policy. */
	if ((msg.flags & DNS_RCODE_MASK) != 0 || msg.question_type != DNS_TYPE_TXT || !msg.question.plain ||
	    msg.question.len <= prefix_len || strncmp(msg.question.text, LEARN_TXT_PREFIX, prefix_len) != 0)
		return;
	rc = learn_read_answers(&msg, &answers);
	if (rc != DNS_OK) {
		learn_count_dns_error(l, rc);
		return;
	}

	pthread_mutex_lock(&l->lock);
	if (answers.over_limit)
		l->counts[MTA_STS_LEARN_DNS_ANSWERS_OVER_LIMIT]++;
	l->counts[MTA_STS_LEARN_TXT_RECORDS] += answers.records;

	/* RFC 8461 section 3.1: unless exactly one valid record remains, the domain has no policy. */
	if (answers.records > 1 || (answers.records == 1 && !answers.valid))
		l->counts[MTA_STS_LEARN_TXT_INVALID]++;
	else if (answers.records == 1 && learn_is_plain_domain(msg.question.text + prefix_len,
								 msg.question.len - prefix_len))
		learn_add_locked(l, msg.question.text + prefix_len, MTA_STS_SOURCE_DNS, answers.id, ts_usec, ts_usec,
				 false);
	pthread_mutex_unlock(&l->lock);
}

/* ---- HTTPS ---- */

void mta_sts_learn_https(struct mta_sts_learner *l, const uint8_t *payload, size_t len, uint64_t ts_usec)
{
	char name[DNS_NAME_TEXT_MAX + 2];
	char domain[DNS_NAME_TEXT_MAX + 1];
	const size_t prefix_len = sizeof(LEARN_HTTPS_PREFIX) - 1;
	int n;

	/* Nearly every segment to port 443 is application data (record type 23), which two bytes rule out. */
	if (len < 6 || payload[0] != 22 || payload[5] != 1)
		return;
	n = tls_peek_sni(payload, len, name, sizeof(name));
	if (n <= (int)prefix_len || strncasecmp(name, LEARN_HTTPS_PREFIX, prefix_len) != 0)
		return;
	if (!learn_is_plain_domain(name + prefix_len, (size_t)n - prefix_len))
		return;
	learn_lower_copy(domain, name + prefix_len, (size_t)n - prefix_len);
	pthread_mutex_lock(&l->lock);
	l->counts[MTA_STS_LEARN_HTTPS_HELLOS]++;
	learn_add_locked(l, domain, MTA_STS_SOURCE_HTTPS, NULL, ts_usec, ts_usec, false);
	pthread_mutex_unlock(&l->lock);
}
