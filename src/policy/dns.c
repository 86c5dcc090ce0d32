/*
 * DNS message reader: header and question (RFC 1035 sections 4.1.1 and
 * 4.1.2), resource records (section 4.1.3), name compression (section
 * 4.1.4) and TXT character-strings (section 3.3.14).
 *
 * Compression pointers must point before the start of the labels being
 * read, so every jump moves backwards and a name ends after at most as
 * many jumps as the message has bytes; LIMIT_DNS_POINTER_HOPS caps them
 * lower still.
 */
#include "policy/dns.h"

#include <string.h>

#include "core/cursor.h"

#define DNS_LABEL_MAX 63u
#define DNS_POINTER_MASK 0xc0u
#define DNS_RECORD_FIXED_LEN 10u /* type, class, TTL, RDLENGTH */

static const char *const dns_error_names[DNS_ERROR_COUNT] = {
	"ok",
	"truncated_header",
	"question_count",
	"truncated_name",
	"bad_label_type",
	"pointer_loop",
	"name_too_long",
	"truncated_question",
	"truncated_record",
	"rdata_overrun",
	"bad_txt_string",
};

const char *dns_error_name(enum dns_error e)
{
	int index = -(int)e;

	if (index < 0 || index >= DNS_ERROR_COUNT)
		return "unknown";
	return dns_error_names[index];
}

static bool dns_is_plain_byte(uint8_t b)
{
	return (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '-' || b == '_';
}

/* Appends one label of len bytes to out in lower case. */
static int dns_append_label(struct dns_name *out, const uint8_t *label, uint8_t len)
{
	size_t needed = (size_t)len + (out->len > 0 ? 1u : 0u);

	if ((size_t)out->len + needed > DNS_NAME_TEXT_MAX)
		return DNS_ERR_NAME_TOO_LONG;
	if (out->len > 0)
		out->text[out->len++] = '.';
	for (uint8_t i = 0; i < len; i++) {
		uint8_t b = label[i];

		if (b >= 'A' && b <= 'Z')
			b = (uint8_t)(b - 'A' + 'a');
		if (!dns_is_plain_byte(b))
			out->plain = false;

		/* The text is only compared and printed, so bytes outside printable ASCII become '?'. */
		out->text[out->len++] = (b >= 0x21 && b < 0x7f) ? (char)b : '?';
	}
	out->text[out->len] = '\0';
	return DNS_OK;
}

/*
 * Decodes the name at offset. *end receives the offset after the name's
 * bytes at offset itself (after the first pointer when there is one).
 */
static int dns_read_name(const uint8_t *msg, size_t len, size_t offset, struct dns_name *out, size_t *end)
{
	size_t pos = offset;
	size_t segment_start = offset;
	unsigned hops = 0;
	bool jumped = false;

	out->len = 0;
	out->text[0] = '\0';
	out->plain = true;
	for (;;) {
		uint8_t b;
		int rc;

		if (pos >= len)
			return DNS_ERR_TRUNCATED_NAME;
		b = msg[pos];
		if ((b & DNS_POINTER_MASK) == DNS_POINTER_MASK) {
			size_t target;

			if (pos + 1 >= len)
				return DNS_ERR_TRUNCATED_NAME;
			target = ((size_t)(b & 0x3fu) << 8) | msg[pos + 1];

			/* Only a pointer to earlier bytes can never come back to itself. */
			if (target >= segment_start || ++hops > LIMIT_DNS_POINTER_HOPS)
				return DNS_ERR_POINTER_LOOP;
			if (!jumped)
				*end = pos + 2;
			jumped = true;
			pos = target;
			segment_start = target;
			continue;
		}

		/* 0x40 and 0x80 are extended label types, which no name in an answer uses. */
		if ((b & DNS_POINTER_MASK) != 0)
			return DNS_ERR_BAD_LABEL_TYPE;
		if (b == 0) {
			if (!jumped)
				*end = pos + 1;
			return DNS_OK;
		}
		if (b > len - pos - 1)
			return DNS_ERR_TRUNCATED_NAME;
		rc = dns_append_label(out, msg + pos + 1, b);
		if (rc != DNS_OK)
			return rc;
		pos += 1u + b;
	}
}

int dns_read_message(const uint8_t *data, size_t len, struct dns_message *msg)
{
	struct cursor c;
	uint16_t question_count = 0;
	size_t end = 0;
	int rc;

	memset(msg, 0, sizeof(*msg));
	msg->data = data;
	msg->len = len;
	cursor_init(&c, data, len);
	if (cursor_be16(&c, &msg->id) < 0 || cursor_be16(&c, &msg->flags) < 0 ||
	    cursor_be16(&c, &question_count) < 0 || cursor_be16(&c, &msg->answer_count) < 0 ||
	    cursor_skip(&c, 4) < 0)
		return DNS_ERR_TRUNCATED_HEADER;

	/* Every resolver sends one question (RFC 9619 makes it the rule), and the answers are read against it. */
	if (question_count != 1)
		return DNS_ERR_QUESTION_COUNT;

	rc = dns_read_name(data, len, DNS_HEADER_LEN, &msg->question, &end);
	if (rc != DNS_OK)
		return rc;
	cursor_init(&c, data, len);
	if (cursor_skip(&c, end) < 0 || cursor_be16(&c, &msg->question_type) < 0 ||
	    cursor_be16(&c, &msg->question_class) < 0)
		return DNS_ERR_TRUNCATED_QUESTION;
	msg->answers_offset = c.pos;
	return DNS_OK;
}

int dns_read_record(const struct dns_message *msg, size_t *offset, struct dns_record *rec)
{
	struct cursor c;
	size_t end = 0;
	uint16_t rdata_len = 0;
	int rc;

	rc = dns_read_name(msg->data, msg->len, *offset, &rec->owner, &end);
	if (rc != DNS_OK)
		return rc;
	cursor_init(&c, msg->data, msg->len);
	if (cursor_skip(&c, end) < 0 || cursor_be16(&c, &rec->type) < 0 || cursor_be16(&c, &rec->rclass) < 0 ||
	    cursor_be32(&c, &rec->ttl) < 0 || cursor_be16(&c, &rdata_len) < 0)
		return DNS_ERR_TRUNCATED_RECORD;
	rec->rdata_offset = c.pos;
	if (cursor_bytes(&c, rdata_len, &rec->rdata) < 0)
		return DNS_ERR_RDATA_OVERRUN;
	rec->rdata_len = rdata_len;
	*offset = c.pos;
	return DNS_OK;
}

int dns_read_name_at(const struct dns_message *msg, size_t offset, struct dns_name *out)
{
	size_t end = 0;

	return dns_read_name(msg->data, msg->len, offset, out, &end);
}

int dns_join_txt(const struct dns_record *rec, char *out, size_t size, bool *truncated)
{
	struct cursor c;
	size_t n = 0;

	*truncated = false;
	out[0] = '\0';
	cursor_init(&c, rec->rdata, rec->rdata_len);
	while (cursor_remaining(&c) > 0) {
		uint8_t len = 0;
		const uint8_t *text = NULL;
		size_t room;

		if (cursor_u8(&c, &len) < 0 || cursor_bytes(&c, len, &text) < 0)
			return DNS_ERR_BAD_TXT_STRING;
		room = size - 1 - n;
		if (len > room) {
			*truncated = true;
			len = (uint8_t)room;
		}
		memcpy(out + n, text, len);
		n += len;
	}
	out[n] = '\0';
	return (int)n;
}
