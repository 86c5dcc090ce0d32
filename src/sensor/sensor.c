/*
 * Pipeline glue: frame -> decoder -> flow table (reassembly, analyzers) ->
 * events -> rules -> outputs.
 */
#include "sensor/sensor.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/capture.h"
#include "classify/classify.h"
#include "core/session.h"
#include "decode/decode.h"
#include "detect/rules.h"
#include "flow/flow_table.h"
#include "output/json.h"
#include "sensor/log.h"
#include "tls/tls.h"

/* Threshold-tracking entries kept for rules; older ones are evicted. */
#define SENSOR_RULE_STATE_ENTRIES 65536u

struct sensor {
	struct sensor_options opt;
	struct decoder *decoder;
	struct classifier *classifier;
	struct tls_context *tls;
	struct rule_set *rules;	     /* immutable; replaced whole on reload */
	struct rule_state *rule_state;
	struct outputs *outputs;
	struct flow_table *flows;
	struct event_sink sink;

	uint64_t packets;
	uint64_t bytes;
	uint64_t tcp_packets;
	uint64_t other_packets;
	uint64_t malformed_packets;
	uint64_t alerts;
	uint64_t last_ts_usec;
	uint64_t files_damaged;
	struct capture *live;	      /* the live source, for its kernel counters; not owned */
	time_t next_stats;
	uint64_t last_kernel_drops;
	uint64_t last_kernel_received;
};

/* ---- events and alerts ---- */

static void sensor_on_match(const struct rule *rule, const struct event *ev, void *ctx)
{
	struct sensor *s = ctx;
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
	s->alerts++;
	outputs_write_alert(s->outputs, ev, &info);
}

static void sensor_on_event(void *ctx, const struct event *ev)
{
	struct sensor *s = ctx;

	if (s->rules != NULL)
		rule_set_match(s->rules, s->rule_state, ev, sensor_on_match, s);
}

static void sensor_on_session_end(void *ctx, struct session *sess)
{
	struct sensor *s = ctx;

	sess->sink = &s->sink;
	session_emit(sess, EVENT_SESSION, 0);
	outputs_write_session(s->outputs, sess);
}

/* ---- lifecycle ---- */

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

struct sensor *sensor_new(const struct sensor_options *opt, char *err, size_t err_size)
{
	struct sensor *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	s->opt = *opt;
	if (opt->rules_path != NULL) {
		s->rules = sensor_load_rules(opt->rules_path);
		if (s->rules == NULL) {
			snprintf(err, err_size, "cannot load rules from %s", opt->rules_path);
			free(s);
			return NULL;
		}
	}
	s->rule_state = rule_state_new(SENSOR_RULE_STATE_ENTRIES);
	s->decoder = decoder_new();
	s->tls = tls_context_new();
	if (opt->use_ndpi)
		s->classifier = classifier_new();
	if (s->rule_state == NULL || s->decoder == NULL || s->tls == NULL || (opt->use_ndpi && s->classifier == NULL)) {
		snprintf(err, err_size, "cannot set up the pipeline: out of memory");
		sensor_free(s);
		return NULL;
	}
	s->outputs = outputs_open(&s->opt.output, err, err_size);
	if (s->outputs == NULL) {
		sensor_free(s);
		return NULL;
	}
	s->sink.emit = sensor_on_event;
	s->sink.ctx = s;
	s->flows = flow_table_new(&s->opt.cfg, s->tls, s->classifier, &s->sink, sensor_on_session_end, s);
	if (s->flows == NULL) {
		snprintf(err, err_size, "cannot create the flow table: out of memory");
		sensor_free(s);
		return NULL;
	}
	return s;
}

int sensor_reload(struct sensor *s)
{
	struct rule_set *rules;

	if (outputs_reopen(s->outputs) != 0)
		log_msg(LOG_LEVEL_ERROR, "event=reopen_failed output=json action=kept_previous_file");
	if (s->opt.rules_path == NULL)
		return 0;
	rules = sensor_load_rules(s->opt.rules_path);
	if (rules == NULL) {
		log_msg(LOG_LEVEL_ERROR, "event=reload_failed rules=%s action=kept_previous_rules", s->opt.rules_path);
		return -1;
	}
	rule_set_free(s->rules);
	s->rules = rules;
	log_msg(LOG_LEVEL_INFO, "event=rules_reloaded rules=%s count=%zu", s->opt.rules_path, rule_set_count(rules));
	return 0;
}

void sensor_finish(struct sensor *s)
{
	flow_table_flush(s->flows);
	outputs_finish(s->outputs);
}

void sensor_free(struct sensor *s)
{
	if (s == NULL)
		return;
	/* Freeing the table reports the sessions still open, so the outputs must still exist. */
	flow_table_free(s->flows);
	if (s->outputs != NULL)
		outputs_close(s->outputs);
	rule_set_free(s->rules);
	rule_state_free(s->rule_state);
	classifier_free(s->classifier);
	tls_context_free(s->tls);
	decoder_free(s->decoder);
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
		flow_table_process(s->flows, &view);
	} else if (rc == DECODE_MALFORMED) {
		s->malformed_packets++;
	} else {
		s->other_packets++;
	}
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

int sensor_run(struct sensor *s, struct capture *c, const struct sensor_signals *sig)
{
	struct capture_packet pkt;
	time_t last_flush = time(NULL);

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
			log_msg(LOG_LEVEL_ERROR, "event=capture_error source=\"%s\"", capture_error(c));
			return -1;
		} else {
			/* A live capture idle for its timeout: time still passes for the flows. */
			flow_table_expire(s->flows, sensor_wall_usec());
		}
		sensor_live_tick(s, c);
		if (time(NULL) != last_flush) {
			last_flush = time(NULL);
			outputs_flush(s->outputs);
		}
	}
}

/* ---- stats ---- */

static void sensor_stats_json(struct sensor *s, struct json_builder *jb)
{
	struct flow_table_stats fs;
	const struct reasm_budget *rb = flow_table_reasm_budget(s->flows);
	const uint64_t *reasons = decoder_reason_counts(s->decoder);
	struct output_counters oc;
	uint64_t received, dropped, if_dropped;

	flow_table_get_stats(s->flows, &fs);
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

	json_object_begin(jb, "reassembly");
	json_uint(jb, "bytes_in_use", rb->bytes_in_use);
	for (int i = 0; i < REASM_COUNT_COUNT; i++)
		json_uint(jb, reasm_count_name((enum reasm_count)i), rb->counts[i]);
	json_object_end(jb);

	json_object_begin(jb, "output");
	json_uint(jb, "alerts", s->alerts);
	json_uint(jb, "records_written", oc.records_written);
	json_uint(jb, "write_errors", oc.write_errors);
	json_uint(jb, "syslog_sent", oc.syslog_sent);
	json_uint(jb, "syslog_dropped", oc.syslog_dropped);
	json_object_end(jb);
}

/* Prints every counter of a stats object as "section.name=value" lines, skipping zeros. */
static void sensor_stats_human(const struct sensor *s, FILE *out)
{
	struct flow_table_stats fs;
	const struct reasm_budget *rb = flow_table_reasm_budget(s->flows);
	const uint64_t *reasons = decoder_reason_counts(s->decoder);

	flow_table_get_stats(s->flows, &fs);
	fprintf(out, "capture.packets=%" PRIu64 "\ncapture.bytes=%" PRIu64 "\ncapture.tcp_packets=%" PRIu64
		     "\ncapture.other_packets=%" PRIu64 "\ncapture.malformed_packets=%" PRIu64 "\n",
		s->packets, s->bytes, s->tcp_packets, s->other_packets, s->malformed_packets);
	for (int i = 0; i < DECODE_REASON_COUNT; i++) {
		if (reasons[i] != 0)
			fprintf(out, "decoder.%s=%" PRIu64 "\n", decode_reason_name((enum decode_reason)i), reasons[i]);
	}
	fprintf(out, "flow.max_active=%" PRIu64 "\n", fs.max_active);
	for (int i = 0; i < FLOW_COUNT_COUNT; i++)
		fprintf(out, "flow.%s=%" PRIu64 "\n", flow_count_name((enum flow_count)i), fs.counts[i]);
	for (int i = 0; i < REASM_COUNT_COUNT; i++) {
		if (rb->counts[i] != 0)
			fprintf(out, "reassembly.%s=%" PRIu64 "\n", reasm_count_name((enum reasm_count)i), rb->counts[i]);
	}
	fprintf(out, "output.alerts=%" PRIu64 "\n", s->alerts);
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
