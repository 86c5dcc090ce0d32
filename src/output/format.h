/*
 * Text helpers shared by the line outputs (local syslog, RFC 5424, terminal
 * text): the one escaper for untrusted bytes, a bounded line buffer, and the
 * timestamp and address formats of the output contract.
 */
#ifndef MAILTAP_OUTPUT_FORMAT_H
#define MAILTAP_OUTPUT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

struct endpoint;
struct session;

/* Escape `"` as \" (for values written between double quotes). */
#define FORMAT_ESCAPE_QUOTES 0x1u
/* Also escape `]` as \] (RFC 5424 section 6.3.3 PARAM-VALUE). */
#define FORMAT_ESCAPE_SD_PARAM 0x2u

/*
 * Copies len untrusted bytes to out (out_size bytes, NUL-terminated) so
 * that they cannot start a line, move a terminal cursor or forge a field.
 * Printable ASCII and valid UTF-8 from U+00A0 up pass unchanged, but `\`
 * is always written \\. Each byte of anything else becomes \xHH: C0 and
 * C1 controls, DEL, ESC, NUL, invalid or overlong UTF-8, surrogates, line
 * separators and bidirectional controls. The output is valid UTF-8.
 * Returns the length written, which stops at a whole escape when out is
 * full. *consumed (when not NULL) gets the number of input bytes covered.
 */
size_t format_escape_bytes(const void *src, size_t len, unsigned flags, char *out, size_t out_size,
			   size_t *consumed);

/* "2009-10-05T06:06:07.492000+0000" (UTC), plus its NUL. */
#define FORMAT_TIMESTAMP_SIZE 32
/* Writes usec since the epoch as RFC 3339 with microseconds and a +0000 offset; returns buf. */
const char *format_timestamp(uint64_t usec, char buf[FORMAT_TIMESTAMP_SIZE]);
/* Same instant as RFC 5424 section 6.2.3 TIMESTAMP: "2009-10-05T06:06:07.492000Z". */
const char *format_timestamp_5424(uint64_t usec, char buf[FORMAT_TIMESTAMP_SIZE]);

/* Room for the longest IPv6 text form (INET6_ADDRSTRLEN) and its NUL. */
#define FORMAT_IP_SIZE 48
/* Writes the address of e in dotted-quad or RFC 5952 form; returns buf. */
const char *format_ip(const struct endpoint *e, char buf[FORMAT_IP_SIZE]);

/* Room for "0xHHHH" and its NUL; cipher names from the table are returned directly. */
#define FORMAT_CIPHER_SIZE 8
/* Returns the IANA name of a cipher suite, or "0xHHHH" written into buf when it has none. */
const char *format_cipher(uint16_t cipher, char buf[FORMAT_CIPHER_SIZE]);

/* A bounded text line; appends past the end are cut and mark the line truncated. */
struct format_line {
	size_t len;
	bool truncated;
	char data[LIMIT_OUTPUT_LINE_BYTES];
};

void format_line_init(struct format_line *line);
/* Appends trusted text (our own names and numbers). */
void format_line_append(struct format_line *line, const char *text);
void format_line_printf(struct format_line *line, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends untrusted bytes through format_escape_bytes(). */
void format_line_append_escaped(struct format_line *line, const void *src, size_t len, unsigned flags);
/*
 * Appends untrusted bytes between double quotes, escaping `"` and `\` too.
 * When the value is cut, the closing quote is still written, so a cut line
 * keeps its fields apart.
 */
void format_line_append_quoted(struct format_line *line, const void *src, size_t len);

/* Returns "true", "false" or "unknown" for the STARTTLS offer, as the JSON's true/false/null. */
const char *format_starttls_offered(const struct session *s);
/* Appends the session's anomaly names, comma-separated, in vocabulary order. */
void format_line_append_anomalies(struct format_line *line, const struct session *s);
/* Appends the rule ids that fired on the session, comma-separated. */
void format_line_append_alert_ids(struct format_line *line, const struct session *s);
/* Appends the escaped mechanisms of the session's auth records, comma-separated. */
void format_line_append_mechanisms(struct format_line *line, const struct session *s, unsigned flags);

#endif
