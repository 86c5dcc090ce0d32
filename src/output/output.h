/*
 * The outputs of one mailtap process: JSON lines to a file or stdout,
 * terminal text, local syslog(3) and a remote RFC 5424 collector. Opened
 * once from a struct output_config; every write goes to each output that
 * is on. Not thread-safe: with several workers the caller serialises calls.
 */
#ifndef MAILTAP_OUTPUT_H
#define MAILTAP_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct event;
struct session;

/* The rule engine's description of one fired rule. Strings are not owned. */
struct alert_info {
	uint32_t signature_id;	/* the rule id */
	const char *signature;	/* the rule name */
	const char *severity;	/* "critical", "high", "medium", "low" or "info" */
	const char *category;
	const char *message;	/* rendered template; may carry wire bytes, escaped on output */
};

struct output_config {
	const char *json_path;	   /* file path, "-" for stdout, NULL for no JSON */
	bool text;		   /* one readable line per alert and per session */
	FILE *text_stream;	   /* where text goes; NULL means stdout. Not owned */
	bool color;		   /* allow colour; it is used only on a tty with NO_COLOR unset */
	bool syslog_local;	   /* alerts to syslog(3) */
	const char *syslog_ident;  /* NULL means "mailtap" */
	int syslog_facility;	   /* a LOG_* facility of <syslog.h>, e.g. LOG_DAEMON */
	bool syslog_sessions;	   /* also send session records to local and remote syslog */
	const char *syslog_server; /* "udp://HOST:PORT" or "tcp://HOST:PORT", NULL for none */
	bool reveal_credentials;   /* write passwords instead of "<redacted>" */
};

struct output_counters {
	uint64_t records_written; /* JSON lines */
	uint64_t write_errors;	  /* JSON lines lost to a failed write */
	uint64_t text_lines;
	uint64_t syslog_local;	  /* lines passed to syslog(3) */
	uint64_t syslog_sent;	  /* messages handed to the remote collector's socket */
	uint64_t syslog_dropped;  /* remote messages lost: queue full, send error, shutdown */
	uint64_t syslog_queued;	  /* remote messages waiting now */
};

struct outputs;

/* Fills cfg with defaults: nothing on, facility LOG_DAEMON, ident "mailtap". */
void output_config_init(struct output_config *cfg);
/*
 * Parses a facility name ("daemon", "mail", "user", "auth", "authpriv",
 * "local0" to "local7") into a LOG_* value. Returns 0, or -1 when unknown.
 */
int output_parse_facility(const char *name, int *facility);

/*
 * Opens every output that cfg turns on. The JSON file is opened for append and
 * created with mode 0640; the remote collector is connected in the
 * background. Returns NULL with a message in err on failure. cfg strings
 * are copied.
 */
struct outputs *outputs_open(const struct output_config *cfg, char *err, size_t err_size);
/* Writes the session record (event_type "session"). Returns 0, or -1 when the JSON write failed. */
int outputs_write_session(struct outputs *o, const struct session *s);
/* Writes one alert record for ev. Returns 0, or -1 when the JSON write failed. */
int outputs_write_alert(struct outputs *o, const struct event *ev, const struct alert_info *a);
/* Writes a JSON object built by the caller (stats) as one line of the JSON output only. */
int outputs_write_record(struct outputs *o, const char *json_line);
/*
 * Reopens the JSON file under its path (after SIGHUP, when logrotate has
 * moved it). The old file stays in use when the new one cannot be opened.
 * Returns 0 or -1.
 */
int outputs_reopen(struct outputs *o);
/*
 * Flushes the JSON and text streams and gives the remote collector a
 * chance to connect and send its queue without blocking. Call it now and
 * then (once a second of capture is enough) even when nothing is written.
 */
int outputs_flush(struct outputs *o);
/*
 * Flushes every output and sends what the collector queue holds, waiting up
 * to LIMIT_SYSLOG_DRAIN_MS; what is still queued then counts as dropped.
 * The counters are final afterwards, so call it before the last stats line.
 */
void outputs_finish(struct outputs *o);
/* Finishes (when outputs_finish was not called), closes every output and frees o. */
void outputs_close(struct outputs *o);
void outputs_get_counters(const struct outputs *o, struct output_counters *out);

#endif
