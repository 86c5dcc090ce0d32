/*
 * Transport to a remote syslog collector: UDP with one message per
 * datagram (RFC 5426) or TCP with octet counting (RFC 6587 section 3.4.1).
 * It never blocks the caller: the socket is non-blocking, messages wait in
 * a bounded queue, a lost connection is retried with a doubling delay, and
 * a message that finds the queue full is dropped and counted.
 */
#ifndef MAILTAP_SYSLOG_REMOTE_H
#define MAILTAP_SYSLOG_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum syslog_transport {
	SYSLOG_TRANSPORT_UDP = 0,
	SYSLOG_TRANSPORT_TCP,
};

struct syslog_target {
	enum syslog_transport transport;
	char host[256]; /* name or address, without the brackets of an IPv6 literal */
	char port[8];
};

/*
 * Parses "udp://HOST:PORT" or "tcp://HOST:PORT"; an IPv6 address goes in
 * brackets ("udp://[::1]:514"). Returns 0, or -1 with a message in err.
 */
int syslog_target_parse(const char *url, struct syslog_target *t, char *err, size_t err_size);

struct syslog_remote_limits {
	size_t queue_messages;
	size_t queue_bytes;
	size_t udp_message_bytes; /* longer UDP messages are truncated to this */
	unsigned reconnect_min_ms;
	unsigned reconnect_max_ms;
};

/* Fills l with the LIMIT_SYSLOG_* defaults of core/limits.h. */
void syslog_remote_limits_init(struct syslog_remote_limits *l);

struct syslog_remote_counters {
	uint64_t sent;	  /* messages written whole to the socket */
	uint64_t dropped; /* queue full, UDP send error, or still queued at free */
	uint64_t queued;  /* waiting now */
	uint64_t connects;
};

struct syslog_remote;

/*
 * Resolves the target (the only call that may block, so call it at start-up)
 * and starts connecting. limits may be NULL for the defaults. Returns NULL
 * with a message in err when the URL is invalid or the host does not resolve.
 */
struct syslog_remote *syslog_remote_new(const char *url, const struct syslog_remote_limits *limits, char *err,
					size_t err_size);
/*
 * Queues header followed by msg as one syslog message and sends what the
 * socket takes now. Returns 0 when the message was queued or sent, -1 when
 * it was dropped because the queue is full.
 */
int syslog_remote_send(struct syslog_remote *r, const char *header, size_t header_len, const char *msg,
		       size_t msg_len);
/* Reconnects when the delay has passed and sends queued messages, without blocking. */
void syslog_remote_poll(struct syslog_remote *r);
/*
 * Waits up to timeout_ms for the queue to empty, for shutdown. It stops
 * early when a connection attempt made meanwhile fails.
 */
void syslog_remote_drain(struct syslog_remote *r, unsigned timeout_ms);
void syslog_remote_get_counters(const struct syslog_remote *r, struct syslog_remote_counters *out);
/* Closes the socket; messages still queued count as dropped. */
void syslog_remote_free(struct syslog_remote *r);

#endif
