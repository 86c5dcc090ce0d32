/*
 * Application-layer dispatcher for one mail connection. It routes each
 * direction's reassembled bytes to the SMTP, POP3 or IMAP analyzer, hands a
 * direction to the TLS analyzer at the exact byte where TLS starts (after a
 * STARTTLS exchange, or at once on implicit-TLS ports), and reports when the
 * flow no longer needs its payload.
 */
#ifndef MAILTAP_APP_H
#define MAILTAP_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/proto.h"

struct session;
struct mailtap_config;
struct tls_context;
struct app_analyzer;

/*
 * Creates the analyzer for session->app_proto. s, cfg and tls are not owned
 * and must outlive it. Returns NULL on allocation failure.
 */
struct app_analyzer *app_analyzer_new(struct session *s, const struct mailtap_config *cfg,
				      const struct tls_context *tls);
void app_analyzer_free(struct app_analyzer *a);

/* Feeds in-order bytes of one direction; session->now_usec is the packet time. */
void app_analyzer_data(struct app_analyzer *a, enum direction dir, const uint8_t *data, size_t len);
/* Signals that len bytes of one direction are missing (a reassembly gap). */
void app_analyzer_gap(struct app_analyzer *a, enum direction dir, uint64_t len);
/* True when neither direction needs more bytes, so the flow can be bypassed. */
bool app_analyzer_is_done(const struct app_analyzer *a);
/* Ends the session: settles the verdicts that depend on what never happened. */
void app_analyzer_finish(struct app_analyzer *a);

#endif
