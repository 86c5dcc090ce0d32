/*
 * SMTP and submission analyzer (RFC 5321, STARTTLS RFC 3207, AUTH RFC 4954,
 * PIPELINING RFC 2920, CHUNKING RFC 3030, REQUIRETLS RFC 8689). The
 * dispatcher reaches it through smtp_proto_ops() (declared in mail_proto.h).
 */
#ifndef MAILTAP_SMTP_H
#define MAILTAP_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mail/mail_proto.h"

/* One line of a server reply (RFC 5321 section 4.2). */
struct smtp_reply_line {
	uint16_t code;
	bool last;	     /* "250 x" ends the reply; "250-x" continues it */
	const uint8_t *text; /* after the code and its separator; points into the line */
	size_t text_len;
};

/* Parses "DDD", "DDD text" or "DDD-text". Returns 0, or -1 when the line is not a reply line. */
int smtp_parse_reply_line(const uint8_t *p, size_t len, struct smtp_reply_line *out);

/* Parses the chunk size and LAST flag of "BDAT size [LAST]" arguments. Returns 0 or -1. */
int smtp_parse_bdat(const uint8_t *args, size_t len, uint64_t *size, bool *last);

#endif
