/*
 * The sensor: one pipeline from captured frames to outputs. It owns the
 * decoder, the flow table, nDPI, the TLS trust store, the loaded rules
 * and the outputs, and runs one capture source at a time to its end.
 */
#ifndef MAILTAP_SENSOR_H
#define MAILTAP_SENSOR_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/config.h"
#include "output/output.h"

struct capture;
struct sensor;

struct sensor_options {
	struct mailtap_config cfg;
	const char *rules_path; /* NULL to run without rules */
	const char *state_path; /* --state: server history file; NULL keeps the history in memory */
	const char *mta_sts_dir; /* --mta-sts-dir: operator's MTA-STS policy files; NULL for none */
	struct output_config output;
	bool use_ndpi;
	uint32_t stats_interval_s; /* live: seconds between stats records, 0 for none */
	double drop_warning_ratio; /* live: kernel drop share that logs a warning */
	unsigned workers;	   /* worker threads; 0 or 1 runs everything on the reading thread */
	bool progress;		   /* files: a progress line on stderr (set when stderr is a terminal) */
};

/* Worker threads at most; more would only contend for the cores of one sensor. */
#define SENSOR_WORKERS_MAX 64

/* Flags set by signal handlers in main() and polled by the capture loop. */
struct sensor_signals {
	volatile sig_atomic_t *stop;
	volatile sig_atomic_t *reload;
};

/* Loads rules, opens outputs and creates the pipeline. Returns NULL with a message in err. */
struct sensor *sensor_new(const struct sensor_options *opt, char *err, size_t err_size);
/*
 * Reads one source to its end (or until a stop signal). Returns 0 at the
 * end of input, 1 when a stop was requested, or -1 when the source failed
 * (a damaged file: the packets before the damage are analyzed).
 */
int sensor_run(struct sensor *s, struct capture *c, const struct sensor_signals *sig);
/* Loads the rules file again; on failure the old rules stay and the reason is logged. */
int sensor_reload(struct sensor *s);
/* Ends every open flow, reporting its session, and flushes the outputs. */
void sensor_finish(struct sensor *s);
/* Writes the counters: key=value lines to human (when not NULL) and a stats record to the JSON output. */
void sensor_write_stats(struct sensor *s, FILE *human);
void sensor_free(struct sensor *s);
/* True when a capture file ended early because it was damaged. */
bool sensor_files_damaged(const struct sensor *s);

#endif
