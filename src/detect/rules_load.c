/*
 * Rule file loading: reads the YAML file, validates every rule against the
 * schema and the event field table, and builds an immutable rule set with
 * the rules indexed by event type. Every mistake is reported with its
 * FILE:LINE:COLUMN, and loading goes on so one run lists them all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/limits.h"
#include "detect/rules_internal.h"

static const char *const severity_names[] = {"critical", "high", "medium", "low", "info", NULL};
static const char *const track_names[] = {"by_src", "by_dst", "by_flow", "global", NULL};
static const char *const threshold_type_names[] = {"limit", "threshold", "both", NULL};

/* The keys of one rule, in the order docs/rules.md lists them. */
enum rule_key {
	KEY_ID = 0,
	KEY_NAME,
	KEY_DESCRIPTION,
	KEY_EVENT,
	KEY_WHEN,
	KEY_SEVERITY,
	KEY_CATEGORY,
	KEY_MESSAGE,
	KEY_THRESHOLD,
	KEY_ENABLED,
	KEY_REFERENCE,
	KEY_COUNT
};

static const char *const rule_key_names[KEY_COUNT + 1] = {
	"id", "name", "description", "event", "when", "severity", "category", "message",
	"threshold", "enabled", "reference", NULL,
};

const char *rule_severity_name(enum rule_severity severity)
{
	return (unsigned)severity <= RULE_SEVERITY_INFO ? severity_names[severity] : "unknown";
}

const char *rule_track_name(enum rule_track track)
{
	return (unsigned)track <= RULE_TRACK_GLOBAL ? track_names[track] : "unknown";
}

static bool errors_any(const struct rule_errors *errs)
{
	return errs->count > 0 || errs->dropped > 0;
}

/* Joins a NULL-terminated name list with ", " for messages. */
static void names_join(const char *const *names, char *buf, size_t size)
{
	size_t pos = 0;

	buf[0] = '\0';
	for (size_t i = 0; names[i] != NULL && pos < size; i++) {
		int n = snprintf(buf + pos, size - pos, "%s%s", i > 0 ? ", " : "", names[i]);

		if (n < 0)
			break;
		pos += (size_t)n;
	}
}

static int name_index(const char *const *names, const char *name)
{
	for (int i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], name) == 0)
			return i;
	}
	return -1;
}

/* Reads a scalar that must be one of names; returns its index or -1 after an error. */
static int parse_choice(const struct ynode *node, const char *key, const char *const *names,
			struct rule_errors *errs)
{
	char accepted[256];
	int index = node->kind == YNODE_SCALAR ? name_index(names, node->value) : -1;

	if (index >= 0)
		return index;
	names_join(names, accepted, sizeof(accepted));
	rule_errors_add(errs, node->line, node->column, "invalid %s \"%s\"; accepted values: %s", key,
			node->kind == YNODE_SCALAR ? node->value : ynode_kind_name(node->kind), accepted);
	return -1;
}

/* Reads a decimal integer scalar in [min, max]; returns 0, or -1 after an error. */
static int parse_uint(const struct ynode *node, const char *key, uint64_t min, uint64_t max,
		      uint64_t *out, struct rule_errors *errs)
{
	unsigned long long v = 0;
	char *end = NULL;
	bool digits = node->kind == YNODE_SCALAR && node->value[0] >= '0' && node->value[0] <= '9';

	if (digits) {
		errno = 0;
		v = strtoull(node->value, &end, 10);
	}
	if (!digits || errno != 0 || *end != '\0' || v < min || v > max) {
		rule_errors_add(errs, node->line, node->column,
				"invalid %s \"%s\"; expected an integer from %llu to %llu", key,
				node->kind == YNODE_SCALAR ? node->value : ynode_kind_name(node->kind),
				(unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

/* Copies a scalar string; returns NULL after an error (not a scalar, or out of memory). */
static char *parse_string(const struct ynode *node, const char *key, struct rule_errors *errs)
{
	char *copy;

	if (node->kind != YNODE_SCALAR) {
		rule_errors_add(errs, node->line, node->column, "%s must be a string, not a %s", key,
				ynode_kind_name(node->kind));
		return NULL;
	}
	copy = strdup(node->value);
	if (copy == NULL)
		rule_errors_add(errs, node->line, node->column, "out of memory");
	return copy;
}

static int parse_bool(const struct ynode *node, const char *key, bool *out, struct rule_errors *errs)
{
	if (node->kind == YNODE_SCALAR &&
	    (strcmp(node->value, "true") == 0 || strcmp(node->value, "false") == 0)) {
		*out = node->value[0] == 't';
		return 0;
	}
	rule_errors_add(errs, node->line, node->column, "invalid %s \"%s\"; expected true or false",
			key, node->kind == YNODE_SCALAR ? node->value : ynode_kind_name(node->kind));
	return -1;
}

/*
 * Splits a mapping into the values of known keys (slots[i] for keys[i]),
 * reporting unknown and repeated keys. Returns 0, or -1 after errors.
 */
static int mapping_split(const struct ynode *map, const char *what, const char *const *keys,
			 const struct ynode **slots, size_t slot_count, struct rule_errors *errs)
{
	char accepted[256];
	int status = 0;

	for (size_t i = 0; i < slot_count; i++)
		slots[i] = NULL;
	for (size_t i = 0; i + 1 < map->count; i += 2) {
		const struct ynode *key = map->children[i];
		int index = key->kind == YNODE_SCALAR ? name_index(keys, key->value) : -1;

		if (index < 0) {
			names_join(keys, accepted, sizeof(accepted));
			rule_errors_add(errs, key->line, key->column, "unknown key \"%s\" in %s; keys: %s",
					key->kind == YNODE_SCALAR ? key->value : ynode_kind_name(key->kind),
					what, accepted);
			status = -1;
			continue;
		}
		if (slots[index] != NULL) {
			rule_errors_add(errs, key->line, key->column, "duplicate key \"%s\" in %s",
					key->value, what);
			status = -1;
			continue;
		}
		slots[index] = map->children[i + 1];
	}
	return status;
}

static int parse_threshold(const struct ynode *node, struct rule_threshold *out,
			   struct rule_errors *errs)
{
	static const char *const keys[] = {"track", "count", "seconds", "type", NULL};
	const struct ynode *slots[4];
	uint64_t count = 0;
	uint64_t seconds = 0;
	int track;
	int type = RULE_THRESHOLD_LIMIT;

	if (node->kind != YNODE_MAPPING) {
		rule_errors_add(errs, node->line, node->column,
				"threshold must be a mapping {track, count, seconds}, not a %s",
				ynode_kind_name(node->kind));
		return -1;
	}
	if (mapping_split(node, "threshold", keys, slots, 4, errs) < 0)
		return -1;
	for (int i = 0; i < 3; i++) {
		if (slots[i] == NULL) {
			rule_errors_add(errs, node->line, node->column, "threshold is missing \"%s\"",
					keys[i]);
			return -1;
		}
	}
	track = parse_choice(slots[0], "track", track_names, errs);
	if (slots[3] != NULL)
		type = parse_choice(slots[3], "threshold type", threshold_type_names, errs);
	if (track < 0 || type < 0 || parse_uint(slots[1], "count", 1, UINT32_MAX, &count, errs) < 0 ||
	    parse_uint(slots[2], "seconds", 1, UINT32_MAX, &seconds, errs) < 0)
		return -1;
	out->set = true;
	out->track = (enum rule_track)track;
	out->type = (enum rule_threshold_type)type;
	out->count = (uint32_t)count;
	out->seconds = (uint32_t)seconds;
	return 0;
}

static int parse_event(const struct ynode *node, enum event_type *out, struct rule_errors *errs)
{
	const char *names[EVENT_TYPE_COUNT + 1];

	if (node->kind == YNODE_SCALAR && event_type_from_name(node->value, out) == 0)
		return 0;
	for (int i = 0; i < EVENT_TYPE_COUNT; i++)
		names[i] = event_type_name((enum event_type)i);
	names[EVENT_TYPE_COUNT] = NULL;
	return parse_choice(node, "event", names, errs) >= 0 ? 0 : -1;
}

/* Reads the optional string keys; each absent one becomes "". */
static int parse_texts(const struct ynode **slots, struct rule *rule, struct rule_errors *errs)
{
	const struct {
		enum rule_key key;
		const char **out;
	} texts[] = {
		{KEY_NAME, &rule->name},	   {KEY_DESCRIPTION, &rule->description},
		{KEY_CATEGORY, &rule->category}, {KEY_REFERENCE, &rule->reference},
		{KEY_MESSAGE, &rule->message},
	};
	int status = 0;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		const struct ynode *node = slots[texts[i].key];
		char *copy = node != NULL ? parse_string(node, rule_key_names[texts[i].key], errs)
					  : strdup("");

		if (copy == NULL)
			status = -1;
		*texts[i].out = copy;
	}
	return status;
}

static int require_keys(const struct ynode *map, const struct ynode **slots, struct rule_errors *errs)
{
	static const enum rule_key required[] = {KEY_ID, KEY_NAME, KEY_EVENT, KEY_SEVERITY};
	int status = 0;

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (slots[required[i]] == NULL) {
			rule_errors_add(errs, map->line, map->column, "rule is missing \"%s\"",
					rule_key_names[required[i]]);
			status = -1;
		}
	}
	return status;
}

/* Validates the parts that need the event type: the condition and the message template. */
static int parse_event_parts(const struct ynode **slots, struct rule *rule, struct rule_errors *errs)
{
	int status = 0;

	if (slots[KEY_WHEN] != NULL) {
		rule->when = rules_cond_build(slots[KEY_WHEN], rule->event, errs);
		if (rule->when == NULL)
			status = -1;
	}
	if (slots[KEY_MESSAGE] != NULL && slots[KEY_MESSAGE]->kind == YNODE_SCALAR &&
	    rules_template_check(slots[KEY_MESSAGE], rule->event, errs) < 0)
		status = -1;
	return status;
}

/* Fills one rule from its mapping. Returns 0, or -1 after adding every error found. */
static int rule_parse(const struct ynode *map, struct rule *rule, struct rule_errors *errs)
{
	const struct ynode *slots[KEY_COUNT];
	uint64_t id = 0;
	int severity = 0;
	int status;

	rule->line = map->line;
	rule->enabled = true;
	if (map->kind != YNODE_MAPPING) {
		rule_errors_add(errs, map->line, map->column, "a rule must be a mapping, not a %s",
				ynode_kind_name(map->kind));
		return -1;
	}
	status = mapping_split(map, "rule", rule_key_names, slots, KEY_COUNT, errs);
	if (require_keys(map, slots, errs) < 0)
		status = -1;
	if (slots[KEY_ID] != NULL && parse_uint(slots[KEY_ID], "id", 1, UINT32_MAX, &id, errs) < 0)
		status = -1;
	rule->id = (uint32_t)id;
	if (slots[KEY_SEVERITY] != NULL &&
	    (severity = parse_choice(slots[KEY_SEVERITY], "severity", severity_names, errs)) < 0)
		status = -1;
	rule->severity = (enum rule_severity)(severity < 0 ? 0 : severity);
	if (parse_texts(slots, rule, errs) < 0)
		status = -1;
	if (slots[KEY_MESSAGE] == NULL && rule->name != NULL) {
		free((char *)rule->message);
		rule->message = strdup(rule->name);
	}
	if (slots[KEY_ENABLED] != NULL && parse_bool(slots[KEY_ENABLED], "enabled", &rule->enabled, errs) < 0)
		status = -1;
	if (slots[KEY_THRESHOLD] != NULL && parse_threshold(slots[KEY_THRESHOLD], &rule->threshold, errs) < 0)
		status = -1;
	/* The condition and the template name fields, so they are checked only for a known event. */
	if (slots[KEY_EVENT] == NULL || parse_event(slots[KEY_EVENT], &rule->event, errs) < 0)
		return -1;
	if (parse_event_parts(slots, rule, errs) < 0)
		status = -1;
	return status;
}

static void rule_release(struct rule *rule)
{
	free((char *)rule->name);
	free((char *)rule->description);
	free((char *)rule->category);
	free((char *)rule->reference);
	free((char *)rule->message);
	rules_cond_free((struct rule_condition *)rule->when);
}

void rule_set_free(struct rule_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->count; i++)
		rule_release(&set->rules[i]);
	for (int t = 0; t < EVENT_TYPE_COUNT; t++)
		free(set->by_event[t]);
	free(set->rules);
	free(set);
}

struct id_position {
	uint32_t id;
	unsigned line;
	unsigned column;
};

static int id_position_compare(const void *a, const void *b)
{
	const struct id_position *x = a;
	const struct id_position *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return (x->column > y->column) - (x->column < y->column);
}

/* Reports each id used twice, at the later use; sorting keeps this O(n log n) for big files. */
static int check_duplicate_ids(const struct ynode *rules, struct rule_set *set, struct rule_errors *errs)
{
	struct id_position *ids = calloc(set->count > 0 ? set->count : 1, sizeof(*ids));
	size_t n = 0;
	int status = 0;

	if (ids == NULL) {
		rule_errors_add(errs, 0, 0, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < set->count; i++) {
		const struct ynode *id_node = NULL;
		const struct ynode *map = rules->children[i];

		for (size_t k = 0; map->kind == YNODE_MAPPING && k + 1 < map->count; k += 2) {
			if (map->children[k]->kind == YNODE_SCALAR && strcmp(map->children[k]->value, "id") == 0)
				id_node = map->children[k + 1];
		}
		if (id_node == NULL || set->rules[i].id == 0)
			continue;
		ids[n].id = set->rules[i].id;
		ids[n].line = id_node->line;
		ids[n].column = id_node->column;
		n++;
	}
	qsort(ids, n, sizeof(*ids), id_position_compare);
	for (size_t i = 1; i < n; i++) {
		if (ids[i].id != ids[i - 1].id)
			continue;
		rule_errors_add(errs, ids[i].line, ids[i].column, "duplicate id %u; first used at %u:%u",
				ids[i].id, ids[i - 1].line, ids[i - 1].column);
		status = -1;
	}
	free(ids);
	return status;
}

/* Builds the per-event lists of enabled rules, in file order. */
static int index_rules(struct rule_set *set)
{
	for (size_t i = 0; i < set->count; i++) {
		const struct rule *rule = &set->rules[i];
		enum event_type t = rule->event;
		const struct rule **grown;

		if (!rule->enabled)
			continue;
		grown = realloc(set->by_event[t], (set->by_event_count[t] + 1) * sizeof(*grown));
		if (grown == NULL)
			return -1;
		set->by_event[t] = grown;
		grown[set->by_event_count[t]++] = rule;
	}
	return 0;
}

/* Finds the "rules" list under the top-level mapping; NULL after an error. */
static const struct ynode *top_rules(const struct ynode *root, struct rule_errors *errs)
{
	static const char *const keys[] = {"rules", NULL};
	const struct ynode *slots[1];

	if (root->kind != YNODE_MAPPING) {
		rule_errors_add(errs, root->line, root->column,
				"the file must be a mapping with a \"rules\" list, not a %s",
				ynode_kind_name(root->kind));
		return NULL;
	}
	if (mapping_split(root, "the file", keys, slots, 1, errs) < 0)
		return NULL;
	if (slots[0] == NULL) {
		rule_errors_add(errs, root->line, root->column, "missing the \"rules\" list");
		return NULL;
	}
	if (slots[0]->kind != YNODE_SEQUENCE) {
		rule_errors_add(errs, slots[0]->line, slots[0]->column,
				"\"rules\" must be a list of rules, not a %s", ynode_kind_name(slots[0]->kind));
		return NULL;
	}
	return slots[0];
}

static struct rule_set *set_build(const struct ynode *root, struct rule_errors *errs)
{
	const struct ynode *rules = top_rules(root, errs);
	struct rule_set *set;
	int status = 0;

	if (rules == NULL)
		return NULL;
	set = calloc(1, sizeof(*set));
	if (set == NULL || (set->rules = calloc(rules->count > 0 ? rules->count : 1, sizeof(*set->rules))) == NULL) {
		free(set);
		rule_errors_add(errs, 0, 0, "out of memory");
		return NULL;
	}
	set->count = rules->count;
	for (size_t i = 0; i < rules->count; i++) {
		if (rule_parse(rules->children[i], &set->rules[i], errs) < 0)
			status = -1;
	}
	if (check_duplicate_ids(rules, set, errs) < 0)
		status = -1;
	if (status == 0 && index_rules(set) < 0) {
		rule_errors_add(errs, 0, 0, "out of memory");
		status = -1;
	}
	if (status < 0 || errors_any(errs)) {
		rule_set_free(set);
		return NULL;
	}
	return set;
}

static void errors_start(struct rule_errors *errs, const char *path)
{
	memset(errs, 0, sizeof(*errs));
	snprintf(errs->path, sizeof(errs->path), "%s", path);
}

struct rule_set *rule_set_load_buffer(const char *path, const char *data, size_t len,
				      struct rule_errors *errs)
{
	struct rule_errors local;
	struct rule_errors *e = errs != NULL ? errs : &local;
	struct rule_set *set = NULL;
	struct ynode *root;

	errors_start(e, path);
	root = rules_yaml_parse(data, len, e);
	if (root != NULL)
		set = set_build(root, e);
	ynode_free(root);
	rule_errors_sort(e);
	if (errs == NULL)
		rule_errors_free(&local);
	return set;
}

/* Reads a whole file of at most LIMIT_RULE_FILE_BYTES; returns the buffer or NULL after an error. */
static char *file_read(const char *path, size_t *len, struct rule_errors *errs)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *data;

	if (f == NULL) {
		rule_errors_add(errs, 0, 0, "cannot open the rule file: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > LIMIT_RULE_FILE_BYTES) {
		rule_errors_add(errs, 0, 0, "the rule file must be a regular file of at most %u bytes",
				LIMIT_RULE_FILE_BYTES);
		fclose(f);
		return NULL;
	}
	data = malloc((size_t)st.st_size + 1);
	if (data == NULL) {
		rule_errors_add(errs, 0, 0, "out of memory");
		fclose(f);
		return NULL;
	}
	*len = fread(data, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		rule_errors_add(errs, 0, 0, "cannot read the rule file: %s", strerror(errno));
		free(data);
		data = NULL;
	}
	fclose(f);
	return data;
}

struct rule_set *rule_set_load(const char *path, struct rule_errors *errs)
{
	struct rule_errors local;
	struct rule_errors *e = errs != NULL ? errs : &local;
	struct rule_set *set = NULL;
	size_t len = 0;
	char *data;

	errors_start(e, path);
	data = file_read(path, &len, e);
	if (data != NULL) {
		set = rule_set_load_buffer(path, data, len, e);
		free(data);
	}
	if (errs == NULL)
		rule_errors_free(&local);
	return set;
}

size_t rule_set_count(const struct rule_set *set)
{
	return set->count;
}

const struct rule *rule_set_at(const struct rule_set *set, size_t i)
{
	return i < set->count ? &set->rules[i] : NULL;
}

const struct rule *rule_set_find(const struct rule_set *set, uint32_t id)
{
	for (size_t i = 0; i < set->count; i++) {
		if (set->rules[i].id == id)
			return &set->rules[i];
	}
	return NULL;
}

int rule_check_file(const char *path, FILE *out)
{
	struct rule_errors errs;
	struct rule_set *set = rule_set_load(path, &errs);
	size_t enabled = 0;

	if (set == NULL) {
		unsigned total = errs.count + errs.dropped;

		rule_errors_print(&errs, out);
		fprintf(out, "%s: invalid, %u error%s\n", path, total, total == 1 ? "" : "s");
		rule_errors_free(&errs);
		return 2;
	}
	for (size_t i = 0; i < set->count; i++)
		enabled += set->rules[i].enabled ? 1 : 0;
	fprintf(out, "%s: valid, %zu rules (%zu enabled)\n", path, set->count, enabled);
	rule_set_free(set);
	rule_errors_free(&errs);
	return 0;
}
