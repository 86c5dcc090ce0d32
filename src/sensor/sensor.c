/*
 * Pipeline glue: frame -> decoder -> flow table (reassembly, analyzers) ->
 * events -> rules -> outputs.
 */
#include "sensor/sensor.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/capture.h"
#include "classify/classify.h"
#include "core/session.h"
#include "decode/decode.h"
#include "detect/rules.h"
#include "flow/flow_table.h"
#include "history/history.h"
#include "output/json.h"
#include "policy/mta_sts.h"
#include "policy/mta_sts_learn.h"
#include "sensor/log.h"
#include "sensor/workers.h"
#include "tls/tls.h"

/* Threshold-tracking entries kept for rules; older ones are evicted. */
#define SENSOR_RULE_STATE_ENTRIES 65536u

/*
 * One flow table and what it needs around it: the pipeline after decoding.
 * A single-threaded sensor has one lane; --workers N gives each worker its
 * own, touched only by that worker's thread until the workers are joined.
 */
struct sensor_lane {
	struct sensor *sensor;
	struct flow_table *flows;
	struct classifier *classifier; /* nDPI state is not shared between threads */
	struct rule_state *rule_state; /* thresholds count per lane */
	struct event_sink sink;
	uint64_t alerts;
};

/* Rule sets replaced by a reload; freed at exit because a worker may still read one. */
#define SENSOR_RETIRED_RULES_MAX 64

struct sensor {
	struct sensor_options opt;
	struct decoder *decoder;
	struct tls_context *tls;
	struct rule_set *_Atomic rules; /* immutable; replaced whole on reload */
	struct rule_set *retired_rules[SENSOR_RETIRED_RULES_MAX];
	unsigned retired_count;
	struct outputs *outputs;
	struct history *history; /* server history verdicts, applied before a session's rules */
	struct mta_sts_store *mta_sts; /* operator's MTA-STS policies; NULL for none */
	struct mta_sts_learner *learnt; /* MTA-STS policies learnt from DNS and HTTPS on the link */
	pthread_mutex_t output_lock; /* taken per record written, only with workers */
	struct sensor_lane *lanes;
	unsigned lane_count;
	struct worker_pool *pool; /* NULL when single-threaded */

	uint64_t packets;
	uint64_t bytes;
	uint64_t tcp_packets;
	uint64_t other_packets;
	uint64_t malformed_packets;
	uint64_t last_ts_usec;
	uint64_t files_damaged;
	struct capture *live;	      /* the live source, for its kernel counters; not owned */
	time_t next_stats;
	uint64_t last_kernel_drops;
	uint64_t last_kernel_received;
};

static void sensor_output_lock(struct sensor *s)
{
	if (s->pool != NULL)
		pthread_mutex_lock(&s->output_lock);
}

static void sensor_output_unlock(struct sensor *s)
{
	if (s->pool != NULL)
		pthread_mutex_unlock(&s->output_lock);
}

/* ---- events and alerts ---- */

static void sensor_on_match(const struct rule *rule, const struct event *ev, void *ctx)
{
	struct sensor_lane *lane = ctx;
	char message[1024];
	struct alert_info info;

	rule_render_message(rule, ev, message, sizeof(message));
	info.signature_id = rule->id;
	info.signature = rule->name;
	info.severity = rule_severity_name(rule->severity);
	info.category = rule->category;
	info.message = message;
	/* The flow table owns the session and lets the pipeline record alerts on it. */
	session_add_alert((struct session *)ev->session, rule->id);
	lane->alerts++;
	sensor_output_lock(lane->sensor);
	outputs_write_alert(lane->sensor->outputs, ev, &info);
	sensor_output_unlock(lane->sensor);
}

static void sensor_on_event(void *ctx, const struct event *ev)
{
	struct sensor_lane *lane = ctx;
	struct rule_set *rules = atomic_load_explicit(&lane->sensor->rules, memory_order_acquire);

	if (rules != NULL)
		rule_set_match(rules, lane->rule_state, ev, sensor_on_match, lane);
}

static void sensor_on_session_end(void *ctx, struct session *sess)
{
	struct sensor_lane *lane = ctx;

	sess->sink = &lane->sink;
	mta_sts_apply(lane->sensor->mta_sts, lane->sensor->learnt, sess);
	history_apply(lane->sensor->history, sess);
	session_emit(sess, EVENT_SESSION, 0);
	sensor_output_lock(lane->sensor);
	outputs_write_session(lane->sensor->outputs, sess);
	sensor_output_unlock(lane->sensor);
}

/* ---- lifecycle ---- */

/* A learnt policy goes to the state file (when there is one). */
static void sensor_on_policy_learnt(void *ctx, const struct mta_sts_learnt *entry)
{
	struct sensor *s = ctx;

	history_note_learnt_policy(s->history, entry);
}

static void sensor_load_learnt_policy(void *ctx, const struct mta_sts_learnt *entry)
{
	struct sensor *s = ctx;

	mta_sts_learner_add(s->learnt, entry->domain, entry->sources, entry->id, entry->first_usec, entry->last_usec,
			    true);
}

/* Creates the learnt-policy map, fills it from the state file and connects it to that file. */
static int sensor_open_learnt(struct sensor *s, char *err, size_t err_size)
{
	long rows;

	s->learnt = mta_sts_learner_new(LIMIT_MTA_STS_LEARNT_DOMAINS);
	if (s->learnt == NULL) {
		snprintf(err, err_size, "cannot create the learnt MTA-STS policy map: out of memory");
		return -1;
	}
	rows = history_each_learnt_policy(s->history, sensor_load_learnt_policy, s);
	if (rows < 0) {
		snprintf(err, err_size, "cannot read the learnt MTA-STS policies of state file %s", s->opt.state_path);
		return -1;
	}
	if (rows > 0)
		log_msg(LOG_LEVEL_INFO, "event=mta_sts_learnt_loaded state=%s policies=%ld", s->opt.state_path, rows);
	mta_sts_learner_set_hook(s->learnt, sensor_on_policy_learnt, s);
	return 0;
}

static struct rule_set *sensor_load_rules(const char *path)
{
	struct rule_errors errs;
	struct rule_set *rules;

	memset(&errs, 0, sizeof(errs));
	rules = rule_set_load(path, &errs);
	if (rules == NULL)
		rule_errors_print(&errs, stderr);
	rule_errors_free(&errs);
	return rules;
}

static int sensor_lane_init(struct sensor *s, struct sensor_lane *lane)
{
	lane->sensor = s;
	lane->sink.emit = sensor_on_event;
	lane->sink.ctx = lane;
	lane->rule_state = rule_state_new(SENSOR_RULE_STATE_ENTRIES);
	if (lane->rule_state == NULL)
		return -1;
	if (s->opt.use_ndpi) {
		lane->classifier = classifier_new();
		if (lane->classifier == NULL)
			return -1;
	}
	lane->flows = flow_table_new(&s->opt.cfg, s->tls, lane->classifier, &lane->sink, sensor_on_session_end, lane);
	return lane->flows == NULL ? -1 : 0;
}

static int sensor_start_workers(struct sensor *s)
{
	struct flow_table *tables[SENSOR_WORKERS_MAX];

	for (unsigned i = 0; i < s->lane_count; i++)
		tables[i] = s->lanes[i].flows;
	s->pool = worker_pool_new(s->lane_count, tables);
	return s->pool == NULL ? -1 : 0;
}

struct sensor *sensor_new(const struct sensor_options *opt, char *err, size_t err_size)
{
	struct sensor *s = calloc(1, sizeof(*s));
	struct rule_set *rules = NULL;

	if (s == NULL) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	s->opt = *opt;
	s->lane_count = opt->workers > 1 ? opt->workers : 1;
	if (s->lane_count > SENSOR_WORKERS_MAX)
		s->lane_count = SENSOR_WORKERS_MAX;
	pthread_mutex_init(&s->output_lock, NULL);
	if (opt->rules_path != NULL) {
		rules = sensor_load_rules(opt->rules_path);
		if (rules == NULL) {
			snprintf(err, err_size, "cannot load rules from %s", opt->rules_path);
			sensor_free(s);
			return NULL;
		}
	}
	atomic_store(&s->rules, rules);
	s->decoder = decoder_new();
	s->tls = tls_context_new();
	s->lanes = calloc(s->lane_count, sizeof(*s->lanes));
	if (s->decoder == NULL || s->tls == NULL || s->lanes == NULL) {
		snprintf(err, err_size, "cannot set up the pipeline: out of memory");
		sensor_free(s);
		return NULL;
	}
	s->outputs = outputs_open(&s->opt.output, err, err_size);
	if (s->outputs == NULL) {
		sensor_free(s);
		return NULL;
	}
	s->history = history_open(opt->state_path, err, err_size);
	if (s->history == NULL || sensor_open_learnt(s, err, err_size) != 0) {
		sensor_free(s);
		return NULL;
	}
	if (opt->mta_sts_dir != NULL) {
		s->mta_sts = mta_sts_load_dir(opt->mta_sts_dir, err, err_size);
		if (s->mta_sts == NULL) {
			sensor_free(s);
			return NULL;
		}
		log_msg(LOG_LEVEL_INFO, "event=mta_sts_loaded directory=%s policies=%zu", opt->mta_sts_dir,
			mta_sts_count(s->mta_sts));
	}
	for (unsigned i = 0; i < s->lane_count; i++) {
		if (sensor_lane_init(s, &s->lanes[i]) != 0) {
			snprintf(err, err_size, "cannot create the flow table: out of memory");
			sensor_free(s);
			return NULL;
		}
	}
	if (opt->workers > 1 && sensor_start_workers(s) != 0) {
		snprintf(err, err_size, "cannot start %u worker threads", s->lane_count);
		sensor_free(s);
		return NULL;
	}
	return s;
}

int sensor_reload(struct sensor *s)
{
	struct rule_set *rules;
	struct rule_set *old;

	if (outputs_reopen(s->outputs) != 0)
		log_msg(LOG_LEVEL_ERROR, "event=reopen_failed output=json action=kept_previous_file");
	if (s->opt.rules_path == NULL)
		return 0;
	if (s->retired_count >= SENSOR_RETIRED_RULES_MAX) {
		log_msg(LOG_LEVEL_ERROR, "event=reload_refused reason=too_many_reloads limit=%d", SENSOR_RETIRED_RULES_MAX);
		return -1;
	}
	rules = sensor_load_rules(s->opt.rules_path);
	if (rules == NULL) {
		log_msg(LOG_LEVEL_ERROR, "event=reload_failed rules=%s action=kept_previous_rules", s->opt.rules_path);
		return -1;
	}
	old = atomic_exchange_explicit(&s->rules, rules, memory_order_acq_rel);

	/* A worker may still be matching against the old set; it is freed at exit. */
	if (old != NULL)
		s->retired_rules[s->retired_count++] = old;
	log_msg(LOG_LEVEL_INFO, "event=rules_reloaded rules=%s count=%zu", s->opt.rules_path, rule_set_count(rules));
	return 0;
}

/*
 * Ends the flows of every lane in the order one table would end them, so
 * that the server history applies sessions in the same order with any number
 * of workers.
 */
static void sensor_flush_lanes(struct sensor *s)
{
	for (;;) {
		struct flow_table *next = NULL;
		uint64_t best = 0;

		for (unsigned i = 0; i < s->lane_count; i++) {
			uint64_t order;

			if (flow_table_flush_peek(s->lanes[i].flows, &order) && (next == NULL || order < best)) {
				next = s->lanes[i].flows;
				best = order;
			}
		}
		if (next == NULL)
			return;
		flow_table_flush_next(next);
	}
}

void sensor_finish(struct sensor *s)
{
	/* Workers finish what is queued first; then their tables are only this thread's. */
	if (s->pool != NULL) {
		worker_pool_stop(s->pool);
		worker_pool_free(s->pool);
		s->pool = NULL;
	}
	sensor_flush_lanes(s);
	history_flush(s->history);
	outputs_finish(s->outputs);
}

void sensor_free(struct sensor *s)
{
	if (s == NULL)
		return;
	if (s->pool != NULL) {
		worker_pool_stop(s->pool);
		worker_pool_free(s->pool);
		s->pool = NULL;
	}

	/* Freeing a table reports the sessions still open, so the outputs must still exist. */
	for (unsigned i = 0; s->lanes != NULL && i < s->lane_count; i++) {
		flow_table_free(s->lanes[i].flows);
		rule_state_free(s->lanes[i].rule_state);
		classifier_free(s->lanes[i].classifier);
	}
	free(s->lanes);
	/* The state file is closed first, because the learnt map's hook writes to it. */
	history_close(s->history);
	mta_sts_learner_free(s->learnt);
	mta_sts_free(s->mta_sts);
	if (s->outputs != NULL)
		outputs_close(s->outputs);
	rule_set_free(atomic_load(&s->rules));
	for (unsigned i = 0; i < s->retired_count; i++)
		rule_set_free(s->retired_rules[i]);
	tls_context_free(s->tls);
	decoder_free(s->decoder);
	pthread_mutex_destroy(&s->output_lock);
	free(s);
}

/* ---- packet loop ---- */

static void sensor_packet(struct sensor *s, const struct capture_packet *p)
{
	struct packet_view view;
	int rc;

	s->packets++;
	s->bytes += p->wirelen;
	/* Fragments and flows expire in packet time; checking once per second of it is enough. */
	if (p->ts_usec / 1000000u != s->last_ts_usec / 1000000u)
		decoder_expire(s->decoder, p->ts_usec);
	if (p->ts_usec > s->last_ts_usec)
		s->last_ts_usec = p->ts_usec;

	rc = decoder_decode(s->decoder, p->linktype, p->data, p->caplen, p->wirelen, p->ts_usec, &view);
	if (rc == DECODE_TCP) {
		s->tcp_packets++;

		/* A ClientHello to mta-sts.<domain> shows a policy fetch; one comparison for every other segment. */
		if (view.dst_port == MTA_STS_HTTPS_PORT)
			mta_sts_learn_https(s->learnt, view.payload, view.payload_len, view.ts_usec);
		if (s->pool != NULL)
			worker_pool_dispatch(s->pool, &view);
		else
			flow_table_process(s->lanes[0].flows, &view);
	} else if (rc == DECODE_MALFORMED) {
		s->malformed_packets++;
	} else if (rc == DECODE_UDP) {
		s->other_packets++;
		if (view.src_port == DNS_PORT || view.dst_port == DNS_PORT)
			mta_sts_learn_dns(s->learnt, view.payload, view.payload_len, view.ts_usec);
	} else {
		s->other_packets++;
	}
}

static void sensor_expire(struct sensor *s, uint64_t now_usec)
{
	if (s->pool != NULL)
		worker_pool_expire(s->pool, now_usec);
	else
		flow_table_expire(s->lanes[0].flows, now_usec);
}

static uint64_t sensor_wall_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Live only: periodic stats records and a warning when the kernel dropped too much. */
static void sensor_live_tick(struct sensor *s, struct capture *c)
{
	time_t now = time(NULL);
	uint64_t received, dropped, if_dropped;

	if (s->opt.stats_interval_s == 0 || now < s->next_stats)
		return;
	s->next_stats = now + (time_t)s->opt.stats_interval_s;
	sensor_write_stats(s, NULL);
	if (capture_stats(c, &received, &dropped, &if_dropped) == 0 && received > s->last_kernel_received) {
		uint64_t new_received = received - s->last_kernel_received;
		uint64_t new_dropped = dropped >= s->last_kernel_drops ? dropped - s->last_kernel_drops : 0;

		if ((double)new_dropped > s->opt.drop_warning_ratio * (double)new_received)
			log_msg(LOG_LEVEL_WARNING, "event=kernel_drops interface=%s received=%" PRIu64 " dropped=%" PRIu64,
				capture_name(c), new_received, new_dropped);
		s->last_kernel_received = received;
		s->last_kernel_drops = dropped;
	}
}

struct sensor_progress;
static int sensor_read(struct sensor *s, struct capture *c, const struct sensor_signals *sig,
		       struct sensor_progress *progress);

/* Files smaller than this finish before a progress line would help. */
#define SENSOR_PROGRESS_MIN_BYTES (64u * 1024u * 1024u)

struct sensor_progress {
	bool on;
	struct timespec start;
	struct timespec last;
	uint64_t packets_at_start;
};

static double sensor_seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void sensor_progress_start(struct sensor *s, struct capture *c, struct sensor_progress *p)
{
	memset(p, 0, sizeof(*p));
	p->on = s->opt.progress && !capture_is_live(c) && capture_file_size(c) >= SENSOR_PROGRESS_MIN_BYTES;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	p->last = p->start;
	p->packets_at_start = s->packets;
}

/* Redraws the line at most five times a second: bytes read, share, packets per second, time left. */
static void sensor_progress_update(struct sensor *s, struct capture *c, struct sensor_progress *p)
{
	struct timespec now;
	double elapsed;
	double done;
	uint64_t offset = capture_file_offset(c);
	uint64_t size = capture_file_size(c);

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (sensor_seconds_between(&p->last, &now) < 0.2)
		return;
	p->last = now;
	elapsed = sensor_seconds_between(&p->start, &now);
	done = size > 0 ? (double)offset / (double)size : 0.0;
	fprintf(stderr, "\rmailtap: %s %5.1f%% %" PRIu64 "/%" PRIu64 " MiB %.2f Mpps, about %.0f s left ",
		capture_name(c), done * 100.0, offset >> 20, size >> 20,
		elapsed > 0 ? (double)(s->packets - p->packets_at_start) / elapsed / 1e6 : 0.0,
		done > 0 ? elapsed * (1.0 - done) / done : 0.0);
}

static void sensor_progress_end(const struct sensor_progress *p)
{
	/* Erase the line so that what follows starts on a clean one. */
	if (p->on)
		fprintf(stderr, "\r\033[K");
}

int sensor_run(struct sensor *s, struct capture *c, const struct sensor_signals *sig)
{
	struct sensor_progress progress;
	int rc = sensor_read(s, c, sig, &progress);

	sensor_progress_end(&progress);
	return rc;
}

static int sensor_read(struct sensor *s, struct capture *c, const struct sensor_signals *sig,
		       struct sensor_progress *progress)
{
	struct capture_packet pkt;
	time_t last_flush = time(NULL);

	sensor_progress_start(s, c, progress);
	if (capture_is_live(c)) {
		s->live = c;
		s->next_stats = time(NULL) + (time_t)s->opt.stats_interval_s;
	}
	for (;;) {
		int rc;

		if (*sig->stop)
			return 1;
		if (*sig->reload) {
			*sig->reload = 0;
			sensor_reload(s);
		}
		rc = capture_next(c, &pkt);
		if (rc == CAPTURE_PACKET) {
			sensor_packet(s, &pkt);
			if (progress->on && (s->packets & 0xffffu) == 0)
				sensor_progress_update(s, c, progress);
			if (!capture_is_live(c) || (s->packets & 1023u) != 0)
				continue;
		} else if (rc == CAPTURE_END) {
			if (*sig->stop)
				return 1;

			/* A live read ends only when a signal broke it; go on to serve the reload. */
			if (capture_is_live(c))
				continue;
			return 0;
		} else if (rc == CAPTURE_ERROR) {
			s->files_damaged++;

			/* A damaged file is reported once, by the caller; a live failure is logged here. */
			if (capture_is_live(c))
				log_msg(LOG_LEVEL_ERROR, "event=capture_error interface=%s error=\"%s\"", capture_name(c),
					capture_error(c));
			return -1;
		} else {
			/* A live capture idle for its timeout: time still passes for the flows. */
			sensor_expire(s, sensor_wall_usec());
		}
		sensor_live_tick(s, c);
		if (time(NULL) != last_flush) {
			last_flush = time(NULL);
			outputs_flush(s->outputs);
		}
	}
}

/* ---- stats ---- */

/*
 * Adds up the counters of every lane. With workers running the numbers are
 * a snapshot that may lag by the packets in flight.
 */
static void sensor_sum_lanes(const struct sensor *s, struct flow_table_stats *fs, struct reasm_budget *rb,
			     uint64_t *alerts)
{
	memset(fs, 0, sizeof(*fs));
	memset(rb, 0, sizeof(*rb));
	*alerts = 0;
	for (unsigned i = 0; i < s->lane_count; i++) {
		struct flow_table_stats lane_fs;
		const struct reasm_budget *lane_rb = flow_table_reasm_budget(s->lanes[i].flows);

		flow_table_get_stats(s->lanes[i].flows, &lane_fs);
		for (int c = 0; c < FLOW_COUNT_COUNT; c++)
			fs->counts[c] += lane_fs.counts[c];
		for (int c = 0; c < APP_COUNT_COUNT; c++)
			fs->app[c] += lane_fs.app[c];
		fs->active += lane_fs.active;
		fs->max_active += lane_fs.max_active;
		rb->bytes_in_use += lane_rb->bytes_in_use;
		for (int c = 0; c < REASM_COUNT_COUNT; c++)
			rb->counts[c] += lane_rb->counts[c];
		*alerts += s->lanes[i].alerts;
	}
}

/* Counters of MTA-STS learning; DNS error reasons are prefixed "dns_error_". */
static void sensor_stats_json_learnt(struct sensor *s, struct json_builder *jb)
{
	uint64_t counts[MTA_STS_LEARN_COUNT];
	uint64_t dns_errors[DNS_ERROR_COUNT];
	char name[64];

	mta_sts_learner_counts(s->learnt, counts, dns_errors);
	json_object_begin(jb, "mta_sts_learning");
	json_uint(jb, "domains", mta_sts_learner_size(s->learnt));
	for (int i = 0; i < MTA_STS_LEARN_COUNT; i++)
		json_uint(jb, mta_sts_learn_count_name((enum mta_sts_learn_count)i), counts[i]);
	for (int i = 1; i < DNS_ERROR_COUNT; i++) {
		snprintf(name, sizeof(name), "dns_error_%s", dns_error_name((enum dns_error)-i));
		json_uint(jb, name, dns_errors[i]);
	}
	json_object_end(jb);
}

static void sensor_stats_json(struct sensor *s, struct json_builder *jb)
{
	struct flow_table_stats fs;
	struct reasm_budget budget;
	const struct reasm_budget *rb = &budget;
	const uint64_t *reasons = decoder_reason_counts(s->decoder);
	struct output_counters oc;
	uint64_t received, dropped, if_dropped;
	uint64_t alerts;

	sensor_sum_lanes(s, &fs, &budget, &alerts);
	outputs_get_counters(s->outputs, &oc);
	json_object_begin(jb, "capture");
	json_uint(jb, "packets", s->packets);
	json_uint(jb, "bytes", s->bytes);
	json_uint(jb, "tcp_packets", s->tcp_packets);
	json_uint(jb, "other_packets", s->other_packets);
	json_uint(jb, "malformed_packets", s->malformed_packets);
	json_uint(jb, "files_damaged", s->files_damaged);
	if (s->live != NULL && capture_stats(s->live, &received, &dropped, &if_dropped) == 0) {
		json_uint(jb, "kernel_received", received);
		json_uint(jb, "kernel_dropped", dropped);
		json_uint(jb, "interface_dropped", if_dropped);
	}
	json_object_end(jb);

	json_object_begin(jb, "decoder");
	for (int i = 0; i < DECODE_REASON_COUNT; i++)
		json_uint(jb, decode_reason_name((enum decode_reason)i), reasons[i]);
	json_object_end(jb);

	json_object_begin(jb, "flow");
	json_uint(jb, "active", fs.active);
	json_uint(jb, "max_active", fs.max_active);
	for (int i = 0; i < FLOW_COUNT_COUNT; i++)
		json_uint(jb, flow_count_name((enum flow_count)i), fs.counts[i]);
	json_object_end(jb);

	json_object_begin(jb, "app");
	for (int i = 0; i < APP_COUNT_COUNT; i++)
		json_uint(jb, app_count_name((enum app_count)i), fs.app[i]);
	json_object_end(jb);

	json_object_begin(jb, "reassembly");
	json_uint(jb, "bytes_in_use", rb->bytes_in_use);
	for (int i = 0; i < REASM_COUNT_COUNT; i++)
		json_uint(jb, reasm_count_name((enum reasm_count)i), rb->counts[i]);
	json_object_end(jb);

	sensor_stats_json_learnt(s, jb);

	json_object_begin(jb, "output");
	json_uint(jb, "alerts", alerts);
	json_uint(jb, "records_written", oc.records_written);
	json_uint(jb, "write_errors", oc.write_errors);
	json_uint(jb, "syslog_sent", oc.syslog_sent);
	json_uint(jb, "syslog_dropped", oc.syslog_dropped);
	json_object_end(jb);
}

/* Prints the MTA-STS learning counters; DNS error reasons only when not zero. */
static void sensor_stats_human_learnt(struct sensor *s, FILE *out)
{
	uint64_t counts[MTA_STS_LEARN_COUNT];
	uint64_t dns_errors[DNS_ERROR_COUNT];

	mta_sts_learner_counts(s->learnt, counts, dns_errors);
	fprintf(out, "mta_sts_learning.domains=%zu\n", mta_sts_learner_size(s->learnt));
	for (int i = 0; i < MTA_STS_LEARN_COUNT; i++)
		fprintf(out, "mta_sts_learning.%s=%" PRIu64 "\n", mta_sts_learn_count_name((enum mta_sts_learn_count)i),
			counts[i]);
	for (int i = 1; i < DNS_ERROR_COUNT; i++) {
		if (dns_errors[i] != 0)
			fprintf(out, "mta_sts_learning.dns_error_%s=%" PRIu64 "\n", dns_error_name((enum dns_error)-i),
				dns_errors[i]);
	}
}

/* Prints the counters as "section.name=value" lines; decoder and reassembly reasons only when not zero. */
static void sensor_stats_human(struct sensor *s, FILE *out)
{
	struct flow_table_stats fs;
	struct reasm_budget budget;
	const struct reasm_budget *rb = &budget;
	const uint64_t *reasons = decoder_reason_counts(s->decoder);
	uint64_t received, dropped, if_dropped;
	uint64_t alerts;

	sensor_sum_lanes(s, &fs, &budget, &alerts);
	fprintf(out, "capture.packets=%" PRIu64 "\ncapture.bytes=%" PRIu64 "\ncapture.tcp_packets=%" PRIu64
		     "\ncapture.other_packets=%" PRIu64 "\ncapture.malformed_packets=%" PRIu64
		     "\ncapture.files_damaged=%" PRIu64 "\n",
		s->packets, s->bytes, s->tcp_packets, s->other_packets, s->malformed_packets, s->files_damaged);
	for (int i = 0; i < DECODE_REASON_COUNT; i++) {
		if (reasons[i] != 0)
			fprintf(out, "decoder.%s=%" PRIu64 "\n", decode_reason_name((enum decode_reason)i), reasons[i]);
	}
	if (s->live != NULL && capture_stats(s->live, &received, &dropped, &if_dropped) == 0)
		fprintf(out, "capture.kernel_received=%" PRIu64 "\ncapture.kernel_dropped=%" PRIu64
			     "\ncapture.interface_dropped=%" PRIu64 "\n",
			received, dropped, if_dropped);
	fprintf(out, "flow.max_active=%" PRIu64 "\n", fs.max_active);
	for (int i = 0; i < FLOW_COUNT_COUNT; i++)
		fprintf(out, "flow.%s=%" PRIu64 "\n", flow_count_name((enum flow_count)i), fs.counts[i]);
	for (int i = 0; i < REASM_COUNT_COUNT; i++) {
		if (rb->counts[i] != 0)
			fprintf(out, "reassembly.%s=%" PRIu64 "\n", reasm_count_name((enum reasm_count)i), rb->counts[i]);
	}
	for (int i = 0; i < APP_COUNT_COUNT; i++)
		fprintf(out, "app.%s=%" PRIu64 "\n", app_count_name((enum app_count)i), fs.app[i]);
	sensor_stats_human_learnt(s, out);
	fprintf(out, "output.alerts=%" PRIu64 "\n", alerts);
}

void sensor_write_stats(struct sensor *s, FILE *human)
{
	struct json_builder jb;
	char ts[64];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S.000000+0000", &tm);
	json_init(&jb);
	json_object_begin(&jb, NULL);
	json_string(&jb, "timestamp", ts);
	json_string(&jb, "event_type", "stats");
	json_object_begin(&jb, "stats");
	sensor_stats_json(s, &jb);
	json_object_end(&jb);
	json_object_end(&jb);
	if (!jb.failed)
		outputs_write_record(s->outputs, jb.buf);
	json_free(&jb);
	if (human != NULL)
		sensor_stats_human(s, human);
}

bool sensor_files_damaged(const struct sensor *s)
{
	return s->files_damaged > 0;
}
