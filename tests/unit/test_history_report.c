/*
 * mailtap report: the JSON reader (valid records, escapes, every
 * truncation, depth and garbage) and report_main on small files (counts,
 * escaping of wire strings, malformed and over-long lines, usage errors).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/limits.h"
#include "report/report.h"
#include "report/report_json.h"
#include "test.h"

static const char session_line[] =
	"{\"timestamp\":\"2026-12-04T22:17:07.123456+0000\",\"flow_id\":18446744073709551615,"
	"\"event_type\":\"session\",\"src_ip\":\"192.0.2.1\",\"src_port\":40000,\"dest_ip\":\"2001:db8::25\","
	"\"dest_port\":25,\"proto\":\"TCP\",\"app_proto\":\"smtp\",\"starttls\":{\"offered\":null,"
	"\"attempted\":false,\"result\":\"none\"},\"auth\":[{\"mechanism\":\"PLAIN\",\"username\":\"al\\u00e9\\n\\\"x\","
	"\"password\":\"<redacted>\",\"exposure\":\"cleartext\",\"result\":\"success\"}],"
	"\"anomalies\":[\"cleartext_credentials\",\"starttls_stripped\"],\"evidence\":{\"gaps\":0,\"midstream\":false},"
	"\"alerts\":[1030,1040],\"n\":-1.5e3}";

static void test_json_session(void)
{
	struct report_json_doc doc;
	struct report_json_value *root;
	const struct report_json_value *auth;
	const struct report_json_value *flow;

	memset(&doc, 0, sizeof(doc));
	CHECK_EQ_INT(report_json_parse(&doc, session_line, strlen(session_line), &root), 0);
	CHECK(root != NULL);
	if (root == NULL) {
		report_json_free(&doc);
		return;
	}
	CHECK_EQ_INT(root->type, REPORT_JSON_OBJECT);
	CHECK_EQ_STR(report_json_get_string(root, "event_type"), "session");
	CHECK_EQ_STR(report_json_get_string(root, "dest_ip"), "2001:db8::25");
	CHECK(report_json_get_number(root, "dest_port", 0) == 25);
	CHECK(report_json_get_number(root, "n", 0) == -1500);
	CHECK(report_json_get_number(root, "missing", 7) == 7);
	flow = report_json_get(root, "flow_id");
	CHECK(flow != NULL);
	if (flow != NULL) {
		CHECK_EQ_INT(flow->type, REPORT_JSON_NUMBER);
		CHECK_EQ_STR(flow->string, "18446744073709551615");
	}
	CHECK(report_json_get(report_json_get(root, "starttls"), "offered")->type == REPORT_JSON_NULL);
	auth = report_json_get(root, "auth");
	CHECK(auth != NULL);
	if (auth != NULL) {
		CHECK_EQ_INT(auth->type, REPORT_JSON_ARRAY);
		CHECK(auth->child != NULL);
	}
	if (auth != NULL && auth->child != NULL)
		CHECK_EQ_STR(report_json_get_string(auth->child, "username"), "al\xc3\xa9\n\"x");
	report_json_free(&doc);
}

static void test_json_truncated(void)
{
	struct report_json_doc doc;
	struct report_json_value *root;
	size_t len = strlen(session_line);
	int accepted = 0;

	memset(&doc, 0, sizeof(doc));
	for (size_t cut = 0; cut < len; cut++) {
		if (report_json_parse(&doc, session_line, cut, &root) == 0)
			accepted++;
	}
	CHECK_EQ_INT(accepted, 0);
	report_json_free(&doc);
}

static void test_json_invalid(void)
{
	static const char *const bad[] = {
		"", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[1 2]", "{a:1}", "\"abc", "\"a\\x\"",
		"\"a\\u12\"", "\"a\x01\"", "tru", "nul", "01x", "-", "{\"a\":1}}", "{\"a\":1} x", "[\"\\uZZZZ\"]",
	};
	struct report_json_doc doc;
	struct report_json_value *root;

	memset(&doc, 0, sizeof(doc));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = report_json_parse(&doc, bad[i], strlen(bad[i]), &root);

		if (rc == 0)
			fprintf(stderr, "accepted invalid JSON: %s\n", bad[i]);
		CHECK_EQ_INT(rc, -1);
		CHECK(root == NULL);
	}
	report_json_free(&doc);
}

static void test_json_surrogates(void)
{
	struct report_json_doc doc;
	struct report_json_value *root;
	const char *pair = "\"\\ud83d\\ude00\"";
	const char *lone = "\"\\ud800x\"";

	memset(&doc, 0, sizeof(doc));
	CHECK_EQ_INT(report_json_parse(&doc, pair, strlen(pair), &root), 0);
	if (root != NULL)
		CHECK_EQ_MEM(root->string, root->string_len, "\xf0\x9f\x98\x80", 4);
	CHECK_EQ_INT(report_json_parse(&doc, lone, strlen(lone), &root), 0);
	if (root != NULL)
		CHECK_EQ_MEM(root->string, root->string_len, "\xef\xbf\xbdx", 4);
	report_json_free(&doc);
}

static void test_json_depth(void)
{
	struct report_json_doc doc;
	struct report_json_value *root;
	char text[2 * (LIMIT_REPORT_JSON_DEPTH + 2) + 1];
	size_t depth;

	memset(&doc, 0, sizeof(doc));
	for (depth = LIMIT_REPORT_JSON_DEPTH + 1; depth <= LIMIT_REPORT_JSON_DEPTH + 2; depth++) {
		memset(text, '[', depth);
		memset(text + depth, ']', depth);
		CHECK_EQ_INT(report_json_parse(&doc, text, 2 * depth, &root),
			     depth <= LIMIT_REPORT_JSON_DEPTH + 1 ? 0 : -1);
	}
	report_json_free(&doc);
}

static void test_json_garbage(void)
{
	struct report_json_doc doc;
	struct report_json_value *root;
	static const char alphabet[] = "{}[]\",:0123456789.eE+-tfnul\\ \"abcu";
	char text[256];
	uint32_t seed = 12345;

	memset(&doc, 0, sizeof(doc));
	for (int round = 0; round < 20000; round++) {
		size_t len = seed % sizeof(text);

		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			text[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		seed = seed * 1103515245u + 12345u;
		report_json_parse(&doc, text, len, &root);
	}
	CHECK(1);
	report_json_free(&doc);
}

/* Writes text to a fresh temporary file; the caller unlinks path. */
static void write_file(char *path, size_t size, const char *name, const char *text)
{
	FILE *f;

	snprintf(path, size, "%s/mailtap-test-report-%ld-%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 (long)getpid(), name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs(text, f);
	fclose(f);
}

/* Runs report_main on argv and returns its terminal output in a malloc'd string. */
static char *run_report(int argc, char **argv, int *status)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	FILE *err = fopen("/dev/null", "w");

	*status = report_main(argc, argv, out, err);
	fclose(out);
	fclose(err);
	return text;
}

static void test_report_counts(void)
{
	char path[256];
	char big_path[256];
	char html_path[300];
	char *text;
	char *big;
	int status;
	FILE *f;

	write_file(path, sizeof(path), "in.json",
		   "not json\n"
		   "{\"event_type\":\"stats\",\"packets\":5}\n");
	f = fopen(path, "a");
	if (f != NULL) {
		fprintf(f, "%s\n%s\n", session_line, session_line);
		fputs("{\"event_type\":\"alert\",\"alert\":{\"signature_id\":1040,\"signature\":\"starttls-stripped\","
		      "\"severity\":\"high\"}}\n",
		      f);
		fputs("{\"event_type\":\"session\",\"dest_ip\":\"192.0.2.9\",\"dest_port\":465,\"app_proto\":\"smtps\","
		      "\"timestamp\":\"2026-12-04T23:00:00.000000+0000\",\"tls\":{\"version\":\"TLSv1.3\","
		      "\"cipher\":\"TLS_AES_128_GCM_SHA256\"},\"auth\":[{\"username\":\"\\u001b[2J\"}]}\n",
		      f);
		fclose(f);
	}

	/* A line over the cap is skipped and counted, and the next line is still read. */
	big = malloc(LIMIT_REPORT_LINE_BYTES + 16);
	CHECK(big != NULL);
	if (big == NULL)
		return;
	memset(big, ' ', LIMIT_REPORT_LINE_BYTES + 8);
	big[LIMIT_REPORT_LINE_BYTES + 8] = '\0';
	write_file(big_path, sizeof(big_path), "big.json", big);
	free(big);
	f = fopen(big_path, "a");
	if (f != NULL) {
		fprintf(f, "\n%s\n", session_line);
		fclose(f);
	}

	snprintf(html_path, sizeof(html_path), "%s.html", path);
	{
		char *argv[] = {"report", "--html", html_path, path, big_path};

		text = run_report(5, argv, &status);
	}
	CHECK_EQ_INT(status, 0);
	CHECK(text != NULL);
	if (text != NULL) {
		CHECK(strstr(text, "2 files, 8 lines, 4 sessions, 1 alerts, 2 lines skipped") != NULL);
		CHECK(strstr(text, "Encrypted sessions (TLS negotiated): 1 of 4 (25.0%)") != NULL);
		CHECK(strstr(text, "[2001:db8::25]:25") != NULL);
		CHECK(strstr(text, "18446744073709551615") != NULL);
		CHECK(strstr(text, "al\\xc3\\xa9\\x0a\"x") != NULL);
		CHECK(strstr(text, "\\x1b[2J") != NULL);
		CHECK(strchr(text, '\x1b') == NULL);
		CHECK(strstr(text, "<redacted>") == NULL);
	}
	CHECK(access(html_path, R_OK) == 0);
	free(text);
	unlink(path);
	unlink(big_path);
	unlink(html_path);
}

static void test_report_usage(void)
{
	char *none[] = {"report"};
	char *unknown[] = {"report", "--bogus", "x"};
	char *no_html[] = {"report", "--html"};
	char *missing[] = {"report", "/nonexistent-mailtap-dir/in.json"};
	char *help[] = {"report", "--help"};
	int status;

	free(run_report(1, none, &status));
	CHECK_EQ_INT(status, 2);
	free(run_report(3, unknown, &status));
	CHECK_EQ_INT(status, 2);
	free(run_report(2, no_html, &status));
	CHECK_EQ_INT(status, 2);
	free(run_report(2, missing, &status));
	CHECK_EQ_INT(status, 1);
	free(run_report(2, help, &status));
	CHECK_EQ_INT(status, 0);
}

int main(void)
{
	test_json_session();
	test_json_truncated();
	test_json_invalid();
	test_json_surrogates();
	test_json_depth();
	test_json_garbage();
	test_report_counts();
	test_report_usage();
	return test_finish("test_history_report");
}
