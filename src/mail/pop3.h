/*
 * POP3 analyzer (RFC 1939, CAPA and PIPELINING of RFC 2449, STLS of RFC
 * 2595, AUTH of RFC 5034). The analyzer is reached through pop3_proto_ops()
 * in mail/mail_proto.h. This header exposes the APOP readers it uses.
 */
#ifndef MAILTAP_POP3_H
#define MAILTAP_POP3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Hex digits of an APOP digest: an MD5 value (RFC 1939 section 7). */
#define POP3_APOP_DIGEST_LEN 32u

/*
 * Finds the APOP timestamp, a msg-id such as "<1896.697170952@dbc.mtview.ca.us>",
 * in the text of a +OK greeting. Stores its bounds, brackets included.
 */
bool pop3_find_apop_timestamp(const uint8_t *p, size_t len, const uint8_t **ts, size_t *ts_len);

/*
 * Splits the arguments of "APOP name digest" into the name and the digest.
 * Returns 0, or -1 when a word is missing or the digest is not 32 hex
 * digits. The words found are stored either way, and a missing one is NULL.
 */
int pop3_parse_apop(const uint8_t *p, size_t len, const uint8_t **name, size_t *name_len,
		    const uint8_t **digest, size_t *digest_len);

#endif
