/*
 * Escaping and formatting shared by the line outputs. UTF-8 validity
 * follows RFC 3629 section 4: no overlong forms, no surrogates, nothing
 * past U+10FFFF. Timestamps follow RFC 3339 section 5.6 and RFC 5424
 * section 6.2.3. IPv6 text follows RFC 5952, written as inet_ntop(3) writes it.
 */
#include "output/format.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/decimal.h"
#include "core/session.h"
#include "tls/tls.h"

/*
 * Decodes the UTF-8 sequence at p. Returns its length (2 to 4) with the
 * code point in *cp, or 0 when the bytes are not a valid multi-byte sequence.
 */
static size_t format_utf8_decode(const uint8_t *p, size_t avail, uint32_t *cp)
{
	uint8_t b = p[0];
	size_t n;
	uint32_t value;

	if (b >= 0xc2 && b <= 0xdf) {
		n = 2;
		value = b & 0x1fu;
	} else if (b >= 0xe0 && b <= 0xef) {
		n = 3;
		value = b & 0x0fu;
	} else if (b >= 0xf0 && b <= 0xf4) {
		n = 4;
		value = b & 0x07u;
	} else {
		return 0;
	}
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		value = (value << 6) | (p[i] & 0x3fu);
	}

	/* Overlong forms and surrogates would let a decoder see other characters than we checked. */
	if ((n == 3 && value < 0x800) || (n == 4 && (value < 0x10000 || value > 0x10ffff)))
		return 0;
	if (value >= 0xd800 && value <= 0xdfff)
		return 0;
	*cp = value;
	return n;
}

/* True for code points a terminal or log viewer treats as control: C1, line separators, bidi overrides. */
static bool format_is_unsafe_code_point(uint32_t cp)
{
	if (cp < 0xa0)
		return true;
	if (cp == 0x2028 || cp == 0x2029 || cp == 0x200e || cp == 0x200f)
		return true;
	return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Writes the escaped form of the item at p[0..avail) to esc; returns its input length. */
static size_t format_escape_one(const uint8_t *p, size_t avail, unsigned flags, char esc[8], size_t *esc_len)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b = p[0];
	uint32_t cp;
	size_t seq;

	if (b >= 0x20 && b < 0x7f) {
		bool quote = (flags & (FORMAT_ESCAPE_QUOTES | FORMAT_ESCAPE_SD_PARAM)) && b == '"';
		bool bracket = (flags & FORMAT_ESCAPE_SD_PARAM) && b == ']';

		/* A backslash is always doubled, so a literal "\\x1b" on the wire cannot pass for an escape. */
		*esc_len = 0;
		if (quote || bracket || b == '\\')
			esc[(*esc_len)++] = '\\';
		esc[(*esc_len)++] = (char)b;
		return 1;
	}
	seq = b >= 0x80 ? format_utf8_decode(p, avail, &cp) : 0;
	if (seq > 0 && !format_is_unsafe_code_point(cp)) {
		memcpy(esc, p, seq);
		*esc_len = seq;
		return seq;
	}
	esc[0] = '\\';
	esc[1] = 'x';
	esc[2] = hex[b >> 4];
	esc[3] = hex[b & 0x0f];
	*esc_len = 4;
	return 1;
}

size_t format_escape_bytes(const void *src, size_t len, unsigned flags, char *out, size_t out_size,
			   size_t *consumed)
{
	const uint8_t *p = src;
	size_t o = 0;
	size_t i = 0;

	while (i < len) {
		char esc[8];
		size_t esc_len;
		size_t step = format_escape_one(p + i, len - i, flags, esc, &esc_len);

		if (o + esc_len >= out_size)
			break;
		memcpy(out + o, esc, esc_len);
		o += esc_len;
		i += step;
	}
	if (out_size > 0)
		out[o] = '\0';
	if (consumed != NULL)
		*consumed = i;
	return o;
}

/* The last microsecond of 9999-12-31: RFC 3339 has four-digit years only. */
#define FORMAT_MAX_USEC 253402300799999999ull

/* Length of "YYYY-MM-DDTHH:MM:SS", the part of a timestamp that changes once a second. */
#define FORMAT_SECONDS_LEN 19

/*
 * The last second formatted by this thread. Records come in bursts within
 * one second of packet time, and gmtime_r() was most of a timestamp's cost.
 */
static _Thread_local time_t format_cached_secs = -1;
static _Thread_local char format_cached_text[FORMAT_SECONDS_LEN];

/* Writes the date and time to the second, then the fraction; suffix is "+0000" or "Z". */
static const char *format_timestamp_with(uint64_t usec, const char *suffix, char buf[FORMAT_TIMESTAMP_SIZE])
{
	time_t secs;
	unsigned frac;
	struct tm tm;

	/* Later times (a forged certificate date) are clamped so the year keeps four digits. */
	if (usec > FORMAT_MAX_USEC)
		usec = FORMAT_MAX_USEC;
	secs = (time_t)(usec / 1000000u);
	frac = (unsigned)(usec % 1000000u);
	if (secs != format_cached_secs) {
		if (gmtime_r(&secs, &tm) == NULL) {
			snprintf(buf, FORMAT_TIMESTAMP_SIZE, "1970-01-01T00:00:00.000000%s", suffix);
			return buf;
		}

		/* gmtime_r keeps every field in range, and the clamp above keeps the year at four digits. */
		decimal_padded((uint64_t)tm.tm_year + 1900, 4, format_cached_text);
		format_cached_text[4] = '-';
		decimal_padded((uint64_t)tm.tm_mon + 1, 2, format_cached_text + 5);
		format_cached_text[7] = '-';
		decimal_padded((uint64_t)tm.tm_mday, 2, format_cached_text + 8);
		format_cached_text[10] = 'T';
		decimal_padded((uint64_t)tm.tm_hour, 2, format_cached_text + 11);
		format_cached_text[13] = ':';
		decimal_padded((uint64_t)tm.tm_min, 2, format_cached_text + 14);
		format_cached_text[16] = ':';
		decimal_padded((uint64_t)tm.tm_sec, 2, format_cached_text + 17);
		format_cached_secs = secs;
	}
	memcpy(buf, format_cached_text, FORMAT_SECONDS_LEN);
	buf[19] = '.';
	decimal_padded(frac, 6, buf + 20);
	memcpy(buf + 26, suffix, strlen(suffix) + 1);
	return buf;
}

const char *format_timestamp(uint64_t usec, char buf[FORMAT_TIMESTAMP_SIZE])
{
	return format_timestamp_with(usec, "+0000", buf);
}

const char *format_timestamp_5424(uint64_t usec, char buf[FORMAT_TIMESTAMP_SIZE])
{
	return format_timestamp_with(usec, "Z", buf);
}

/* Writes a dotted quad; glibc's inet_ntop() formats IPv4 through sprintf(). */
static void format_ipv4(const uint8_t addr[4], char buf[FORMAT_IP_SIZE])
{
	size_t o = 0;

	for (int i = 0; i < 4; i++) {
		if (i > 0)
			buf[o++] = '.';
		o += decimal_u64(addr[i], buf + o);
	}
	buf[o] = '\0';
}

/*
 * Writes an IPv6 address as glibc's inet_ntop() does (RFC 5952 text:
 * lowercase hex without leading zeros, the first longest run of two or
 * more zero groups as "::"), including its dotted form for IPv4-mapped and
 * IPv4-compatible addresses. inet_ntop() formats every group with
 * sprintf(), a visible cost when each record contains two addresses.
 */
static void format_ipv6(const uint8_t addr[16], char buf[FORMAT_IP_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	uint16_t words[8];
	int best_base = -1;
	int best_len = 0;
	size_t o = 0;

	for (int i = 0; i < 8; i++)
		words[i] = (uint16_t)(addr[2 * i] << 8 | addr[2 * i + 1]);
	for (int i = 0; i < 8;) {
		int len = 0;

		while (i + len < 8 && words[i + len] == 0)
			len++;
		if (len > best_len) {
			best_base = i;
			best_len = len;
		}
		i += len > 0 ? len : 1;
	}
	if (best_len < 2)
		best_base = -1;

	for (int i = 0; i < 8; i++) {
		if (best_base >= 0 && i >= best_base && i < best_base + best_len) {
			if (i == best_base)
				buf[o++] = ':';
			continue;
		}
		if (i > 0)
			buf[o++] = ':';
		/* The rule of inet_ntop(): an address of zeros then one IPv4 address ends in dotted form. */
		if (i == 6 && best_base == 0 &&
		    (best_len == 6 || (best_len == 7 && words[7] != 0x0001) || (best_len == 5 && words[5] == 0xffff))) {
			format_ipv4(addr + 12, buf + o);
			return;
		}
		for (int shift = 12, started = 0; shift >= 0; shift -= 4) {
			unsigned nibble = (unsigned)(words[i] >> shift) & 0x0fu;

			if (nibble != 0 || started || shift == 0) {
				buf[o++] = hex[nibble];
				started = 1;
			}
		}
	}
	if (best_base >= 0 && best_base + best_len == 8)
		buf[o++] = ':';
	buf[o] = '\0';
}

const char *format_ip(const struct endpoint *e, char buf[FORMAT_IP_SIZE])
{
	if (e->family == 6)
		format_ipv6(e->addr, buf);
	else
		format_ipv4(e->addr, buf);
	return buf;
}

const char *format_cipher(uint16_t cipher, char buf[FORMAT_CIPHER_SIZE])
{
	const char *name = tls_cipher_name(cipher);

	if (name != NULL)
		return name;
	snprintf(buf, FORMAT_CIPHER_SIZE, "0x%04X", cipher);
	return buf;
}

void format_line_init(struct format_line *line)
{
	line->len = 0;
	line->truncated = false;
	line->data[0] = '\0';
}

void format_line_append(struct format_line *line, const char *text)
{
	size_t room = sizeof(line->data) - 1 - line->len;
	size_t n = strlen(text);

	if (n > room) {
		n = room;
		line->truncated = true;
	}
	memcpy(line->data + line->len, text, n);
	line->len += n;
	line->data[line->len] = '\0';
}

void format_line_printf(struct format_line *line, const char *fmt, ...)
{
	size_t room = sizeof(line->data) - line->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line->data + line->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		line->data[line->len] = '\0';
		line->truncated = true;
		return;
	}
	if ((size_t)n >= room) {
		line->len = sizeof(line->data) - 1;
		line->truncated = true;
		return;
	}
	line->len += (size_t)n;
}

void format_line_append_escaped(struct format_line *line, const void *src, size_t len, unsigned flags)
{
	size_t consumed = 0;

	line->len += format_escape_bytes(src, len, flags, line->data + line->len, sizeof(line->data) - line->len,
					 &consumed);
	if (consumed < len)
		line->truncated = true;
}

void format_line_append_quoted(struct format_line *line, const void *src, size_t len)
{
	size_t room = sizeof(line->data) - line->len;
	size_t consumed = 0;

	/* Both quotes and the NUL need room, or the value is left out whole. */
	if (room < 3) {
		line->truncated = true;
		return;
	}
	line->data[line->len++] = '"';
	line->len += format_escape_bytes(src, len, FORMAT_ESCAPE_QUOTES, line->data + line->len, room - 2, &consumed);
	line->data[line->len++] = '"';
	line->data[line->len] = '\0';
	if (consumed < len)
		line->truncated = true;
}

const char *format_starttls_offered(const struct session *s)
{
	switch (s->mail.starttls.offered) {
	case TRISTATE_TRUE: return "true";
	case TRISTATE_FALSE: return "false";
	case TRISTATE_UNKNOWN: break;
	}
	return "unknown";
}

void format_line_append_anomalies(struct format_line *line, const struct session *s)
{
	const char *sep = "";

	for (int a = 0; a < ANOMALY_COUNT; a++) {
		if (!session_has_anomaly(s, (enum anomaly)a))
			continue;
		format_line_append(line, sep);
		format_line_append(line, anomaly_name((enum anomaly)a));
		sep = ",";
	}
}

void format_line_append_alert_ids(struct format_line *line, const struct session *s)
{
	unsigned count = s->alert_count < SESSION_MAX_ALERTS ? s->alert_count : SESSION_MAX_ALERTS;

	for (unsigned i = 0; i < count; i++)
		format_line_printf(line, "%s%u", i > 0 ? "," : "", (unsigned)s->alerts[i]);
}

void format_line_append_mechanisms(struct format_line *line, const struct session *s, unsigned flags)
{
	for (uint32_t i = 0; i < s->mail.auth_count && s->mail.auth != NULL; i++) {
		const struct auth_record *r = &s->mail.auth[i];

		if (i > 0)
			format_line_append(line, ",");
		format_line_append_escaped(line, r->mechanism, strnlen(r->mechanism, sizeof(r->mechanism)), flags);
	}
}
