/*
 * Application protocols on mail ports, and the TLS version names shared by
 * every output.
 */
#ifndef MAILTAP_PROTO_H
#define MAILTAP_PROTO_H

#include <stdbool.h>
#include <stdint.h>

enum direction {
	DIR_TO_SERVER = 0, /* bytes sent by the client */
	DIR_TO_CLIENT = 1, /* bytes sent by the server */
};

enum app_proto {
	APP_PROTO_UNKNOWN = 0,
	APP_PROTO_SMTP,
	APP_PROTO_SUBMISSION,
	APP_PROTO_SMTPS,
	APP_PROTO_POP3,
	APP_PROTO_POP3S,
	APP_PROTO_IMAP,
	APP_PROTO_IMAPS,
	/* TLS on a port the operator mapped with --ports tls=PORT (not a mail protocol). */
	APP_PROTO_TLS,
	APP_PROTO_COUNT
};

/* The mail protocol spoken on a port, whether in clear or inside implicit TLS. */
enum mail_family {
	MAIL_FAMILY_NONE = 0,
	MAIL_FAMILY_SMTP,
	MAIL_FAMILY_POP3,
	MAIL_FAMILY_IMAP,
};

/* Returns the contract name ("smtp", "imaps", ...) or NULL for APP_PROTO_UNKNOWN. */
const char *app_proto_name(enum app_proto proto);
/* Parses a contract name; returns APP_PROTO_UNKNOWN when it is not one. */
enum app_proto app_proto_from_name(const char *name);
enum mail_family app_proto_family(enum app_proto proto);
/* True for the ports where TLS starts at the first byte (465, 993, 995, tls). */
bool app_proto_is_implicit_tls(enum app_proto proto);

#define TLS_VERSION_SSL2 0x0002u
#define TLS_VERSION_SSL3 0x0300u
#define TLS_VERSION_TLS10 0x0301u
#define TLS_VERSION_TLS11 0x0302u
#define TLS_VERSION_TLS12 0x0303u
#define TLS_VERSION_TLS13 0x0304u

/* Room for the longest version name, "0xHHHH", and its NUL. */
#define TLS_VERSION_NAME_SIZE 8

/*
 * Writes the contract name of a wire version: SSLv2, SSLv3, TLSv1.0 to
 * TLSv1.3, or 0xHHHH for anything else (drafts, GREASE, garbage).
 * Returns buf.
 */
const char *tls_version_name(uint16_t version, char buf[TLS_VERSION_NAME_SIZE]);
/* Parses a name written by tls_version_name(); returns -1 when it is not one. */
int tls_version_from_name(const char *name, uint16_t *version);
/*
 * Orders versions in protocol order (SSLv2 < SSLv3 < TLSv1.0 < ... <
 * TLSv1.3). TLS 1.3 drafts (0x7fNN) rank as TLS 1.3; unknown values rank 0.
 */
int tls_version_rank(uint16_t version);
/* True for the reserved GREASE values of RFC 8701 (0x0A0A, 0x1A1A, ...). */
bool tls_is_grease(uint16_t value);

#endif
