/* Counting tables of the report: rows keyed by up to five text cells. */
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "report/report_internal.h"

static uint32_t report_table_hash(const char *const cells[REPORT_COLUMNS])
{
	uint32_t h = 2166136261u;

	for (int c = 0; c < REPORT_COLUMNS; c++) {
		for (const unsigned char *p = (const unsigned char *)(cells[c] != NULL ? cells[c] : ""); *p != '\0';
		     p++) {
			h ^= *p;
			h *= 16777619u;
		}
		h ^= 0x1f;
		h *= 16777619u;
	}
	return h;
}

/* Compares a stored row with cells, each cut to the cell size as it was stored. */
static bool report_row_matches(const struct report_row *row, const char *const cells[REPORT_COLUMNS])
{
	for (int c = 0; c < REPORT_COLUMNS; c++) {
		const char *cell = cells[c] != NULL ? cells[c] : "";

		if (strncmp(row->cells[c], cell, REPORT_CELL_SIZE - 1) != 0)
			return false;
	}
	return true;
}

/* Doubles the slot array and rehashes. Returns 0 or -1. */
static int report_table_grow_slots(struct report_table *t)
{
	size_t count = t->slot_count == 0 ? 256 : t->slot_count * 2;
	uint32_t *slots = calloc(count, sizeof(*slots));

	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < t->count; i++) {
		const char *cells[REPORT_COLUMNS];
		size_t pos;

		for (int c = 0; c < REPORT_COLUMNS; c++)
			cells[c] = t->rows[i].cells[c];
		pos = report_table_hash(cells) & (count - 1);
		while (slots[pos] != 0)
			pos = (pos + 1) & (count - 1);
		slots[pos] = (uint32_t)i + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->slot_count = count;
	return 0;
}

/* Appends a row for cells. Returns its index, or -1 past the cap or out of memory. */
static long report_table_append(struct report_table *t, const char *const cells[REPORT_COLUMNS])
{
	struct report_row *row;

	if (t->count >= LIMIT_REPORT_ROWS)
		return -1;
	if (t->count == t->cap) {
		size_t cap = t->cap == 0 ? 64 : t->cap * 2;
		struct report_row *rows = realloc(t->rows, cap * sizeof(*rows));

		if (rows == NULL)
			return -1;
		t->rows = rows;
		t->cap = cap;
	}
	row = &t->rows[t->count];
	memset(row, 0, sizeof(*row));
	for (int c = 0; c < REPORT_COLUMNS; c++)
		snprintf(row->cells[c], REPORT_CELL_SIZE, "%s", cells[c] != NULL ? cells[c] : "");
	return (long)t->count++;
}

void report_table_add(struct report_table *t, const char *const cells[REPORT_COLUMNS], uint64_t extra)
{
	size_t pos;
	long index;

	/* Keep the load under one half so probes stay short. */
	if ((t->count + 1) * 2 > t->slot_count && report_table_grow_slots(t) != 0) {
		t->dropped++;
		return;
	}
	pos = report_table_hash(cells) & (t->slot_count - 1);
	while (t->slots[pos] != 0) {
		struct report_row *row = &t->rows[t->slots[pos] - 1];

		if (report_row_matches(row, cells)) {
			row->count++;
			row->extra += extra;
			return;
		}
		pos = (pos + 1) & (t->slot_count - 1);
	}
	index = report_table_append(t, cells);
	if (index < 0) {
		t->dropped++;
		return;
	}
	t->slots[pos] = (uint32_t)index + 1;
	t->rows[index].count = 1;
	t->rows[index].extra = extra;
}

static bool report_is_number(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
	}
	return true;
}

static int report_row_compare(const void *a, const void *b)
{
	const struct report_row *x = a;
	const struct report_row *y = b;

	for (int c = 0; c < REPORT_COLUMNS; c++) {
		int rc;

		if (report_is_number(x->cells[c]) && report_is_number(y->cells[c])) {
			unsigned long long u = strtoull(x->cells[c], NULL, 10);
			unsigned long long v = strtoull(y->cells[c], NULL, 10);

			rc = (u > v) - (u < v);
		} else {
			rc = strcmp(x->cells[c], y->cells[c]);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

void report_table_sort(struct report_table *t)
{
	if (t->count < 2)
		return;
	qsort(t->rows, t->count, sizeof(t->rows[0]), report_row_compare);

	/* The slots point at the old order; the table is only read after sorting, so drop them. */
	free(t->slots);
	t->slots = NULL;
	t->slot_count = 0;
}

void report_table_free(struct report_table *t)
{
	free(t->rows);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}
