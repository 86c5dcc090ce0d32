/* Names used by the session record for STARTTLS and credential results. */
#include "mail/mail_summary.h"

const char *starttls_result_name(enum starttls_result r)
{
	switch (r) {
	case STARTTLS_RESULT_NONE: return "none";
	case STARTTLS_RESULT_OK: return "ok";
	case STARTTLS_RESULT_REFUSED: return "refused";
	case STARTTLS_RESULT_NO_HANDSHAKE: return "no_handshake";
	case STARTTLS_RESULT_UNKNOWN: return "unknown";
	}
	return "unknown";
}

const char *auth_exposure_name(enum auth_exposure e)
{
	switch (e) {
	case AUTH_EXPOSURE_CLEARTEXT: return "cleartext";
	case AUTH_EXPOSURE_CRACKABLE: return "crackable";
	case AUTH_EXPOSURE_TOKEN: return "token";
	}
	return "cleartext";
}

const char *auth_result_name(enum auth_result r)
{
	switch (r) {
	case AUTH_RESULT_UNKNOWN: return "unknown";
	case AUTH_RESULT_SUCCESS: return "success";
	case AUTH_RESULT_FAILURE: return "failure";
	}
	return "unknown";
}
