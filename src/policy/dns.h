/*
 * DNS message reader (RFC 1035 section 4.1) for what mailtap learns from
 * DNS answers: the header, one question and the answer records, with
 * owner names decompressed (RFC 1035 section 4.1.4). It reads through the
 * bounds-checked cursor, never allocates and keeps no state between
 * messages.
 */
#ifndef MAILTAP_DNS_H
#define MAILTAP_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

#define DNS_PORT 53u
#define DNS_HEADER_LEN 12u
#define DNS_TYPE_CNAME 5u
#define DNS_TYPE_TXT 16u
#define DNS_CLASS_IN 1u
/* A name in dotted text: at most 253 characters (RFC 1035 section 2.3.4 allows 255 octets in wire form). */
#define DNS_NAME_TEXT_MAX 253u

/* Reasons a message could not be read; the caller counts each. */
enum dns_error {
	DNS_OK = 0,
	DNS_ERR_TRUNCATED_HEADER = -1,
	DNS_ERR_QUESTION_COUNT = -2,  /* not exactly one question */
	DNS_ERR_TRUNCATED_NAME = -3,
	DNS_ERR_BAD_LABEL_TYPE = -4,  /* the 0x40 and 0x80 label types of RFC 6891 section 5 are not names */
	DNS_ERR_POINTER_LOOP = -5,    /* a compression pointer that does not point backwards */
	DNS_ERR_NAME_TOO_LONG = -6,
	DNS_ERR_TRUNCATED_QUESTION = -7,
	DNS_ERR_TRUNCATED_RECORD = -8,
	DNS_ERR_RDATA_OVERRUN = -9,   /* RDLENGTH passes the end of the message */
	DNS_ERR_BAD_TXT_STRING = -10, /* a character-string passes the end of its RDATA */
};
#define DNS_ERROR_COUNT 11

/* Returns the snake_case name of an error ("truncated_header"), or "unknown". */
const char *dns_error_name(enum dns_error e);

/* A decoded name: lower-case dotted text without the root's dot. */
struct dns_name {
	char text[DNS_NAME_TEXT_MAX + 1];
	uint16_t len;
	bool plain; /* only letters, digits, '-' and '_' in its labels: usable as a domain */
};

/* The header and question of one message; the reader walks its answers. */
struct dns_message {
	const uint8_t *data; /* the whole message, not owned */
	size_t len;
	uint16_t id;
	uint16_t flags;
	uint16_t answer_count; /* as declared; the reader stops at the message's end or LIMIT_DNS_ANSWERS */
	struct dns_name question;
	uint16_t question_type;
	uint16_t question_class;
	size_t answers_offset; /* first byte of the answer section */
};

#define DNS_FLAG_RESPONSE 0x8000u
#define DNS_FLAG_TRUNCATED 0x0200u
#define DNS_RCODE_MASK 0x000fu

/* One resource record; rdata points into the message. */
struct dns_record {
	struct dns_name owner;
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	const uint8_t *rdata;
	uint16_t rdata_len;
	size_t rdata_offset; /* from the message start, for names inside RDATA */
};

/*
 * Reads the header and the one question of a message of len bytes at data.
 * Returns DNS_OK or a negative enum dns_error.
 */
int dns_read_message(const uint8_t *data, size_t len, struct dns_message *msg);

/*
 * Reads the answer record at *offset and moves *offset past it. Returns
 * DNS_OK or a negative enum dns_error; the caller stops at the first error.
 */
int dns_read_record(const struct dns_message *msg, size_t *offset, struct dns_record *rec);

/* Decodes the name at offset (a CNAME target, say) into out. Returns DNS_OK or a negative enum dns_error. */
int dns_read_name_at(const struct dns_message *msg, size_t offset, struct dns_name *out);

/*
 * Joins the character-strings of TXT RDATA (RFC 1035 section 3.3.14) into
 * out, as RFC 7208 and RFC 8461 read a record. Text past size - 1 bytes is
 * cut and *truncated set. Returns the length written, or DNS_ERR_BAD_TXT_STRING.
 */
int dns_join_txt(const struct dns_record *rec, char *out, size_t size, bool *truncated);

#endif
