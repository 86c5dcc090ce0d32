/*
 * The report's tables, shared by the reader (report.c), the terminal
 * writer (report_text.c) and the HTML writer (report_html.c).
 */
#ifndef MAILTAP_REPORT_INTERNAL_H
#define MAILTAP_REPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define REPORT_COLUMNS 5
#define REPORT_CELL_SIZE 96

/* One row of a counting table: up to five text cells and two counters. */
struct report_row {
	char cells[REPORT_COLUMNS][REPORT_CELL_SIZE];
	uint64_t count;
	uint64_t extra; /* a second counter where the table needs one (encrypted sessions) */
};

/* Rows keyed by their cells, at most LIMIT_REPORT_ROWS; later new keys are counted in dropped. */
struct report_table {
	struct report_row *rows;
	size_t count;
	size_t cap;
	uint32_t *slots; /* open addressing: row index + 1, 0 for empty */
	size_t slot_count;
	uint64_t dropped;
};

/* A session's start time and whether its bytes were encrypted, for the chart over time. */
struct report_sample {
	int64_t time_s;
	bool encrypted;
};

struct report {
	uint64_t files;
	uint64_t lines;
	uint64_t malformed; /* lines that are not a JSON object */
	uint64_t sessions;
	uint64_t encrypted;
	uint64_t alerts;
	struct report_table by_port;	  /* protocol, port -> sessions (count), encrypted (extra) */
	struct report_table tls;	  /* server, version, cipher -> sessions */
	struct report_table versions;	  /* server, version -> sessions, for the chart */
	struct report_table credentials;  /* server, mechanism, username, exposure, result -> sessions */
	struct report_table findings;	  /* time, flow id, client, server, finding */
	struct report_table mta_sts;	  /* domain, policy source, result -> sessions */
	struct report_table rules;	  /* rule id, signature, severity -> alerts */
	struct report_sample *samples;
	size_t sample_count;
	size_t sample_cap;
	uint64_t samples_dropped;
};

/* Adds one to the row with these cells (NULL cells are ""), and extra to its second counter. */
void report_table_add(struct report_table *t, const char *const cells[REPORT_COLUMNS], uint64_t extra);
/* Sorts rows by their cells, column by column; numeric-looking cells compare as numbers. */
void report_table_sort(struct report_table *t);
void report_table_free(struct report_table *t);

/* Writes the terminal summary. */
void report_write_text(const struct report *r, FILE *out);
/* Writes the HTML page. Returns 0, or -1 when the write failed. */
int report_write_html(const struct report *r, FILE *out);

/* Formats a share as "75.0%", or "-" when the total is zero. */
const char *report_percent(uint64_t part, uint64_t total, char buf[16]);

#endif
