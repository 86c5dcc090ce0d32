/*
 * IMAP analyzer (RFC 3501, RFC 9051): greeting and capabilities, STARTTLS,
 * LOGIN, AUTHENTICATE with SASL-IR (RFC 4959), and literals in both
 * directions (RFC 3501 section 4.3, non-synchronising literals of RFC 7888).
 * The analyzer itself is reached through imap_proto_ops() in
 * mail/mail_proto.h. This header exposes the lexical readers it is built on
 * (mail/imap_syntax.c).
 *
 * The readers work on one line without its CR LF, through a cursor. They
 * return 0 and advance the cursor, or IMAP_ERR_MALFORMED and leave the
 * cursor where it was.
 */
#ifndef MAILTAP_IMAP_H
#define MAILTAP_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cursor.h"

#define IMAP_ERR_MALFORMED (-1)

/* Digits accepted in a literal size: 2^64 - 1 has 20. */
#define IMAP_LITERAL_DIGITS_MAX 20u

enum imap_string_kind {
	IMAP_STRING_ATOM = 0,
	IMAP_STRING_QUOTED,
	IMAP_STRING_LITERAL,
};

/* One astring argument (RFC 3501 section 9, "astring"). */
struct imap_string {
	enum imap_string_kind kind;
	/* Atom: its bytes. Quoted: the bytes between the quotes, escapes still in. Literal: NULL. */
	const uint8_t *data;
	size_t len;
	uint64_t literal_size; /* literal: the announced size, untrusted */
	bool literal_sync;     /* literal: "{n}" waits for the server's "+", "{n+}" does not */
};

/* Reads the single SP that separates the parts of a line. */
int imap_read_space(struct cursor *c);
/* Reads a command tag: one or more ASTRING-CHARs other than "+". */
int imap_read_tag(struct cursor *c, const uint8_t **tag, size_t *tag_len);
/* Reads an atom: one or more ATOM-CHARs. */
int imap_read_atom(struct cursor *c, const uint8_t **atom, size_t *atom_len);
/*
 * Reads an astring: an atom (with "]" allowed), a quoted string, or a
 * literal announcement "{n}" / "{n+}", which must end the line.
 */
int imap_read_astring(struct cursor *c, struct imap_string *out);
/*
 * Copies a quoted string's inside to out without its backslash escapes.
 * Writes at most cap bytes and returns the unescaped length, which is
 * larger than cap when the copy was cut.
 */
size_t imap_unquote(const uint8_t *p, size_t len, uint8_t *out, size_t cap);
/*
 * True when the line ends with a literal announcement ("{n}", "{n+}" or the
 * "~{n}" of RFC 3516), which means the next *size bytes of the stream are
 * the literal's data.
 */
bool imap_line_literal(const uint8_t *p, size_t len, uint64_t *size, bool *sync);

#endif
