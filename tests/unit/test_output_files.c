/*
 * The outputs as the pipeline uses them: the JSON lines file (mode 0640,
 * buffered, reopened for logrotate), terminal text to a stream, and the
 * remote collector. The collector must get the same JSON after an RFC 5424
 * header; a UDP socket on 127.0.0.1 that the test opens receives it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "core/session.h"
#include "output/output.h"
#include "test.h"
#include "test_output_fixture.h"

struct temp_dir {
	char path[64];
	char json[128];
};

static void temp_dir_make(struct temp_dir *t)
{
	snprintf(t->path, sizeof(t->path), "/tmp/mailtap-test-out-XXXXXX");
	CHECK(mkdtemp(t->path) != NULL);
	snprintf(t->json, sizeof(t->json), "%s/eve.json", t->path);
}

/* Reads a whole small file into buf (NUL-terminated); returns its length, or -1. */
static long read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (long)n;
}

static int count_lines(const char *s)
{
	int lines = 0;

	for (; *s != '\0'; s++)
		lines += *s == '\n';
	return lines;
}

static void test_config_defaults(void)
{
	struct output_config cfg;
	int facility = -1;

	output_config_init(&cfg);
	CHECK(cfg.json_path == NULL);
	CHECK(!cfg.text);
	CHECK(!cfg.syslog_local);
	CHECK(!cfg.reveal_credentials);
	CHECK(cfg.syslog_server == NULL);
	CHECK_EQ_STR(cfg.syslog_ident, "mailtap");
	CHECK_EQ_INT(cfg.syslog_facility, LOG_DAEMON);
	CHECK_EQ_INT(output_parse_facility("local5", &facility), 0);
	CHECK_EQ_INT(facility, LOG_LOCAL5);
	CHECK_EQ_INT(output_parse_facility("mail", &facility), 0);
	CHECK_EQ_INT(facility, LOG_MAIL);
	CHECK_EQ_INT(output_parse_facility("local8", &facility), -1);
	CHECK_EQ_INT(output_parse_facility("", &facility), -1);
}

static void test_json_file_lifecycle(void)
{
	struct temp_dir t;
	struct output_config cfg;
	struct output_counters c;
	struct outputs *o;
	struct session s;
	struct alert_info a;
	struct event ev = {.type = EVENT_AUTH_CLEARTEXT, .session = &s, .ts_usec = FIXTURE_TS_USEC, .aux = 0};
	struct stat st;
	char err[256], rotated[160];
	static char buf[1 << 16];
	static const char session_start[] =
		"{\"timestamp\":\"2009-10-05T06:06:07.492000+0000\",\"flow_id\":7,\"event_type\":\"session\",";

	temp_dir_make(&t);
	umask(022);
	output_config_init(&cfg);
	cfg.json_path = t.json;
	o = outputs_open(&cfg, err, sizeof(err));
	CHECK(o != NULL);
	if (o == NULL)
		return;
	CHECK_EQ_INT(stat(t.json, &st), 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0640);
	fixture_session_v4(&s);
	fixture_alert(&a);
	CHECK_EQ_INT(outputs_write_session(o, &s), 0);
	CHECK_EQ_INT(outputs_write_alert(o, &ev, &a), 0);
	CHECK_EQ_INT(outputs_write_record(o, "{\"event_type\":\"stats\"}"), 0);

	/* The lines sit in the stdio buffer until a flush. */
	CHECK_EQ_INT(read_file(t.json, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(outputs_flush(o), 0);
	CHECK(read_file(t.json, buf, sizeof(buf)) > 0);
	CHECK_EQ_INT(count_lines(buf), 3);
	CHECK(strncmp(buf, session_start, strlen(session_start)) == 0);
	CHECK(strstr(buf, "\n{\"event_type\":\"stats\"}\n") != NULL);
	CHECK(strstr(buf, FIXTURE_PASSWORD) == NULL);
	CHECK(strstr(buf, "\"password\":\"<redacted>\"") != NULL);

	/* logrotate moves the file, then SIGHUP makes mailtap reopen the path. */
	snprintf(rotated, sizeof(rotated), "%s.1", t.json);
	CHECK_EQ_INT(rename(t.json, rotated), 0);
	CHECK_EQ_INT(outputs_reopen(o), 0);
	CHECK_EQ_INT(outputs_write_record(o, "{\"after\":1}"), 0);
	outputs_get_counters(o, &c);
	CHECK_EQ_INT(c.records_written, 4);
	CHECK_EQ_INT(c.write_errors, 0);
	outputs_close(o);
	CHECK(read_file(t.json, buf, sizeof(buf)) > 0);
	CHECK_EQ_STR(buf, "{\"after\":1}\n");
	CHECK(read_file(rotated, buf, sizeof(buf)) > 0);
	CHECK_EQ_INT(count_lines(buf), 3);
	session_release(&s);
	unlink(t.json);
	unlink(rotated);
	rmdir(t.path);
}

/* When the path cannot be opened again, writes go on to the file already open. */
static void test_reopen_failure_keeps_file(void)
{
	struct temp_dir t;
	struct output_config cfg;
	struct outputs *o;
	char err[256], sub[128], moved[128], path[192], moved_file[192];
	static char buf[4096];

	temp_dir_make(&t);
	snprintf(sub, sizeof(sub), "%s/logs", t.path);
	snprintf(moved, sizeof(moved), "%s/old", t.path);
	snprintf(path, sizeof(path), "%s/eve.json", sub);
	snprintf(moved_file, sizeof(moved_file), "%s/eve.json", moved);
	CHECK_EQ_INT(mkdir(sub, 0700), 0);
	output_config_init(&cfg);
	cfg.json_path = path;
	o = outputs_open(&cfg, err, sizeof(err));
	CHECK(o != NULL);
	if (o == NULL)
		return;
	CHECK_EQ_INT(rename(sub, moved), 0);
	CHECK_EQ_INT(outputs_reopen(o), -1);
	CHECK_EQ_INT(outputs_write_record(o, "{\"still\":1}"), 0);
	outputs_close(o);
	CHECK(read_file(moved_file, buf, sizeof(buf)) > 0);
	CHECK_EQ_STR(buf, "{\"still\":1}\n");
	unlink(moved_file);
	rmdir(moved);
	rmdir(t.path);
}

static void test_open_errors(void)
{
	struct output_config cfg;
	char err[256];

	output_config_init(&cfg);
	cfg.json_path = "/nonexistent-mailtap-dir/eve.json";
	CHECK(outputs_open(&cfg, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "/nonexistent-mailtap-dir/eve.json") != NULL);
	output_config_init(&cfg);
	cfg.syslog_server = "udp://127.0.0.1";
	CHECK(outputs_open(&cfg, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "udp://127.0.0.1") != NULL);
}

static void test_text_stream(void)
{
	struct output_config cfg;
	struct outputs *o;
	struct session s;
	struct alert_info a;
	struct event ev = {.type = EVENT_STARTTLS_REFUSED, .session = &s, .ts_usec = FIXTURE_TS_USEC};
	FILE *stream = tmpfile();
	char err[256];
	static char buf[8192];
	size_t n;

	CHECK(stream != NULL);
	if (stream == NULL)
		return;
	output_config_init(&cfg);
	cfg.text = true;
	cfg.text_stream = stream;
	cfg.color = true;
	cfg.reveal_credentials = true;
	o = outputs_open(&cfg, err, sizeof(err));
	CHECK(o != NULL);
	if (o == NULL)
		return;
	fixture_session_v6(&s);
	fixture_alert(&a);
	CHECK_EQ_INT(outputs_write_alert(o, &ev, &a), 0);
	CHECK_EQ_INT(outputs_write_session(o, &s), 0);
	outputs_close(o);
	rewind(stream);
	n = fread(buf, 1, sizeof(buf) - 1, stream);
	buf[n] = '\0';
	CHECK_EQ_INT(count_lines(buf), 2);

	/* A file is not a terminal, so no colour; wire bytes are escaped, so no ESC at all. */
	CHECK(memchr(buf, 0x1b, n) == NULL);
	CHECK(memchr(buf, '\r', n) == NULL);
	CHECK(strstr(buf, "[high] 1001") != NULL);
	fclose(stream);
	session_release(&s);
}

static int udp_listener(uint16_t *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

static ssize_t recv_datagram(int fd, char *buf, size_t size)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	ssize_t n;

	if (poll(&pfd, 1, 1000) != 1)
		return -1;
	n = recv(fd, buf, size - 1, 0);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* The datagram is the RFC 5424 header, then exactly the JSON line the file got. */
static void test_remote_gets_json(void)
{
	struct temp_dir t;
	struct output_config cfg;
	struct output_counters c;
	struct outputs *o;
	struct session s;
	struct alert_info a;
	struct event ev = {.type = EVENT_AUTH_CLEARTEXT, .session = &s, .ts_usec = FIXTURE_TS_USEC, .aux = 0};
	char url[64], err[256];
	static char datagram[16384], file[16384];
	uint16_t port = 0;
	int fd = udp_listener(&port);
	const char *msg;
	char *second_line;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	temp_dir_make(&t);
	snprintf(url, sizeof(url), "udp://127.0.0.1:%u", port);
	output_config_init(&cfg);
	cfg.json_path = t.json;
	cfg.syslog_server = url;
	cfg.syslog_sessions = true;
	o = outputs_open(&cfg, err, sizeof(err));
	CHECK(o != NULL);
	if (o == NULL)
		return;
	fixture_session_v4(&s);
	fixture_alert(&a);
	CHECK_EQ_INT(outputs_write_alert(o, &ev, &a), 0);
	CHECK_EQ_INT(outputs_write_session(o, &s), 0);
	outputs_finish(o);
	outputs_get_counters(o, &c);
	CHECK_EQ_INT(c.syslog_sent, 2);
	CHECK_EQ_INT(c.syslog_dropped, 0);
	CHECK_EQ_INT(c.syslog_queued, 0);
	outputs_close(o);

	CHECK(read_file(t.json, file, sizeof(file)) > 0);
	second_line = strchr(file, '\n');
	CHECK(second_line != NULL);
	if (second_line == NULL)
		return;
	*second_line++ = '\0';
	CHECK(recv_datagram(fd, datagram, sizeof(datagram)) > 0);
	CHECK(strncmp(datagram, "<27>1 2009-10-05T06:06:07.492000Z ", 34) == 0);
	CHECK(strstr(datagram, " mailtap ") != NULL);
	CHECK(strstr(datagram, " auth.cleartext [mailtap@32473 sid=\"1001\" ") != NULL);
	msg = strstr(datagram, "app_proto=\"smtp\"] ");
	CHECK(msg != NULL);
	CHECK_EQ_STR(msg != NULL ? msg + 18 : "", file);
	CHECK(strstr(datagram, FIXTURE_PASSWORD) == NULL);

	CHECK(recv_datagram(fd, datagram, sizeof(datagram)) > 0);
	CHECK(strncmp(datagram, "<30>1 2009-10-05T06:06:07.492000Z ", 34) == 0);
	CHECK(strstr(datagram, " session [mailtap@32473 flow_id=\"7\" ") != NULL);
	second_line[strcspn(second_line, "\n")] = '\0';
	msg = strstr(datagram, "alerts=\"2\"] ");
	CHECK_EQ_STR(msg != NULL ? msg + 12 : "", second_line);
	close(fd);
	session_release(&s);
	unlink(t.json);
	rmdir(t.path);
}

int main(void)
{
	test_config_defaults();
	test_json_file_lifecycle();
	test_reopen_failure_keeps_file();
	test_open_errors();
	test_text_stream();
	test_remote_gets_json();
	return test_finish("test_output_files");
}
