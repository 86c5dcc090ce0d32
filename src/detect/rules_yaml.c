/*
 * YAML 1.1 text to a small node tree, through libyaml's event API
 * (yaml_parser_parse) so that every node keeps the line and column it
 * started at. Aliases are rejected: a rule file has no use for them and
 * they are the usual way to make a small YAML file expand without bound.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/limits.h"
#include "detect/rules_internal.h"

struct ybuilder {
	struct ynode *stack[LIMIT_RULE_DEPTH];
	unsigned depth;
	struct ynode *root;
	size_t nodes;
	unsigned documents;
	struct rule_errors *errs;
};

const char *ynode_kind_name(enum ynode_kind kind)
{
	switch (kind) {
	case YNODE_SCALAR: return "scalar";
	case YNODE_SEQUENCE: return "list";
	case YNODE_MAPPING: return "mapping";
	}
	return "node";
}

void ynode_free(struct ynode *node)
{
	if (node == NULL)
		return;
	for (size_t i = 0; i < node->count; i++)
		ynode_free(node->children[i]);
	free(node->children);
	free(node->value);
	free(node);
}

static struct ynode *ynode_new(enum ynode_kind kind, const yaml_mark_t *mark)
{
	struct ynode *node = calloc(1, sizeof(*node));

	if (node == NULL)
		return NULL;
	node->kind = kind;
	node->line = (unsigned)mark->line + 1;
	node->column = (unsigned)mark->column + 1;
	return node;
}

static int ynode_append(struct ynode *parent, struct ynode *child)
{
	if (parent->count == parent->cap) {
		size_t cap = parent->cap == 0 ? 8 : parent->cap * 2;
		struct ynode **children = realloc(parent->children, cap * sizeof(*children));

		if (children == NULL)
			return -1;
		parent->children = children;
		parent->cap = cap;
	}
	parent->children[parent->count++] = child;
	return 0;
}

/* Hangs a new node under the open collection, or makes it the root. Takes ownership. */
static int builder_attach(struct ybuilder *b, struct ynode *node)
{
	b->nodes++;
	if (b->depth == 0) {
		if (b->root != NULL) {
			ynode_free(node);
			return -1;
		}
		b->root = node;
		return 0;
	}
	if (ynode_append(b->stack[b->depth - 1], node) < 0) {
		ynode_free(node);
		return -1;
	}
	return 0;
}

static int builder_scalar(struct ybuilder *b, const yaml_event_t *ev)
{
	const char *text = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	struct ynode *node;

	/* Names and values are compared as C strings, so an embedded NUL would cut them short. */
	if (memchr(text, '\0', len) != NULL) {
		rule_errors_add(b->errs, (unsigned)ev->start_mark.line + 1,
				(unsigned)ev->start_mark.column + 1, "scalar contains a NUL character");
		return -1;
	}
	node = ynode_new(YNODE_SCALAR, &ev->start_mark);
	if (node == NULL)
		return -1;
	node->value = malloc(len + 1);
	if (node->value == NULL) {
		ynode_free(node);
		return -1;
	}
	memcpy(node->value, text, len);
	node->value[len] = '\0';
	node->len = len;
	return builder_attach(b, node);
}

static int builder_open(struct ybuilder *b, enum ynode_kind kind, const yaml_event_t *ev)
{
	struct ynode *node;

	/* The loader recurses per level, so nesting is capped before it can exhaust the stack. */
	if (b->depth >= LIMIT_RULE_DEPTH) {
		rule_errors_add(b->errs, (unsigned)ev->start_mark.line + 1,
				(unsigned)ev->start_mark.column + 1,
				"nesting deeper than %u levels", LIMIT_RULE_DEPTH);
		return -1;
	}
	node = ynode_new(kind, &ev->start_mark);
	if (node == NULL || builder_attach(b, node) < 0)
		return -1;
	b->stack[b->depth++] = node;
	return 0;
}

/* Applies one parser event to the tree. Returns 1 at the end of the stream, 0 to go on, -1 on error. */
static int builder_apply(struct ybuilder *b, const yaml_event_t *ev)
{
	unsigned line = (unsigned)ev->start_mark.line + 1;
	unsigned column = (unsigned)ev->start_mark.column + 1;

	if (b->nodes >= LIMIT_RULE_NODES) {
		rule_errors_add(b->errs, line, column, "more than %u YAML nodes", LIMIT_RULE_NODES);
		return -1;
	}
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if (b->documents++ > 0) {
			rule_errors_add(b->errs, line, column,
					"a second YAML document; a rule file contains exactly one");
			return -1;
		}
		return 0;
	case YAML_ALIAS_EVENT:
		rule_errors_add(b->errs, line, column, "YAML aliases (*name) are not supported");
		return -1;
	case YAML_SCALAR_EVENT:
		return builder_scalar(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return builder_open(b, YNODE_SEQUENCE, ev);
	case YAML_MAPPING_START_EVENT:
		return builder_open(b, YNODE_MAPPING, ev);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (b->depth > 0)
			b->depth--;
		return 0;
	default:
		return 0;
	}
}

static void builder_report_syntax(struct ybuilder *b, const yaml_parser_t *parser)
{
	const char *problem = parser->problem != NULL ? parser->problem : "invalid YAML";

	if (parser->error == YAML_MEMORY_ERROR) {
		rule_errors_add(b->errs, 0, 0, "out of memory while parsing YAML");
		return;
	}
	if (parser->context != NULL)
		rule_errors_add(b->errs, (unsigned)parser->problem_mark.line + 1,
				(unsigned)parser->problem_mark.column + 1, "YAML syntax error: %s %s",
				problem, parser->context);
	else
		rule_errors_add(b->errs, (unsigned)parser->problem_mark.line + 1,
				(unsigned)parser->problem_mark.column + 1, "YAML syntax error: %s",
				problem);
}

struct ynode *rules_yaml_parse(const char *data, size_t len, struct rule_errors *errs)
{
	struct ybuilder b = {.errs = errs};
	yaml_parser_t parser;
	int status = 0;

	if (!yaml_parser_initialize(&parser)) {
		rule_errors_add(errs, 0, 0, "out of memory while starting the YAML parser");
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (status == 0) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&parser, &ev)) {
			builder_report_syntax(&b, &parser);
			status = -1;
			break;
		}
		status = builder_apply(&b, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	if (status < 0) {
		if (errs->count == 0 && errs->dropped == 0)
			rule_errors_add(errs, 0, 0, "out of memory while building the YAML tree");
		ynode_free(b.root);
		return NULL;
	}
	if (b.root == NULL)
		rule_errors_add(errs, 1, 1, "the file is empty; expected a mapping with a \"rules\" list");
	return b.root;
}
