/*
 * TLS/SSL handshake analyzer for one connection (both directions).
 *
 * It is fed the reassembled bytes of each direction from the first byte of
 * TLS on (the start of the stream on implicit-TLS ports, the byte after the
 * STARTTLS exchange otherwise), fills session->tls, adds anomalies and emits
 * the tls.* events. It never logs and never allocates from a wire length.
 */
#ifndef MAILTAP_TLS_H
#define MAILTAP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/proto.h"

struct session;

/* Shared, read-only after creation: the trust store used for chain checks. */
struct tls_context;

/* Loads the system trust store. Returns NULL on allocation failure. */
struct tls_context *tls_context_new(void);
void tls_context_free(struct tls_context *ctx);

struct tls_parser;

/* The parser writes into s (not owned) and reads ctx (not owned); both must outlive it. */
struct tls_parser *tls_parser_new(struct session *s, const struct tls_context *ctx);
void tls_parser_free(struct tls_parser *p);

/*
 * Feeds len bytes of one direction. Returns 0 while the bytes make sense as
 * TLS, TLS_ERR_NOT_TLS when this direction does not start with a TLS or
 * SSLv2 record (nothing was consumed, so the caller can treat them as clear
 * text), or TLS_ERR_MALFORMED once the direction is beyond repair (later
 * bytes are ignored).
 */
int tls_parser_feed(struct tls_parser *p, enum direction dir, const uint8_t *data, size_t len);
#define TLS_ERR_NOT_TLS (-2)
#define TLS_ERR_MALFORMED (-3)

/* Tells the parser that len bytes of one direction are missing from the capture. */
void tls_parser_gap(struct tls_parser *p, enum direction dir, uint64_t len);
/* True once the handshake is over (or given up): later bytes need not be fed. */
bool tls_parser_is_done(const struct tls_parser *p);
/* Settles end-of-session verdicts (tls_handshake_failed, certificate checks). */
void tls_parser_finish(struct tls_parser *p);

/*
 * Event details (struct event.aux) raised by this analyzer:
 * EVENT_TLS_CLIENT_HELLO and EVENT_TLS_SERVER_HELLO carry the hello count
 * so far (1 for the first, 2 after a HelloRetryRequest); EVENT_TLS_ALERT
 * carries (direction << 16) | (level << 8) | description of that alert;
 * EVENT_TLS_CERTIFICATE carries 0. The details themselves are in session->tls.
 */

/*
 * Classifies the first bytes of a direction: 1 when they start a TLS
 * handshake or alert record or an SSLv2 hello, 0 when they cannot, -1 when
 * more bytes are needed to tell. The SSLv2 hello may be the client's
 * CLIENT-HELLO (type 1) or the server's SERVER-HELLO (type 4).
 */
int tls_detect_record(const uint8_t *data, size_t len);

/* Cipher suite grades: what a negotiated suite means for the session. */
enum tls_cipher_grade {
	TLS_CIPHER_UNKNOWN = 0, /* not in the IANA registry */
	TLS_CIPHER_GOOD,
	TLS_CIPHER_WEAK,     /* 3DES, or CBC with a SHA-1 MAC */
	TLS_CIPHER_INSECURE, /* NULL, EXPORT, anon, RC4, single DES, MD5 MAC */
};

/* Returns the IANA name of a cipher suite ("TLS_AES_128_GCM_SHA256"), or NULL when unassigned. */
const char *tls_cipher_name(uint16_t suite);
enum tls_cipher_grade tls_cipher_grade(uint16_t suite);
/* Returns "good", "weak", "insecure" or "unknown". */
const char *tls_cipher_grade_name(enum tls_cipher_grade grade);

/* Returns the RFC 8446/5246 name of an alert ("handshake_failure"), or NULL when unassigned. */
const char *tls_alert_description_name(uint8_t description);
/* Returns "warning" or "fatal", or NULL for any other level. */
const char *tls_alert_level_name(uint8_t level);
/* Returns the name of an SSL 2.0 CIPHER-KIND (24 bits), or NULL when unknown. */
const char *tls_sslv2_cipher_name(uint32_t kind);

struct tls_summary;
#define TLS_CIPHER_NAME_SIZE 16
/*
 * Returns the name of the negotiated cipher: the IANA suite name, the SSL
 * 2.0 kind name for SSLv2, or 0xHHHH (0xHHHHHH for SSLv2) when unnamed;
 * buf receives the fallback.
 */
const char *tls_summary_cipher_name(const struct tls_summary *t, char buf[TLS_CIPHER_NAME_SIZE]);
/* Grades the negotiated cipher; every SSL 2.0 kind is insecure (MD5 MACs, export or single DES). */
enum tls_cipher_grade tls_summary_cipher_grade(const struct tls_summary *t);

/*
 * Copies the server_name of a ClientHello that starts at data and lies
 * whole within len bytes into out (NUL-terminated, size bytes at most).
 * Returns the name's length, or -1 when the bytes are no such hello, it
 * has no name, or the name does not fit.
 */
int tls_peek_sni(const uint8_t *data, size_t len, char *out, size_t size);

#endif
