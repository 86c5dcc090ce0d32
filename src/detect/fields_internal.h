/*
 * Shared by the field table's source files: value setters and the field
 * groups that fields.c assembles into each event type's list.
 */
#ifndef MAILTAP_FIELDS_INTERNAL_H
#define MAILTAP_FIELDS_INTERNAL_H

#include <string.h>

#include "core/session.h"
#include "detect/fields.h"

/* Each group ends with an entry whose name is NULL. */
extern const struct field_def field_group_common[];
extern const struct field_def field_group_session_mail[];
extern const struct field_def field_group_session_tls[];
extern const struct field_def field_group_auth[];
extern const struct field_def field_group_starttls[];
extern const struct field_def field_group_injection[];
extern const struct field_def field_group_client_hello[];
extern const struct field_def field_group_server_hello[];
extern const struct field_def field_group_alert[];
extern const struct field_def field_group_certificate[];

/* Names every anomaly_name(); the values list of the "anomalies" field. */
extern const char *const field_anomaly_values[];

static inline void field_set_string(struct field_value *out, const char *s)
{
	out->present = true;
	out->str = s;
	out->len = strlen(s);
}

/* Copies len bytes into buf with a NUL, so regexec() and strstr() can read them. */
static inline void field_set_bytes(struct field_value *out, const char *s, size_t len)
{
	if (len >= sizeof(out->buf))
		len = sizeof(out->buf) - 1;
	memcpy(out->buf, s, len);
	out->buf[len] = '\0';
	out->present = true;
	out->str = out->buf;
	out->len = len;
}

/* Returns a wire string's length, capped at its array in case the record is corrupt. */
static inline size_t field_text_len(const struct wire_text *t)
{
	return t->len < WIRE_TEXT_MAX ? t->len : WIRE_TEXT_MAX;
}

/* Sets a wire string; an empty one that was never set stays absent. */
static inline void field_set_text(struct field_value *out, const struct wire_text *t)
{
	if (wire_text_is_set(t))
		field_set_bytes(out, t->data, field_text_len(t));
}

/* Sets a NUL-terminated string held in a fixed array; an empty one stays absent. */
static inline void field_set_array(struct field_value *out, const char *s, size_t size)
{
	size_t len = strnlen(s, size);

	if (len > 0)
		field_set_bytes(out, s, len);
}

static inline void field_set_int(struct field_value *out, int64_t v)
{
	out->present = true;
	out->integer = v;
}

static inline void field_set_bool(struct field_value *out, bool v)
{
	out->present = true;
	out->boolean = v;
}

static inline void field_set_version(struct field_value *out, uint16_t v)
{
	out->present = true;
	out->version = v;
}

/* Appends a list item; past FIELD_LIST_MAX the rest is dropped (no session list is that long). */
static inline void field_add_item(struct field_value *out, const char *s, size_t len)
{
	out->present = true;
	if (out->item_count >= FIELD_LIST_MAX)
		return;
	out->items[out->item_count].str = s;
	out->items[out->item_count].len = len;
	out->item_count++;
}

#endif
