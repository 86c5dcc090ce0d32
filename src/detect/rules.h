/*
 * The YAML rule engine: rules name one event type and a condition on its
 * fields (detect/fields.h); matching events become alerts. docs/rules.md
 * describes the file format.
 *
 * A rule set is immutable once loaded and may be shared by every thread; a
 * reload builds a new set and swaps it in. Threshold counters live apart, in
 * a struct rule_state that each matching thread owns.
 */
#ifndef MAILTAP_RULES_H
#define MAILTAP_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/event.h"

enum rule_severity {
	RULE_SEVERITY_CRITICAL = 0,
	RULE_SEVERITY_HIGH,
	RULE_SEVERITY_MEDIUM,
	RULE_SEVERITY_LOW,
	RULE_SEVERITY_INFO,
};

/* Whose events share one threshold counter. */
enum rule_track {
	RULE_TRACK_BY_SRC = 0, /* client address */
	RULE_TRACK_BY_DST,     /* server address */
	RULE_TRACK_BY_FLOW,
	RULE_TRACK_GLOBAL,
};

/*
 * Alerting policy within each window of `seconds`. A limit alerts on the
 * first `count` matches, a threshold on every count-th match, and both
 * alerts once, on the count-th match.
 */
enum rule_threshold_type {
	RULE_THRESHOLD_LIMIT = 0,
	RULE_THRESHOLD_THRESHOLD,
	RULE_THRESHOLD_BOTH,
};

struct rule_threshold {
	bool set;
	enum rule_threshold_type type;
	enum rule_track track;
	uint32_t count;
	uint32_t seconds;
};

struct rule_condition; /* opaque; built and evaluated by the engine */

/* One loaded rule. Strings are owned by the rule set. */
struct rule {
	uint32_t id;
	const char *name;
	const char *description; /* "" when not given */
	const char *category;	 /* "" when not given */
	const char *reference;	 /* "" when not given */
	const char *message;	 /* template with {field} placeholders; the name when not given */
	enum rule_severity severity;
	enum event_type event;
	bool enabled;
	struct rule_threshold threshold;
	const struct rule_condition *when; /* NULL: every event of the type matches */
	unsigned line;			   /* where the rule starts in its file */
};

/* One load error; line and column are 1-based, 0 when the error has no position. */
struct rule_error {
	unsigned line;
	unsigned column;
	char message[1024];
};

/* Errors collected by a load: every one up to LIMIT_RULE_ERRORS, then only counted. */
struct rule_errors {
	char path[256];
	struct rule_error *items; /* owned */
	unsigned count;
	unsigned dropped;
};

struct rule_set;
struct rule_state;

/*
 * Loads and validates a rule file. Returns the set, or NULL when the file
 * had any error. In both cases errs lists every error found, each with its
 * position, and the caller frees it with rule_errors_free(). errs may be NULL.
 */
struct rule_set *rule_set_load(const char *path, struct rule_errors *errs);
/* Same, from a buffer; path only names the source in errors. */
struct rule_set *rule_set_load_buffer(const char *path, const char *data, size_t len,
				      struct rule_errors *errs);
void rule_set_free(struct rule_set *set);
/* Number of rules loaded, disabled ones included. */
size_t rule_set_count(const struct rule_set *set);
/* Returns the i-th rule in file order, or NULL past the end. */
const struct rule *rule_set_at(const struct rule_set *set, size_t i);
/* Returns the rule with this id, or NULL. */
const struct rule *rule_set_find(const struct rule_set *set, uint32_t id);

void rule_errors_free(struct rule_errors *errs);
/* Writes each error as "FILE:LINE:COLUMN: reason" (or "FILE: reason") on its own line. */
void rule_errors_print(const struct rule_errors *errs, FILE *out);

/*
 * Validates a rule file for `mailtap --check-rules`: writes the errors, or
 * one line with the number of rules, to out. Returns 0 when the file is
 * valid, 2 (the configuration-error exit status) when it is not.
 */
int rule_check_file(const char *path, FILE *out);

/*
 * Creates the threshold table with room for max_entries counters (0 picks
 * LIMIT_RULE_THRESHOLD_ENTRIES). When full, the least recently used counter
 * of the hash bucket is evicted. Returns NULL on allocation failure.
 */
struct rule_state *rule_state_new(size_t max_entries);
void rule_state_free(struct rule_state *state);
/* Counters evicted to make room so far. */
uint64_t rule_state_evictions(const struct rule_state *state);

typedef void (*rule_match_fn)(const struct rule *rule, const struct event *ev, void *ctx);

/*
 * Evaluates the enabled rules of ev's type against ev, in file order, and
 * calls on_match for each rule that matches and passes its threshold.
 * state may be NULL, which ignores thresholds. Returns the number of calls.
 */
unsigned rule_set_match(const struct rule_set *set, struct rule_state *state, const struct event *ev,
			rule_match_fn on_match, void *ctx);
/* Evaluates one rule's condition only, without thresholds. */
bool rule_matches(const struct rule *rule, const struct event *ev);
/*
 * Renders the rule's message for ev into buf, replacing each {field} with the
 * field's value (field_format). Returns the length written; the text is cut
 * at size - 1 bytes and always NUL-terminated when size > 0.
 */
size_t rule_render_message(const struct rule *rule, const struct event *ev, char *buf, size_t size);

const char *rule_severity_name(enum rule_severity severity);
const char *rule_track_name(enum rule_track track);

#endif
