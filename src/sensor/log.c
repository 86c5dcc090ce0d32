/* Operator log lines. */
#include "sensor/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

/* Set once in main() before any thread starts; read-only afterwards. */
static enum log_level log_max_level = LOG_LEVEL_INFO;
static bool log_to_syslog;

void log_setup(enum log_level max_level, bool to_syslog)
{
	log_max_level = max_level;
	log_to_syslog = to_syslog;
}

static const char *log_level_name(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERROR: return "error";
	case LOG_LEVEL_WARNING: return "warning";
	case LOG_LEVEL_INFO: return "info";
	case LOG_LEVEL_DEBUG: return "debug";
	}
	return "info";
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const int priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char line[2048];
	va_list ap;

	if (level > log_max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_to_syslog)
		syslog(priorities[level], "level=%s %s", log_level_name(level), line);
	else
		fprintf(stderr, "mailtap: level=%s %s\n", log_level_name(level), line);
}
