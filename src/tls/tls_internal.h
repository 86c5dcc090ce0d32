/*
 * Declarations shared by the files of the TLS analyzer and nothing else:
 * wire constants (RFC 8446 and RFC 5246), the parsed view of a hello
 * message, and the entry points of each parsing stage.
 */
#ifndef MAILTAP_TLS_INTERNAL_H
#define MAILTAP_TLS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cursor.h"
#include "tls/tls.h"
#include "tls/tls_cert.h"
#include "tls/tls_summary.h"

/* Record layer, RFC 5246 section 6.2 and RFC 8446 section 5.1. */
#define TLS_RECORD_HEADER_LEN 5u
/* Largest TLSCiphertext fragment: 2^14 plus 2048 bytes of expansion (RFC 5246 6.2.3). */
#define TLS_RECORD_MAX_LEN (16384u + 2048u)
#define TLS_CONTENT_CHANGE_CIPHER_SPEC 20u
#define TLS_CONTENT_ALERT 21u
#define TLS_CONTENT_HANDSHAKE 22u
#define TLS_CONTENT_APPLICATION_DATA 23u
#define TLS_CONTENT_HEARTBEAT 24u

/* Handshake protocol, RFC 8446 section 4. */
#define TLS_HANDSHAKE_HEADER_LEN 4u
#define TLS_HANDSHAKE_CLIENT_HELLO 1u
#define TLS_HANDSHAKE_SERVER_HELLO 2u
#define TLS_HANDSHAKE_CERTIFICATE 11u

/* Extension types (IANA TLS ExtensionType Values). */
#define TLS_EXT_SERVER_NAME 0x0000u
#define TLS_EXT_SUPPORTED_GROUPS 0x000au
#define TLS_EXT_EC_POINT_FORMATS 0x000bu
#define TLS_EXT_SIGNATURE_ALGORITHMS 0x000du
#define TLS_EXT_ALPN 0x0010u
#define TLS_EXT_SUPPORTED_VERSIONS 0x002bu

/* Signalling cipher suite value of RFC 7507 (a client retrying with a lower version). */
#define TLS_FALLBACK_SCSV 0x5600u

/* SSL 2.0 record header and message types (draft-hickman-netscape-ssl-00). */
#define SSLV2_HEADER_LEN 2u
#define SSLV2_MSG_CLIENT_HELLO 1u
#define SSLV2_MSG_CLIENT_MASTER_KEY 2u
#define SSLV2_MSG_SERVER_HELLO 4u

/*
 * One ClientHello as parsed: scalar fields, and sub-cursors over the lists
 * that the fingerprints walk. The cursors point into the message buffer, so
 * they are valid only until the caller of tls_hello_parse_client returns.
 */
struct tls_client_hello {
	uint16_t legacy_version;
	struct cursor ciphers;	     /* cipher_suites contents, 2 bytes each */
	struct cursor extensions;    /* extensions block contents; empty when absent */
	struct cursor groups;	     /* supported_groups list, 2 bytes each */
	struct cursor point_formats; /* ec_point_formats list, 1 byte each */
	struct cursor sig_algs;	     /* signature_algorithms list, 2 bytes each */
	const uint8_t *alpn_first;   /* first ALPN protocol name, NULL when none */
	size_t alpn_first_len;
	bool has_sni;
	bool has_supported_versions;
};

/* One ServerHello (or HelloRetryRequest) as parsed; cursors as above. */
struct tls_server_hello {
	uint16_t legacy_version;
	uint16_t cipher;
	struct cursor extensions;
	uint16_t selected_version; /* supported_versions, 0 when absent */
	bool is_hello_retry_request;
};

/*
 * Parses a ClientHello body (after the 4-byte handshake header) into ch and
 * the client fields of sum. Returns 0, or -1 when the message is malformed;
 * sum may then be partly written, so callers parse into a scratch copy.
 */
int tls_hello_parse_client(const uint8_t *body, size_t len, struct tls_client_hello *ch,
			   struct tls_summary *sum);
/* Parses a ServerHello body into sh and the server fields of sum; as above. */
int tls_hello_parse_server(const uint8_t *body, size_t len, struct tls_server_hello *sh,
			   struct tls_summary *sum);

/* SSL 2.0 CLIENT-HELLO and SERVER-HELLO bodies (from the message type byte on). */
int tls_sslv2_parse_client_hello(const uint8_t *msg, size_t len, struct tls_summary *sum);
int tls_sslv2_parse_server_hello(const uint8_t *msg, size_t len, struct tls_summary *sum);

/* JA3 and JA3S (lowercase hex MD5) and JA4; each writes "" when it cannot compute. */
void tls_fingerprint_ja3(const struct tls_client_hello *ch, char out[33]);
void tls_fingerprint_ja3s(const struct tls_server_hello *sh, char out[33]);
void tls_fingerprint_ja4(const struct tls_client_hello *ch, char out[40]);
/* JA3 and JA4 of a ClientHello, remembered in ctx for the next client with the same lists; ctx may be NULL. */
void tls_fingerprint_client(const struct tls_context *ctx, const struct tls_client_hello *ch, char ja3[33],
			    char ja4[40]);

struct session;

/*
 * Applies a complete message to the session (summary, verdicts, events).
 * The hello functions return 0, or -1 when the message is malformed (the
 * summary is then unchanged). tls_session_server_hello and
 * tls_session_sslv2_record return 1 when nothing after that message can
 * be read in clear (a TLS 1.3 ServerHello, an SSL 2.0 SERVER-HELLO).
 */
int tls_session_client_hello(struct session *s, const struct tls_context *ctx, const uint8_t *body, size_t len,
			     uint16_t record_version);
int tls_session_server_hello(struct session *s, const uint8_t *body, size_t len);
int tls_session_sslv2_record(struct session *s, enum direction dir, const uint8_t *msg, size_t len);
void tls_session_certificate(struct session *s, const struct tls_context *ctx, const uint8_t *body,
			     size_t len);
void tls_session_alert(struct session *s, enum direction dir, uint8_t level, uint8_t description);
/* Records why a verdict was withheld, keeping the first reason given. */
void tls_session_mark_inconclusive(struct session *s, const char *reason);

struct x509_store_st;

/* Shared, read-only after creation. */
/* Certificate verdicts remembered per context: one slot per hash bucket, replaced on collision. */
#define TLS_CERT_CACHE_SLOTS 1024u

struct tls_cert_cache_slot {
	bool used;
	unsigned char key[32]; /* SHA-256 of the Certificate message, the host name and the day checked */
	struct tls_cert_summary *summary; /* owned copy */
};

/*
 * Client fingerprints remembered per context. Real clients send the same
 * cipher and extension lists again and again, and hashing them anew cost
 * about 25,000 instructions per ClientHello. The key is every input that
 * JA3 and JA4 read; a longer key is not remembered.
 */
#define TLS_FINGERPRINT_MEMO_SLOTS 256u
#define TLS_FINGERPRINT_KEY_MAX 1024u

struct tls_fingerprint_memo_slot {
	bool used;
	uint16_t key_len;
	uint8_t key[TLS_FINGERPRINT_KEY_MAX];
	char ja3[33];
	char ja4[40];
};

struct tls_context {
	struct x509_store_st *store; /* owned; loaded on first use, NULL when it could not be */
	bool store_tried;	     /* the load was attempted (under cache_lock) */
	/*
	 * Servers present the same chain to every client, and validating it is
	 * most of a handshake's cost, so verdicts are memoized here. The cache
	 * does not change what any lookup returns; the lock lets worker threads
	 * share it through their const pointers.
	 */
	pthread_mutex_t cache_lock;
	struct tls_cert_cache_slot cache[TLS_CERT_CACHE_SLOTS];
	uint64_t cache_hits;
	uint64_t cache_misses;
	pthread_mutex_t fingerprint_lock; /* guards fingerprints, as cache_lock does the verdicts */
	struct tls_fingerprint_memo_slot fingerprints[TLS_FINGERPRINT_MEMO_SLOTS];
};

/* Inputs of the certificate check besides the message. */
struct tls_cert_check {
	const struct tls_context *ctx; /* may be NULL: then the chain is not checked */
	uint64_t now_usec;	       /* capture time; 0 uses the current time */
	const char *hostname;	       /* not NUL-terminated; NULL when no name is known */
	size_t hostname_len;
};

/*
 * Parses a Certificate message body (TLS 1.2 and earlier, RFC 5246 7.4.2)
 * and checks the chain and the name. Returns a new summary owned by the
 * caller, or NULL when the message is malformed, empty or memory ran out.
 */
struct tls_cert_summary *tls_cert_parse_message(const uint8_t *body, size_t len,
						const struct tls_cert_check *check);
/* Loads the system trust store into ctx; returns 0 or -1. */
int tls_cert_load_store(struct tls_context *ctx);
void tls_cert_free_store(struct tls_context *ctx);

struct tls_cipher_entry {
	uint16_t id;
	const char *name;
	enum tls_cipher_grade grade;
};

/* Generated from the IANA registry by scripts/gen-cipher-table.py, sorted by id. */
extern const struct tls_cipher_entry tls_cipher_table[];
extern const size_t tls_cipher_table_len;

#endif
