/*
 * Rule conditions: compiled from the "when" node of a rule, checked against
 * the event's field table at load time, and evaluated per event.
 *
 * A mapping ANDs its entries. An entry is a field with an operator mapping
 * ({op: value, ...}, ANDed), a field with a bare scalar (eq) or list (in),
 * or one of all: [...], any: [...], not: {...}.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/proto.h"
#include "detect/rules_internal.h"

static const char *const op_names[OP_COUNT] = {
	[OP_EQ] = "eq", [OP_NE] = "ne", [OP_IN] = "in", [OP_NOT_IN] = "not_in",
	[OP_LT] = "lt", [OP_LE] = "le", [OP_GT] = "gt", [OP_GE] = "ge",
	[OP_CONTAINS] = "contains", [OP_REGEX] = "regex", [OP_EXISTS] = "exists",
};

/* Operators each field type accepts, as a bit set over enum cond_op. */
#define OP_BIT(op) (1u << (op))
#define OPS_ORDER (OP_BIT(OP_LT) | OP_BIT(OP_LE) | OP_BIT(OP_GT) | OP_BIT(OP_GE))
#define OPS_SET (OP_BIT(OP_IN) | OP_BIT(OP_NOT_IN))
#define OPS_EQUAL (OP_BIT(OP_EQ) | OP_BIT(OP_NE) | OP_BIT(OP_EXISTS))

static unsigned field_type_ops(enum field_type type)
{
	switch (type) {
	case FIELD_STRING: return OPS_EQUAL | OPS_SET | OP_BIT(OP_CONTAINS) | OP_BIT(OP_REGEX);
	case FIELD_INTEGER: return OPS_EQUAL | OPS_SET | OPS_ORDER;
	case FIELD_BOOL: return OPS_EQUAL;
	case FIELD_VERSION: return OPS_EQUAL | OPS_SET | OPS_ORDER;
	case FIELD_STRING_LIST:
		return OPS_SET | OP_BIT(OP_CONTAINS) | OP_BIT(OP_REGEX) | OP_BIT(OP_EXISTS);
	}
	return 0;
}

const char *rules_op_name(enum cond_op op)
{
	return (unsigned)op < OP_COUNT ? op_names[op] : "unknown";
}

static int op_from_name(const char *name, enum cond_op *out)
{
	for (int i = 0; i < OP_COUNT; i++) {
		if (strcmp(op_names[i], name) == 0) {
			*out = (enum cond_op)i;
			return 0;
		}
	}
	return -1;
}

/* Appends s to buf at *pos, keeping buf NUL-terminated and cutting at its end. */
static void join_append(char *buf, size_t size, size_t *pos, const char *s)
{
	const char *parts[2] = {*pos > 0 ? ", " : "", s};

	for (int i = 0; i < 2; i++) {
		size_t len = strlen(parts[i]);
		size_t room;

		if (*pos + 1 >= size)
			return;
		room = size - *pos - 1;
		if (len > room)
			len = room;
		memcpy(buf + *pos, parts[i], len);
		*pos += len;
		buf[*pos] = '\0';
	}
}

static void list_ops(unsigned ops, char *buf, size_t size)
{
	size_t pos = 0;

	buf[0] = '\0';
	for (int i = 0; i < OP_COUNT; i++) {
		if (ops & OP_BIT(i))
			join_append(buf, size, &pos, op_names[i]);
	}
}

static void list_values(const char *const *values, char *buf, size_t size)
{
	size_t pos = 0;

	buf[0] = '\0';
	for (size_t i = 0; values[i] != NULL; i++)
		join_append(buf, size, &pos, values[i]);
}

void rules_list_fields(enum event_type event, char *buf, size_t size)
{
	const struct field_def *def;
	size_t pos = 0;

	buf[0] = '\0';
	for (unsigned i = 0; (def = field_at(event, i)) != NULL; i++)
		join_append(buf, size, &pos, def->name);
}

void rules_cond_free(struct rule_condition *cond)
{
	if (cond == NULL)
		return;
	for (size_t i = 0; i < cond->count; i++)
		rules_cond_free(cond->children[i]);
	free(cond->children);
	for (size_t i = 0; i < cond->value_count; i++)
		free(cond->values[i].str);
	free(cond->values);
	if (cond->has_regex)
		regfree(&cond->regex);
	free(cond);
}

static int parse_integer(const char *text, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* Checks a string value against the field's accepted values; returns 0, or -1 after an error. */
static int value_check_domain(const struct ynode *node, const struct field_def *def,
			      struct rule_errors *errs)
{
	char accepted[768];

	for (size_t i = 0; def->values[i] != NULL; i++) {
		if (strcmp(def->values[i], node->value) == 0)
			return 0;
	}
	list_values(def->values, accepted, sizeof(accepted));
	rule_errors_add(errs, node->line, node->column,
			"invalid value \"%s\" for field \"%s\"; accepted values: %s", node->value,
			def->name, accepted);
	return -1;
}

/* Parses true or false; returns 0, or -1 after an error. */
static int value_parse_bool(const struct ynode *node, const struct field_def *def, enum cond_op op,
			    bool *out, struct rule_errors *errs)
{
	if (strcmp(node->value, "true") == 0 || strcmp(node->value, "false") == 0) {
		*out = node->value[0] == 't';
		return 0;
	}
	rule_errors_add(errs, node->line, node->column,
			"invalid value \"%s\" for %s of field \"%s\"; expected true or false", node->value,
			rules_op_name(op), def->name);
	return -1;
}

/*
 * Parses one scalar as a value of the field's type into out. String values
 * are checked against the field's accepted values unless the operator
 * compares parts of strings. Returns 0, or -1 after adding an error.
 */
static int value_parse(const struct ynode *node, const struct field_def *def, enum cond_op op,
		       struct cond_operand *out, struct rule_errors *errs)
{
	bool partial = op == OP_REGEX || (op == OP_CONTAINS && def->type == FIELD_STRING);

	if (node->kind != YNODE_SCALAR) {
		rule_errors_add(errs, node->line, node->column,
				"operator %s of field \"%s\" needs a single value, not a %s",
				rules_op_name(op), def->name, ynode_kind_name(node->kind));
		return -1;
	}
	if (op == OP_EXISTS || def->type == FIELD_BOOL)
		return value_parse_bool(node, def, op, &out->boolean, errs);
	if (def->type == FIELD_INTEGER) {
		if (parse_integer(node->value, &out->integer) == 0)
			return 0;
		rule_errors_add(errs, node->line, node->column,
				"invalid value \"%s\" for integer field \"%s\"; expected a decimal integer",
				node->value, def->name);
		return -1;
	}
	if (def->type == FIELD_VERSION) {
		if (tls_version_from_name(node->value, &out->version) == 0)
			return 0;
		rule_errors_add(errs, node->line, node->column,
				"invalid value \"%s\" for version field \"%s\"; expected SSLv2, SSLv3, "
				"TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3 or 0xHHHH",
				node->value, def->name);
		return -1;
	}
	if (def->values != NULL && !partial && value_check_domain(node, def, errs) < 0)
		return -1;
	out->str = strdup(node->value);
	if (out->str == NULL) {
		rule_errors_add(errs, node->line, node->column, "out of memory");
		return -1;
	}
	out->len = node->len;
	return 0;
}

static int cond_compile_regex(struct rule_condition *cond, const struct ynode *node,
			      struct rule_errors *errs)
{
	char reason[256];
	int rc = regcomp(&cond->regex, cond->values[0].str, REG_EXTENDED | REG_NOSUB);

	if (rc == 0) {
		cond->has_regex = true;
		return 0;
	}
	regerror(rc, &cond->regex, reason, sizeof(reason));
	rule_errors_add(errs, node->line, node->column, "invalid regex \"%s\" for field \"%s\": %s",
			node->value, cond->field->name, reason);
	return -1;
}

/* Fills a test's values from its operand node: a list for in/not_in, else one scalar. */
static int cond_parse_values(struct rule_condition *cond, const struct ynode *node,
			     struct rule_errors *errs)
{
	size_t count = 1;
	int status = 0;

	if (cond->op == OP_IN || cond->op == OP_NOT_IN) {
		if (node->kind != YNODE_SEQUENCE || node->count == 0) {
			rule_errors_add(errs, node->line, node->column,
					"operator %s of field \"%s\" needs a non-empty list of values",
					rules_op_name(cond->op), cond->field->name);
			return -1;
		}
		count = node->count;
	}
	cond->values = calloc(count, sizeof(*cond->values));
	if (cond->values == NULL) {
		rule_errors_add(errs, node->line, node->column, "out of memory");
		return -1;
	}
	cond->value_count = count;
	if (cond->op != OP_IN && cond->op != OP_NOT_IN)
		return value_parse(node, cond->field, cond->op, &cond->values[0], errs);
	for (size_t i = 0; i < count; i++) {
		if (value_parse(node->children[i], cond->field, cond->op, &cond->values[i], errs) < 0)
			status = -1;
	}
	return status;
}

/*
 * Builds one test: field, operator (named by op_node, or implied), operand.
 * Returns NULL after adding errors.
 */
static struct rule_condition *cond_build_test(const struct field_def *def, const struct ynode *op_node,
					      enum cond_op op, const struct ynode *value,
					      struct rule_errors *errs)
{
	struct rule_condition *cond;
	char accepted[256];

	if (!(field_type_ops(def->type) & OP_BIT(op))) {
		list_ops(field_type_ops(def->type), accepted, sizeof(accepted));
		rule_errors_add(errs, op_node->line, op_node->column,
				"operator %s does not apply to %s field \"%s\"; use one of: %s",
				rules_op_name(op), field_type_name(def->type), def->name, accepted);
		return NULL;
	}
	cond = calloc(1, sizeof(*cond));
	if (cond == NULL) {
		rule_errors_add(errs, op_node->line, op_node->column, "out of memory");
		return NULL;
	}
	cond->kind = COND_TEST;
	cond->field = def;
	cond->op = op;
	if (cond_parse_values(cond, value, errs) < 0 ||
	    (op == OP_REGEX && cond_compile_regex(cond, value, errs) < 0)) {
		rules_cond_free(cond);
		return NULL;
	}
	return cond;
}

static struct rule_condition *cond_new_group(enum cond_kind kind, size_t cap)
{
	struct rule_condition *cond = calloc(1, sizeof(*cond));

	if (cond == NULL)
		return NULL;
	cond->kind = kind;
	cond->children = calloc(cap > 0 ? cap : 1, sizeof(*cond->children));
	if (cond->children == NULL) {
		free(cond);
		return NULL;
	}
	return cond;
}

/* Adds child to group, or counts a failure when child is NULL. */
static void cond_group_add(struct rule_condition *group, struct rule_condition *child, int *status)
{
	if (child == NULL) {
		*status = -1;
		return;
	}
	group->children[group->count++] = child;
}

/* A group of one test is that test; an empty or failed group is NULL. */
static struct rule_condition *cond_group_finish(struct rule_condition *group, int status)
{
	struct rule_condition *only;

	if (status < 0 || group->count == 0) {
		rules_cond_free(group);
		return NULL;
	}
	if (group->count > 1 || group->kind != COND_ALL)
		return group;
	only = group->children[0];
	group->count = 0;
	rules_cond_free(group);
	return only;
}

/* field: {op: value, ...} | field: scalar | field: [list]. */
static struct rule_condition *cond_build_field(const struct ynode *key, const struct ynode *value,
					       enum event_type event, struct rule_errors *errs)
{
	const struct field_def *def = field_find(event, key->value);
	struct rule_condition *group;
	char fields[1024];
	int status = 0;

	if (def == NULL) {
		rules_list_fields(event, fields, sizeof(fields));
		rule_errors_add(errs, key->line, key->column,
				"unknown field \"%s\" for event %s; fields: %s", key->value,
				event_type_name(event), fields);
		return NULL;
	}
	if (value->kind == YNODE_SCALAR)
		return cond_build_test(def, value, def->type == FIELD_STRING_LIST ? OP_CONTAINS : OP_EQ,
				       value, errs);
	if (value->kind == YNODE_SEQUENCE)
		return cond_build_test(def, value, OP_IN, value, errs);

	group = cond_new_group(COND_ALL, value->count / 2);
	if (group == NULL)
		return NULL;
	if (value->count == 0) {
		rule_errors_add(errs, value->line, value->column,
				"field \"%s\" has an empty operator mapping", def->name);
		status = -1;
	}
	for (size_t i = 0; i + 1 < value->count; i += 2) {
		const struct ynode *op_node = value->children[i];
		enum cond_op op;
		char ops[256];

		if (op_node->kind != YNODE_SCALAR || op_from_name(op_node->value, &op) < 0) {
			list_ops((1u << OP_COUNT) - 1, ops, sizeof(ops));
			rule_errors_add(errs, op_node->line, op_node->column,
					"unknown operator \"%s\"; operators: %s",
					op_node->kind == YNODE_SCALAR ? op_node->value : "(not a scalar)", ops);
			status = -1;
			continue;
		}
		cond_group_add(group, cond_build_test(def, op_node, op, value->children[i + 1], errs),
			       &status);
	}
	return cond_group_finish(group, status);
}

static struct rule_condition *cond_build_mapping(const struct ynode *node, enum event_type event,
						 struct rule_errors *errs);

/* all: [cond, ...] and any: [cond, ...]. */
static struct rule_condition *cond_build_list(const struct ynode *key, const struct ynode *value,
					      enum event_type event, struct rule_errors *errs)
{
	enum cond_kind kind = strcmp(key->value, "all") == 0 ? COND_ALL : COND_ANY;
	struct rule_condition *group;
	int status = 0;

	if (value->kind != YNODE_SEQUENCE || value->count == 0) {
		rule_errors_add(errs, value->line, value->column,
				"%s needs a non-empty list of conditions", key->value);
		return NULL;
	}
	group = cond_new_group(kind, value->count);
	if (group == NULL)
		return NULL;
	for (size_t i = 0; i < value->count; i++)
		cond_group_add(group, cond_build_mapping(value->children[i], event, errs), &status);
	if (status < 0) {
		rules_cond_free(group);
		return NULL;
	}
	/* Keep a one-item any: as a group so the evaluation matches the text. */
	return group;
}

static struct rule_condition *cond_build_not(const struct ynode *value, enum event_type event,
					     struct rule_errors *errs)
{
	struct rule_condition *group = cond_new_group(COND_NOT, 1);
	int status = 0;

	if (group == NULL)
		return NULL;
	cond_group_add(group, cond_build_mapping(value, event, errs), &status);
	if (status < 0) {
		rules_cond_free(group);
		return NULL;
	}
	return group;
}

/* A mapping of entries, ANDed. */
static struct rule_condition *cond_build_mapping(const struct ynode *node, enum event_type event,
						 struct rule_errors *errs)
{
	struct rule_condition *group;
	int status = 0;

	if (node->kind != YNODE_MAPPING || node->count == 0) {
		rule_errors_add(errs, node->line, node->column,
				"a condition must be a non-empty mapping of field: {operator: value} "
				"entries or all, any, not; got a %s",
				ynode_kind_name(node->kind));
		return NULL;
	}
	group = cond_new_group(COND_ALL, node->count / 2);
	if (group == NULL)
		return NULL;
	for (size_t i = 0; i + 1 < node->count; i += 2) {
		const struct ynode *key = node->children[i];
		const struct ynode *value = node->children[i + 1];
		struct rule_condition *child;

		if (key->kind != YNODE_SCALAR) {
			rule_errors_add(errs, key->line, key->column, "a condition key must be a scalar");
			status = -1;
			continue;
		}
		if (strcmp(key->value, "all") == 0 || strcmp(key->value, "any") == 0)
			child = cond_build_list(key, value, event, errs);
		else if (strcmp(key->value, "not") == 0)
			child = cond_build_not(value, event, errs);
		else
			child = cond_build_field(key, value, event, errs);
		cond_group_add(group, child, &status);
	}
	return cond_group_finish(group, status);
}

struct rule_condition *rules_cond_build(const struct ynode *node, enum event_type event,
					struct rule_errors *errs)
{
	return cond_build_mapping(node, event, errs);
}
