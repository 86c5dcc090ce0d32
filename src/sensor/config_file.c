/* YAML configuration file, read with libyaml's document API. */
#include "sensor/config_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Longest "name=value" pair built from a mapping value. */
#define CONFIG_PAIR_MAX 512
#define CONFIG_PAIRS_MAX 64

struct config_file {
	yaml_document_t doc;
	char pairs[CONFIG_PAIRS_MAX][CONFIG_PAIR_MAX]; /* storage for "key=value" strings */
	unsigned pair_count;
};

static void config_error(const char *path, const yaml_node_t *node, const char *reason)
{
	fprintf(stderr, "%s:%zu:%zu: %s\n", path, node->start_mark.line + 1, node->start_mark.column + 1, reason);
}

static const char *config_scalar(const yaml_node_t *node)
{
	return (const char *)node->data.scalar.value;
}

static int config_apply_mapping(struct config_file *cf, const char *path, const char *key, yaml_node_t *map,
				config_file_setting_fn on_setting, void *ctx)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&cf->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&cf->doc, p->value);
		char *pair;

		if (k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE) {
			config_error(path, k, "expected 'name: value' pairs of scalars, such as 'smtp: 25,2525'");
			return -1;
		}
		if (cf->pair_count >= CONFIG_PAIRS_MAX) {
			config_error(path, k, "too many entries in this mapping");
			return -1;
		}
		pair = cf->pairs[cf->pair_count++];
		if ((size_t)snprintf(pair, CONFIG_PAIR_MAX, "%s=%s", config_scalar(k), config_scalar(v)) >= CONFIG_PAIR_MAX) {
			config_error(path, v, "value too long");
			return -1;
		}
		if (on_setting(ctx, key, pair) != 0) {
			config_error(path, v, "invalid value (see the message above)");
			return -1;
		}
	}
	return 0;
}

static int config_apply_value(struct config_file *cf, const char *path, const char *key, yaml_node_t *value,
			      config_file_setting_fn on_setting, void *ctx)
{
	if (value->type == YAML_MAPPING_NODE)
		return config_apply_mapping(cf, path, key, value, on_setting, ctx);
	if (value->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = value->data.sequence.items.start; it < value->data.sequence.items.top; it++) {
			yaml_node_t *item = yaml_document_get_node(&cf->doc, *it);

			if (item->type != YAML_SCALAR_NODE) {
				config_error(path, item, "expected a list of scalars");
				return -1;
			}
			if (on_setting(ctx, key, config_scalar(item)) != 0) {
				config_error(path, item, "invalid value (see the message above)");
				return -1;
			}
		}
		return 0;
	}
	if (on_setting(ctx, key, config_scalar(value)) != 0) {
		config_error(path, value, "invalid setting (see the message above)");
		return -1;
	}
	return 0;
}

static int config_parse_file(struct config_file *cf, const char *path)
{
	yaml_parser_t parser;
	FILE *f = fopen(path, "rb");
	int ok;

	if (f == NULL) {
		fprintf(stderr, "mailtap: cannot open configuration file %s: %s\n", path, strerror(errno));
		return -1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	ok = yaml_parser_load(&parser, &cf->doc);
	if (!ok)
		fprintf(stderr, "%s:%zu:%zu: invalid YAML: %s\n", path, parser.problem_mark.line + 1,
			parser.problem_mark.column + 1, parser.problem ? parser.problem : "parse error");
	yaml_parser_delete(&parser);
	fclose(f);
	return ok ? 0 : -1;
}

struct config_file *config_file_load(const char *path, config_file_setting_fn on_setting, void *ctx)
{
	struct config_file *cf = calloc(1, sizeof(*cf));
	yaml_node_t *root;

	if (cf == NULL || config_parse_file(cf, path) != 0) {
		free(cf);
		return NULL;
	}
	root = yaml_document_get_root_node(&cf->doc);
	if (root == NULL) {
		return cf; /* an empty file sets nothing */
	}
	if (root->type != YAML_MAPPING_NODE) {
		config_error(path, root, "expected a mapping of settings, such as 'rules: /etc/mailtap/rules.yaml'");
		config_file_free(cf);
		return NULL;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&cf->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&cf->doc, p->value);

		if (k->type != YAML_SCALAR_NODE) {
			config_error(path, k, "expected a setting name");
			config_file_free(cf);
			return NULL;
		}
		if (config_apply_value(cf, path, config_scalar(k), v, on_setting, ctx) != 0) {
			config_file_free(cf);
			return NULL;
		}
	}
	return cf;
}

void config_file_free(struct config_file *cf)
{
	if (cf == NULL)
		return;
	yaml_document_delete(&cf->doc);
	free(cf);
}
