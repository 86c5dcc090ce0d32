/*
 * Rule loading: every valid construct loads, and every kind of mistake is
 * reported at the FILE:LINE:COLUMN that the YAML text puts it, with its
 * reason. Each case is written to a temporary file and loaded from there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/limits.h"
#include "detect/rules.h"
#include "test.h"

static char temp_path[64];

/* Writes text to a fresh temporary file and loads it; errs is filled either way. */
static struct rule_set *load_text(const char *text, struct rule_errors *errs)
{
	struct rule_set *set;
	FILE *f;
	int fd;

	snprintf(temp_path, sizeof(temp_path), "/tmp/mailtap-rules-XXXXXX");
	fd = mkstemp(temp_path);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		return NULL;
	}
	fputs(text, f);
	fclose(f);
	set = rule_set_load(temp_path, errs);
	unlink(temp_path);
	return set;
}

/* Checks that text fails to load with exactly one error at line:column whose reason contains want. */
static void check_one_error(const char *text, unsigned line, unsigned column, const char *want)
{
	struct rule_errors errs;
	struct rule_set *set = load_text(text, &errs);

	CHECK(set == NULL);
	CHECK_EQ_INT(errs.count, 1);
	if (errs.count >= 1) {
		CHECK_EQ_INT(errs.items[0].line, line);
		CHECK_EQ_INT(errs.items[0].column, column);
		if (strstr(errs.items[0].message, want) == NULL)
			fprintf(stderr, "message \"%s\" lacks \"%s\"\n", errs.items[0].message, want);
		CHECK(strstr(errs.items[0].message, want) != NULL);
	}
	rule_set_free(set);
	rule_errors_free(&errs);
}

static const char valid_rules[] =
	"# every construct of the schema\n"
	"rules:\n"
	"  - id: 1\n"
	"    name: versions\n"
	"    description: ordering and sets on a version field\n"
	"    event: tls.server_hello\n"
	"    when:\n"
	"      version: {ge: SSLv3, lt: TLSv1.2}\n"
	"      cipher_grade: {in: [weak, insecure]}\n"
	"    severity: high\n"
	"    category: weak-tls\n"
	"    reference: RFC 8996\n"
	"    message: \"{dest_ip}:{dest_port} negotiated {version} {{literal}}\"\n"
	"    threshold: {track: by_dst, count: 1, seconds: 3600}\n"
	"  - id: 2\n"
	"    name: combinators\n"
	"    event: session\n"
	"    when:\n"
	"      any:\n"
	"        - anomalies: {contains: starttls_stripped}\n"
	"        - all:\n"
	"            - starttls.offered: true\n"
	"            - starttls.result: {not_in: [ok, unknown]}\n"
	"        - not: {tls.sni: {exists: true}}\n"
	"    severity: medium\n"
	"    message: \"{anomalies}\"\n"
	"  - id: 3\n"
	"    name: strings\n"
	"    event: auth.cleartext\n"
	"    when:\n"
	"      mechanism: {regex: \"^(PLAIN|LOGIN)$\"}\n"
	"      username: {contains: admin, ne: root}\n"
	"      result: success\n"
	"      src_port: {gt: 1023, le: 65535}\n"
	"    severity: critical\n"
	"    enabled: false\n"
	"  - id: 4\n"
	"    name: no-condition\n"
	"    event: starttls.stripped\n"
	"    severity: low\n"
	"    threshold: {track: global, count: 5, seconds: 60, type: both}\n"
	"  - id: 5\n"
	"    name: shorthand\n"
	"    event: tls.client_hello\n"
	"    when:\n"
	"      hello_format: sslv2\n"
	"      versions: TLSv1.3\n"
	"      dest_port: [25, 465, 587]\n"
	"      fallback_scsv: {eq: false}\n"
	"    severity: info\n";

static void test_load_valid(void)
{
	struct rule_errors errs;
	struct rule_set *set = load_text(valid_rules, &errs);
	const struct rule *r;

	CHECK(set != NULL);
	CHECK_EQ_INT(errs.count, 0);
	if (set == NULL) {
		rule_errors_print(&errs, stderr);
		rule_errors_free(&errs);
		return;
	}
	CHECK_EQ_INT(rule_set_count(set), 5);
	r = rule_set_find(set, 1);
	CHECK(r != NULL);
	if (r != NULL) {
		CHECK_EQ_STR(r->name, "versions");
		CHECK_EQ_STR(r->category, "weak-tls");
		CHECK_EQ_STR(r->reference, "RFC 8996");
		CHECK_EQ_INT(r->event, EVENT_TLS_SERVER_HELLO);
		CHECK_EQ_INT(r->severity, RULE_SEVERITY_HIGH);
		CHECK(r->threshold.set);
		CHECK_EQ_INT(r->threshold.track, RULE_TRACK_BY_DST);
		CHECK_EQ_INT(r->threshold.type, RULE_THRESHOLD_LIMIT);
		CHECK_EQ_INT(r->threshold.count, 1);
		CHECK_EQ_INT(r->threshold.seconds, 3600);
		CHECK_EQ_INT(r->line, 3);
		CHECK(r->enabled);
	}
	r = rule_set_find(set, 3);
	CHECK(r != NULL);
	if (r != NULL) {
		CHECK(!r->enabled);
		CHECK_EQ_STR(r->message, "strings");
	}
	r = rule_set_find(set, 4);
	CHECK(r != NULL);
	if (r != NULL) {
		CHECK(r->when == NULL);
		CHECK_EQ_INT(r->threshold.type, RULE_THRESHOLD_BOTH);
		CHECK_EQ_STR(r->description, "");
	}
	CHECK(rule_set_find(set, 99) == NULL);
	CHECK(rule_set_at(set, 4) != NULL);
	if (rule_set_at(set, 4) != NULL)
		CHECK_EQ_INT(rule_set_at(set, 4)->id, 5);
	CHECK(rule_set_at(set, 5) == NULL);
	rule_set_free(set);
	rule_errors_free(&errs);
}

static void test_load_empty_list(void)
{
	struct rule_errors errs;
	struct rule_set *set = load_text("rules: []\n", &errs);

	CHECK(set != NULL);
	if (set != NULL)
		CHECK_EQ_INT(rule_set_count(set), 0);
	rule_set_free(set);
	rule_errors_free(&errs);
}

static void test_error_yaml_syntax(void)
{
	/* The second ": " on line 3 is at column 12. */
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: a: b\n",
			3, 12, "YAML syntax error: mapping values are not allowed");
}

static void test_error_unknown_field(void)
{
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: tls.server_hello\n"
			"    when:\n"
			"      verison: TLSv1.0\n"
			"    severity: high\n",
			6, 7, "unknown field \"verison\" for event tls.server_hello; fields: flow_id,");
	/* The list of accepted names includes the event's own fields. */
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: tls.server_hello\n"
			"    when: {sni_name: {exists: true}}\n"
			"    severity: high\n",
			5, 12, "cipher_grade, sni, hello_retry_request, ja3s");
}

static void test_error_unknown_operator(void)
{
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: tls.server_hello\n"
			"    when:\n"
			"      version: {below: TLSv1.2}\n"
			"    severity: high\n",
			6, 17,
			"unknown operator \"below\"; operators: eq, ne, in, not_in, lt, le, gt, ge, "
			"contains, regex, exists");
}

static void test_error_operator_type(void)
{
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: tls.server_hello\n"
			"    when:\n"
			"      sni: {lt: mail.example.org}\n"
			"    severity: high\n",
			6, 13,
			"operator lt does not apply to string field \"sni\"; use one of: eq, ne, in, "
			"not_in, contains, regex, exists");
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: tls.server_hello\n"
			"    when:\n"
			"      hello_retry_request: {gt: true}\n"
			"    severity: high\n",
			6, 29, "operator gt does not apply to bool field");
}

static void test_error_value_type(void)
{
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: tls.server_hello\n"
			"    when:\n"
			"      version: {lt: TLSv1.4}\n"
			"    severity: high\n",
			6, 21, "invalid value \"TLSv1.4\" for version field \"version\"");
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: session\n"
			"    when:\n"
			"      dest_port: {gt: twenty-five}\n"
			"    severity: high\n",
			6, 23, "invalid value \"twenty-five\" for integer field \"dest_port\"");
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: session\n"
			"    when:\n"
			"      starttls.offered: yes\n"
			"    severity: high\n",
			6, 25, "expected true or false");
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: session\n"
			"    when:\n"
			"      starttls.result: {in: [ok, stripped]}\n"
			"    severity: high\n",
			6, 34,
			"invalid value \"stripped\" for field \"starttls.result\"; accepted values: none, "
			"ok, refused, no_handshake, unknown");
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: session\n"
			"    when:\n"
			"      anomalies: {contains: starttls_striped}\n"
			"    severity: high\n",
			6, 29, "invalid value \"starttls_striped\" for field \"anomalies\"");
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: session\n"
			"    when:\n"
			"      dest_port: {in: 25}\n"
			"    severity: high\n",
			6, 23, "needs a non-empty list of values");
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: session\n"
			"    when:\n"
			"      dest_port: {eq: [25]}\n"
			"    severity: high\n",
			6, 23, "needs a single value, not a list");
}

static void test_error_bad_regex(void)
{
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: auth.cleartext\n"
			"    when:\n"
			"      username: {regex: \"a(b\"}\n"
			"    severity: high\n",
			6, 25, "invalid regex \"a(b\" for field \"username\": ");
}

static void test_error_duplicate_id(void)
{
	check_one_error("rules:\n"
			"  - id: 7\n"
			"    name: a\n"
			"    event: session\n"
			"    severity: low\n"
			"  - id: 7\n"
			"    name: b\n"
			"    event: session\n"
			"    severity: low\n",
			6, 9, "duplicate id 7; first used at 2:9");
}

static void test_error_unknown_event(void)
{
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: tls.hello\n"
			"    severity: low\n",
			4, 12,
			"invalid event \"tls.hello\"; accepted values: session, auth.cleartext, "
			"starttls.stripped");
}

static void test_error_bad_severity(void)
{
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: session\n"
			"    severity: severe\n",
			5, 15, "invalid severity \"severe\"; accepted values: critical, high, medium, low, info");
}

static void test_error_bad_placeholder(void)
{
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: tls.client_hello\n"
			"    severity: low\n"
			"    message: \"{src_ip} offered {cipher}\"\n",
			6, 14, "unknown field \"{cipher}\" in message for event tls.client_hello");
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: session\n"
			"    severity: low\n"
			"    message: \"open {src_ip\"\n",
			6, 14, "unclosed \"{\" in message");
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: session\n"
			"    severity: low\n"
			"    message: \"close }\"\n",
			6, 14, "unmatched \"}\" in message");
}

static void test_error_schema(void)
{
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: session\n"
			"    severity: low\n"
			"    sevrity: low\n",
			6, 5, "unknown key \"sevrity\" in rule; keys: id, name, description, event, when");
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: session\n",
			2, 5, "rule is missing \"severity\"");
	check_one_error("rules:\n"
			"  - id: 0\n"
			"    name: x\n"
			"    event: session\n"
			"    severity: low\n",
			2, 9, "invalid id \"0\"; expected an integer from 1 to 4294967295");
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    name: y\n"
			"    event: session\n"
			"    severity: low\n",
			4, 5, "duplicate key \"name\" in rule");
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: session\n"
			"    severity: low\n"
			"    threshold: {track: by_host, count: 1, seconds: 60}\n",
			6, 24, "invalid track \"by_host\"; accepted values: by_src, by_dst, by_flow, global");
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: session\n"
			"    severity: low\n"
			"    threshold: {track: by_src, count: 0, seconds: 60}\n",
			6, 39, "invalid count \"0\"");
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: session\n"
			"    severity: low\n"
			"    enabled: no\n",
			6, 14, "invalid enabled \"no\"; expected true or false");
	check_one_error("rulez: []\n", 1, 1, "unknown key \"rulez\" in the file; keys: rules");
	check_one_error("- id: 1\n", 1, 1, "the file must be a mapping with a \"rules\" list");
	check_one_error("", 1, 1, "the file is empty");
	check_one_error("a: &x [1]\nrules: *x\n", 2, 8, "YAML aliases (*name) are not supported");
	check_one_error("rules: []\n---\nrules: []\n", 2, 1, "a second YAML document");
	check_one_error("rules:\n  - {id: 1, name: \"a\\0b\", event: session, severity: low}\n", 2, 19,
			"scalar contains a NUL character");
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: session\n"
			"    severity: low\n"
			"    when: [a]\n",
			6, 11, "a condition must be a non-empty mapping");
	check_one_error("rules:\n"
			"  - id: 1\n"
			"    name: x\n"
			"    event: session\n"
			"    severity: low\n"
			"    when: {any: []}\n",
			6, 17, "any needs a non-empty list of conditions");
}

/* Errors come back in file order, whatever order the checks found them in. */
static void test_errors_collected(void)
{
	struct rule_errors errs;
	struct rule_set *set = load_text("rules:\n"
					 "  - id: 1\n"
					 "    name: x\n"
					 "    event: session\n"
					 "    severity: nope\n"
					 "    when: {tls.version: {lt: TLSv9}, bogus: 1}\n"
					 "  - id: 1\n"
					 "    name: y\n"
					 "    event: nothing\n"
					 "    severity: low\n",
					 &errs);

	CHECK(set == NULL);
	CHECK_EQ_INT(errs.count, 5);
	if (errs.count == 5) {
		CHECK_EQ_INT(errs.items[0].line, 5); /* severity */
		CHECK_EQ_INT(errs.items[1].line, 6); /* TLSv9 */
		CHECK_EQ_INT(errs.items[1].column, 30);
		CHECK_EQ_INT(errs.items[2].line, 6); /* bogus */
		CHECK_EQ_INT(errs.items[2].column, 38);
		CHECK_EQ_INT(errs.items[3].line, 7); /* duplicate id */
		CHECK_EQ_INT(errs.items[4].line, 9); /* event */
	}
	rule_set_free(set);
	rule_errors_free(&errs);
}

static void test_errors_capped(void)
{
	size_t rules = LIMIT_RULE_ERRORS + 20;
	size_t cap = rules * 64 + 16;
	char *text = malloc(cap);
	size_t pos = 0;
	struct rule_errors errs;
	struct rule_set *set;

	if (text == NULL)
		return;
	pos += (size_t)snprintf(text, cap, "rules:\n");
	for (size_t i = 0; i < rules; i++)
		pos += (size_t)snprintf(text + pos, cap - pos,
					"  - {id: %zu, name: x, event: session, severity: bad}\n", i + 1);
	set = load_text(text, &errs);
	CHECK(set == NULL);
	CHECK_EQ_INT(errs.count, LIMIT_RULE_ERRORS);
	CHECK_EQ_INT(errs.dropped, 20);
	rule_set_free(set);
	rule_errors_free(&errs);
	free(text);
}

static void test_print_format(void)
{
	struct rule_errors errs;
	struct rule_set *set = load_text("rules:\n  - id: 1\n    name: x\n    event: session\n"
					 "    severity: loud\n",
					 &errs);
	char out[512] = "";
	char want[512];
	FILE *f = fmemopen(out, sizeof(out), "w");

	CHECK(set == NULL);
	if (f != NULL) {
		rule_errors_print(&errs, f);
		fclose(f);
	}
	snprintf(want, sizeof(want),
		 "%s:5:15: invalid severity \"loud\"; accepted values: critical, high, medium, low, info\n",
		 errs.path);
	CHECK_EQ_STR(out, want);
	rule_errors_free(&errs);
}

static void test_missing_file(void)
{
	struct rule_errors errs;
	struct rule_set *set = rule_set_load("/nonexistent/mailtap/rules.yaml", &errs);

	CHECK(set == NULL);
	CHECK_EQ_INT(errs.count, 1);
	if (errs.count == 1) {
		CHECK_EQ_INT(errs.items[0].line, 0);
		CHECK(strstr(errs.items[0].message, "cannot open the rule file") != NULL);
	}
	rule_errors_free(&errs);
}

/* Finds rules/default.yaml from this file's path, which CMake passes to the compiler whole. */
static void default_rules_path(char *buf, size_t size)
{
	const char *tail = strstr(__FILE__, "tests/unit/test_rules.c");
	int dir_len = tail != NULL ? (int)(tail - __FILE__) : 0;

	snprintf(buf, size, "%.*srules/default.yaml", dir_len, __FILE__);
}

static void test_check_file_status(void)
{
	char out[4096] = "";
	FILE *f = fmemopen(out, sizeof(out), "w");
	char path[1024];

	default_rules_path(path, sizeof(path));
	if (f == NULL)
		return;
	CHECK_EQ_INT(rule_check_file(path, f), 0);
	CHECK_EQ_INT(rule_check_file("/nonexistent/rules.yaml", f), 2);
	fclose(f);
	CHECK(strstr(out, "default.yaml: valid, ") != NULL);
	CHECK(strstr(out, "/nonexistent/rules.yaml: cannot open the rule file") != NULL);
	CHECK(strstr(out, "/nonexistent/rules.yaml: invalid, 1 error\n") != NULL);
}

/* Rule files are operator input, but a broken one must still fail cleanly at every cut. */
static void test_truncated_valid_file(void)
{
	size_t len = strlen(valid_rules);
	unsigned loaded = 0;

	for (size_t cut = 0; cut <= len; cut++) {
		struct rule_errors errs;
		struct rule_set *set = rule_set_load_buffer("cut", valid_rules, cut, &errs);

		CHECK((set == NULL) == (errs.count + errs.dropped > 0));
		loaded += set != NULL;
		rule_set_free(set);
		rule_errors_free(&errs);
	}
	CHECK(loaded >= 1);
}

static void test_garbage_input(void)
{
	static const char alphabet[] = "rules:-{}[]:, \n\tid:name event when\"'&*!|>#0123";
	uint32_t seed = 12345;
	char buf[512];

	for (int round = 0; round < 2000; round++) {
		struct rule_errors errs;
		struct rule_set *set;
		size_t len = (size_t)(round % (int)sizeof(buf));

		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		set = rule_set_load_buffer("garbage", buf, len, &errs);
		CHECK((set == NULL) == (errs.count + errs.dropped > 0));
		rule_set_free(set);
		rule_errors_free(&errs);
	}
}

static void test_depth_limit(void)
{
	size_t depth = LIMIT_RULE_DEPTH + 10;
	char *text = malloc(depth * 2 + 16);
	struct rule_errors errs;
	struct rule_set *set;
	size_t pos = 0;

	if (text == NULL)
		return;
	for (size_t i = 0; i < depth; i++)
		text[pos++] = '[';
	for (size_t i = 0; i < depth; i++)
		text[pos++] = ']';
	text[pos] = '\0';
	set = load_text(text, &errs);
	CHECK(set == NULL);
	CHECK_EQ_INT(errs.count, 1);
	if (errs.count == 1) {
		CHECK(strstr(errs.items[0].message, "nesting deeper than") != NULL);
		CHECK_EQ_INT(errs.items[0].column, LIMIT_RULE_DEPTH + 1);
	}
	rule_set_free(set);
	rule_errors_free(&errs);
	free(text);
}

int main(void)
{
	test_load_valid();
	test_load_empty_list();
	test_error_yaml_syntax();
	test_error_unknown_field();
	test_error_unknown_operator();
	test_error_operator_type();
	test_error_value_type();
	test_error_bad_regex();
	test_error_duplicate_id();
	test_error_unknown_event();
	test_error_bad_severity();
	test_error_bad_placeholder();
	test_error_schema();
	test_errors_collected();
	test_errors_capped();
	test_print_format();
	test_missing_file();
	test_check_file_status();
	test_truncated_valid_file();
	test_garbage_input();
	test_depth_limit();
	return test_finish("test_rules");
}
