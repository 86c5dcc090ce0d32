/*
 * Syslog output: RFC 5424 framing byte for byte, the local key=value line,
 * and the remote transport against real sockets on 127.0.0.1 that the test
 * opens itself (TCP octet counting, UDP datagrams, a collector that is
 * down, then comes up, then drops the connection).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/session.h"
#include "output/format.h"
#include "output/output.h"
#include "output/syslog5424.h"
#include "output/syslog_local.h"
#include "output/syslog_remote.h"
#include "test.h"
#include "test_output_fixture.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void origin_fixed(struct syslog5424_origin *o, int facility)
{
	memset(o, 0, sizeof(*o));
	o->facility = facility;
	snprintf(o->hostname, sizeof(o->hostname), "sensor-1");
	snprintf(o->procid, sizeof(o->procid), "4242");
}

/* PRI 27 = facility 3 (daemon) * 8 + severity 3 (error, for "high"), RFC 5424 section 6.2.1. */
static void test_5424_alert_framing(void)
{
	struct syslog5424_origin o;
	struct format_line line;
	struct session s;
	struct alert_info a;
	struct event ev = {.type = EVENT_TLS_SERVER_HELLO, .session = &s, .ts_usec = FIXTURE_TS_USEC + 508001u};

	fixture_session_v4(&s);
	fixture_alert(&a);
	origin_fixed(&o, LOG_DAEMON);
	syslog5424_format_alert(&o, &ev, &a, &line);
	CHECK_EQ_STR(line.data, "<27>1 2009-10-05T06:06:08.000001Z sensor-1 mailtap 4242 tls.server_hello "
				"[mailtap@32473 sid=\"1001\" signature=\"obsolete-tls-negotiated\" severity=\"high\" "
				"category=\"weak-tls\" flow_id=\"7\" src_ip=\"192.0.2.10\" src_port=\"40000\" "
				"dest_ip=\"192.0.2.25\" dest_port=\"25\" app_proto=\"smtp\"] ");
	CHECK(!line.truncated);
	session_release(&s);
}

/* PARAM-VALUE escapes `"`, `\` and `]` (RFC 5424 section 6.3.3); PRI 186 = local7 (23) * 8 + crit (2). */
static void test_5424_param_escaping(void)
{
	struct syslog5424_origin o;
	struct format_line line;
	struct session s;
	struct alert_info a = {.signature_id = 1, .signature = "a\"b\\c]d\r\n\x1b", .severity = "critical",
			       .category = NULL, .message = NULL};
	struct event ev = {.type = EVENT_AUTH_CLEARTEXT, .session = &s, .ts_usec = FIXTURE_TS_USEC};

	fixture_session_v6(&s);
	origin_fixed(&o, LOG_LOCAL7);
	syslog5424_format_alert(&o, &ev, &a, &line);
	CHECK_EQ_STR(line.data, "<186>1 2009-10-05T06:06:07.492000Z sensor-1 mailtap 4242 auth.cleartext "
				"[mailtap@32473 sid=\"1\" signature=\"a\\\"b\\\\c\\]d\\x0d\\x0a\\x1b\" "
				"severity=\"critical\" flow_id=\"18446744073709551600\" src_ip=\"2001:db8::1:0:0:1\" "
				"src_port=\"50000\" dest_ip=\"2001:db8::993\" dest_port=\"993\" app_proto=\"imaps\"] ");
	syslog5424_format_session(&o, &s, &line);
	CHECK_EQ_STR(line.data, "<190>1 2009-10-05T06:06:07.492000Z sensor-1 mailtap 4242 session "
				"[mailtap@32473 flow_id=\"18446744073709551600\" src_ip=\"2001:db8::1:0:0:1\" "
				"src_port=\"50000\" dest_ip=\"2001:db8::993\" dest_port=\"993\" app_proto=\"imaps\" "
				"alerts=\"0\"] ");
	session_release(&s);
}

static void test_5424_severity_map(void)
{
	CHECK_EQ_INT(syslog5424_severity("critical"), LOG_CRIT);
	CHECK_EQ_INT(syslog5424_severity("high"), LOG_ERR);
	CHECK_EQ_INT(syslog5424_severity("medium"), LOG_WARNING);
	CHECK_EQ_INT(syslog5424_severity("low"), LOG_NOTICE);
	CHECK_EQ_INT(syslog5424_severity("info"), LOG_INFO);
	CHECK_EQ_INT(syslog5424_severity("bogus"), LOG_NOTICE);
	CHECK_EQ_INT(syslog5424_severity(NULL), LOG_NOTICE);
}

/* The real origin: printable host name, our pid. */
static void test_5424_origin(void)
{
	struct syslog5424_origin o;
	char pid[24];

	syslog5424_origin_init(&o, LOG_MAIL);
	CHECK_EQ_INT(o.facility, LOG_MAIL);
	CHECK(o.hostname[0] != '\0');
	for (const char *p = o.hostname; *p != '\0'; p++) {
		CHECK(*p >= 33);
		CHECK(*p <= 126);
	}
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	CHECK_EQ_STR(o.procid, pid);
}

/*
 * Splits a key=value line the way a log parser would: values are bare or
 * double-quoted with backslash escapes. Writes the keys, space-separated,
 * to keys. Returns 0, or -1 when the line does not follow the grammar.
 */
static int kv_keys(const char *line, char *keys, size_t keys_size)
{
	const char *p = line;

	keys[0] = '\0';
	while (*p != '\0') {
		const char *eq = strchr(p, '=');

		if (eq == NULL || eq == p)
			return -1;
		if (keys[0] != '\0')
			strncat(keys, " ", keys_size - strlen(keys) - 1);
		strncat(keys, p, (size_t)(eq - p) < keys_size - strlen(keys) - 1 ? (size_t)(eq - p)
										   : keys_size - strlen(keys) - 1);
		p = eq + 1;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\0')
					return -1;
				if (*p == '\\' && p[1] != '\0')
					p++;
			}
			p++;
		} else {
			while (*p != ' ' && *p != '\0')
				p++;
		}
		if (*p == ' ')
			p++;
		else if (*p != '\0')
			return -1;
	}
	return 0;
}

static void check_no_raw_controls(const char *line, size_t len)
{
	bool clean = true;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < 0x20 || c == 0x7f)
			clean = false;
	}
	CHECK(clean);
	CHECK_EQ_INT(strlen(line), len);
}

static void test_local_alert_line(void)
{
	struct format_line line;
	struct session s;
	struct alert_info a;
	struct event ev = {.type = EVENT_TLS_SERVER_HELLO, .session = &s, .ts_usec = FIXTURE_TS_USEC};
	char keys[512];

	fixture_session_v4(&s);
	fixture_alert(&a);
	syslog_local_format_alert(&ev, &a, &line);
	CHECK_EQ_STR(line.data, "event_type=alert sid=1001 severity=\"high\" signature=\"obsolete-tls-negotiated\" "
				"category=\"weak-tls\" event=tls.server_hello flow_id=7 src_ip=192.0.2.10 "
				"src_port=40000 dest_ip=192.0.2.25 dest_port=25 app_proto=smtp "
				"message=\"sni \\\"x\\\\\\x0d\\x0afake=1 sid=\\\"9\\\" \\xff\\xc0\\xaf\\x1b[31m] ok\"");
	check_no_raw_controls(line.data, line.len);
	CHECK_EQ_INT(kv_keys(line.data, keys, sizeof(keys)), 0);
	CHECK_EQ_STR(keys, "event_type sid severity signature category event flow_id src_ip src_port dest_ip "
			   "dest_port app_proto message");
	session_release(&s);
}

static void test_local_session_line(void)
{
	struct format_line line;
	struct session s;
	char keys[512];

	fixture_session_v4(&s);
	syslog_local_format_session(&s, &line);
	CHECK_EQ_STR(line.data, "event_type=session flow_id=7 src_ip=192.0.2.10 src_port=40000 dest_ip=192.0.2.25 "
				"dest_port=25 app_proto=smtp starttls=refused starttls_offered=unknown "
				"tls_version=TLSv1.2 "
				"tls_cipher=TLS_RSA_WITH_AES_128_GCM_SHA256 auth=\"PLAIN,CRAM-MD5\" "
				"anomalies=\"cleartext_credentials,starttls_refused,tcp_gap\" alerts=\"1001,1202\"");
	session_release(&s);
	fixture_session_v6(&s);
	syslog_local_format_session(&s, &line);
	check_no_raw_controls(line.data, line.len);
	CHECK_EQ_INT(kv_keys(line.data, keys, sizeof(keys)), 0);
	CHECK_EQ_STR(keys, "event_type flow_id src_ip src_port dest_ip dest_port app_proto tls_version tls_cipher "
			   "sni anomalies alerts");
	CHECK(strstr(line.data, " sni=\"" "A\\x0d\\x0aB\\x00C\\\"D\\\\E\\xffF\\xc0\\xafG\\xed\\xa0\\x80H\\xe2\\x82I"
			       "\\x1b[31mJ\xc3\xa9\"") != NULL);
	session_release(&s);
}

/* A message longer than the line is cut at a whole escape, never inside one, and its quote is closed. */
static void test_local_line_truncation(void)
{
	struct format_line line;
	struct session s;
	struct alert_info a;
	struct event ev = {.type = EVENT_TLS_SERVER_HELLO, .session = &s, .ts_usec = FIXTURE_TS_USEC};
	char *message = malloc(LIMIT_OUTPUT_LINE_BYTES * 2);

	if (message == NULL) {
		CHECK(message != NULL);
		return;
	}
	memset(message, '\n', LIMIT_OUTPUT_LINE_BYTES * 2 - 1);
	message[LIMIT_OUTPUT_LINE_BYTES * 2 - 1] = '\0';
	fixture_session_v4(&s);
	fixture_alert(&a);
	a.message = message;
	syslog_local_format_alert(&ev, &a, &line);
	CHECK(line.truncated);
	CHECK(line.len < LIMIT_OUTPUT_LINE_BYTES);
	CHECK(line.len >= LIMIT_OUTPUT_LINE_BYTES - 8);
	check_no_raw_controls(line.data, line.len);
	CHECK(strcmp(line.data + line.len - 5, "\\x0a\"") == 0);
	free(message);
	session_release(&s);
}

static void test_target_parse(void)
{
	static const char *const invalid[] = {
		"http://127.0.0.1:514", "udp://127.0.0.1", "udp://:514", "udp://127.0.0.1:0", "udp://127.0.0.1:70000",
		"udp://[::1:514", "udp://127.0.0.1:5x4", "udp://127.0.0.1:-1", "udp://[::1]514", "tcp://127.0.0.1:",
	};
	struct syslog_target t;
	char err[256];

	CHECK_EQ_INT(syslog_target_parse("udp://127.0.0.1:514", &t, err, sizeof(err)), 0);
	CHECK_EQ_INT(t.transport, SYSLOG_TRANSPORT_UDP);
	CHECK_EQ_STR(t.host, "127.0.0.1");
	CHECK_EQ_STR(t.port, "514");
	CHECK_EQ_INT(syslog_target_parse("tcp://[::1]:6514", &t, err, sizeof(err)), 0);
	CHECK_EQ_INT(t.transport, SYSLOG_TRANSPORT_TCP);
	CHECK_EQ_STR(t.host, "::1");
	CHECK_EQ_STR(t.port, "6514");
	CHECK_EQ_INT(syslog_target_parse("tcp://logs.example.test:601", &t, err, sizeof(err)), 0);
	CHECK_EQ_STR(t.host, "logs.example.test");
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		err[0] = '\0';
		CHECK_EQ_INT(syslog_target_parse(invalid[i], &t, err, sizeof(err)), -1);
		CHECK(strstr(err, invalid[i]) != NULL);
	}
}

/* Opens a listening TCP or bound UDP socket on 127.0.0.1; port 0 picks a free one, written to *port. */
static int socket_on_loopback(int type, uint16_t *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(*port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || (type == SOCK_STREAM && listen(fd, 4) != 0) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Polls the remote until sent reaches want or two seconds pass. */
static void remote_wait_sent(struct syslog_remote *r, uint64_t want)
{
	struct syslog_remote_counters c;
	uint64_t deadline = now_ms() + 2000;

	for (;;) {
		syslog_remote_poll(r);
		syslog_remote_get_counters(r, &c);
		if (c.sent >= want || now_ms() > deadline)
			return;
		poll(NULL, 0, 5);
	}
}

/* Accepts one connection and reads until want bytes arrived or two seconds pass. */
static size_t read_stream(int listener, char *buf, size_t want, int *conn_out)
{
	struct pollfd pfd = {.fd = listener, .events = POLLIN};
	uint64_t deadline = now_ms() + 2000;
	size_t got = 0;
	int conn;

	*conn_out = -1;
	if (poll(&pfd, 1, 2000) != 1)
		return 0;
	conn = accept(listener, NULL, NULL);
	if (conn < 0)
		return 0;
	*conn_out = conn;
	while (got < want && now_ms() < deadline) {
		struct pollfd cfd = {.fd = conn, .events = POLLIN};
		ssize_t n;

		if (poll(&cfd, 1, 100) != 1)
			continue;
		n = recv(conn, buf + got, want - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

/* RFC 6587 section 3.4.1: each message is "MSG-LEN SP SYSLOG-MSG", with MSG-LEN in decimal octets. */
static void test_tcp_octet_counting(void)
{
	char url[64], err[256], expected[1100], stream[1200];
	char big[1000];
	uint16_t port = 0;
	int listener = socket_on_loopback(SOCK_STREAM, &port);
	struct syslog_remote *r;
	struct syslog_remote_counters c;
	size_t expected_len, got;
	int conn;

	CHECK(listener >= 0);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", port);
	r = syslog_remote_new(url, NULL, err, sizeof(err));
	CHECK(r != NULL);
	if (r == NULL || listener < 0)
		return;
	memset(big, 'x', sizeof(big));
	CHECK_EQ_INT(syslog_remote_send(r, "A ", 2, "one", 3), 0);
	CHECK_EQ_INT(syslog_remote_send(r, "B ", 2, "second", 6), 0);
	CHECK_EQ_INT(syslog_remote_send(r, "C ", 2, big, sizeof(big)), 0);
	remote_wait_sent(r, 3);
	syslog_remote_get_counters(r, &c);
	CHECK_EQ_INT(c.sent, 3);
	CHECK_EQ_INT(c.dropped, 0);
	CHECK_EQ_INT(c.queued, 0);
	memcpy(expected, "5 A one8 B second1002 C ", 24);
	memset(expected + 24, 'x', sizeof(big));
	expected_len = 24 + sizeof(big);
	got = read_stream(listener, stream, expected_len, &conn);
	CHECK_EQ_MEM(stream, got, expected, expected_len);
	syslog_remote_free(r);
	if (conn >= 0)
		close(conn);
	close(listener);
}

/* RFC 5426: one message per datagram; past the cap the datagram is cut before a UTF-8 continuation byte. */
static void test_udp_datagrams(void)
{
	char url[64], err[256], buf[64];
	uint16_t port = 0;
	int fd = socket_on_loopback(SOCK_DGRAM, &port);
	struct syslog_remote_limits limits;
	struct syslog_remote *r;
	struct syslog_remote_counters c;
	ssize_t n;

	CHECK(fd >= 0);
	syslog_remote_limits_init(&limits);
	limits.udp_message_bytes = 16;
	snprintf(url, sizeof(url), "udp://127.0.0.1:%u", port);
	r = syslog_remote_new(url, &limits, err, sizeof(err));
	CHECK(r != NULL);
	if (r == NULL || fd < 0)
		return;
	CHECK_EQ_INT(syslog_remote_send(r, "H ", 2, "0123456789", 10), 0);
	CHECK_EQ_INT(syslog_remote_send(r, "H ", 2, "abcdefghijklm\xc3\xa9xyz", 18), 0);
	syslog_remote_get_counters(r, &c);
	CHECK_EQ_INT(c.sent, 2);
	n = recv(fd, buf, sizeof(buf), 0);
	CHECK_EQ_MEM(buf, n, "H 0123456789", 12);
	n = recv(fd, buf, sizeof(buf), 0);
	CHECK_EQ_MEM(buf, n, "H abcdefghijklm", 15);
	syslog_remote_free(r);
	close(fd);
}

/*
 * Nothing listens: sends return at once, four messages wait, the rest are
 * dropped and counted. Then the collector starts and gets the four, then
 * drops the connection and the next message arrives on a new one.
 */
static void test_collector_down_then_up(void)
{
	char url[64], err[256], stream[64];
	uint16_t port = 0;
	int probe = socket_on_loopback(SOCK_STREAM, &port);
	struct syslog_remote_limits limits;
	struct syslog_remote *r;
	struct syslog_remote_counters c;
	uint64_t slowest = 0;
	int listener, conn, conn2;
	size_t got;

	CHECK(probe >= 0);
	close(probe);
	syslog_remote_limits_init(&limits);
	limits.queue_messages = 4;
	limits.reconnect_min_ms = 50;
	limits.reconnect_max_ms = 200;
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", port);
	r = syslog_remote_new(url, &limits, err, sizeof(err));
	CHECK(r != NULL);
	if (r == NULL)
		return;
	for (int i = 0; i < 10; i++) {
		uint64_t start = now_ms();
		int rc = syslog_remote_send(r, "M ", 2, "q", 1);

		CHECK_EQ_INT(rc, i < 4 ? 0 : -1);
		if (now_ms() - start > slowest)
			slowest = now_ms() - start;
	}
	CHECK(slowest < 10);
	syslog_remote_get_counters(r, &c);
	CHECK_EQ_INT(c.queued, 4);
	CHECK_EQ_INT(c.dropped, 6);
	CHECK_EQ_INT(c.sent, 0);
	CHECK_EQ_INT(c.connects, 0);

	listener = socket_on_loopback(SOCK_STREAM, &port);
	CHECK(listener >= 0);
	remote_wait_sent(r, 4);
	got = read_stream(listener, stream, 16, &conn);
	CHECK_EQ_MEM(stream, got, "3 M q3 M q3 M q3 M q", 16);
	syslog_remote_get_counters(r, &c);
	CHECK_EQ_INT(c.sent, 4);
	CHECK_EQ_INT(c.queued, 0);
	CHECK_EQ_INT(c.connects, 1);

	/* The collector restarts: the old connection closes and the next message needs a new one. */
	if (conn >= 0)
		close(conn);
	poll(NULL, 0, 20);
	syslog_remote_poll(r);
	CHECK_EQ_INT(syslog_remote_send(r, "N ", 2, "after", 5), 0);
	remote_wait_sent(r, 5);
	got = read_stream(listener, stream, 9, &conn2);
	CHECK_EQ_MEM(stream, got, "7 N after", 9);
	syslog_remote_get_counters(r, &c);
	CHECK_EQ_INT(c.connects, 2);
	CHECK_EQ_INT(c.sent, 5);
	syslog_remote_free(r);
	if (conn2 >= 0)
		close(conn2);
	if (listener >= 0)
		close(listener);
}

/* Shutdown with the collector down gives up after one failed attempt instead of waiting out the drain time. */
static void test_drain_gives_up(void)
{
	char url[64], err[256];
	uint16_t port = 0;
	int probe = socket_on_loopback(SOCK_STREAM, &port);
	struct syslog_remote_limits limits;
	struct syslog_remote *r;
	struct syslog_remote_counters c;
	uint64_t start;

	close(probe);
	syslog_remote_limits_init(&limits);
	limits.reconnect_min_ms = 100;
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", port);
	r = syslog_remote_new(url, &limits, err, sizeof(err));
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK_EQ_INT(syslog_remote_send(r, "M ", 2, "q", 1), 0);
	start = now_ms();
	syslog_remote_drain(r, 2000);
	CHECK(now_ms() - start < 1000);
	syslog_remote_get_counters(r, &c);
	CHECK_EQ_INT(c.queued, 1);
	syslog_remote_free(r);
}

static void test_remote_new_errors(void)
{
	char err[256];

	CHECK(syslog_remote_new("udp://127.0.0.1", NULL, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "missing host or port") != NULL);
	CHECK(syslog_remote_new("smtp://127.0.0.1:25", NULL, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "unknown scheme") != NULL);
}

int main(void)
{
	test_5424_alert_framing();
	test_5424_param_escaping();
	test_5424_severity_map();
	test_5424_origin();
	test_local_alert_line();
	test_local_session_line();
	test_local_line_truncation();
	test_target_parse();
	test_tcp_octet_counting();
	test_udp_datagrams();
	test_collector_down_then_up();
	test_drain_gives_up();
	test_remote_new_errors();
	return test_finish("test_syslog");
}
