/*
 * Rule fields read from the TLS summary: ClientHello and ServerHello
 * (RFC 8446 4.1, RFC 5246 7.4.1), alerts (RFC 8446 6) and the leaf
 * certificate (RFC 5280), plus the tls.* fields of the session event.
 */
#include <stdio.h>
#include <string.h>

#include "core/proto.h"
#include "detect/fields_internal.h"
#include "tls/tls.h"
#include "tls/tls_cert.h"

static const char *const hello_format_values[] = {"tls", "sslv2", NULL};
static const char *const cipher_grade_values[] = {"good", "weak", "insecure", "unknown", NULL};
static const char *const peer_values[] = {"client", "server", NULL};

static const struct tls_summary *event_tls(const struct event *ev)
{
	return &ev->session->tls;
}

static void read_hello_format(const struct event *ev, struct field_value *out)
{
	enum tls_hello_format format = event_tls(ev)->hello_format;

	if (format == TLS_HELLO_FORMAT_TLS)
		field_set_string(out, "tls");
	else if (format == TLS_HELLO_FORMAT_SSLV2)
		field_set_string(out, "sslv2");
}

static void read_client_max_version(const struct event *ev, struct field_value *out)
{
	if (event_tls(ev)->client_hello_seen)
		field_set_version(out, event_tls(ev)->client_max_version);
}

static void read_client_legacy_version(const struct event *ev, struct field_value *out)
{
	if (event_tls(ev)->client_hello_seen)
		field_set_version(out, event_tls(ev)->client_legacy_version);
}

static void read_record_version(const struct event *ev, struct field_value *out)
{
	if (event_tls(ev)->client_hello_seen)
		field_set_version(out, event_tls(ev)->record_version);
}

/* Version names go into buf, one TLS_VERSION_NAME_SIZE slot per item. */
static void read_client_versions(const struct event *ev, struct field_value *out)
{
	const struct tls_summary *tls = event_tls(ev);
	unsigned count = tls->client_versions_count;

	_Static_assert(TLS_SUMMARY_MAX_VERSIONS * TLS_VERSION_NAME_SIZE <= FIELD_TEXT_SIZE,
		       "version names must fit in the value's buffer");
	if (!tls->client_hello_seen)
		return;
	if (count > TLS_SUMMARY_MAX_VERSIONS)
		count = TLS_SUMMARY_MAX_VERSIONS;
	out->present = true;
	for (unsigned i = 0; i < count; i++) {
		char *slot = out->buf + i * TLS_VERSION_NAME_SIZE;

		tls_version_name(tls->client_versions[i], slot);
		field_add_item(out, slot, strlen(slot));
	}
}

static void read_sni(const struct event *ev, struct field_value *out)
{
	field_set_text(out, &event_tls(ev)->sni);
}

static void read_cipher_count(const struct event *ev, struct field_value *out)
{
	if (event_tls(ev)->client_hello_seen)
		field_set_int(out, event_tls(ev)->client_cipher_count);
}

static void read_fallback_scsv(const struct event *ev, struct field_value *out)
{
	if (event_tls(ev)->client_hello_seen)
		field_set_bool(out, event_tls(ev)->fallback_scsv);
}

static void read_alpn(const struct event *ev, struct field_value *out)
{
	const struct tls_summary *tls = event_tls(ev);
	unsigned count = tls->alpn_count;

	if (!tls->client_hello_seen)
		return;
	if (count > TLS_SUMMARY_MAX_ALPN)
		count = TLS_SUMMARY_MAX_ALPN;
	out->present = true;
	for (unsigned i = 0; i < count; i++) {
		size_t len = tls->alpn_len[i];

		if (len > TLS_SUMMARY_ALPN_LEN)
			len = TLS_SUMMARY_ALPN_LEN;
		field_add_item(out, tls->alpn[i], len);
	}
}

static void read_ja3(const struct event *ev, struct field_value *out)
{
	field_set_array(out, event_tls(ev)->ja3, sizeof(event_tls(ev)->ja3));
}

static void read_ja4(const struct event *ev, struct field_value *out)
{
	field_set_array(out, event_tls(ev)->ja4, sizeof(event_tls(ev)->ja4));
}

static void read_version(const struct event *ev, struct field_value *out)
{
	if (event_tls(ev)->server_hello_seen)
		field_set_version(out, event_tls(ev)->version);
}

static void read_server_legacy_version(const struct event *ev, struct field_value *out)
{
	if (event_tls(ev)->server_hello_seen)
		field_set_version(out, event_tls(ev)->server_legacy_version);
}

/* The name of the negotiated suite (IANA, or the SSL 2.0 kind), or its number when unnamed. */
static void read_cipher(const struct event *ev, struct field_value *out)
{
	char buf[TLS_CIPHER_NAME_SIZE];

	if (!event_tls(ev)->server_hello_seen)
		return;
	snprintf(out->buf, sizeof(out->buf), "%s", tls_summary_cipher_name(event_tls(ev), buf));
	field_set_string(out, out->buf);
}

static void read_cipher_grade(const struct event *ev, struct field_value *out)
{
	if (event_tls(ev)->server_hello_seen)
		field_set_string(out, tls_cipher_grade_name(tls_summary_cipher_grade(event_tls(ev))));
}

static void read_ja3s(const struct event *ev, struct field_value *out)
{
	field_set_array(out, event_tls(ev)->ja3s, sizeof(event_tls(ev)->ja3s));
}

static void read_hello_retry_request(const struct event *ev, struct field_value *out)
{
	if (event_tls(ev)->server_hello_seen)
		field_set_bool(out, event_tls(ev)->hello_retry_request_seen);
}

/* Alert names from the TLS registry, or the number when the registry has none. */
static void set_alert_level(struct field_value *out, uint8_t level)
{
	const char *name = tls_alert_level_name(level);

	if (name == NULL) {
		snprintf(out->buf, sizeof(out->buf), "%u", level);
		name = out->buf;
	}
	field_set_string(out, name);
}

static void set_alert_description(struct field_value *out, uint8_t description)
{
	const char *name = tls_alert_description_name(description);

	if (name == NULL) {
		snprintf(out->buf, sizeof(out->buf), "%u", description);
		name = out->buf;
	}
	field_set_string(out, name);
}

/* The session's first clear-text alert. */
static void read_first_alert_level(const struct event *ev, struct field_value *out)
{
	if (event_tls(ev)->alert_seen)
		set_alert_level(out, event_tls(ev)->alert_level);
}

static void read_first_alert_description(const struct event *ev, struct field_value *out)
{
	if (event_tls(ev)->alert_seen)
		set_alert_description(out, event_tls(ev)->alert_description);
}

/* A tls.alert event describes its own alert in aux: (direction << 16) | (level << 8) | description. */
static void read_alert_level(const struct event *ev, struct field_value *out)
{
	set_alert_level(out, (uint8_t)((unsigned)ev->aux >> 8));
}

static void read_alert_description(const struct event *ev, struct field_value *out)
{
	set_alert_description(out, (uint8_t)ev->aux);
}

static void read_alert_source(const struct event *ev, struct field_value *out)
{
	bool from_server = (((unsigned)ev->aux >> 16) & 1u) == DIR_TO_CLIENT;

	field_set_string(out, from_server ? "server" : "client");
}

/* Hello events carry the number of hellos so far: 2 after a HelloRetryRequest. */
static void read_hello_count(const struct event *ev, struct field_value *out)
{
	field_set_int(out, ev->aux);
}

static const struct tls_cert_summary *event_cert(const struct event *ev)
{
	return event_tls(ev)->cert;
}

static void read_cert_subject(const struct event *ev, struct field_value *out)
{
	if (event_cert(ev) != NULL)
		field_set_text(out, &event_cert(ev)->subject);
}

static void read_cert_issuer(const struct event *ev, struct field_value *out)
{
	if (event_cert(ev) != NULL)
		field_set_text(out, &event_cert(ev)->issuer);
}

/* Valid when the chain verified and, if a name was checked, the name matched. */
static void read_cert_valid(const struct event *ev, struct field_value *out)
{
	const struct tls_cert_summary *cert = event_cert(ev);

	if (cert == NULL || (!cert->chain_checked && !cert->hostname_checked))
		return;
	field_set_bool(out, (!cert->chain_checked || cert->chain_valid) &&
				    (!cert->hostname_checked || cert->hostname_valid));
}

static void read_cert_error(const struct event *ev, struct field_value *out)
{
	const struct tls_cert_summary *cert = event_cert(ev);

	if (cert == NULL)
		return;
	if (cert->chain_checked && !cert->chain_valid && cert->chain_error[0] != '\0')
		field_set_array(out, cert->chain_error, sizeof(cert->chain_error));
	else if (cert->hostname_checked && !cert->hostname_valid)
		field_set_string(out, "hostname mismatch");
}

static void read_cert_chain_valid(const struct event *ev, struct field_value *out)
{
	const struct tls_cert_summary *cert = event_cert(ev);

	if (cert != NULL && cert->chain_checked)
		field_set_bool(out, cert->chain_valid);
}

static void read_cert_hostname_valid(const struct event *ev, struct field_value *out)
{
	const struct tls_cert_summary *cert = event_cert(ev);

	if (cert != NULL && cert->hostname_checked)
		field_set_bool(out, cert->hostname_valid);
}

static void read_cert_hostname(const struct event *ev, struct field_value *out)
{
	if (event_cert(ev) != NULL)
		field_set_text(out, &event_cert(ev)->hostname);
}

static void read_cert_self_signed(const struct event *ev, struct field_value *out)
{
	if (event_cert(ev) != NULL)
		field_set_bool(out, event_cert(ev)->self_signed);
}

static void read_cert_key_type(const struct event *ev, struct field_value *out)
{
	if (event_cert(ev) != NULL)
		field_set_array(out, event_cert(ev)->key_type, sizeof(event_cert(ev)->key_type));
}

static void read_cert_key_bits(const struct event *ev, struct field_value *out)
{
	if (event_cert(ev) != NULL)
		field_set_int(out, event_cert(ev)->key_bits);
}

static void read_cert_signature_algorithm(const struct event *ev, struct field_value *out)
{
	const struct tls_cert_summary *cert = event_cert(ev);

	if (cert != NULL)
		field_set_array(out, cert->signature_algorithm, sizeof(cert->signature_algorithm));
}

static void read_cert_not_before(const struct event *ev, struct field_value *out)
{
	if (event_cert(ev) != NULL)
		field_set_int(out, (int64_t)(event_cert(ev)->not_before & (uint64_t)INT64_MAX));
}

static void read_cert_not_after(const struct event *ev, struct field_value *out)
{
	if (event_cert(ev) != NULL)
		field_set_int(out, (int64_t)(event_cert(ev)->not_after & (uint64_t)INT64_MAX));
}

static void read_cert_sha256(const struct event *ev, struct field_value *out)
{
	if (event_cert(ev) != NULL)
		field_set_array(out, event_cert(ev)->sha256, sizeof(event_cert(ev)->sha256));
}

static void read_cert_not_observable(const struct event *ev, struct field_value *out)
{
	if (event_tls(ev)->server_hello_seen)
		field_set_bool(out, event_tls(ev)->certificate_not_observable);
}

const struct field_def field_group_session_tls[] = {
	{"tls.hello_format", FIELD_STRING, read_hello_format, hello_format_values,
	 "format of the ClientHello"},
	{"tls.client_legacy_version", FIELD_VERSION, read_client_legacy_version, NULL,
	 "legacy_version of the ClientHello"},
	{"tls.client_versions", FIELD_STRING_LIST, read_client_versions, NULL,
	 "supported_versions offered by the client"},
	{"tls.client_max_version", FIELD_VERSION, read_client_max_version, NULL,
	 "client's highest offered version"},
	{"tls.version", FIELD_VERSION, read_version, NULL, "negotiated version"},
	{"tls.cipher", FIELD_STRING, read_cipher, NULL, "negotiated cipher suite (IANA name)"},
	{"tls.cipher_grade", FIELD_STRING, read_cipher_grade, cipher_grade_values,
	 "grade of the negotiated cipher suite"},
	{"tls.sni", FIELD_STRING, read_sni, NULL, "server_name sent by the client"},
	{"tls.alpn", FIELD_STRING_LIST, read_alpn, NULL, "ALPN protocols offered by the client"},
	{"tls.ja3", FIELD_STRING, read_ja3, NULL, "JA3 hash of the ClientHello"},
	{"tls.ja3s", FIELD_STRING, read_ja3s, NULL, "JA3S hash of the ServerHello"},
	{"tls.ja4", FIELD_STRING, read_ja4, NULL, "JA4 fingerprint of the ClientHello"},
	{"tls.alert.level", FIELD_STRING, read_first_alert_level, NULL,
	 "level of the first clear-text alert"},
	{"tls.alert.description", FIELD_STRING, read_first_alert_description, NULL,
	 "description of the first clear-text alert"},
	{"tls.certificate.valid", FIELD_BOOL, read_cert_valid, NULL,
	 "leaf certificate passed the chain and name checks"},
	{NULL, FIELD_STRING, NULL, NULL, NULL},
};

const struct field_def field_group_client_hello[] = {
	{"version", FIELD_VERSION, read_client_max_version, NULL,
	 "client's highest offered version (supported_versions, else legacy_version)"},
	{"legacy_version", FIELD_VERSION, read_client_legacy_version, NULL,
	 "legacy_version of the ClientHello"},
	{"record_version", FIELD_VERSION, read_record_version, NULL, "version of the record layer"},
	{"versions", FIELD_STRING_LIST, read_client_versions, NULL, "supported_versions, GREASE removed"},
	{"hello_format", FIELD_STRING, read_hello_format, hello_format_values,
	 "tls, or sslv2 for an SSL 2.0 style hello"},
	{"sni", FIELD_STRING, read_sni, NULL, "server_name"},
	{"alpn", FIELD_STRING_LIST, read_alpn, NULL, "ALPN protocols"},
	{"cipher_count", FIELD_INTEGER, read_cipher_count, NULL, "cipher suites offered"},
	{"fallback_scsv", FIELD_BOOL, read_fallback_scsv, NULL, "TLS_FALLBACK_SCSV offered (RFC 7507)"},
	{"ja3", FIELD_STRING, read_ja3, NULL, "JA3 hash"},
	{"ja4", FIELD_STRING, read_ja4, NULL, "JA4 fingerprint"},
	{"hello_count", FIELD_INTEGER, read_hello_count, NULL,
	 "ClientHellos so far: 2 after a HelloRetryRequest"},
	{NULL, FIELD_STRING, NULL, NULL, NULL},
};

const struct field_def field_group_server_hello[] = {
	{"version", FIELD_VERSION, read_version, NULL,
	 "negotiated version (supported_versions, else legacy_version)"},
	{"legacy_version", FIELD_VERSION, read_server_legacy_version, NULL,
	 "legacy_version of the ServerHello"},
	{"client_max_version", FIELD_VERSION, read_client_max_version, NULL,
	 "client's highest offered version"},
	{"cipher", FIELD_STRING, read_cipher, NULL, "selected cipher suite (IANA name, or 0xHHHH)"},
	{"cipher_grade", FIELD_STRING, read_cipher_grade, cipher_grade_values,
	 "good, weak (3DES, CBC with SHA-1) or insecure (NULL, EXPORT, anon, RC4, DES, MD5)"},
	{"sni", FIELD_STRING, read_sni, NULL, "server_name sent by the client"},
	{"hello_retry_request", FIELD_BOOL, read_hello_retry_request, NULL,
	 "the server sent a HelloRetryRequest first"},
	{"ja3s", FIELD_STRING, read_ja3s, NULL, "JA3S hash"},
	{"hello_count", FIELD_INTEGER, read_hello_count, NULL,
	 "ServerHellos so far, the HelloRetryRequest included"},
	{NULL, FIELD_STRING, NULL, NULL, NULL},
};

const struct field_def field_group_alert[] = {
	{"level", FIELD_STRING, read_alert_level, NULL, "warning or fatal (or the number)"},
	{"description", FIELD_STRING, read_alert_description, NULL,
	 "alert name, e.g. handshake_failure, protocol_version (or the number)"},
	{"source", FIELD_STRING, read_alert_source, peer_values, "side that sent this alert"},
	{"version", FIELD_VERSION, read_version, NULL, "negotiated version, when a ServerHello was seen"},
	{"client_max_version", FIELD_VERSION, read_client_max_version, NULL,
	 "client's highest offered version"},
	{"sni", FIELD_STRING, read_sni, NULL, "server_name sent by the client"},
	{NULL, FIELD_STRING, NULL, NULL, NULL},
};

const struct field_def field_group_certificate[] = {
	{"subject", FIELD_STRING, read_cert_subject, NULL, "subject (RFC 2253)"},
	{"issuer", FIELD_STRING, read_cert_issuer, NULL, "issuer (RFC 2253)"},
	{"valid", FIELD_BOOL, read_cert_valid, NULL, "passed the chain and name checks"},
	{"error", FIELD_STRING, read_cert_error, NULL,
	 "why it is invalid: OpenSSL's chain error, or \"hostname mismatch\""},
	{"chain_valid", FIELD_BOOL, read_cert_chain_valid, NULL,
	 "chain verified against the system trust store at capture time"},
	{"hostname_valid", FIELD_BOOL, read_cert_hostname_valid, NULL, "name matched hostname"},
	{"hostname", FIELD_STRING, read_cert_hostname, NULL,
	 "name checked: SNI, or the SMTP greeting host"},
	{"self_signed", FIELD_BOOL, read_cert_self_signed, NULL,
	 "the certificate is signed by its own key"},
	{"key_type", FIELD_STRING, read_cert_key_type, NULL, "RSA, EC, DSA, Ed25519, ..."},
	{"key_bits", FIELD_INTEGER, read_cert_key_bits, NULL, "public key size in bits"},
	{"signature_algorithm", FIELD_STRING, read_cert_signature_algorithm, NULL,
	 "signature algorithm name"},
	{"not_before", FIELD_INTEGER, read_cert_not_before, NULL, "start of validity, Unix seconds"},
	{"not_after", FIELD_INTEGER, read_cert_not_after, NULL, "end of validity, Unix seconds"},
	{"sha256", FIELD_STRING, read_cert_sha256, NULL, "SHA-256 of the DER, lowercase hex"},
	{"not_observable", FIELD_BOOL, read_cert_not_observable, NULL,
	 "TLS 1.3: the certificate is encrypted"},
	{"sni", FIELD_STRING, read_sni, NULL, "server_name sent by the client"},
	{NULL, FIELD_STRING, NULL, NULL, NULL},
};
