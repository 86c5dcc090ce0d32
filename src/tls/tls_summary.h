/*
 * What the TLS analyzer learnt about one connection's handshake: the data
 * behind the session record's "tls" object and the tls.* events.
 * Filled by src/tls, read by the outputs and the rule engine.
 */
#ifndef MAILTAP_TLS_SUMMARY_H
#define MAILTAP_TLS_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/text.h"

#define TLS_SUMMARY_MAX_VERSIONS 16
#define TLS_SUMMARY_MAX_ALPN 8
#define TLS_SUMMARY_ALPN_LEN 32

enum tls_hello_format {
	TLS_HELLO_FORMAT_NONE = 0,
	TLS_HELLO_FORMAT_TLS,
	TLS_HELLO_FORMAT_SSLV2,
};

struct tls_cert_summary; /* defined in tls/tls_cert.h; owned by the tls summary */

struct tls_summary {
	/* ClientHello (the last one when a HelloRetryRequest made the client send two). */
	bool client_hello_seen;
	enum tls_hello_format hello_format;
	uint16_t record_version;
	uint16_t client_legacy_version;
	uint16_t client_versions[TLS_SUMMARY_MAX_VERSIONS]; /* supported_versions, GREASE removed */
	uint8_t client_versions_count;
	uint16_t client_max_version;
	uint16_t client_cipher_count;
	bool fallback_scsv;
	struct wire_text sni;
	char alpn[TLS_SUMMARY_MAX_ALPN][TLS_SUMMARY_ALPN_LEN + 1];
	uint8_t alpn_len[TLS_SUMMARY_MAX_ALPN];
	uint8_t alpn_count;
	char ja3[33];  /* lowercase hex MD5, empty when unknown */
	char ja4[40];
	uint32_t client_hello_count;

	/* ServerHello. */
	bool server_hello_seen;
	bool hello_retry_request_seen;
	uint32_t hello_retry_request_count;
	uint16_t server_legacy_version;
	uint16_t version; /* negotiated: supported_versions when present, else legacy */
	uint16_t cipher; /* IANA suite; 0 means none when version is SSLv2 (see sslv2_cipher) */
	char ja3s[33];
	/* First CIPHER-KIND (24 bits) of an SSL 2.0 SERVER-HELLO; the client picks among the list. */
	uint32_t sslv2_cipher;

	/* First alert seen in clear, either direction. */
	bool alert_seen;
	uint8_t alert_level;
	uint8_t alert_description;
	bool alert_from_server;
	uint32_t alert_count; /* alerts seen in clear, both directions */

	/* Handshake progress. */
	bool handshake_complete;
	bool certificate_not_observable; /* TLS 1.3: the Certificate message is encrypted */
	struct tls_cert_summary *cert;	 /* leaf certificate; NULL when not seen */
	/* Handshake messages over LIMIT_TLS_HANDSHAKE_BYTES, skipped unparsed. */
	uint32_t oversized_messages;
};

#endif
