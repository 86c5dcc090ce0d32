/*
 * The report as one self-contained HTML page: the tables of the terminal
 * report and two inline SVG charts (TLS versions per server, encrypted
 * share of sessions over time). It loads nothing from elsewhere: no
 * scripts, fonts or images. Every string is HTML-escaped, and control
 * characters from the wire are shown as \xHH.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report_internal.h"

/* Time buckets of the encrypted-share chart. */
#define REPORT_HTML_BUCKETS 24
#define REPORT_HTML_CHART_WIDTH 720
#define REPORT_HTML_BAR_HEIGHT 22

static const char report_html_style[] =
	"body{font-family:sans-serif;margin:2em;color:#222}"
	"table{border-collapse:collapse;margin:0.5em 0 1.5em}"
	"th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}"
	"th{background:#eee}td.n{text-align:right}"
	"svg text{font-family:sans-serif;font-size:12px}";

/* Writes text with &, <, >, quotes escaped, control characters as \xHH and a backslash doubled. */
static void report_html_text(FILE *out, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)(text != NULL ? text : ""); *p != '\0'; p++) {
		switch (*p) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		case '\\': fputs("\\\\", out); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(out, "\\x%02x", *p);
			else
				fputc(*p, out);
		}
	}
}

/* Writes a table of the report's rows: the first cell_count cells, then the count. */
static void report_html_table(FILE *out, const char *title, const char *const *headers, int cell_count,
			      const struct report_table *t)
{
	fputs("<h2>", out);
	report_html_text(out, title);
	fputs("</h2>\n<table><tr>", out);
	for (int c = 0; c <= cell_count; c++) {
		if (headers[c] == NULL)
			break;
		fputs("<th>", out);
		report_html_text(out, headers[c]);
		fputs("</th>", out);
	}
	fputs("</tr>\n", out);
	for (size_t i = 0; i < t->count; i++) {
		fputs("<tr>", out);
		for (int c = 0; c < cell_count; c++) {
			fputs("<td>", out);
			report_html_text(out, t->rows[i].cells[c]);
			fputs("</td>", out);
		}
		if (headers[cell_count] != NULL)
			fprintf(out, "<td class=\"n\">%" PRIu64 "</td>", t->rows[i].count);
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);
	if (t->count == 0)
		fputs("<p>(none)</p>\n", out);
	if (t->dropped > 0)
		fprintf(out, "<p>%" PRIu64 " more rows not listed.</p>\n", t->dropped);
}

static void report_html_ports(FILE *out, const struct report *r)
{
	char share[16];

	fputs("<h2>Sessions by protocol and port</h2>\n<table><tr><th>protocol</th><th>port</th>"
	      "<th>sessions</th><th>encrypted</th><th>share</th></tr>\n",
	      out);
	for (size_t i = 0; i < r->by_port.count; i++) {
		const struct report_row *row = &r->by_port.rows[i];

		fputs("<tr><td>", out);
		report_html_text(out, row->cells[0]);
		fputs("</td><td class=\"n\">", out);
		report_html_text(out, row->cells[1]);
		fprintf(out, "</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%s</td></tr>\n",
			row->count, row->extra, report_percent(row->extra, row->count, share));
	}
	fputs("</table>\n", out);
}

/* The fill colour of a TLS version: red below TLS 1.2, blue for 1.2, green for 1.3. */
static const char *report_html_version_colour(const char *version)
{
	if (strcmp(version, "TLSv1.3") == 0)
		return "#2e7d32";
	if (strcmp(version, "TLSv1.2") == 0)
		return "#1565c0";
	if (strcmp(version, "TLSv1.1") == 0 || strcmp(version, "TLSv1.0") == 0)
		return "#ef6c00";
	return "#c62828";
}

/* Counts the distinct servers of the versions table, whose rows are sorted by server. */
static size_t report_html_server_count(const struct report_table *t)
{
	size_t n = 0;

	for (size_t i = 0; i < t->count; i++) {
		if (i == 0 || strcmp(t->rows[i].cells[0], t->rows[i - 1].cells[0]) != 0)
			n++;
	}
	return n;
}

/* One horizontal bar per server, split by version, as shares of that server's sessions. */
static void report_html_versions_chart(FILE *out, const struct report *r)
{
	const struct report_table *t = &r->versions;
	size_t servers = report_html_server_count(t);
	int label_width = 200;
	int bar_width = REPORT_HTML_CHART_WIDTH - label_width - 20;
	size_t i = 0;
	int y = 0;

	fputs("<h2>TLS versions per server</h2>\n", out);
	if (servers == 0) {
		fputs("<p>(no TLS handshakes)</p>\n", out);
		return;
	}
	fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%zu\" role=\"img\">\n",
		REPORT_HTML_CHART_WIDTH, servers * (REPORT_HTML_BAR_HEIGHT + 6) + 30);
	while (i < t->count) {
		size_t end = i;
		uint64_t total = 0;
		double x = label_width;

		while (end < t->count && strcmp(t->rows[end].cells[0], t->rows[i].cells[0]) == 0)
			total += t->rows[end++].count;
		fprintf(out, "<text x=\"0\" y=\"%d\">", y + 15);
		report_html_text(out, t->rows[i].cells[0]);
		fputs("</text>\n", out);
		for (; i < end; i++) {
			double w = (double)bar_width * (double)t->rows[i].count / (double)total;

			fprintf(out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\" stroke=\"#fff\"><title>", x, y,
				w, REPORT_HTML_BAR_HEIGHT, report_html_version_colour(t->rows[i].cells[1]));
			report_html_text(out, t->rows[i].cells[1]);
			fprintf(out, ": %" PRIu64 " of %" PRIu64 "</title></rect>\n", t->rows[i].count, total);
			x += w;
		}
		y += REPORT_HTML_BAR_HEIGHT + 6;
	}
	fprintf(out,
		"<text x=\"%d\" y=\"%d\"><tspan fill=\"#2e7d32\">&#9632; TLSv1.3</tspan> "
		"<tspan fill=\"#1565c0\">&#9632; TLSv1.2</tspan> <tspan fill=\"#ef6c00\">&#9632; TLSv1.0/1.1</tspan> "
		"<tspan fill=\"#c62828\">&#9632; SSL and other</tspan></text>\n</svg>\n",
		label_width, y + 18);
}

/* Finds the first and last session start times. Returns false when there are none. */
static bool report_html_time_range(const struct report *r, int64_t *first, int64_t *last)
{
	if (r->sample_count == 0)
		return false;
	*first = *last = r->samples[0].time_s;
	for (size_t i = 1; i < r->sample_count; i++) {
		if (r->samples[i].time_s < *first)
			*first = r->samples[i].time_s;
		if (r->samples[i].time_s > *last)
			*last = r->samples[i].time_s;
	}
	return true;
}

static void report_html_time_label(FILE *out, int64_t t, int x, int y, const char *anchor)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[32];

	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"%s\">%s</text>\n", x, y, anchor, buf);
}

/* Bars of the encrypted share per time bucket; the bar's title gives the counts. */
static void report_html_share_chart(FILE *out, const struct report *r)
{
	uint64_t total[REPORT_HTML_BUCKETS] = {0};
	uint64_t encrypted[REPORT_HTML_BUCKETS] = {0};
	int64_t first;
	int64_t last;
	int height = 160;
	double slot = (double)REPORT_HTML_CHART_WIDTH / REPORT_HTML_BUCKETS;

	fputs("<h2>Encrypted share of sessions over time</h2>\n", out);
	if (!report_html_time_range(r, &first, &last)) {
		fputs("<p>(no sessions)</p>\n", out);
		return;
	}
	for (size_t i = 0; i < r->sample_count; i++) {
		int64_t span = last - first + 1;
		size_t b = (size_t)((r->samples[i].time_s - first) * REPORT_HTML_BUCKETS / span);

		total[b]++;
		encrypted[b] += r->samples[i].encrypted;
	}
	fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\">\n",
		REPORT_HTML_CHART_WIDTH, height + 40);
	fprintf(out, "<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>\n", height,
		REPORT_HTML_CHART_WIDTH, height);
	fprintf(out, "<line x1=\"0\" y1=\"16\" x2=\"%d\" y2=\"16\" stroke=\"#bbb\" stroke-dasharray=\"4 4\"/>"
		     "<text x=\"%d\" y=\"12\" text-anchor=\"end\">100%%</text>\n",
		REPORT_HTML_CHART_WIDTH, REPORT_HTML_CHART_WIDTH);
	for (int b = 0; b < REPORT_HTML_BUCKETS; b++) {
		double share = total[b] > 0 ? (double)encrypted[b] / (double)total[b] : 0.0;
		double h = share * (height - 16);

		if (total[b] == 0)
			continue;
		fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#2e7d32\">"
			     "<title>%" PRIu64 " of %" PRIu64 " sessions encrypted</title></rect>\n",
			b * slot + 2, height - h, slot - 4, h, encrypted[b], total[b]);
		fprintf(out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"3\" fill=\"#c62828\"/>\n", b * slot + 2,
			height, slot - 4);
	}
	report_html_time_label(out, first, 0, height + 20, "start");
	report_html_time_label(out, last, REPORT_HTML_CHART_WIDTH, height + 20, "end");
	fputs("<text x=\"360\" y=\"195\" text-anchor=\"middle\">bar height: share of sessions that negotiated TLS"
	      "</text>\n</svg>\n",
	      out);
}

int report_write_html(const struct report *r, FILE *out)
{
	static const char *const tls_headers[] = {"server", "version", "cipher", "sessions"};
	static const char *const cred_headers[] = {"server", "mechanism", "username", "exposure", "result",
						   "sessions"};
	static const char *const finding_headers[] = {"time", "flow_id", "client", "server", "finding", NULL};
	static const char *const mta_sts_headers[] = {"domain", "policy", "result", "sessions"};
	static const char *const rule_headers[] = {"rule", "signature", "severity", "alerts"};
	char share[16];

	fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		     "<title>mailtap report</title><style>%s</style></head><body>\n<h1>mailtap report</h1>\n",
		report_html_style);
	fprintf(out, "<p>%" PRIu64 " %s, %" PRIu64 " sessions, %" PRIu64 " alerts. Encrypted sessions "
		     "(TLS negotiated): %" PRIu64 " of %" PRIu64 " (%s).</p>\n",
		r->files, r->files == 1 ? "file" : "files", r->sessions, r->alerts, r->encrypted, r->sessions,
		report_percent(r->encrypted, r->sessions, share));
	report_html_share_chart(out, r);
	report_html_versions_chart(out, r);
	report_html_ports(out, r);
	report_html_table(out, "TLS versions and ciphers per server", tls_headers, 3, &r->tls);
	report_html_table(out, "Credentials exposed per server (user names only)", cred_headers, 5, &r->credentials);
	report_html_table(out, "STARTTLS stripping and injection findings", finding_headers, 5, &r->findings);
	report_html_table(out, "MTA-STS checks per domain", mta_sts_headers, 3, &r->mta_sts);
	report_html_table(out, "Alerts by rule", rule_headers, 3, &r->rules);
	fputs("</body></html>\n", out);
	return ferror(out) ? -1 : 0;
}
