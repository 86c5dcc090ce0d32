/*
 * One TCP connection as the outputs and rules see it: identity, counters,
 * evidence about the capture's completeness, anomalies, and the mail and
 * TLS summaries. The flow table owns it; analyzers fill it in place.
 */
#ifndef MAILTAP_SESSION_H
#define MAILTAP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "core/anomaly.h"
#include "core/event.h"
#include "core/proto.h"
#include "core/text.h"
#include "mail/mail_summary.h"
#include "tls/tls_summary.h"

struct endpoint {
	uint8_t family; /* 4 or 6 */
	uint8_t addr[16]; /* IPv4 uses the first 4 bytes */
	uint16_t port;
};

enum session_end {
	SESSION_END_OPEN = 0, /* still open at the end of input or at shutdown */
	SESSION_END_FIN,
	SESSION_END_RST,
	SESSION_END_TIMEOUT,
	SESSION_END_EVICTED,
};

#define SESSION_MAX_ALERTS 16

/* Server history (src/history) from before this session; set only when it had earlier sessions. */
struct session_history {
	bool known;			/* earlier sessions of this server are in the history */
	uint32_t sessions;		/* earlier sessions of the server (address and port, or host name) */
	uint32_t starttls_offered;	/* of those, sessions whose capability list offered STARTTLS */
	uint32_t starttls_not_offered;	/* of those, sessions whose capability list did not */
	uint32_t apop_offered;		/* sessions of the address and port whose POP3 greeting had an APOP timestamp */
	uint32_t apop_not_offered;	/* sessions of the address and port whose POP3 greeting had none */
	uint16_t best_version;		/* highest TLS version this client and server negotiated before, 0 if none */
	char previous_certificate[65];	/* SHA-256 of the server name's earlier certificate, "" if none */
};

struct session_evidence {
	bool handshake_seen;	 /* the TCP three-way handshake was captured */
	bool midstream;		 /* the flow was picked up without its SYN */
	bool seen[2];		 /* payload or packets seen per direction (enum direction) */
	uint32_t gaps;		 /* missing byte ranges signalled by reassembly */
	uint64_t gap_bytes;
	uint32_t overlap_conflicts;
	/* Set by an analyzer when a verdict was withheld; a short reason, or NULL. */
	const char *inconclusive;
	struct session_history history;
};

/* Caps an analyzer hit in this session; the flow table adds them to the "app" stats. */
struct session_caps {
	uint32_t lines_too_long;	    /* protocol lines cut at the line cap */
	uint32_t literals_over_limit;	    /* IMAP literals or BDAT chunks past the literal cap */
	uint32_t tls_handshakes_unparsable; /* TLS directions given up as not parsable */
};

/*
 * MTA-STS check of an SMTP session against an operator's policy or one
 * learnt from the link (RFC 8461); results use RFC 8460's names.
 */
struct session_mta_sts {
	bool checked;
	char domain[256];	   /* policy domain, lower case */
	char mode[8];		   /* "enforce" or "testing"; "" for a learnt policy, whose mode is not visible */
	const char *result;	   /* "success" or an RFC 8460 result type; static */
	const char *policy_source; /* "operator" (--mta-sts-dir) or "learnt"; static */
	char policy_id[33];	   /* id of the learnt DNS record; "" for operator policies or when unseen */
};

struct session {
	uint64_t flow_id;
	struct endpoint client;
	struct endpoint server;
	enum app_proto app_proto;
	/* Protocol label from nDPI when the flow is not mail (or mail off its port). */
	char detected_protocol[32];

	uint64_t first_ts_usec;
	uint64_t last_ts_usec;
	uint64_t now_usec; /* time of the packet being processed */
	uint64_t packets[2];
	uint64_t bytes[2];	   /* IP payload bytes per direction */
	uint64_t payload_bytes[2]; /* TCP payload bytes per direction */
	enum session_end end;

	struct session_evidence evidence;
	anomaly_set anomalies;
	struct session_caps caps;
	struct session_mta_sts mta_sts;

	struct mail_summary mail;
	struct tls_summary tls;

	uint32_t alerts[SESSION_MAX_ALERTS]; /* rule ids that fired, in order */
	uint8_t alert_count;

	const struct event_sink *sink; /* not owned */
};

static inline void session_add_anomaly(struct session *s, enum anomaly a)
{
	s->anomalies |= (anomaly_set)1u << a;
}

static inline bool session_has_anomaly(const struct session *s, enum anomaly a)
{
	return (s->anomalies >> a) & 1u;
}

/* Raises an event at the current packet time; aux is the per-type detail. */
void session_emit(struct session *s, enum event_type type, int aux);
/* Records a fired rule id once; later ids past the cap are dropped. */
void session_add_alert(struct session *s, uint32_t rule_id);
/* Frees what the summaries own (auth records, certificate) and zeroes them. */
void session_release(struct session *s);

#endif
