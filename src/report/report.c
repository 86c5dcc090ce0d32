/*
 * `mailtap report`: reads the JSON lines that mailtap wrote (docs/output.md)
 * and fills the report's tables from the session and alert records. Other
 * record types (stats) are counted as lines and otherwise skipped.
 */
#include "report/report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/limits.h"
#include "report/report_internal.h"
#include "report/report_json.h"

/* Anomalies listed one by one with their flow ids: the attacks on STARTTLS. */
static const char *const report_finding_names[] = {
	"starttls_stripped",
	"starttls_command_injection",
	"starttls_response_injection",
};

const char *report_percent(uint64_t part, uint64_t total, char buf[16])
{
	if (total == 0)
		snprintf(buf, 16, "-");
	else
		snprintf(buf, 16, "%.1f%%", 100.0 * (double)part / (double)total);
	return buf;
}

/* Formats "ip:port", with brackets around an IPv6 address. */
static void report_endpoint(const struct report_json_value *rec, const char *ip_key, const char *port_key,
			    char *out, size_t size)
{
	const char *ip = report_json_get_string(rec, ip_key);
	const struct report_json_value *port = report_json_get(rec, port_key);
	const char *port_text = port != NULL && port->type == REPORT_JSON_NUMBER ? port->string : "?";

	if (ip == NULL)
		ip = "?";
	if (strchr(ip, ':') != NULL)
		snprintf(out, size, "[%s]:%s", ip, port_text);
	else
		snprintf(out, size, "%s:%s", ip, port_text);
}

/* Parses an RFC 3339 time as mailtap writes it ("2026-12-04T22:17:07.123456+0000"). Returns 0 or -1. */
static int report_parse_time(const char *text, int64_t *out)
{
	struct tm tm;
	int consumed = 0;
	const char *zone;
	int sign;
	int hh;
	int mm;

	if (text == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec, &consumed) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	zone = text + consumed;
	while (*zone == '.' || (*zone >= '0' && *zone <= '9'))
		zone++;
	*out = (int64_t)timegm(&tm);
	if (*zone == 'Z' || *zone == '\0')
		return 0;
	if (*zone != '+' && *zone != '-')
		return -1;
	sign = *zone == '-' ? -1 : 1;
	if (sscanf(zone + 1, "%2d:%2d", &hh, &mm) != 2 && sscanf(zone + 1, "%2d%2d", &hh, &mm) != 2)
		return -1;
	*out -= sign * (int64_t)(hh * 3600 + mm * 60);
	return 0;
}

static void report_add_sample(struct report *r, const struct report_json_value *rec, bool encrypted)
{
	int64_t t;

	if (report_parse_time(report_json_get_string(rec, "timestamp"), &t) != 0)
		return;
	if (r->sample_count >= LIMIT_REPORT_ROWS) {
		r->samples_dropped++;
		return;
	}
	if (r->sample_count == r->sample_cap) {
		size_t cap = r->sample_cap == 0 ? 256 : r->sample_cap * 2;
		struct report_sample *s = realloc(r->samples, cap * sizeof(*s));

		if (s == NULL) {
			r->samples_dropped++;
			return;
		}
		r->samples = s;
		r->sample_cap = cap;
	}
	r->samples[r->sample_count].time_s = t;
	r->samples[r->sample_count].encrypted = encrypted;
	r->sample_count++;
}

static void report_add_credentials(struct report *r, const struct report_json_value *rec, const char *server)
{
	const struct report_json_value *auth = report_json_get(rec, "auth");

	if (auth == NULL || auth->type != REPORT_JSON_ARRAY)
		return;
	for (const struct report_json_value *a = auth->child; a != NULL; a = a->next) {
		/* Usernames only: the password is never copied, even when the file reveals it. */
		const char *cells[REPORT_COLUMNS] = {server, report_json_get_string(a, "mechanism"),
						     report_json_get_string(a, "username"),
						     report_json_get_string(a, "exposure"),
						     report_json_get_string(a, "result")};

		report_table_add(&r->credentials, cells, 0);
	}
}

static void report_add_findings(struct report *r, const struct report_json_value *rec, const char *server)
{
	const struct report_json_value *anomalies = report_json_get(rec, "anomalies");
	const struct report_json_value *flow = report_json_get(rec, "flow_id");
	char client[128];

	if (anomalies == NULL || anomalies->type != REPORT_JSON_ARRAY)
		return;
	report_endpoint(rec, "src_ip", "src_port", client, sizeof(client));
	for (const struct report_json_value *a = anomalies->child; a != NULL; a = a->next) {
		for (size_t i = 0; i < sizeof(report_finding_names) / sizeof(report_finding_names[0]); i++) {
			const char *cells[REPORT_COLUMNS] = {
				report_json_get_string(rec, "timestamp"),
				flow != NULL && flow->type == REPORT_JSON_NUMBER ? flow->string : "?", client, server,
				report_finding_names[i]};

			if (a->type == REPORT_JSON_STRING && strcmp(a->string, report_finding_names[i]) == 0)
				report_table_add(&r->findings, cells, 0);
		}
	}
}

/* Counts the session's MTA-STS check (docs/output.md, "mta_sts"), when it had one. */
static void report_add_mta_sts(struct report *r, const struct report_json_value *rec)
{
	const struct report_json_value *m = report_json_get(rec, "mta_sts");
	const char *cells[REPORT_COLUMNS] = {report_json_get_string(m, "domain"),
					     report_json_get_string(m, "policy_source"),
					     report_json_get_string(m, "result")};

	if (m != NULL && m->type == REPORT_JSON_OBJECT)
		report_table_add(&r->mta_sts, cells, 0);
}

static void report_add_session(struct report *r, const struct report_json_value *rec)
{
	const struct report_json_value *tls = report_json_get(rec, "tls");
	const char *version = report_json_get_string(tls, "version");
	const struct report_json_value *port = report_json_get(rec, "dest_port");
	const char *app = report_json_get_string(rec, "app_proto");
	char server[128];
	bool encrypted = version != NULL;

	r->sessions++;
	r->encrypted += encrypted;
	report_endpoint(rec, "dest_ip", "dest_port", server, sizeof(server));
	{
		const char *cells[REPORT_COLUMNS] = {app != NULL ? app : "unknown",
						     port != NULL && port->type == REPORT_JSON_NUMBER ? port->string : "?"};

		report_table_add(&r->by_port, cells, encrypted);
	}
	if (version != NULL) {
		const char *cipher = report_json_get_string(tls, "cipher");
		const char *tls_cells[REPORT_COLUMNS] = {server, version, cipher != NULL ? cipher : "?"};
		const char *version_cells[REPORT_COLUMNS] = {server, version};

		report_table_add(&r->tls, tls_cells, 0);
		report_table_add(&r->versions, version_cells, 0);
	}
	report_add_credentials(r, rec, server);
	report_add_findings(r, rec, server);
	report_add_mta_sts(r, rec);
	report_add_sample(r, rec, encrypted);
}

static void report_add_alert(struct report *r, const struct report_json_value *rec)
{
	const struct report_json_value *alert = report_json_get(rec, "alert");
	const struct report_json_value *sid = report_json_get(alert, "signature_id");
	const char *cells[REPORT_COLUMNS] = {sid != NULL && sid->type == REPORT_JSON_NUMBER ? sid->string : "?",
					     report_json_get_string(alert, "signature"),
					     report_json_get_string(alert, "severity")};

	r->alerts++;
	report_table_add(&r->rules, cells, 0);
}

static void report_add_line(struct report *r, struct report_json_doc *doc, const char *line, size_t len)
{
	struct report_json_value *rec;
	const char *type;

	r->lines++;
	if (report_json_parse(doc, line, len, &rec) != 0 || rec->type != REPORT_JSON_OBJECT) {
		r->malformed++;
		return;
	}
	type = report_json_get_string(rec, "event_type");
	if (type != NULL && strcmp(type, "session") == 0)
		report_add_session(r, rec);
	else if (type != NULL && strcmp(type, "alert") == 0)
		report_add_alert(r, rec);
}

/*
 * Reads one line of at most LIMIT_REPORT_LINE_BYTES into buf (without the
 * LF). Returns the length, -1 at the end of the file, or -2 for an
 * over-long line, which is skipped up to its LF.
 */
static long report_read_line(FILE *f, char *buf)
{
	size_t n = 0;
	int c;

	while ((c = getc(f)) != EOF && c != '\n') {
		if (n == LIMIT_REPORT_LINE_BYTES) {
			while ((c = getc(f)) != EOF && c != '\n')
				;
			return -2;
		}
		buf[n++] = (char)c;
	}
	if (c == EOF && n == 0)
		return -1;
	return (long)n;
}

static int report_read_file(struct report *r, const char *path, char *buf, FILE *err)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	struct report_json_doc doc;
	long len;
	int rc = 0;

	if (f == NULL) {
		fprintf(err, "mailtap report: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	memset(&doc, 0, sizeof(doc));
	r->files++;
	while ((len = report_read_line(f, buf)) != -1) {
		if (len == -2) {
			r->lines++;
			r->malformed++;
			continue;
		}
		if (len > 0)
			report_add_line(r, &doc, buf, (size_t)len);
	}
	if (ferror(f)) {
		fprintf(err, "mailtap report: cannot read %s: %s\n", path, strerror(errno));
		rc = -1;
	}
	report_json_free(&doc);
	if (f != stdin)
		fclose(f);
	return rc;
}

static void report_free(struct report *r)
{
	report_table_free(&r->by_port);
	report_table_free(&r->tls);
	report_table_free(&r->versions);
	report_table_free(&r->credentials);
	report_table_free(&r->findings);
	report_table_free(&r->mta_sts);
	report_table_free(&r->rules);
	free(r->samples);
}

static void report_usage(FILE *out)
{
	fprintf(out, "usage: mailtap report [--html FILE] JSONFILE...\n"
		     "  Summarizes mailtap's JSON lines output (\"-\" reads stdin): sessions by\n"
		     "  protocol and port, encrypted share, TLS versions and ciphers per server,\n"
		     "  user names sent in clear per server, STARTTLS stripping and injection\n"
		     "  findings with their flow ids, MTA-STS checks per domain (operator or\n"
		     "  learnt policy, result), and alerts by rule.\n"
		     "  --html FILE  also write a self-contained HTML page with charts to FILE\n");
}

static int report_write_html_file(const struct report *r, const char *path, FILE *err)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL) {
		fprintf(err, "mailtap report: cannot create %s: %s\n", path, strerror(errno));
		return -1;
	}
	rc = report_write_html(r, f);
	if (fclose(f) != 0 || rc != 0) {
		fprintf(err, "mailtap report: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Parses the options; returns the index of the first file, 0 after --help, or -1 on a usage error. */
static int report_parse_args(int argc, char **argv, const char **html, FILE *out, FILE *err)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strcmp(argv[i], "--") == 0)
			return i + 1;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			report_usage(out);
			return 0;
		}
		if (strcmp(argv[i], "--html") != 0 || i + 1 >= argc) {
			fprintf(err, "mailtap report: %s: %s\n", argv[i],
				strcmp(argv[i], "--html") == 0 ? "missing file name" : "unknown option");
			report_usage(err);
			return -1;
		}
		*html = argv[++i];
	}
	if (i >= argc) {
		fprintf(err, "mailtap report: no JSON file given\n");
		report_usage(err);
		return -1;
	}
	return i;
}

int report_main(int argc, char **argv, FILE *out, FILE *err)
{
	const char *html = NULL;
	struct report r;
	char *buf;
	int first = report_parse_args(argc, argv, &html, out, err);
	int status = 0;

	if (first <= 0)
		return first == 0 ? 0 : 2;
	buf = malloc(LIMIT_REPORT_LINE_BYTES);
	if (buf == NULL) {
		fprintf(err, "mailtap report: out of memory\n");
		return 1;
	}
	memset(&r, 0, sizeof(r));
	for (int i = first; i < argc; i++) {
		if (report_read_file(&r, argv[i], buf, err) != 0)
			status = 1;
	}
	free(buf);

	/* A file that could not be read, or that contains no mailtap record, makes any summary misleading. */
	if (status == 0 && r.sessions == 0 && r.alerts == 0 && r.malformed > 0) {
		fprintf(err, "mailtap report: no mailtap JSON records in the input (%llu lines skipped); "
			     "give the output of 'mailtap --json FILE'\n",
			(unsigned long long)r.malformed);
		status = 1;
	}
	if (status != 0) {
		report_free(&r);
		return status;
	}
	report_table_sort(&r.by_port);
	report_table_sort(&r.tls);
	report_table_sort(&r.versions);
	report_table_sort(&r.credentials);
	report_table_sort(&r.findings);
	report_table_sort(&r.mta_sts);
	report_table_sort(&r.rules);
	/* The page goes first: a reader that closes the terminal output early (| head) must not cost it. */
	if (html != NULL && report_write_html_file(&r, html, err) != 0)
		status = 1;
	report_write_text(&r, out);
	report_free(&r);
	return status;
}
