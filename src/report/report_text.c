/*
 * The report on the terminal: aligned tables. Every cell is escaped, since
 * user names and addresses come from the wire: anything but printable
 * ASCII is written as \xHH, so no cell can move the cursor or start a line,
 * and a backslash is doubled, so \x41 on the wire stays apart from byte 0x41.
 */
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"

#define REPORT_TEXT_COLUMNS 6
#define REPORT_TEXT_CELL (REPORT_CELL_SIZE * 4 + 1)

struct report_text_table {
	const char *title;
	const char *headers[REPORT_TEXT_COLUMNS];
	bool numeric[REPORT_TEXT_COLUMNS]; /* right-aligned */
	int columns;
	char (*cells)[REPORT_TEXT_COLUMNS][REPORT_TEXT_CELL];
	size_t rows;
};

/* Escapes text into out (REPORT_TEXT_CELL bytes), cutting what does not fit. */
static void report_text_escape(const char *text, char *out)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)text; *p != '\0' && n + 5 < REPORT_TEXT_CELL; p++) {
		if (*p == '\\') {
			out[n++] = '\\';
			out[n++] = '\\';
		} else if (*p >= 0x20 && *p < 0x7f)
			out[n++] = (char)*p;
		else
			n += (size_t)snprintf(out + n, REPORT_TEXT_CELL - n, "\\x%02x", *p);
	}
	out[n] = '\0';
}

static void report_text_set(struct report_text_table *t, size_t row, int col, const char *text)
{
	report_text_escape(text != NULL ? text : "", t->cells[row][col]);
}

/* Prints one row; a left-aligned last column is not padded, so lines carry no trailing blanks. */
static void report_text_print_row(const struct report_text_table *t, const char *const cells[REPORT_TEXT_COLUMNS],
				  const size_t width[REPORT_TEXT_COLUMNS], FILE *out)
{
	for (int c = 0; c < t->columns; c++) {
		if (t->numeric[c])
			fprintf(out, "  %*s", (int)width[c], cells[c]);
		else if (c + 1 == t->columns)
			fprintf(out, "  %s", cells[c]);
		else
			fprintf(out, "  %-*s", (int)width[c], cells[c]);
	}
	fputc('\n', out);
}

static void report_text_print(const struct report_text_table *t, FILE *out)
{
	size_t width[REPORT_TEXT_COLUMNS];

	fprintf(out, "\n%s\n", t->title);
	if (t->rows == 0) {
		fprintf(out, "  (none)\n");
		return;
	}
	for (int c = 0; c < t->columns; c++) {
		width[c] = strlen(t->headers[c]);
		for (size_t r = 0; r < t->rows; r++) {
			size_t len = strlen(t->cells[r][c]);

			if (len > width[c])
				width[c] = len;
		}
	}
	report_text_print_row(t, t->headers, width, out);
	for (size_t r = 0; r < t->rows; r++) {
		const char *row[REPORT_TEXT_COLUMNS];

		for (int c = 0; c < t->columns; c++)
			row[c] = t->cells[r][c];
		report_text_print_row(t, row, width, out);
	}
}

/* Allocates the cells of rows rows; on failure the table prints as empty. */
static void report_text_alloc(struct report_text_table *t, size_t rows)
{
	t->cells = rows > 0 ? calloc(rows, sizeof(*t->cells)) : NULL;
	t->rows = t->cells != NULL ? rows : 0;
}

static void report_text_ports(const struct report *r, FILE *out)
{
	struct report_text_table t = {"Sessions by protocol and port",
				      {"protocol", "port", "sessions", "encrypted", "share"},
				      {false, true, true, true, true}, 5, NULL, 0};
	char number[32];
	char share[16];

	report_text_alloc(&t, r->by_port.count);
	for (size_t i = 0; i < t.rows; i++) {
		const struct report_row *row = &r->by_port.rows[i];

		report_text_set(&t, i, 0, row->cells[0]);
		report_text_set(&t, i, 1, row->cells[1]);
		snprintf(number, sizeof(number), "%llu", (unsigned long long)row->count);
		report_text_set(&t, i, 2, number);
		snprintf(number, sizeof(number), "%llu", (unsigned long long)row->extra);
		report_text_set(&t, i, 3, number);
		report_text_set(&t, i, 4, report_percent(row->extra, row->count, share));
	}
	report_text_print(&t, out);
	free(t.cells);
}

/* Prints a table whose rows are the report row's cells followed by its count. */
static void report_text_counted(const struct report_table *src, struct report_text_table *t, FILE *out)
{
	char number[32];

	report_text_alloc(t, src->count);
	for (size_t i = 0; i < t->rows; i++) {
		for (int c = 0; c + 1 < t->columns; c++)
			report_text_set(t, i, c, src->rows[i].cells[c]);
		snprintf(number, sizeof(number), "%llu", (unsigned long long)src->rows[i].count);
		report_text_set(t, i, t->columns - 1, number);
	}
	report_text_print(t, out);
	if (src->dropped > 0)
		fprintf(out, "  (%llu more rows not listed)\n", (unsigned long long)src->dropped);
	free(t->cells);
}

static void report_text_findings(const struct report *r, FILE *out)
{
	struct report_text_table t = {"STARTTLS stripping and injection findings",
				      {"time", "flow_id", "client", "server", "finding"},
				      {false, true, false, false, false}, 5, NULL, 0};

	report_text_alloc(&t, r->findings.count);
	for (size_t i = 0; i < t.rows; i++) {
		for (int c = 0; c < 5; c++)
			report_text_set(&t, i, c, r->findings.rows[i].cells[c]);
	}
	report_text_print(&t, out);
	free(t.cells);
}

void report_write_text(const struct report *r, FILE *out)
{
	char share[16];
	struct report_text_table tls = {"TLS versions and ciphers per server",
					{"server", "version", "cipher", "sessions"},
					{false, false, false, true}, 4, NULL, 0};
	struct report_text_table creds = {"Credentials exposed per server (user names only)",
					  {"server", "mechanism", "username", "exposure", "result", "sessions"},
					  {false, false, false, false, false, true}, 6, NULL, 0};
	struct report_text_table mta_sts = {"MTA-STS checks per domain",
					    {"domain", "policy", "result", "sessions"},
					    {false, false, false, true}, 4, NULL, 0};
	struct report_text_table rules = {"Alerts by rule",
					  {"rule", "signature", "severity", "alerts"},
					  {true, false, false, true}, 4, NULL, 0};

	fprintf(out, "mailtap report: %llu %s, %llu lines, %llu sessions, %llu alerts",
		(unsigned long long)r->files, r->files == 1 ? "file" : "files", (unsigned long long)r->lines,
		(unsigned long long)r->sessions, (unsigned long long)r->alerts);
	if (r->malformed > 0)
		fprintf(out, ", %llu lines skipped (not JSON objects)", (unsigned long long)r->malformed);
	fprintf(out, "\nEncrypted sessions (TLS negotiated): %llu of %llu (%s)\n", (unsigned long long)r->encrypted,
		(unsigned long long)r->sessions, report_percent(r->encrypted, r->sessions, share));
	report_text_ports(r, out);
	report_text_counted(&r->tls, &tls, out);
	report_text_counted(&r->credentials, &creds, out);
	report_text_findings(r, out);
	report_text_counted(&r->mta_sts, &mta_sts, out);
	report_text_counted(&r->rules, &rules, out);
}
