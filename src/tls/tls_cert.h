/*
 * Leaf certificate facts, parsed with OpenSSL's libcrypto from the
 * Certificate handshake message (TLS 1.2 and earlier).
 */
#ifndef MAILTAP_TLS_CERT_H
#define MAILTAP_TLS_CERT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/text.h"

struct tls_cert_summary {
	struct wire_text subject; /* RFC 2253 form */
	struct wire_text issuer;
	struct wire_text serial;  /* hex */
	uint64_t not_before;	  /* seconds since the epoch */
	uint64_t not_after;
	char key_type[16];	  /* "RSA", "EC", "DSA", "Ed25519", ... */
	uint32_t key_bits;
	char signature_algorithm[48];
	char sha256[65];	  /* lowercase hex of the DER */
	bool self_signed;
	uint32_t chain_length;	  /* certificates in the message */
	/* Chain validation against the system store at the capture's time. */
	bool chain_checked;
	bool chain_valid;
	char chain_error[64];	  /* OpenSSL's reason when invalid */
	bool hostname_checked;
	bool hostname_valid;
	struct wire_text hostname; /* the name checked: SNI, or the SMTP greeting host */
};

void tls_cert_summary_free(struct tls_cert_summary *cert);

#endif
