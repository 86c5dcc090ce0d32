/*
 * Operator messages: one `key=value` line each on stderr (or syslog when
 * the sensor runs as a service). Never called per packet.
 */
#ifndef MAILTAP_LOG_H
#define MAILTAP_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Sets the most verbose level printed and whether lines go to syslog(3) instead of stderr. */
void log_setup(enum log_level max_level, bool to_syslog);
/* Prints "mailtap: level=LEVEL " followed by the formatted key=value pairs. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
