/*
 * Typed event fields: the names a rule may use in its condition and its
 * message, per event type, with the code that reads each one from a
 * struct event (its session and aux). The table is the single source for
 * rule validation, matching, message rendering and docs/rules.md.
 */
#ifndef MAILTAP_FIELDS_H
#define MAILTAP_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/text.h"

enum field_type {
	FIELD_STRING = 0,
	FIELD_INTEGER,
	FIELD_BOOL,
	FIELD_VERSION,	   /* a TLS version, ordered by tls_version_rank() */
	FIELD_STRING_LIST, /* several strings, e.g. anomalies or auth mechanisms */
};

/* Items a list field can carry: every anomaly name fits, and LIMIT_AUTH_RECORDS does too. */
#define FIELD_LIST_MAX 32
/* Room for a wire string and its NUL, and for the longest rendered address. */
#define FIELD_TEXT_SIZE (WIRE_TEXT_MAX + 1)

struct field_item {
	const char *str; /* not owned: static text or text inside the field value */
	size_t len;
};

/*
 * One field's value for one event. Strings point at static names, into the
 * session, or into buf, so a value is valid while its event is and must not
 * be copied by assignment (the copy's str would still point at the old buf).
 */
struct field_value {
	enum field_type type;
	bool present; /* false when the event does not carry this field */
	const char *str;
	size_t len;
	int64_t integer;
	bool boolean;
	uint16_t version;
	struct field_item items[FIELD_LIST_MAX];
	unsigned item_count;
	char buf[FIELD_TEXT_SIZE]; /* NUL-terminated copy of a wire string or a rendered name */
};

typedef void (*field_read_fn)(const struct event *ev, struct field_value *out);

struct field_def {
	const char *name;
	enum field_type type;
	field_read_fn read;
	/* NULL-terminated list of the only accepted values, or NULL when any string goes. */
	const char *const *values;
	const char *description;
};

/* Looks up a field of an event type; returns NULL when that event has no such field. */
const struct field_def *field_find(enum event_type type, const char *name);
/*
 * Returns the i-th field of an event type (the common fields first), or
 * NULL past the last one. Used to list accepted names and to write docs.
 */
const struct field_def *field_at(enum event_type type, unsigned i);
/* Reads a field from an event into out (which it resets first). */
void field_read(const struct field_def *def, const struct event *ev, struct field_value *out);
/*
 * Writes a value as text for a message: strings with control bytes, DEL and
 * backslash as \xHH, lists joined with ",", absent values as "-". Returns
 * the length written; buf is always NUL-terminated when size > 0. The text
 * stops before the first byte or escape that does not fit, and *cut (when
 * not NULL) reports whether that happened.
 */
size_t field_format(const struct field_value *v, char *buf, size_t size, bool *cut);
/* Returns "string", "integer", "bool", "version" or "string list". */
const char *field_type_name(enum field_type type);

#endif
