/* Application protocol names and TLS version names. */
#include "core/proto.h"

#include <stdio.h>
#include <string.h>

static const char *const app_proto_names[APP_PROTO_COUNT] = {
	[APP_PROTO_UNKNOWN] = NULL,	    [APP_PROTO_SMTP] = "smtp",	 [APP_PROTO_SUBMISSION] = "submission",
	[APP_PROTO_SMTPS] = "smtps",	    [APP_PROTO_POP3] = "pop3",	 [APP_PROTO_POP3S] = "pop3s",
	[APP_PROTO_IMAP] = "imap",	    [APP_PROTO_IMAPS] = "imaps", [APP_PROTO_TLS] = "tls",
};

const char *app_proto_name(enum app_proto proto)
{
	if ((unsigned)proto >= APP_PROTO_COUNT)
		return NULL;
	return app_proto_names[proto];
}

enum app_proto app_proto_from_name(const char *name)
{
	for (int i = 1; i < APP_PROTO_COUNT; i++) {
		if (strcmp(app_proto_names[i], name) == 0)
			return (enum app_proto)i;
	}
	return APP_PROTO_UNKNOWN;
}

enum mail_family app_proto_family(enum app_proto proto)
{
	switch (proto) {
	case APP_PROTO_SMTP:
	case APP_PROTO_SUBMISSION:
	case APP_PROTO_SMTPS:
		return MAIL_FAMILY_SMTP;
	case APP_PROTO_POP3:
	case APP_PROTO_POP3S:
		return MAIL_FAMILY_POP3;
	case APP_PROTO_IMAP:
	case APP_PROTO_IMAPS:
		return MAIL_FAMILY_IMAP;
	default:
		return MAIL_FAMILY_NONE;
	}
}

bool app_proto_is_implicit_tls(enum app_proto proto)
{
	return proto == APP_PROTO_SMTPS || proto == APP_PROTO_POP3S || proto == APP_PROTO_IMAPS ||
	       proto == APP_PROTO_TLS;
}

const char *tls_version_name(uint16_t version, char buf[TLS_VERSION_NAME_SIZE])
{
	const char *name = NULL;

	switch (version) {
	case TLS_VERSION_SSL2: name = "SSLv2"; break;
	case TLS_VERSION_SSL3: name = "SSLv3"; break;
	case TLS_VERSION_TLS10: name = "TLSv1.0"; break;
	case TLS_VERSION_TLS11: name = "TLSv1.1"; break;
	case TLS_VERSION_TLS12: name = "TLSv1.2"; break;
	case TLS_VERSION_TLS13: name = "TLSv1.3"; break;
	default: break;
	}
	/* Copied by hand: this runs for every version in every record, and snprintf was a visible cost. */
	if (name != NULL) {
		memcpy(buf, name, strlen(name) + 1);
	} else {
		static const char hex[] = "0123456789ABCDEF";

		buf[0] = '0';
		buf[1] = 'x';
		for (int i = 0; i < 4; i++)
			buf[2 + i] = hex[(version >> (12 - 4 * i)) & 0x0f];
		buf[6] = '\0';
	}
	return buf;
}

int tls_version_from_name(const char *name, uint16_t *version)
{
	static const struct {
		const char *name;
		uint16_t version;
	} names[] = {
		{"SSLv2", TLS_VERSION_SSL2},   {"SSLv3", TLS_VERSION_SSL3},   {"TLSv1.0", TLS_VERSION_TLS10},
		{"TLSv1.1", TLS_VERSION_TLS11}, {"TLSv1.2", TLS_VERSION_TLS12}, {"TLSv1.3", TLS_VERSION_TLS13},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(names[i].name, name) == 0) {
			*version = names[i].version;
			return 0;
		}
	}
	if (strlen(name) == 6 && name[0] == '0' && (name[1] == 'x' || name[1] == 'X')) {
		unsigned value = 0;

		for (int i = 2; i < 6; i++) {
			char ch = name[i];
			unsigned digit;

			if (ch >= '0' && ch <= '9')
				digit = (unsigned)(ch - '0');
			else if (ch >= 'a' && ch <= 'f')
				digit = (unsigned)(ch - 'a' + 10);
			else if (ch >= 'A' && ch <= 'F')
				digit = (unsigned)(ch - 'A' + 10);
			else
				return -1;
			value = value * 16 + digit;
		}
		*version = (uint16_t)value;
		return 0;
	}
	return -1;
}

int tls_version_rank(uint16_t version)
{
	if (version == TLS_VERSION_SSL2)
		return 1;
	if (version >= TLS_VERSION_SSL3 && version <= TLS_VERSION_TLS13)
		return 2 + (version - TLS_VERSION_SSL3);
	/* TLS 1.3 drafts are 0x7f00 + draft number. */
	if ((version & 0xff00u) == 0x7f00u)
		return 2 + (TLS_VERSION_TLS13 - TLS_VERSION_SSL3);
	return 0;
}

bool tls_is_grease(uint16_t value)
{
	return (value & 0x0f0fu) == 0x0a0au && (value >> 8) == (value & 0xffu);
}
