/*
 * mailtap: passive sensor for mail transport security.
 *
 * Command line in tcpdump's habits: -r FILE (repeatable) or -i IFACE, a BPF
 * expression as trailing arguments. Exit status: 0 success, 1 runtime error
 * (including a damaged capture file), 2 usage or configuration error.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "capture/capture.h"
#include "detect/rules.h"
#include "sensor/config_file.h"
#include "sensor/log.h"
#include "report/report.h"
#include "sensor/sensor.h"

#define MAILTAP_MAX_FILES 256
#define MAILTAP_FILTER_MAX 4096

enum exit_status {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,
	EXIT_USAGE = 2,
};

/* The only mutable globals: what signal handlers set and reach. */
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;
/* The live capture, so a handler can wake a blocked read (pcap_breakloop is signal-safe in libpcap 1.10). */
static struct capture *volatile signal_capture;

struct cli {
	struct sensor_options sensor;
	const char *files[MAILTAP_MAX_FILES];
	unsigned file_count;
	struct live_options live;
	const char *user;
	const char *check_rules;
	bool stats;
	bool list_interfaces;
	bool rules_given;
	bool output_chosen;
	bool files_from_config; /* the first -r on the command line replaces the file's list */
	bool rules_from_config; /* --rules on the command line replaces the file's */
	char filter[MAILTAP_FILTER_MAX];
};

enum long_option {
	OPT_RULES = 1000,
	OPT_JSON,
	OPT_TEXT,
	OPT_SYSLOG,
	OPT_SYSLOG_SERVER,
	OPT_SYSLOG_IDENT,
	OPT_REVEAL,
	OPT_PORTS,
	OPT_CHECK_RULES,
	OPT_STATS,
	OPT_STATS_INTERVAL,
	OPT_LIST_INTERFACES,
	OPT_MAX_FLOWS,
	OPT_NO_NDPI,
	OPT_NO_RULES,
	OPT_FANOUT,
	OPT_IMMEDIATE,
	OPT_NO_COLOR,
	OPT_CONFIG,
	OPT_WORKERS,
	OPT_STATE,
	OPT_MTA_STS_DIR,
};

static const struct option long_options[] = {
	{"read", required_argument, NULL, 'r'},
	{"interface", required_argument, NULL, 'i'},
	{"user", required_argument, NULL, 'Z'},
	{"no-promiscuous-mode", no_argument, NULL, 'p'},
	{"snapshot-length", required_argument, NULL, 's'},
	{"buffer-size", required_argument, NULL, 'B'},
	{"rules", required_argument, NULL, OPT_RULES},
	{"no-rules", no_argument, NULL, OPT_NO_RULES},
	{"json", required_argument, NULL, OPT_JSON},
	{"text", no_argument, NULL, OPT_TEXT},
	{"no-color", no_argument, NULL, OPT_NO_COLOR},
	{"syslog", optional_argument, NULL, OPT_SYSLOG},
	{"syslog-server", required_argument, NULL, OPT_SYSLOG_SERVER},
	{"syslog-ident", required_argument, NULL, OPT_SYSLOG_IDENT},
	{"reveal-credentials", no_argument, NULL, OPT_REVEAL},
	{"ports", required_argument, NULL, OPT_PORTS},
	{"check-rules", required_argument, NULL, OPT_CHECK_RULES},
	{"stats", no_argument, NULL, OPT_STATS},
	{"stats-interval", required_argument, NULL, OPT_STATS_INTERVAL},
	{"list-interfaces", no_argument, NULL, OPT_LIST_INTERFACES},
	{"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
	{"no-ndpi", no_argument, NULL, OPT_NO_NDPI},
	{"fanout", required_argument, NULL, OPT_FANOUT},
	{"immediate", no_argument, NULL, OPT_IMMEDIATE},
	{"config", required_argument, NULL, OPT_CONFIG},
	{"workers", required_argument, NULL, OPT_WORKERS},
	{"mta-sts-dir", required_argument, NULL, OPT_MTA_STS_DIR},
	{"state", required_argument, NULL, OPT_STATE},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mailtap -r FILE [-r FILE ...] [options] [BPF expression]\n"
		"       mailtap -i INTERFACE [-Z USER] [options] [BPF expression]\n"
		"       mailtap --check-rules FILE\n"
		"       mailtap report [--html FILE] JSONFILE...   summarize JSON output\n"
		"       mailtap --list-interfaces\n"
		"\n"
		"Sources:\n"
		"  -r, --read FILE            read a pcap or pcapng file (repeatable, in order)\n"
		"  -i, --interface IFACE      capture live on IFACE (\"any\" for all)\n"
		"  -Z, --user USER            drop privileges to USER after opening the interface\n"
		"  -p, --no-promiscuous-mode  do not put the interface in promiscuous mode\n"
		"  -s, --snapshot-length N    bytes captured per packet (default 262144)\n"
		"  -B, --buffer-size KIB      kernel capture buffer in KiB\n"
		"      --immediate            deliver packets as they arrive (low latency)\n"
		"      --fanout GROUP         share the interface with other mailtap processes\n"
		"                             through PACKET_FANOUT group GROUP (0-65535)\n"
		"  BPF expression             capture filter; default: the configured mail ports\n"
		"\n"
		"Analysis:\n"
		"      --rules FILE           rules file (default: the installed default.yaml)\n"
		"      --no-rules             run without rules (session records only)\n"
		"      --ports NAME=P[,P...]  map ports to a protocol: smtp, submission, smtps,\n"
		"                             pop3, pop3s, imap, imaps, tls (repeatable)\n"
		"      --max-flows N          flow table cap (default 1000000)\n"
		"      --no-ndpi              do not classify flows off the port map with nDPI\n"
		"      --workers N            analyze in N worker threads fed by a flow hash\n"
		"                             (default 1: everything on the reading thread);\n"
		"                             rule thresholds then count per worker\n"
		"      --mta-sts-dir DIR      check port-25 sessions against the MTA-STS policy\n"
		"                             files in DIR, one per domain (RFC 8461 format)\n"
		"      --reveal-credentials   write passwords into JSON records instead of\n"
		"                             \"<redacted>\" (terminal text never shows them)\n"
		"      --state FILE           keep the server history in FILE (SQLite) across runs,\n"
		"                             for the STARTTLS stripping, APOP timestamp\n"
		"                             stripping, TLS version regression and certificate\n"
		"                             change verdicts, and the MTA-STS domains learnt\n"
		"                             from the link (default: this run only)\n"
		"\n"
		"Outputs (a terminal gets text, a pipe or file gets JSON lines):\n"
		"      --json FILE            JSON lines to FILE (\"-\" for stdout)\n"
		"      --text                 readable text on stdout\n"
		"      --no-color             no color in text output (NO_COLOR also works)\n"
		"      --syslog[=FACILITY]    alerts to the local syslog (default facility daemon)\n"
		"      --syslog-ident NAME    syslog identity (default mailtap)\n"
		"      --syslog-server URL    alerts as RFC 5424 to udp://HOST:PORT or tcp://HOST:PORT\n"
		"      --stats                print counters to stderr at exit\n"
		"      --stats-interval SEC   live: a stats record every SEC seconds (default 60)\n"
		"\n"
		"      --config FILE          YAML file with any of these settings (long names);\n"
		"                             options on the command line win\n"
		"  -h, --help                 this help\n"
		"  -V, --version              print the version\n");
}

static int parse_uint(const char *text, const char *what, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long value;

	errno = 0;
	value = strtoul(text, &end, 10);
	if (end == text || *end != '\0' || errno != 0 || value > max || text[0] == '-') {
		fprintf(stderr, "mailtap: invalid %s '%s': expected a whole number from 0 to %lu\n", what, text, max);
		return -1;
	}
	*out = value;
	return 0;
}

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
	if (signal_capture != NULL)
		capture_break(signal_capture);
}

static void on_reload_signal(int sig)
{
	(void)sig;
	reload_requested = 1;
	if (signal_capture != NULL)
		capture_break(signal_capture);
}

static void install_signal_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_reload_signal;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int cli_handle_output_option(struct cli *cli, int opt, const char *arg)
{
	struct output_config *out = &cli->sensor.output;

	switch (opt) {
	case OPT_JSON:
		out->json_path = arg;
		cli->output_chosen = true;
		return 0;
	case OPT_TEXT:
		out->text = true;
		cli->output_chosen = true;
		return 0;
	case OPT_NO_COLOR:
		out->color = false;
		return 0;
	case OPT_SYSLOG:
		out->syslog_local = true;
		if (arg != NULL && output_parse_facility(arg, &out->syslog_facility) != 0) {
			fprintf(stderr,
				"mailtap: unknown syslog facility '%s': expected daemon, mail, user, auth, authpriv or local0 to local7\n",
				arg);
			return -1;
		}
		return 0;
	case OPT_SYSLOG_SERVER:
		out->syslog_server = arg;
		return 0;
	case OPT_SYSLOG_IDENT:
		out->syslog_ident = arg;
		return 0;
	default:
		return 1;
	}
}

static int cli_handle_live_option(struct cli *cli, int opt, const char *arg)
{
	unsigned long value;

	switch (opt) {
	case 'i':
		cli->live.interface = arg;
		return 0;
	case 'Z':
		cli->user = arg;
		return 0;
	case 'p':
		cli->live.promiscuous = false;
		return 0;
	case 's':
		if (parse_uint(arg, "snapshot length", 262144, &value) != 0)
			return -1;
		cli->live.snaplen = (int)value;
		return 0;
	case 'B':
		if (parse_uint(arg, "buffer size", 4u * 1024u * 1024u, &value) != 0)
			return -1;
		cli->live.buffer_kib = (int)value;
		return 0;
	case OPT_IMMEDIATE:
		cli->live.immediate = true;
		return 0;
	case OPT_FANOUT:
		if (parse_uint(arg, "fanout group", 65535, &value) != 0)
			return -1;
		cli->live.fanout_group = (int)value;
		return 0;
	default:
		return 1;
	}
}

static int cli_handle_option(struct cli *cli, int opt, const char *arg)
{
	char err[256];
	unsigned long value;
	int rc;

	rc = cli_handle_output_option(cli, opt, arg);
	if (rc <= 0)
		return rc;
	rc = cli_handle_live_option(cli, opt, arg);
	if (rc <= 0)
		return rc;
	switch (opt) {
	case 'r':
		if (cli->files_from_config) {
			cli->files_from_config = false;
			cli->file_count = 0;
		}
		if (cli->file_count >= MAILTAP_MAX_FILES) {
			fprintf(stderr, "mailtap: too many -r files: at most %d\n", MAILTAP_MAX_FILES);
			return -1;
		}
		cli->files[cli->file_count++] = arg;
		return 0;
	case OPT_RULES:
		if (cli->sensor.rules_path != NULL && cli->rules_given && !cli->rules_from_config) {
			fprintf(stderr, "mailtap: --rules given twice ('%s' and '%s'): give one rules file\n",
				cli->sensor.rules_path, arg);
			return -1;
		}
		cli->sensor.rules_path = arg;
		cli->rules_given = true;
		cli->rules_from_config = false;
		return 0;
	case OPT_NO_RULES:
		cli->sensor.rules_path = NULL;
		cli->rules_given = true;
		return 0;
	case OPT_REVEAL:
		cli->sensor.cfg.reveal_credentials = true;
		cli->sensor.output.reveal_credentials = true;
		return 0;
	case OPT_PORTS:
		if (port_map_parse(&cli->sensor.cfg.ports, arg, err, sizeof(err)) != 0) {
			fprintf(stderr, "mailtap: %s\n", err);
			return -1;
		}
		return 0;
	case OPT_CHECK_RULES:
		cli->check_rules = arg;
		return 0;
	case OPT_STATS:
		cli->stats = true;
		return 0;
	case OPT_STATS_INTERVAL:
		if (parse_uint(arg, "stats interval", 86400, &value) != 0)
			return -1;
		cli->sensor.stats_interval_s = (uint32_t)value;
		return 0;
	case OPT_LIST_INTERFACES:
		cli->list_interfaces = true;
		return 0;
	case OPT_MAX_FLOWS:
		if (parse_uint(arg, "--max-flows value", 100000000, &value) != 0)
			return -1;
		if (value == 0) {
			fprintf(stderr, "mailtap: invalid --max-flows value '0': the table needs at least 1 flow\n");
			return -1;
		}
		cli->sensor.cfg.max_flows = (uint32_t)value;
		return 0;
	case OPT_NO_NDPI:
		cli->sensor.use_ndpi = false;
		return 0;
	case OPT_STATE:
		cli->sensor.state_path = arg;
		return 0;
	case OPT_MTA_STS_DIR:
		cli->sensor.mta_sts_dir = arg;
		return 0;
	case OPT_CONFIG:
		return 0; /* read before the other options, in cli_load_config_file() */
	case OPT_WORKERS:
		if (parse_uint(arg, "worker count", SENSOR_WORKERS_MAX, &value) != 0 || value == 0) {
			fprintf(stderr, "mailtap: --workers takes 1 to %d\n", SENSOR_WORKERS_MAX);
			return -1;
		}
		cli->sensor.workers = (unsigned)value;
		return 0;
	default:
		return -1;
	}
}

/* Joins the trailing arguments into one BPF expression, as tcpdump does. */
static int cli_join_filter(struct cli *cli, int argc, char **argv)
{
	size_t len = 0;

	cli->filter[0] = '\0';
	for (int i = optind; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (len + n + 2 > sizeof(cli->filter)) {
			fprintf(stderr, "mailtap: filter expression too long: at most %d bytes\n", MAILTAP_FILTER_MAX - 1);
			return -1;
		}
		if (len > 0)
			cli->filter[len++] = ' ';
		memcpy(cli->filter + len, argv[i], n + 1);
		len += n;
	}
	return 0;
}

/* Builds "tcp port 25 or tcp port 587 ..." from the port map (and "or ip[6] fragments"). */
static void cli_default_filter(const struct mailtap_config *cfg, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (unsigned port = 1; port < 65536; port++) {
		if (port_map_lookup(&cfg->ports, (uint16_t)port) == APP_PROTO_UNKNOWN)
			continue;
		len += (size_t)snprintf(out + len, size - len, "%stcp port %u", len ? " or " : "", port);
		if (len >= size)
			break;
	}
	/* Later fragments carry no ports; let them through so datagrams can be reassembled. */
	if (len < size)
		snprintf(out + len, size - len, "%s(ip[6:2] & 0x3fff != 0) or (ip6 and ip6[6] == 44)", len ? " or " : "");
}

/* The installed rules; a build tree's rules are found by rules_path_near_binary(). */
static const char *const default_rules_candidates[] = {
	MAILTAP_DATADIR "/rules/default.yaml",
	"/etc/mailtap/rules/default.yaml",
};

static const char *default_rules_path(void)
{
	for (size_t i = 0; i < sizeof(default_rules_candidates) / sizeof(default_rules_candidates[0]); i++) {
		if (access(default_rules_candidates[i], R_OK) == 0)
			return default_rules_candidates[i];
	}
	return NULL;
}

/* Looks for rules/default.yaml next to the build tree the binary runs from. */
static const char *rules_path_near_binary(char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash == NULL)
		return NULL;
	*slash = '\0';
	if ((size_t)snprintf(buf, size, "%.*s/../rules/default.yaml", (int)(size - 32), exe) >= size)
		return NULL;
	return access(buf, R_OK) == 0 ? buf : NULL;
}

/* Switches to USER's groups, gid and uid, as tcpdump -Z does. Returns 0 or -1. */
static int drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL) {
		fprintf(stderr, "mailtap: cannot drop privileges: user '%s' not found\n", user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		fprintf(stderr, "mailtap: cannot drop privileges to '%s': %s\n", user, strerror(errno));
		return -1;
	}

	/* A process that can regain root has not dropped anything. */
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		fprintf(stderr, "mailtap: privileges to '%s' were not dropped: setuid(0) still succeeds\n", user);
		return -1;
	}
	log_msg(LOG_LEVEL_INFO, "event=privileges_dropped user=%s uid=%u gid=%u", user, (unsigned)pw->pw_uid,
		(unsigned)pw->pw_gid);
	return 0;
}

/* Applies one setting of the configuration file as the long option of that name. */
static int cli_apply_setting(void *ctx, const char *name, const char *value)
{
	struct cli *cli = ctx;
	char option[64];
	size_t n = strlen(name);

	if (n >= sizeof(option)) {
		fprintf(stderr, "mailtap: unknown setting '%s'\n", name);
		return -1;
	}
	for (size_t i = 0; i <= n; i++)
		option[i] = name[i] == '_' ? '-' : name[i];
	for (const struct option *o = long_options; o->name != NULL; o++) {
		bool enabled;

		if (strcmp(o->name, option) != 0 || o->val == OPT_CONFIG || o->val == 'h' || o->val == 'V')
			continue;
		if (o->has_arg != no_argument)
			return cli_handle_option(cli, o->val, value);

		/* A flag takes a boolean: true applies it, false leaves the default. */
		enabled = value == NULL || strcmp(value, "true") == 0 || strcmp(value, "yes") == 0;
		if (!enabled && strcmp(value, "false") != 0 && strcmp(value, "no") != 0) {
			fprintf(stderr, "mailtap: setting '%s' takes true or false, not '%s'\n", name, value);
			return -1;
		}
		return enabled ? cli_handle_option(cli, o->val, NULL) : 0;
	}
	fprintf(stderr, "mailtap: unknown setting '%s': settings are the long option names of 'mailtap --help'\n",
		name);
	return -1;
}

/* Finds --config FILE (or --config=FILE) in argv and applies the file. Returns 0 or -1. */
static int cli_load_config_file(struct cli *cli, int argc, char **argv, struct config_file **out)
{
	const char *path = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
	}
	*out = NULL;
	if (path == NULL)
		return 0;
	*out = config_file_load(path, cli_apply_setting, cli);
	if (*out == NULL)
		return -1;
	cli->files_from_config = cli->file_count > 0;
	cli->rules_from_config = cli->rules_given;
	return 0;
}

static void cli_init(struct cli *cli)
{
	memset(cli, 0, sizeof(*cli));
	config_set_defaults(&cli->sensor.cfg);
	output_config_init(&cli->sensor.output);
	cli->sensor.output.color = true;
	cli->sensor.use_ndpi = true;
	cli->sensor.stats_interval_s = 60;
	cli->sensor.drop_warning_ratio = 0.01;
	cli->live.promiscuous = true;
	cli->live.fanout_group = -1;
}

/* Parses argv. Returns 0 to go on, 1 when the program is done (help), -1 on a usage error. */
static int cli_parse(struct cli *cli, int argc, char **argv)
{
	int opt;

	while ((opt = getopt_long(argc, argv, "+r:i:Z:ps:B:hV", long_options, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 1;
		}
		if (opt == 'V') {
			printf("mailtap %s\n", MAILTAP_VERSION);
			return 1;
		}
		if (opt == '?' || cli_handle_option(cli, opt, optarg) != 0) {
			if (opt == '?')
				fprintf(stderr, "mailtap: see 'mailtap --help' for the options\n");
			return -1;
		}
	}
	if (cli_join_filter(cli, argc, argv) != 0)
		return -1;
	if (cli->check_rules != NULL || cli->list_interfaces)
		return 0;
	if (cli->file_count == 0 && cli->live.interface == NULL) {
		fprintf(stderr, "mailtap: no source: give -r FILE or -i INTERFACE (see 'mailtap --help')\n");
		return -1;
	}
	if (cli->file_count > 0 && cli->live.interface != NULL) {
		fprintf(stderr, "mailtap: -r and -i cannot be used together\n");
		return -1;
	}
	return 0;
}

static void cli_choose_outputs(struct cli *cli)
{
	struct output_config *out = &cli->sensor.output;

	if (getenv("NO_COLOR") != NULL)
		out->color = false;
	if (cli->output_chosen)
		return;
	/* A terminal gets readable text; a pipe or a file gets JSON lines. */
	if (isatty(STDOUT_FILENO))
		out->text = true;
	else
		out->json_path = "-";
}

static struct capture *open_live(struct cli *cli)
{
	char err[512];
	struct capture *c = capture_open_live(&cli->live, err, sizeof(err));
	const char *filter = cli->filter;
	char default_filter[MAILTAP_FILTER_MAX];

	if (c == NULL) {
		fprintf(stderr, "mailtap: %s\n", err);
		return NULL;
	}
	if (filter[0] == '\0') {
		cli_default_filter(&cli->sensor.cfg, default_filter, sizeof(default_filter));
		filter = default_filter;
	}
	if (capture_set_filter(c, filter, err, sizeof(err)) != 0) {
		fprintf(stderr, "mailtap: %s\n", err);
		capture_close(c);
		return NULL;
	}
	log_msg(LOG_LEVEL_INFO, "event=start interface=%s filter=\"%s\"", cli->live.interface, filter);
	return c;
}

/* True when the file starts with the gzip magic bytes (RFC 1952), which libpcap does not read. */
static bool file_is_gzip(const char *path)
{
	unsigned char magic[2];
	FILE *f = fopen(path, "rb");
	bool gzip;

	if (f == NULL)
		return false;
	gzip = fread(magic, 1, sizeof(magic), f) == sizeof(magic) && magic[0] == 0x1f && magic[1] == 0x8b;
	fclose(f);
	return gzip;
}

/* Runs every -r file in order; a damaged file ends itself, not the run. */
static int run_files(struct cli *cli, struct sensor *s, const struct sensor_signals *sig)
{
	int status = EXIT_OK;

	for (unsigned i = 0; i < cli->file_count && !stop_requested; i++) {
		char err[512];
		struct capture *c = capture_open_file(cli->files[i], err, sizeof(err));

		if (c == NULL) {
			fprintf(stderr, "mailtap: %s%s\n", err,
				file_is_gzip(cli->files[i]) ? " (the file is gzip-compressed: run gunzip first)" : "");
			status = EXIT_RUNTIME;
			continue;
		}
		if (cli->filter[0] != '\0' && capture_set_filter(c, cli->filter, err, sizeof(err)) != 0) {
			fprintf(stderr, "mailtap: %s\n", err);
			capture_close(c);
			return EXIT_USAGE;
		}
		if (sensor_run(s, c, sig) < 0) {
			fprintf(stderr, "mailtap: capture file damaged: %s; the packets before it were analyzed\n",
				capture_error(c));
			status = EXIT_RUNTIME;
		}
		capture_close(c);
	}
	return status;
}

static int run_live(struct cli *cli, struct sensor *s, struct capture *c, const struct sensor_signals *sig)
{
	const char *reason;
	int rc;

	if (cli->user != NULL && drop_privileges(cli->user) != 0)
		return EXIT_RUNTIME;
	signal_capture = c;
	if (cli->user == NULL && geteuid() == 0)
		log_msg(LOG_LEVEL_WARNING, "event=running_as_root interface=%s hint=\"use -Z USER to drop privileges\"",
			cli->live.interface);
	rc = sensor_run(s, c, sig);
	signal_capture = NULL;
	if (rc == 1)
		reason = "signal";
	else if (rc == 0)
		reason = "end_of_capture";
	else
		reason = "capture_error";
	log_msg(LOG_LEVEL_INFO, "event=stop interface=%s reason=%s", cli->live.interface, reason);
	return rc < 0 ? EXIT_RUNTIME : EXIT_OK;
}

/* Runs the action the parsed command line requests; returns the exit status. */
static int run(struct cli *cli)
{
	struct sensor *s;
	struct capture *live = NULL;
	struct sensor_signals sig = {&stop_requested, &reload_requested};
	char err[512];
	char near_binary[PATH_MAX];
	int status;

	if (cli->check_rules != NULL)
		return rule_check_file(cli->check_rules, stderr) == 0 ? EXIT_OK : EXIT_USAGE;
	if (cli->list_interfaces)
		return capture_list_interfaces(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;

	if (!cli->rules_given) {
		cli->sensor.rules_path = default_rules_path();
		if (cli->sensor.rules_path == NULL)
			cli->sensor.rules_path = rules_path_near_binary(near_binary, sizeof(near_binary));
		if (cli->sensor.rules_path == NULL)
			fprintf(stderr,
				"mailtap: warning: no rules file found in %s, %s or next to the binary; "
				"no alerts will be raised (give --rules FILE, or --no-rules to silence this)\n",
				default_rules_candidates[0], default_rules_candidates[1]);
	}
	cli_choose_outputs(cli);
	cli->sensor.progress = cli->live.interface == NULL && isatty(STDERR_FILENO);
	install_signal_handlers();

	if (cli->live.interface != NULL) {
		live = open_live(cli);
		if (live == NULL)
			return EXIT_RUNTIME;
	}
	s = sensor_new(&cli->sensor, err, sizeof(err));
	if (s == NULL) {
		fprintf(stderr, "mailtap: %s\n", err);
		capture_close(live);
		return EXIT_USAGE;
	}
	if (live != NULL)
		status = run_live(cli, s, live, &sig);
	else
		status = run_files(cli, s, &sig);

	sensor_finish(s);
	if (cli->stats)
		sensor_write_stats(s, stderr);
	capture_close(live);
	sensor_free(s);
	return status;
}

int main(int argc, char **argv)
{
	struct cli cli;
	struct config_file *config = NULL;
	int status;

	/* "mailtap report" is its own command with its own options. */
	if (argc >= 2 && strcmp(argv[1], "report") == 0)
		return report_main(argc - 1, argv + 1, stdout, stderr);

	cli_init(&cli);
	if (cli_load_config_file(&cli, argc, argv, &config) != 0)
		return EXIT_USAGE;
	status = cli_parse(&cli, argc, argv);
	if (status == 0)
		status = run(&cli);
	else
		status = status > 0 ? EXIT_OK : EXIT_USAGE;
	config_file_free(config);
	return status;
}
