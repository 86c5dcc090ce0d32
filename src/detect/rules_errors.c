/* Load errors of the rule engine: collected with their positions, sorted, printed. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "detect/rules_internal.h"

void rule_errors_add(struct rule_errors *errs, unsigned line, unsigned column, const char *fmt, ...)
{
	struct rule_error *e;
	va_list ap;

	if (errs->count >= LIMIT_RULE_ERRORS) {
		errs->dropped++;
		return;
	}
	if (errs->items == NULL) {
		errs->items = calloc(LIMIT_RULE_ERRORS, sizeof(*errs->items));
		/* Without room for the text the error is still counted, so the load still fails. */
		if (errs->items == NULL) {
			errs->dropped++;
			return;
		}
	}
	e = &errs->items[errs->count++];
	e->line = line;
	e->column = column;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

void rule_errors_free(struct rule_errors *errs)
{
	free(errs->items);
	errs->items = NULL;
	errs->count = 0;
	errs->dropped = 0;
}

void rule_errors_print(const struct rule_errors *errs, FILE *out)
{
	for (unsigned i = 0; i < errs->count; i++) {
		const struct rule_error *e = &errs->items[i];

		if (e->line > 0)
			fprintf(out, "%s:%u:%u: %s\n", errs->path, e->line, e->column, e->message);
		else
			fprintf(out, "%s: %s\n", errs->path, e->message);
	}
	if (errs->dropped > 0)
		fprintf(out, "%s: %u more errors not shown\n", errs->path, errs->dropped);
}

static int error_position_compare(const void *a, const void *b)
{
	const struct rule_error *x = a;
	const struct rule_error *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->column != y->column)
		return x->column < y->column ? -1 : 1;
	return strcmp(x->message, y->message);
}

/* Sorts the errors into file order, since the checks run rule by rule and part by part. */
void rule_errors_sort(struct rule_errors *errs)
{
	if (errs->count > 1)
		qsort(errs->items, errs->count, sizeof(*errs->items), error_position_compare);
}
