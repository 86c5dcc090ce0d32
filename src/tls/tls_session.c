/*
 * Session effects of each complete hello, certificate or alert: the
 * summary fields, the verdicts (anomalies) and the tls.* events. The
 * record layer in tls.c calls these once a message is whole. Every hello
 * is parsed into a scratch copy of the summary, so a malformed one leaves
 * no partial claim behind.
 */
#include "core/cursor.h"
#include "core/session.h"
#include "tls/tls_internal.h"

void tls_session_mark_inconclusive(struct session *s, const char *reason)
{
	if (s->evidence.inconclusive == NULL)
		s->evidence.inconclusive = reason;
}

/* Flags a version below TLS 1.2; unknown values rank 0 and prove nothing. */
static void tls_session_version_verdict(struct session *s, uint16_t version)
{
	int rank = tls_version_rank(version);

	if (rank > 0 && rank < tls_version_rank(TLS_VERSION_TLS12))
		session_add_anomaly(s, ANOMALY_OBSOLETE_TLS_VERSION);
}

int tls_session_client_hello(struct session *s, const struct tls_context *ctx, const uint8_t *body, size_t len,
			     uint16_t record_version)
{
	struct tls_summary scratch = s->tls;
	struct tls_client_hello ch;

	if (tls_hello_parse_client(body, len, &ch, &scratch) < 0)
		return -1;
	scratch.client_hello_seen = true;
	scratch.hello_format = TLS_HELLO_FORMAT_TLS;
	scratch.record_version = record_version;
	scratch.client_hello_count++;
	tls_fingerprint_client(ctx, &ch, scratch.ja3, scratch.ja4);
	s->tls = scratch;
	tls_session_version_verdict(s, s->tls.client_max_version);
	session_emit(s, EVENT_TLS_CLIENT_HELLO, (int)s->tls.client_hello_count);
	return 0;
}

int tls_session_server_hello(struct session *s, const uint8_t *body, size_t len)
{
	struct tls_summary scratch = s->tls;
	struct tls_server_hello sh;
	enum tls_cipher_grade grade;

	if (tls_hello_parse_server(body, len, &sh, &scratch) < 0)
		return -1;
	if (sh.is_hello_retry_request) {
		/* The client sends a second ClientHello, and the final ServerHello is the one reported. */
		s->tls = scratch;
		return 0;
	}
	tls_fingerprint_ja3s(&sh, scratch.ja3s);
	s->tls = scratch;
	tls_session_version_verdict(s, s->tls.version);
	grade = tls_cipher_grade(s->tls.cipher);
	if (grade == TLS_CIPHER_WEAK || grade == TLS_CIPHER_INSECURE)
		session_add_anomaly(s, ANOMALY_WEAK_CIPHER);

	/* Everything after a TLS 1.3 ServerHello is encrypted, the Certificate included. */
	if (tls_version_rank(s->tls.version) >= tls_version_rank(TLS_VERSION_TLS13))
		s->tls.certificate_not_observable = true;
	session_emit(s, EVENT_TLS_SERVER_HELLO, (int)(s->tls.hello_retry_request_count + 1));
	return s->tls.certificate_not_observable ? 1 : 0;
}

/* Picks the name the certificate must match: SNI, else the SMTP greeting host. */
static void tls_session_pick_hostname(const struct session *s, struct tls_cert_check *check)
{
	const struct wire_text *name = NULL;

	if (wire_text_is_set(&s->tls.sni))
		name = &s->tls.sni;
	else if (app_proto_family(s->app_proto) == MAIL_FAMILY_SMTP && wire_text_is_set(&s->mail.greeting_host))
		name = &s->mail.greeting_host;

	/* A truncated name cannot match, and checking it would report a false mismatch. */
	if (name == NULL || name->truncated)
		return;
	check->hostname = name->data;
	check->hostname_len = name->len;
}

void tls_session_certificate(struct session *s, const struct tls_context *ctx, const uint8_t *body,
			     size_t len)
{
	struct tls_cert_check check = {.ctx = ctx, .now_usec = s->now_usec};
	struct tls_cert_summary *cert;

	/* A Certificate is in clear only after a ServerHello of TLS 1.2 or earlier; the first one is kept. */
	if (s->tls.cert != NULL || !s->tls.server_hello_seen ||
	    tls_version_rank(s->tls.version) >= tls_version_rank(TLS_VERSION_TLS13))
		return;
	tls_session_pick_hostname(s, &check);
	cert = tls_cert_parse_message(body, len, &check);
	if (cert == NULL) {
		tls_session_mark_inconclusive(s, "TLS certificate message not parsable");
		return;
	}
	s->tls.cert = cert;
	if ((cert->chain_checked && !cert->chain_valid) || (cert->hostname_checked && !cert->hostname_valid))
		session_add_anomaly(s, ANOMALY_CERTIFICATE_INVALID);
	session_emit(s, EVENT_TLS_CERTIFICATE, 0);
}

static int tls_session_sslv2_client_hello(struct session *s, const uint8_t *msg, size_t len)
{
	struct tls_summary scratch = s->tls;

	if (tls_sslv2_parse_client_hello(msg, len, &scratch) < 0)
		return -1;
	scratch.client_hello_seen = true;
	scratch.client_hello_count++;
	s->tls = scratch;
	session_add_anomaly(s, ANOMALY_SSLV2_CLIENT_HELLO);
	tls_session_version_verdict(s, s->tls.client_max_version);
	session_emit(s, EVENT_TLS_CLIENT_HELLO, (int)s->tls.client_hello_count);
	return 0;
}

static int tls_session_sslv2_server_hello(struct session *s, const uint8_t *msg, size_t len)
{
	struct tls_summary scratch = s->tls;

	if (tls_sslv2_parse_server_hello(msg, len, &scratch) < 0)
		return -1;
	s->tls = scratch;
	tls_session_version_verdict(s, s->tls.version);

	/* Every SSL 2.0 cipher kind authenticates records with MD5. */
	session_add_anomaly(s, ANOMALY_WEAK_CIPHER);
	session_emit(s, EVENT_TLS_SERVER_HELLO, 1);

	/* Not done yet: the client names the cipher it picked in its CLIENT-MASTER-KEY. */
	return 0;
}

/*
 * Reads the cipher kind the client chose from its CLIENT-MASTER-KEY (SSL 2.0
 * message type 2, sent in clear). Returns 1: the handshake is over for us.
 */
static int tls_session_sslv2_master_key(struct session *s, const uint8_t *msg, size_t len)
{
	struct cursor c;
	uint8_t type;
	uint32_t kind;

	cursor_init(&c, msg, len);
	if (cursor_u8(&c, &type) < 0 || type != SSLV2_MSG_CLIENT_MASTER_KEY || cursor_be24(&c, &kind) < 0)
		return 1;
	s->tls.sslv2_cipher = kind;
	return 1;
}

int tls_session_sslv2_record(struct session *s, enum direction dir, const uint8_t *msg, size_t len)
{
	if (dir == DIR_TO_SERVER && !s->tls.client_hello_seen)
		return tls_session_sslv2_client_hello(s, msg, len);
	if (dir == DIR_TO_CLIENT && !s->tls.server_hello_seen)
		return tls_session_sslv2_server_hello(s, msg, len);
	if (dir == DIR_TO_SERVER && s->tls.server_hello_seen)
		return tls_session_sslv2_master_key(s, msg, len);
	return 0;
}

void tls_session_alert(struct session *s, enum direction dir, uint8_t level, uint8_t description)
{
	struct tls_summary *sum = &s->tls;

	sum->alert_count++;
	if (!sum->alert_seen) {
		sum->alert_seen = true;
		sum->alert_level = level;
		sum->alert_description = description;
		sum->alert_from_server = dir == DIR_TO_CLIENT;
	}
	session_emit(s, EVENT_TLS_ALERT, (int)(((unsigned)dir << 16) | ((unsigned)level << 8) | description));
}
