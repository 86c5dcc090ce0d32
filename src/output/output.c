/*
 * Output fan-out: each record is built once as JSON and then written to
 * the JSON lines file, the terminal, the local syslog(3) and the remote
 * RFC 5424 collector, whichever are on.
 */
#include "output/output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "core/event.h"
#include "core/limits.h"
#include "core/session.h"
#include "output/format.h"
#include "output/json.h"
#include "output/session_json.h"
#include "output/syslog5424.h"
#include "output/syslog_local.h"
#include "output/syslog_remote.h"
#include "output/text.h"

/* An open JSON lines file and the stdio buffer it uses (owned; freed after fclose). */
struct output_file {
	FILE *fp;
	char *buffer;
	bool is_stdout;
};

struct outputs {
	bool reveal;
	char *json_path; /* owned copy; NULL when JSON is off */
	struct output_file json;

	bool text;
	FILE *text_stream; /* not owned */
	bool text_color;

	bool syslog_local;
	bool syslog_sessions;
	char *syslog_ident; /* owned; openlog(3) keeps the pointer until closelog(3) */
	int syslog_facility;
	struct syslog5424_origin origin;
	struct syslog_remote *remote;

	struct json_builder jb;	 /* reused for every record */
	struct format_line line; /* reused for every text and syslog line */
	struct output_counters counters;
	bool finished;
};

static const struct {
	const char *name;
	int facility;
} output_facilities[] = {
	{"daemon", LOG_DAEMON}, {"mail", LOG_MAIL},	{"user", LOG_USER},	{"auth", LOG_AUTH},
	{"authpriv", LOG_AUTHPRIV}, {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
	{"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},
	{"local7", LOG_LOCAL7},
};

void output_config_init(struct output_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->syslog_ident = "mailtap";
	cfg->syslog_facility = LOG_DAEMON;
}

int output_parse_facility(const char *name, int *facility)
{
	for (size_t i = 0; i < sizeof(output_facilities) / sizeof(output_facilities[0]); i++) {
		if (strcmp(output_facilities[i].name, name) == 0) {
			*facility = output_facilities[i].facility;
			return 0;
		}
	}
	return -1;
}

/* Opens path for appending with mode 0640 and a large stdio buffer; "-" means stdout. */
static int output_file_open(struct output_file *f, const char *path, char *err, size_t err_size)
{
	int fd;

	memset(f, 0, sizeof(*f));
	if (strcmp(path, "-") == 0) {
		f->fp = stdout;
		f->is_stdout = true;
		return 0;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0) {
		snprintf(err, err_size, "cannot open JSON output \"%s\": %s", path, strerror(errno));
		return -1;
	}
	f->fp = fdopen(fd, "a");
	f->buffer = malloc(LIMIT_OUTPUT_FILE_BUFFER_BYTES);
	if (f->fp == NULL || f->buffer == NULL) {
		snprintf(err, err_size, "cannot open JSON output \"%s\": out of memory", path);
		if (f->fp != NULL)
			fclose(f->fp);
		else
			close(fd);
		free(f->buffer);
		memset(f, 0, sizeof(*f));
		return -1;
	}
	setvbuf(f->fp, f->buffer, _IOFBF, LIMIT_OUTPUT_FILE_BUFFER_BYTES);
	return 0;
}

/* Flushes and closes f; stdout is flushed only. Returns 0, or -1 when buffered lines were lost. */
static int output_file_close(struct output_file *f)
{
	int rc = 0;

	if (f->fp == NULL)
		return 0;
	if (f->is_stdout)
		rc = fflush(f->fp);
	else
		rc = fclose(f->fp);
	free(f->buffer);
	memset(f, 0, sizeof(*f));
	return rc == 0 ? 0 : -1;
}

static char *output_strdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* Sets up local syslog and the remote collector. Returns 0 or -1 with err set. */
static int outputs_open_syslog(struct outputs *o, const struct output_config *cfg, char *err, size_t err_size)
{
	o->syslog_facility = cfg->syslog_facility & LOG_FACMASK;
	o->syslog_sessions = cfg->syslog_sessions;
	if (cfg->syslog_local) {
		o->syslog_ident = output_strdup(cfg->syslog_ident != NULL ? cfg->syslog_ident : "mailtap");
		if (o->syslog_ident == NULL) {
			snprintf(err, err_size, "out of memory for the syslog ident");
			return -1;
		}
		openlog(o->syslog_ident, LOG_PID | LOG_NDELAY, o->syslog_facility);
		o->syslog_local = true;
	}
	if (cfg->syslog_server != NULL) {
		syslog5424_origin_init(&o->origin, o->syslog_facility);
		o->remote = syslog_remote_new(cfg->syslog_server, NULL, err, err_size);
		if (o->remote == NULL)
			return -1;
	}
	return 0;
}

struct outputs *outputs_open(const struct output_config *cfg, char *err, size_t err_size)
{
	struct outputs *o = calloc(1, sizeof(*o));

	if (o == NULL) {
		snprintf(err, err_size, "out of memory for the outputs");
		return NULL;
	}
	json_init(&o->jb);
	o->reveal = cfg->reveal_credentials;
	if (cfg->json_path != NULL) {
		o->json_path = output_strdup(cfg->json_path);
		if (o->json_path == NULL || output_file_open(&o->json, o->json_path, err, err_size) != 0) {
			if (o->json_path == NULL)
				snprintf(err, err_size, "out of memory for the JSON output path");
			outputs_close(o);
			return NULL;
		}
	}
	o->text = cfg->text;
	o->text_stream = cfg->text_stream != NULL ? cfg->text_stream : stdout;
	o->text_color = o->text && text_use_color(o->text_stream, cfg->color);
	if (outputs_open_syslog(o, cfg, err, err_size) != 0) {
		outputs_close(o);
		return NULL;
	}
	return o;
}

/* Writes the built record as one JSON line. Returns 0 or -1. */
static int outputs_write_json_line(struct outputs *o, const char *line, size_t len)
{
	if (o->json.fp == NULL)
		return 0;
	if (fwrite(line, 1, len, o->json.fp) != len || putc('\n', o->json.fp) == EOF) {
		o->counters.write_errors++;
		return -1;
	}
	o->counters.records_written++;
	return 0;
}

/* Writes the record in o->jb, which the builder may have failed to finish. Returns 0 or -1. */
static int outputs_write_built_record(struct outputs *o)
{
	if (o->json.fp == NULL)
		return 0;
	if (o->jb.failed) {
		o->counters.write_errors++;
		return -1;
	}
	return outputs_write_json_line(o, o->jb.buf, o->jb.len);
}

static void outputs_write_text_line(struct outputs *o)
{
	fwrite(o->line.data, 1, o->line.len, o->text_stream);
	putc('\n', o->text_stream);
	o->counters.text_lines++;
}

/* Sends the record in o->jb to the collector after the RFC 5424 header now in o->line. */
static void outputs_send_remote(struct outputs *o)
{
	/* A record the builder could not finish would be invalid JSON, so it is dropped rather than sent. */
	if (o->jb.failed) {
		o->counters.syslog_dropped++;
		return;
	}
	syslog_remote_send(o->remote, o->line.data, o->line.len, o->jb.buf, o->jb.len);
}

int outputs_write_session(struct outputs *o, const struct session *s)
{
	int rc;

	json_reset(&o->jb);
	session_write_json(s, o->reveal, &o->jb);
	rc = outputs_write_built_record(o);
	if (o->text) {
		text_format_session(s, o->text_color, &o->line);
		outputs_write_text_line(o);
	}
	if (o->syslog_local && o->syslog_sessions) {
		syslog_local_format_session(s, &o->line);
		syslog(o->syslog_facility | LOG_INFO, "%s", o->line.data);
		o->counters.syslog_local++;
	}
	if (o->remote != NULL && o->syslog_sessions) {
		syslog5424_format_session(&o->origin, s, &o->line);
		outputs_send_remote(o);
	}
	return rc;
}

int outputs_write_alert(struct outputs *o, const struct event *ev, const struct alert_info *a)
{
	int rc;

	json_reset(&o->jb);
	alert_write_json(ev, a, o->reveal, &o->jb);
	rc = outputs_write_built_record(o);
	if (o->text) {
		text_format_alert(ev, a, o->text_color, &o->line);
		outputs_write_text_line(o);
	}
	if (o->syslog_local) {
		syslog_local_format_alert(ev, a, &o->line);
		syslog(o->syslog_facility | syslog5424_severity(a->severity), "%s", o->line.data);
		o->counters.syslog_local++;
	}
	if (o->remote != NULL) {
		syslog5424_format_alert(&o->origin, ev, a, &o->line);
		outputs_send_remote(o);
	}
	return rc;
}

int outputs_write_record(struct outputs *o, const char *json_line)
{
	return outputs_write_json_line(o, json_line, strlen(json_line));
}

int outputs_reopen(struct outputs *o)
{
	struct output_file fresh;
	char err[256];

	if (o->json_path == NULL || o->json.is_stdout)
		return 0;
	if (output_file_open(&fresh, o->json_path, err, sizeof(err)) != 0)
		return -1;
	if (output_file_close(&o->json) != 0)
		o->counters.write_errors++;
	o->json = fresh;
	return 0;
}

int outputs_flush(struct outputs *o)
{
	int rc = 0;

	if (o->json.fp != NULL && fflush(o->json.fp) != 0)
		rc = -1;
	if (o->text)
		fflush(o->text_stream);
	if (o->remote != NULL)
		syslog_remote_poll(o->remote);
	return rc;
}

void outputs_finish(struct outputs *o)
{
	struct syslog_remote_counters remote;

	if (o->finished)
		return;
	o->finished = true;
	outputs_flush(o);
	if (o->remote == NULL)
		return;
	syslog_remote_drain(o->remote, LIMIT_SYSLOG_DRAIN_MS);
	syslog_remote_get_counters(o->remote, &remote);
	o->counters.syslog_dropped += remote.queued;
}

void outputs_close(struct outputs *o)
{
	if (o == NULL)
		return;
	outputs_finish(o);
	output_file_close(&o->json);
	syslog_remote_free(o->remote);
	if (o->syslog_local)
		closelog();
	free(o->syslog_ident);
	free(o->json_path);
	json_free(&o->jb);
	free(o);
}

void outputs_get_counters(const struct outputs *o, struct output_counters *out)
{
	struct syslog_remote_counters remote = {0};

	*out = o->counters;
	if (o->remote == NULL)
		return;
	syslog_remote_get_counters(o->remote, &remote);
	out->syslog_sent = remote.sent;
	out->syslog_dropped += remote.dropped;
	out->syslog_queued = o->finished ? 0 : remote.queued;
}
