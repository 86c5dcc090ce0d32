/*
 * Internals of the rule engine shared by its source files: the YAML node
 * tree the loader validates, the compiled condition tree, and the rule set.
 */
#ifndef MAILTAP_RULES_INTERNAL_H
#define MAILTAP_RULES_INTERNAL_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect/fields.h"
#include "detect/rules.h"

enum ynode_kind {
	YNODE_SCALAR = 0,
	YNODE_SEQUENCE,
	YNODE_MAPPING,
};

/* A YAML node with its 1-based position; a mapping's children alternate key and value. */
struct ynode {
	enum ynode_kind kind;
	unsigned line;
	unsigned column;
	char *value; /* scalars: owned, NUL-terminated (a scalar containing NUL is rejected) */
	size_t len;
	struct ynode **children; /* owned */
	size_t count;
	size_t cap;
};

/*
 * Parses YAML text into a node tree. Returns the root (a document's top
 * node), or NULL after adding errors to errs. An empty document returns
 * NULL with an error too.
 */
struct ynode *rules_yaml_parse(const char *data, size_t len, struct rule_errors *errs);
void ynode_free(struct ynode *node);
/* Names a node kind for messages: "scalar", "list" or "mapping". */
const char *ynode_kind_name(enum ynode_kind kind);

/* Adds one error at a position (line 0 for none); past LIMIT_RULE_ERRORS it is only counted. */
void rule_errors_add(struct rule_errors *errs, unsigned line, unsigned column, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Sorts errors by position; those without one come first. */
void rule_errors_sort(struct rule_errors *errs);

enum cond_kind {
	COND_ALL = 0,
	COND_ANY,
	COND_NOT,
	COND_TEST,
};

enum cond_op {
	OP_EQ = 0,
	OP_NE,
	OP_IN,
	OP_NOT_IN,
	OP_LT,
	OP_LE,
	OP_GT,
	OP_GE,
	OP_CONTAINS,
	OP_REGEX,
	OP_EXISTS,
	OP_COUNT
};

struct cond_operand {
	char *str; /* owned; strings, and list items */
	size_t len;
	int64_t integer;
	bool boolean;
	uint16_t version;
};

struct rule_condition {
	enum cond_kind kind;
	struct rule_condition **children; /* all, any, not: owned */
	size_t count;

	/* COND_TEST */
	const struct field_def *field;
	enum cond_op op;
	struct cond_operand *values; /* owned; one value, or the set of in/not_in */
	size_t value_count;
	bool has_regex;
	regex_t regex;
};

/*
 * Compiles a "when" node for an event type. Returns the condition, or NULL
 * after adding errors (every one found, not just the first).
 */
struct rule_condition *rules_cond_build(const struct ynode *node, enum event_type event,
					struct rule_errors *errs);
void rules_cond_free(struct rule_condition *cond);
bool rules_cond_eval(const struct rule_condition *cond, const struct event *ev);
/* Returns the operator name ("eq", ...). */
const char *rules_op_name(enum cond_op op);

/*
 * Checks a message template against an event's fields: every {name} must
 * be a field, "{{" and "}}" stand for braces. Adds errors at the node.
 * Returns 0 or -1.
 */
int rules_template_check(const struct ynode *node, enum event_type event, struct rule_errors *errs);

/* Lists an event type's field names, comma-separated, into buf. */
void rules_list_fields(enum event_type event, char *buf, size_t size);

struct rule_set {
	struct rule *rules; /* owned, file order */
	size_t count;
	/* Enabled rules per event type, in file order; pointers into rules. */
	const struct rule **by_event[EVENT_TYPE_COUNT];
	size_t by_event_count[EVENT_TYPE_COUNT];
};

#endif
