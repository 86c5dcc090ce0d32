/* Names of the session anomalies. */
#include "core/anomaly.h"

#include <string.h>

static const char *const anomaly_names[ANOMALY_COUNT] = {
	[ANOMALY_CLEARTEXT_CREDENTIALS] = "cleartext_credentials",
	[ANOMALY_CHALLENGE_RESPONSE_AUTH_IN_CLEARTEXT] = "challenge_response_auth_in_cleartext",
	[ANOMALY_BEARER_TOKEN_IN_CLEARTEXT] = "bearer_token_in_cleartext",
	[ANOMALY_STARTTLS_NOT_USED] = "starttls_not_used",
	[ANOMALY_STARTTLS_NOT_OFFERED] = "starttls_not_offered",
	[ANOMALY_STARTTLS_STRIPPED] = "starttls_stripped",
	[ANOMALY_STARTTLS_REFUSED] = "starttls_refused",
	[ANOMALY_PLAINTEXT_AFTER_STARTTLS_FAILURE] = "plaintext_after_starttls_failure",
	[ANOMALY_STARTTLS_COMMAND_INJECTION] = "starttls_command_injection",
	[ANOMALY_STARTTLS_RESPONSE_INJECTION] = "starttls_response_injection",
	[ANOMALY_STARTTLS_NO_HANDSHAKE] = "starttls_no_handshake",
	[ANOMALY_PLAINTEXT_ON_TLS_PORT] = "plaintext_on_tls_port",
	[ANOMALY_OBSOLETE_TLS_VERSION] = "obsolete_tls_version",
	[ANOMALY_SSLV2_CLIENT_HELLO] = "sslv2_client_hello",
	[ANOMALY_WEAK_CIPHER] = "weak_cipher",
	[ANOMALY_TLS_HANDSHAKE_FAILED] = "tls_handshake_failed",
	[ANOMALY_CERTIFICATE_INVALID] = "certificate_invalid",
	[ANOMALY_MID_SESSION_START] = "mid_session_start",
	[ANOMALY_ONE_SIDED_CAPTURE] = "one_sided_capture",
	[ANOMALY_TCP_OVERLAP_CONFLICT] = "tcp_overlap_conflict",
	[ANOMALY_TCP_GAP] = "tcp_gap",
	[ANOMALY_LINE_TOO_LONG] = "line_too_long",
	[ANOMALY_INVALID_BASE64] = "invalid_base64",
	[ANOMALY_NON_MAIL_PROTOCOL] = "non_mail_protocol",
	[ANOMALY_REASSEMBLY_LIMIT] = "reassembly_limit",
	[ANOMALY_TLS_VERSION_REGRESSION] = "tls_version_regression",
	[ANOMALY_CERTIFICATE_CHANGED] = "certificate_changed",
	[ANOMALY_REQUIRETLS_IN_CLEARTEXT] = "requiretls_in_cleartext",
	[ANOMALY_TLS_REQUIRED_NO_IN_CLEARTEXT] = "tls_required_no_in_cleartext",
	[ANOMALY_MTA_STS_POLICY_VIOLATION] = "mta_sts_policy_violation",
	[ANOMALY_APOP_TIMESTAMP_STRIPPED] = "apop_timestamp_stripped",
	[ANOMALY_MTA_STS_LEARNT_POLICY_VIOLATION] = "mta_sts_learnt_policy_violation",
	[ANOMALY_PREAUTH_IN_CLEARTEXT] = "preauth_in_cleartext",
};

_Static_assert(ANOMALY_COUNT <= 64, "anomaly_set is a 64-bit mask");

const char *anomaly_name(enum anomaly a)
{
	if ((unsigned)a >= ANOMALY_COUNT)
		return "unknown";
	return anomaly_names[a];
}

int anomaly_from_name(const char *name, enum anomaly *out)
{
	for (int i = 0; i < ANOMALY_COUNT; i++) {
		if (strcmp(anomaly_names[i], name) == 0) {
			*out = (enum anomaly)i;
			return 0;
		}
	}
	return -1;
}
