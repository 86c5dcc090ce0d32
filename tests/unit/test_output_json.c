/*
 * Session and alert JSON records, read back with python3's json module.
 * Every line must parse strictly (valid UTF-8, no raw control characters,
 * no duplicate keys), and each field must decode to the value that the
 * output contract derives from the session.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/decimal.h"
#include "core/session.h"
#include "output/format.h"
#include "output/json.h"
#include "output/session_json.h"
#include "test.h"
#include "test_output_fixture.h"

/* Parses each line of argv[1] strictly, then prints the value of each query path read from stdin. */
static const char reader_script[] =
	"import json, sys\n"
	"def no_dup(pairs):\n"
	"    d = {}\n"
	"    for k, v in pairs:\n"
	"        if k in d: raise ValueError('duplicate key ' + k)\n"
	"        d[k] = v\n"
	"    return d\n"
	"def no_const(c): raise ValueError('constant ' + c)\n"
	"data = open(sys.argv[1], 'rb').read()\n"
	"assert data.endswith(b'\\n'), 'last line has no newline'\n"
	"recs = [json.loads(l.decode('utf-8'), object_pairs_hook=no_dup, parse_constant=no_const)\n"
	"        for l in data[:-1].split(b'\\n')]\n"
	"assert all(isinstance(r, dict) for r in recs)\n"
	"print('LINES', len(recs))\n"
	"for q in sys.stdin.read().splitlines():\n"
	"    v = recs\n"
	"    try:\n"
	"        for part in q.split('/'):\n"
	"            v = v[int(part)] if isinstance(v, list) else v[part]\n"
	"    except (KeyError, IndexError, ValueError, TypeError):\n"
	"        print(q, 'MISSING'); continue\n"
	"    if isinstance(v, str): print(q, 'S', v.encode('utf-8', 'surrogatepass').hex())\n"
	"    elif v is None: print(q, 'N')\n"
	"    elif isinstance(v, bool): print(q, 'B', 'true' if v else 'false')\n"
	"    elif isinstance(v, int): print(q, 'I', v)\n"
	"    elif isinstance(v, list): print(q, 'L', len(v))\n"
	"    elif isinstance(v, dict): print(q, 'O', len(v))\n"
	"    else: print(q, 'X')\n";

/*
 * Checks lines of {"raw": HEX, "s": STRING}: STRING must decode to the raw
 * bytes read as UTF-8, with each byte of an invalid sequence as U+00XX.
 * Python's decoder (RFC 3629 rules) is the independent reference.
 */
static const char random_script[] =
	"import codecs, json, sys\n"
	"codecs.register_error('byte_as_code_point',\n"
	"    lambda e: (''.join(chr(b) for b in e.object[e.start:e.end]), e.end))\n"
	"bad = 0\n"
	"lines = open(sys.argv[1], 'rb').read().split(b'\\n')[:-1]\n"
	"for l in lines:\n"
	"    r = json.loads(l.decode('utf-8'))\n"
	"    want = bytes.fromhex(r['raw']).decode('utf-8', 'byte_as_code_point')\n"
	"    if r['s'] != want:\n"
	"        bad += 1\n"
	"        print('mismatch', r['raw'], file=sys.stderr)\n"
	"print(len(lines), bad)\n";

#define MAX_EXPECTS 256

struct expectation {
	char query[96];
	char answer[1100];
};

struct reader {
	char dir[64];
	char json_path[128];
	FILE *json;
	struct expectation expects[MAX_EXPECTS];
	int count;
};

static void reader_open(struct reader *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/mailtap-test-json-XXXXXX");
	CHECK(mkdtemp(r->dir) != NULL);
	snprintf(r->json_path, sizeof(r->json_path), "%s/out.json", r->dir);
	r->json = fopen(r->json_path, "w");
	CHECK(r->json != NULL);
}

static void reader_add_line(struct reader *r, const struct json_builder *jb)
{
	CHECK(!jb->failed);
	fwrite(jb->buf, 1, jb->len, r->json);
	fputc('\n', r->json);
}

static void expect_raw(struct reader *r, const char *query, const char *answer)
{
	if (r->count >= MAX_EXPECTS) {
		CHECK(r->count < MAX_EXPECTS);
		return;
	}
	snprintf(r->expects[r->count].query, sizeof(r->expects[0].query), "%s", query);
	snprintf(r->expects[r->count].answer, sizeof(r->expects[0].answer), "%s", answer);
	r->count++;
}

static void expect_bytes(struct reader *r, const char *query, const void *value, size_t len)
{
	char answer[1100] = "S ";
	const uint8_t *p = value;

	for (size_t i = 0; i < len && 2 + 2 * i + 2 < sizeof(answer); i++)
		snprintf(answer + 2 + 2 * i, 3, "%02x", p[i]);
	expect_raw(r, query, answer);
}

static void expect_str(struct reader *r, const char *query, const char *value)
{
	expect_bytes(r, query, value, strlen(value));
}

static void expect_int(struct reader *r, const char *query, unsigned long long value)
{
	char answer[32];

	snprintf(answer, sizeof(answer), "I %llu", value);
	expect_raw(r, query, answer);
}

/* Runs the reader script and compares every expectation with the value it printed. */
static void reader_check(struct reader *r, int lines)
{
	char script[160], queries[160], command[512], line[2048], expected_lines[32];
	char *answers = calloc(1, 1 << 20);
	size_t used = 0;
	FILE *f;
	FILE *p;

	fclose(r->json);
	snprintf(script, sizeof(script), "%s/reader.py", r->dir);
	snprintf(queries, sizeof(queries), "%s/queries", r->dir);
	f = fopen(script, "w");
	fputs(reader_script, f);
	fclose(f);
	f = fopen(queries, "w");
	for (int i = 0; i < r->count; i++)
		fprintf(f, "%s\n", r->expects[i].query);
	fclose(f);
	snprintf(command, sizeof(command), "python3 %s %s < %s", script, r->json_path, queries);
	p = popen(command, "r");
	CHECK(p != NULL);
	CHECK(answers != NULL);
	while (p != NULL && answers != NULL && fgets(line, sizeof(line), p) != NULL) {
		size_t n = strlen(line);

		if (used + n + 1 < (1 << 20)) {
			memcpy(answers + used, line, n + 1);
			used += n;
		}
	}
	CHECK_EQ_INT(p != NULL ? pclose(p) : -1, 0);
	snprintf(expected_lines, sizeof(expected_lines), "LINES %d\n", lines);
	CHECK(answers != NULL);
	CHECK(answers == NULL || strncmp(answers, expected_lines, strlen(expected_lines)) == 0);
	for (int i = 0; i < r->count && answers != NULL; i++) {
		char want[1300];

		bool found;

		snprintf(want, sizeof(want), "\n%s %s\n", r->expects[i].query, r->expects[i].answer);
		found = strstr(answers, want) != NULL;
		CHECK(found);
		if (!found) {
			const char *got = strstr(answers, r->expects[i].query);
			const char *end = got != NULL ? strchr(got, '\n') : NULL;

			fprintf(stderr, "query %s: expected \"%s\", got \"%.*s\"\n", r->expects[i].query,
				r->expects[i].answer, got != NULL && end != NULL ? (int)(end - got) : 0, got != NULL ? got : "");
		}
	}
	free(answers);
	unlink(script);
	unlink(queries);
}

static void reader_close(struct reader *r)
{
	unlink(r->json_path);
	rmdir(r->dir);
}

static bool file_contains(const char *path, const void *needle, size_t len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 20);
	size_t n = 0;
	bool found;

	if (f == NULL || buf == NULL) {
		if (f != NULL)
			fclose(f);
		free(buf);
		return false;
	}
	n = fread(buf, 1, 1 << 20, f);
	fclose(f);
	found = memmem(buf, n, needle, len) != NULL;
	free(buf);
	return found;
}

/* Line 0: the IPv4 SMTP session, passwords redacted. */
static void expect_session_v4(struct reader *r)
{
	expect_str(r, "0/timestamp", "2009-10-05T06:06:07.492000+0000");
	expect_int(r, "0/flow_id", 7);
	expect_str(r, "0/event_type", "session");
	expect_str(r, "0/src_ip", "192.0.2.10");
	expect_int(r, "0/src_port", 40000);
	expect_str(r, "0/dest_ip", "192.0.2.25");
	expect_int(r, "0/dest_port", 25);
	expect_str(r, "0/proto", "TCP");
	expect_str(r, "0/app_proto", "smtp");
	expect_int(r, "0/flow/pkts_toserver", 11);
	expect_int(r, "0/flow/pkts_toclient", 9);
	expect_int(r, "0/flow/bytes_toserver", 1200);
	expect_int(r, "0/flow/bytes_toclient", 3400);
	expect_str(r, "0/flow/start", "2009-10-05T06:06:07.492000+0000");
	expect_str(r, "0/flow/end", "2009-10-05T06:06:10.992000+0000");
	expect_int(r, "0/flow/age", 3);
	expect_str(r, "0/flow/state", "closed");
	expect_raw(r, "0/starttls/offered", "N");
	expect_raw(r, "0/starttls/attempted", "B true");
	expect_str(r, "0/starttls/result", "refused");
	expect_int(r, "0/starttls/reply_code", 454);
	expect_str(r, "0/tls/hello_format", "tls");
	expect_str(r, "0/tls/client_legacy_version", "TLSv1.2");
	expect_raw(r, "0/tls/client_versions", "MISSING");
	expect_str(r, "0/tls/client_max_version", "TLSv1.2");
	expect_str(r, "0/tls/version", "TLSv1.2");
	expect_str(r, "0/tls/cipher", "TLS_RSA_WITH_AES_128_GCM_SHA256");
	expect_str(r, "0/tls/ja3", "0123456789abcdef0123456789abcdef");
	expect_str(r, "0/tls/ja3s", "fedcba9876543210fedcba9876543210");
	expect_str(r, "0/tls/alert/level", "fatal");
	expect_str(r, "0/tls/alert/description", "protocol_version");
	expect_str(r, "0/tls/alert/from", "server");
	expect_str(r, "0/tls/certificate/subject", "CN=mx.example.test");
	expect_bytes(r, "0/tls/certificate/issuer", fixture_nasty_json, FIXTURE_NASTY_JSON_LEN);
	expect_str(r, "0/tls/certificate/not_before", "2009-10-04T23:46:40.000000+0000");
	expect_int(r, "0/tls/certificate/key_bits", 2048);
	expect_raw(r, "0/tls/certificate/self_signed", "B true");
	expect_raw(r, "0/tls/certificate/chain_valid", "B false");
	expect_str(r, "0/tls/certificate/chain_error", "self-signed certificate");
	expect_raw(r, "0/tls/certificate/hostname_valid", "N");
	expect_raw(r, "0/auth", "L 2");
	expect_str(r, "0/auth/0/mechanism", "PLAIN");
	expect_bytes(r, "0/auth/0/username", fixture_nasty_json, FIXTURE_NASTY_JSON_LEN);
	expect_str(r, "0/auth/0/password", "<redacted>");
	expect_str(r, "0/auth/0/exposure", "cleartext");
	expect_str(r, "0/auth/0/result", "failure");
	expect_str(r, "0/auth/1/mechanism", "CRAM-MD5");
	expect_raw(r, "0/auth/1/password", "MISSING");
	expect_str(r, "0/auth/1/exposure", "crackable");
	expect_str(r, "0/auth/1/result", "success");
	expect_raw(r, "0/anomalies", "L 3");
	expect_str(r, "0/anomalies/0", "cleartext_credentials");
	expect_str(r, "0/anomalies/1", "starttls_refused");
	expect_str(r, "0/anomalies/2", "tcp_gap");
	expect_raw(r, "0/evidence/handshake_seen", "B true");
	expect_str(r, "0/evidence/directions/0", "client_to_server");
	expect_str(r, "0/evidence/directions/1", "server_to_client");
	expect_int(r, "0/evidence/gaps", 2);
	expect_raw(r, "0/evidence/midstream", "B false");
	expect_raw(r, "0/evidence/inconclusive", "MISSING");
	expect_int(r, "0/alerts/0", 1001);
	expect_int(r, "0/alerts/1", 1202);
	expect_str(r, "0/detected_protocol", "SMTP");
}

/* Line 1: the IPv6 IMAPS session. */
static void expect_session_v6(struct reader *r)
{
	expect_int(r, "1/flow_id", 0xfffffffffffffff0ull);
	expect_str(r, "1/src_ip", "2001:db8::1:0:0:1");
	expect_str(r, "1/dest_ip", "2001:db8::993");
	expect_int(r, "1/dest_port", 993);
	expect_str(r, "1/app_proto", "imaps");
	expect_str(r, "1/flow/state", "timeout");
	expect_raw(r, "1/starttls", "MISSING");
	expect_raw(r, "1/tls/client_versions", "L 3");
	expect_str(r, "1/tls/client_versions/0", "TLSv1.3");
	expect_str(r, "1/tls/client_versions/1", "TLSv1.2");
	expect_str(r, "1/tls/client_versions/2", "0x7F1C");
	expect_str(r, "1/tls/client_max_version", "TLSv1.3");
	expect_str(r, "1/tls/version", "TLSv1.3");
	expect_str(r, "1/tls/cipher", "TLS_AES_256_GCM_SHA384");
	expect_bytes(r, "1/tls/sni", fixture_nasty_json, FIXTURE_NASTY_JSON_LEN);
	expect_str(r, "1/tls/alpn/0", "imap");
	expect_bytes(r, "1/tls/alpn/1", "x\n\x1b", 3);
	expect_raw(r, "1/tls/ja3", "MISSING");
	expect_raw(r, "1/tls/alert", "MISSING");
	expect_str(r, "1/tls/certificate", "not_observable");
	expect_raw(r, "1/auth", "L 0");
	expect_str(r, "1/anomalies/0", "mid_session_start");
	expect_str(r, "1/anomalies/1", "one_sided_capture");
	expect_raw(r, "1/evidence/directions", "L 1");
	expect_raw(r, "1/evidence/midstream", "B true");
	expect_str(r, "1/evidence/inconclusive", "server direction missing");
	expect_raw(r, "1/alerts", "L 0");
	expect_raw(r, "1/detected_protocol", "MISSING");
}

/* Lines 2 to 4: alerts on a TLS event, an auth event and a STARTTLS injection event. */
static void expect_alerts(struct reader *r)
{
	expect_str(r, "2/event_type", "alert");
	expect_str(r, "2/timestamp", "2009-10-05T06:06:08.000001+0000");
	expect_str(r, "2/src_ip", "192.0.2.10");
	expect_int(r, "2/alert/signature_id", 1001);
	expect_str(r, "2/alert/signature", "obsolete-tls-negotiated");
	expect_str(r, "2/alert/severity", "high");
	expect_str(r, "2/alert/category", "weak-tls");
	expect_str(r, "2/alert/message", "sni \"x\\\r\nfake=1 sid=\"9\" \xc3\xbf\xc3\x80\xc2\xaf\x1b[31m] ok");
	expect_str(r, "2/alert/event", "tls.server_hello");
	expect_str(r, "2/tls/version", "TLSv1.2");
	expect_raw(r, "2/smtp", "MISSING");
	expect_str(r, "3/alert/event", "auth.cleartext");
	expect_str(r, "3/smtp/auth/mechanism", "PLAIN");
	expect_str(r, "3/smtp/auth/password", "<redacted>");
	expect_raw(r, "3/tls", "MISSING");
	expect_str(r, "4/alert/event", "starttls.injection");
	expect_str(r, "4/smtp/starttls/result", "refused");
	expect_str(r, "4/smtp/injection_direction", "server_to_client");
	expect_str(r, "5/app_proto", "imaps");
	expect_str(r, "5/tls/certificate", "not_observable");
}

static void test_records_parse_back(void)
{
	struct reader r;
	struct json_builder jb;
	struct session v4, v6;
	struct alert_info a;
	struct event ev = {.type = EVENT_TLS_SERVER_HELLO, .session = &v4, .ts_usec = FIXTURE_TS_USEC + 508001u};

	reader_open(&r);
	json_init(&jb);
	fixture_session_v4(&v4);
	fixture_session_v6(&v6);
	fixture_alert(&a);
	session_write_json(&v4, false, &jb);
	reader_add_line(&r, &jb);
	json_reset(&jb);
	session_write_json(&v6, false, &jb);
	reader_add_line(&r, &jb);
	json_reset(&jb);
	alert_write_json(&ev, &a, false, &jb);
	reader_add_line(&r, &jb);
	ev.type = EVENT_AUTH_CLEARTEXT;
	ev.aux = 0;
	json_reset(&jb);
	alert_write_json(&ev, &a, false, &jb);
	reader_add_line(&r, &jb);
	ev.type = EVENT_STARTTLS_INJECTION;
	ev.aux = DIR_TO_CLIENT;
	json_reset(&jb);
	alert_write_json(&ev, &a, false, &jb);
	reader_add_line(&r, &jb);
	ev.type = EVENT_TLS_CERTIFICATE;
	ev.session = &v6;
	json_reset(&jb);
	alert_write_json(&ev, &a, false, &jb);
	reader_add_line(&r, &jb);

	expect_session_v4(&r);
	expect_session_v6(&r);
	expect_alerts(&r);
	reader_check(&r, 6);
	CHECK(!file_contains(r.json_path, FIXTURE_PASSWORD, strlen(FIXTURE_PASSWORD)));
	reader_close(&r);
	json_free(&jb);
	session_release(&v4);
	session_release(&v6);
}

static void test_reveal_writes_password(void)
{
	struct reader r;
	struct json_builder jb;
	struct session v4;
	struct alert_info a;
	struct event ev = {.type = EVENT_AUTH_CLEARTEXT, .session = &v4, .ts_usec = FIXTURE_TS_USEC, .aux = 0};

	reader_open(&r);
	json_init(&jb);
	fixture_session_v4(&v4);
	fixture_alert(&a);
	session_write_json(&v4, true, &jb);
	reader_add_line(&r, &jb);
	json_reset(&jb);
	alert_write_json(&ev, &a, true, &jb);
	reader_add_line(&r, &jb);
	expect_str(&r, "0/auth/0/password", FIXTURE_PASSWORD);
	expect_raw(&r, "0/auth/1/password", "MISSING");
	expect_str(&r, "1/smtp/auth/password", FIXTURE_PASSWORD);
	reader_check(&r, 2);
	CHECK(file_contains(r.json_path, FIXTURE_PASSWORD, strlen(FIXTURE_PASSWORD)));
	reader_close(&r);
	json_free(&jb);
	session_release(&v4);
}

/* An auth.cleartext event whose index is past the records writes an empty protocol object. */
static void test_auth_index_out_of_range(void)
{
	struct json_builder jb;
	struct session v4;
	struct alert_info a;
	struct event ev = {.type = EVENT_AUTH_CLEARTEXT, .session = &v4, .ts_usec = FIXTURE_TS_USEC, .aux = 2};

	json_init(&jb);
	fixture_session_v4(&v4);
	fixture_alert(&a);
	alert_write_json(&ev, &a, true, &jb);
	CHECK(!jb.failed);
	CHECK(strstr(jb.buf, "\"smtp\":{}") != NULL);
	CHECK(strstr(jb.buf, FIXTURE_PASSWORD) == NULL);
	json_reset(&jb);
	ev.aux = -1;
	alert_write_json(&ev, &a, true, &jb);
	CHECK(strstr(jb.buf, "\"smtp\":{}") != NULL);
	json_free(&jb);
	session_release(&v4);
}

/* A session with nothing seen has no tls object and empty lists, and unknown names are spelled out. */
static void test_empty_session(void)
{
	struct json_builder jb;
	struct session s;

	memset(&s, 0, sizeof(s));
	s.client.family = 4;
	s.server.family = 4;
	s.mail.starttls.offered = TRISTATE_FALSE;
	s.app_proto = APP_PROTO_POP3;
	json_init(&jb);
	session_write_json(&s, false, &jb);
	CHECK(!jb.failed);
	CHECK_EQ_STR(jb.buf, "{\"timestamp\":\"1970-01-01T00:00:00.000000+0000\",\"flow_id\":0,"
			     "\"event_type\":\"session\",\"src_ip\":\"0.0.0.0\",\"src_port\":0,"
			     "\"dest_ip\":\"0.0.0.0\",\"dest_port\":0,\"proto\":\"TCP\",\"app_proto\":\"pop3\","
			     "\"flow\":{\"pkts_toserver\":0,\"pkts_toclient\":0,\"bytes_toserver\":0,"
			     "\"bytes_toclient\":0,\"start\":\"1970-01-01T00:00:00.000000+0000\","
			     "\"end\":\"1970-01-01T00:00:00.000000+0000\",\"age\":0,\"state\":\"open\"},"
			     "\"starttls\":{\"offered\":false,\"attempted\":false,\"result\":\"none\"},"
			     "\"auth\":[],\"anomalies\":[],\"evidence\":{\"handshake_seen\":false,"
			     "\"directions\":[],\"gaps\":0,\"gap_bytes\":0,\"overlap_conflicts\":0,"
			     "\"midstream\":false},\"alerts\":[]}");
	json_free(&jb);
}

/* TLS alert codes without a name, and unknown levels, are written as decimal strings. */
static void test_tls_alert_unknown_code(void)
{
	struct json_builder jb;
	struct session s;

	memset(&s, 0, sizeof(s));
	s.client.family = 4;
	s.server.family = 4;
	s.app_proto = APP_PROTO_TLS;
	s.tls.client_hello_seen = true;
	s.tls.hello_format = TLS_HELLO_FORMAT_SSLV2;
	s.tls.client_legacy_version = TLS_VERSION_SSL2;
	s.tls.client_max_version = TLS_VERSION_SSL2;
	s.tls.alert_seen = true;
	s.tls.alert_level = 7;
	s.tls.alert_description = 255;
	json_init(&jb);
	session_write_json(&s, false, &jb);
	CHECK(strstr(jb.buf, "\"tls\":{\"hello_format\":\"sslv2\",\"client_legacy_version\":\"SSLv2\","
			     "\"client_max_version\":\"SSLv2\",\"alert\":{\"level\":\"7\",\"description\":\"255\","
			     "\"from\":\"client\"}}") != NULL);
	CHECK(strstr(jb.buf, "\"starttls\"") == NULL);
	CHECK(strstr(jb.buf, "\"app_proto\":\"tls\"") != NULL);
	json_free(&jb);
}

static void test_timestamp_format(void)
{
	char buf[FORMAT_TIMESTAMP_SIZE];

	CHECK_EQ_STR(format_timestamp(FIXTURE_TS_USEC, buf), "2009-10-05T06:06:07.492000+0000");
	CHECK_EQ_STR(format_timestamp(0, buf), "1970-01-01T00:00:00.000000+0000");
	CHECK_EQ_STR(format_timestamp(951782400000001ull, buf), "2000-02-29T00:00:00.000001+0000");
	CHECK_EQ_STR(format_timestamp(UINT64_MAX, buf), "9999-12-31T23:59:59.999999+0000");
	CHECK_EQ_STR(format_timestamp_5424(FIXTURE_TS_USEC, buf), "2009-10-05T06:06:07.492000Z");
}

/* RFC 5952 section 4 forms, and the dotted quad of section 5 for IPv4-mapped addresses. */
static void test_ipv6_text_form(void)
{
	static const struct {
		uint8_t addr[16];
		const char *text;
	} cases[] = {
		{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1}, "2001:db8::1:0:0:1"},
		{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, "2001:db8:0:1:1:1:1:1"},
		{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "2001:db8::1"},
		{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}, "2001:db8:0:0:1::"},
		{{0x20, 0x01, 0x0d, 0xb8, 0xaa, 0xaa, 0, 0, 0, 0, 0xbb, 0xbb, 0, 0, 0, 1}, "2001:db8:aaaa::bbbb:0:1"},
		{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1}, "::ffff:192.0.2.1"},
		{{0}, "::"},
	};
	char buf[FORMAT_IP_SIZE];
	struct endpoint e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&e, 0, sizeof(e));
		e.family = 6;
		memcpy(e.addr, cases[i].addr, 16);
		CHECK_EQ_STR(format_ip(&e, buf), cases[i].text);
	}
	fixture_endpoint_v4(&e, 10, 0, 0, 255, 25);
	CHECK_EQ_STR(format_ip(&e, buf), "10.0.0.255");
}

/*
 * format_ip() writes IPv6 addresses without inet_ntop(); it must give
 * inet_ntop()'s text for every address. Random addresses whose 16-bit
 * groups are mostly zero exercise the "::" choice and the dotted forms.
 */
static void test_ipv6_matches_inet_ntop(void)
{
	static const uint16_t group_values[] = {0, 0, 0, 0, 1, 0xffff, 0x0db8, 0x2001, 0xabc};
	char ours[FORMAT_IP_SIZE];
	char libc[INET6_ADDRSTRLEN];
	struct endpoint e;
	unsigned seed = 12345;
	unsigned mismatches = 0;

	memset(&e, 0, sizeof(e));
	e.family = 6;
	for (int n = 0; n < 200000; n++) {
		for (int g = 0; g < 8; g++) {
			uint16_t v;

			seed = seed * 1103515245u + 12345u;
			v = group_values[(seed >> 16) % (sizeof(group_values) / sizeof(group_values[0]))];
			e.addr[2 * g] = (uint8_t)(v >> 8);
			e.addr[2 * g + 1] = (uint8_t)v;
		}
		if (inet_ntop(AF_INET6, e.addr, libc, sizeof(libc)) == NULL)
			abort();
		if (strcmp(format_ip(&e, ours), libc) != 0 && mismatches++ < 5)
			fprintf(stderr, "format_ip gave %s, inet_ntop %s\n", ours, libc);
	}
	CHECK_EQ_INT(mismatches, 0);
}

/* Named suites come from the IANA table; unassigned values (here GREASE) are written as 0xHHHH. */
static void test_cipher_names(void)
{
	char buf[FORMAT_CIPHER_SIZE];

	CHECK_EQ_STR(format_cipher(0x1301, buf), "TLS_AES_128_GCM_SHA256");
	CHECK_EQ_STR(format_cipher(0x000a, buf), "TLS_RSA_WITH_3DES_EDE_CBC_SHA");
	CHECK_EQ_STR(format_cipher(0x0a0a, buf), "0x0A0A");
}

/* A small xorshift generator: the same strings on every run. */
static uint32_t random_next(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

/* Picks bytes that stress an escaper: controls, quotes, lead and continuation bytes, and plain ASCII. */
static uint8_t random_wire_byte(uint32_t *state)
{
	static const uint8_t special[] = {0x00, 0x0a, 0x0d, 0x1b, 0x1f, 0x22, 0x5c, 0x7f, 0x80, 0x85, 0x9b, 0xa0,
					  0xaf, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xdf, 0xe0, 0xe2, 0xed, 0xef, 0xf0,
					  0xf4, 0xf5, 0xff};
	uint32_t r = random_next(state);

	if (r % 3 == 0)
		return (uint8_t)(0x20 + (r >> 8) % 0x5f);
	if (r % 3 == 1)
		return (uint8_t)(0x80 + (r >> 8) % 0x40);
	return special[(r >> 8) % sizeof(special)];
}

static void test_random_strings_decode(void)
{
	char dir[64] = "/tmp/mailtap-test-rand-XXXXXX";
	char path[128], script[128], command[400], result[64] = "";
	uint32_t state = 0x6d61696c;
	struct json_builder jb;
	FILE *f;
	FILE *p;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/random.json", dir);
	snprintf(script, sizeof(script), "%s/check.py", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	json_init(&jb);
	for (int i = 0; i < 2000; i++) {
		uint8_t raw[64];
		char hex[2 * sizeof(raw) + 1] = "";
		size_t len = random_next(&state) % sizeof(raw);

		for (size_t j = 0; j < len; j++) {
			raw[j] = random_wire_byte(&state);
			snprintf(hex + 2 * j, 3, "%02x", raw[j]);
		}
		json_reset(&jb);
		json_object_begin(&jb, NULL);
		json_string(&jb, "raw", hex);
		json_string_bytes(&jb, "s", raw, len);
		json_object_end(&jb);
		CHECK(!jb.failed);
		fprintf(f, "%s\n", jb.buf);
	}
	json_free(&jb);
	fclose(f);
	f = fopen(script, "w");
	if (f != NULL) {
		fputs(random_script, f);
		fclose(f);
	}
	snprintf(command, sizeof(command), "python3 %s %s", script, path);
	p = popen(command, "r");
	CHECK(p != NULL);
	if (p != NULL) {
		if (fgets(result, sizeof(result), p) == NULL)
			result[0] = '\0';
		CHECK_EQ_INT(pclose(p), 0);
	}
	CHECK_EQ_STR(result, "2000 0\n");
	unlink(path);
	unlink(script);
	rmdir(dir);
}

/* Integers are formatted without printf; the edges must still match printf's output. */
static void test_integer_members(void)
{
	static const struct {
		uint64_t value;
		const char *text;
	} unsigned_cases[] = {
		{0, "{\"n\":0}"},
		{9, "{\"n\":9}"},
		{10, "{\"n\":10}"},
		{99, "{\"n\":99}"},
		{100, "{\"n\":100}"},
		{101, "{\"n\":101}"},
		{1009, "{\"n\":1009}"},
		{4294967296u, "{\"n\":4294967296}"},
		{UINT64_MAX, "{\"n\":18446744073709551615}"},
	};
	static const struct {
		int64_t value;
		const char *text;
	} signed_cases[] = {
		{0, "{\"n\":0}"},
		{-1, "{\"n\":-1}"},
		{INT64_MAX, "{\"n\":9223372036854775807}"},
		{INT64_MIN, "{\"n\":-9223372036854775808}"},
	};
	struct json_builder jb;
	char padded[8];

	json_init(&jb);
	for (size_t i = 0; i < sizeof(unsigned_cases) / sizeof(unsigned_cases[0]); i++) {
		json_reset(&jb);
		json_object_begin(&jb, NULL);
		json_uint(&jb, "n", unsigned_cases[i].value);
		json_object_end(&jb);
		CHECK_EQ_STR(jb.buf, unsigned_cases[i].text);
	}
	for (size_t i = 0; i < sizeof(signed_cases) / sizeof(signed_cases[0]); i++) {
		json_reset(&jb);
		json_object_begin(&jb, NULL);
		json_int(&jb, "n", signed_cases[i].value);
		json_object_end(&jb);
		CHECK_EQ_STR(jb.buf, signed_cases[i].text);
	}
	json_free(&jb);

	memset(padded, 0, sizeof(padded));
	decimal_padded(7, 6, padded);
	CHECK_EQ_STR(padded, "000007");
	decimal_padded(1234567, 6, padded);
	CHECK_EQ_STR(padded, "234567");
}

int main(void)
{
	test_records_parse_back();
	test_reveal_writes_password();
	test_auth_index_out_of_range();
	test_empty_session();
	test_tls_alert_unknown_code();
	test_timestamp_format();
	test_ipv6_text_form();
	test_ipv6_matches_inet_ntop();
	test_cipher_names();
	test_random_strings_decode();
	test_integer_members();
	return test_finish("test_output_json");
}
