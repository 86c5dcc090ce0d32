/*
 * Remote syslog transport. UDP follows RFC 5426 (one message per
 * datagram); TCP follows RFC 6587 section 3.4.1 (octet counting:
 * "MSG-LEN SP SYSLOG-MSG"). The queue holds framed messages; a TCP
 * message cut by a lost connection is sent again whole on the next one.
 */
#include "output/syslog_remote.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/limits.h"

enum remote_state {
	REMOTE_DISCONNECTED = 0, /* no socket; next_attempt_ms is the time of the next try */
	REMOTE_CONNECTING,	 /* TCP connect(2) in progress */
	REMOTE_CONNECTED,
};

struct remote_msg {
	struct remote_msg *next;
	size_t len;
	size_t sent; /* bytes of a TCP frame already written on this connection */
	char data[];
};

struct syslog_remote {
	struct syslog_target target;
	struct syslog_remote_limits limits;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int fd;
	enum remote_state state;
	uint64_t next_attempt_ms;
	unsigned backoff_ms;
	bool attempt_failed; /* set when a connection attempt fails; drain watches it */

	struct remote_msg *head;
	struct remote_msg *tail;
	size_t queued_bytes;
	struct syslog_remote_counters counters;
};

static uint64_t remote_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void remote_set_error(char *err, size_t err_size, const char *what, const char *url)
{
	snprintf(err, err_size, "invalid syslog server \"%s\": %s (expected udp://HOST:PORT or tcp://HOST:PORT)",
		 url, what);
}

/* Splits "HOST:PORT" or "[V6]:PORT" into t->host and t->port. */
static int syslog_target_split(const char *rest, struct syslog_target *t)
{
	const char *colon;
	size_t host_len;

	if (rest[0] == '[') {
		const char *close = strchr(rest, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		host_len = (size_t)(close - rest - 1);
		rest++;
		colon = close + 1;
	} else {
		colon = strrchr(rest, ':');
		if (colon == NULL)
			return -1;
		host_len = (size_t)(colon - rest);
	}
	if (host_len == 0 || host_len >= sizeof(t->host))
		return -1;
	memcpy(t->host, rest, host_len);
	t->host[host_len] = '\0';
	if (strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof(t->port))
		return -1;
	snprintf(t->port, sizeof(t->port), "%s", colon + 1);
	return 0;
}

int syslog_target_parse(const char *url, struct syslog_target *t, char *err, size_t err_size)
{
	const char *rest;
	char *end;
	unsigned long port;

	memset(t, 0, sizeof(*t));
	if (strncmp(url, "udp://", 6) == 0) {
		t->transport = SYSLOG_TRANSPORT_UDP;
	} else if (strncmp(url, "tcp://", 6) == 0) {
		t->transport = SYSLOG_TRANSPORT_TCP;
	} else {
		remote_set_error(err, err_size, "unknown scheme", url);
		return -1;
	}
	rest = url + 6;
	if (syslog_target_split(rest, t) != 0) {
		remote_set_error(err, err_size, "missing host or port", url);
		return -1;
	}
	errno = 0;
	port = strtoul(t->port, &end, 10);
	if (errno != 0 || *end != '\0' || t->port[0] == '-' || port == 0 || port > 65535) {
		remote_set_error(err, err_size, "port must be 1 to 65535", url);
		return -1;
	}
	return 0;
}

void syslog_remote_limits_init(struct syslog_remote_limits *l)
{
	l->queue_messages = LIMIT_SYSLOG_QUEUE_MESSAGES;
	l->queue_bytes = LIMIT_SYSLOG_QUEUE_BYTES;
	l->udp_message_bytes = LIMIT_SYSLOG_UDP_MESSAGE_BYTES;
	l->reconnect_min_ms = LIMIT_SYSLOG_RECONNECT_MIN_MS;
	l->reconnect_max_ms = LIMIT_SYSLOG_RECONNECT_MAX_MS;
}

static void remote_set_state(struct syslog_remote *r, enum remote_state state)
{
	r->state = state;
}

/* Closes the socket and schedules the next attempt after the current delay, which then doubles. */
static void remote_disconnect(struct syslog_remote *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->attempt_failed = true;
	r->next_attempt_ms = remote_now_ms() + r->backoff_ms;
	r->backoff_ms = r->backoff_ms * 2 > r->limits.reconnect_max_ms ? r->limits.reconnect_max_ms
								      : r->backoff_ms * 2;

	/* The collector saw only part of the head frame, so it goes again whole. */
	if (r->head != NULL)
		r->head->sent = 0;
	remote_set_state(r, REMOTE_DISCONNECTED);
}

static void remote_connected(struct syslog_remote *r)
{
	r->backoff_ms = r->limits.reconnect_min_ms;
	r->counters.connects++;
	remote_set_state(r, REMOTE_CONNECTED);
}

/* Starts a non-blocking connect; UDP "connects" at once. */
static void remote_connect(struct syslog_remote *r)
{
	int type = r->target.transport == SYSLOG_TRANSPORT_TCP ? SOCK_STREAM : SOCK_DGRAM;

	r->fd = socket(r->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd < 0) {
		remote_disconnect(r);
		return;
	}
	if (connect(r->fd, (const struct sockaddr *)&r->addr, r->addr_len) == 0) {
		remote_connected(r);
		return;
	}
	if (errno == EINPROGRESS) {
		remote_set_state(r, REMOTE_CONNECTING);
		return;
	}
	remote_disconnect(r);
}

/* Settles a connect in progress without waiting. */
static void remote_check_connecting(struct syslog_remote *r)
{
	struct pollfd pfd = {.fd = r->fd, .events = POLLOUT};
	int so_error = 0;
	socklen_t len = sizeof(so_error);

	if (poll(&pfd, 1, 0) <= 0)
		return;
	if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0 || so_error != 0) {
		remote_disconnect(r);
		return;
	}
	remote_connected(r);
}

/*
 * A collector never sends anything, so a readable TCP socket means the peer
 * closed or reset it. Finding that before a send keeps the next message
 * from vanishing into a half-closed connection.
 */
static void remote_check_peer(struct syslog_remote *r)
{
	struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
	char scratch[256];
	ssize_t n;

	if (poll(&pfd, 1, 0) <= 0)
		return;
	n = recv(r->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		remote_disconnect(r);
}

static void remote_pop(struct syslog_remote *r, bool delivered)
{
	struct remote_msg *m = r->head;

	r->head = m->next;
	if (r->head == NULL)
		r->tail = NULL;
	r->queued_bytes -= m->len;
	r->counters.queued--;
	if (delivered)
		r->counters.sent++;
	else
		r->counters.dropped++;
	free(m);
}

/* Writes queued TCP frames until the socket is full; a send error drops the connection. */
static void remote_send_tcp(struct syslog_remote *r)
{
	while (r->head != NULL) {
		struct remote_msg *m = r->head;
		ssize_t n = send(r->fd, m->data + m->sent, m->len - m->sent, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				remote_disconnect(r);
			return;
		}
		m->sent += (size_t)n;
		if (m->sent == m->len)
			remote_pop(r, true);
	}
}

/* Sends queued datagrams; one the kernel rejects is dropped, since UDP cannot retry usefully. */
static void remote_send_udp(struct syslog_remote *r)
{
	bool retried = false;

	while (r->head != NULL) {
		ssize_t n = send(r->fd, r->head->data, r->head->len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n >= 0) {
			remote_pop(r, true);
			retried = false;
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;

		/* ECONNREFUSED reports an ICMP error for an earlier datagram; this one was not sent yet. */
		if ((errno == ECONNREFUSED || errno == EINTR) && !retried) {
			retried = true;
			continue;
		}
		remote_pop(r, false);
		retried = false;
	}
}

/* Moves the connection forward and sends what it can; check_peer adds a poll(2) for a closed TCP peer. */
static void remote_pump(struct syslog_remote *r, bool check_peer)
{
	if (r->state == REMOTE_DISCONNECTED && remote_now_ms() >= r->next_attempt_ms)
		remote_connect(r);
	if (r->state == REMOTE_CONNECTING)
		remote_check_connecting(r);
	if (r->state != REMOTE_CONNECTED)
		return;
	if (r->target.transport == SYSLOG_TRANSPORT_UDP) {
		remote_send_udp(r);
		return;
	}
	if (check_peer)
		remote_check_peer(r);
	if (r->state == REMOTE_CONNECTED)
		remote_send_tcp(r);
}

static int remote_resolve(struct syslog_remote *r, const char *url, char *err, size_t err_size)
{
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = r->target.transport == SYSLOG_TRANSPORT_TCP ? SOCK_STREAM : SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(r->target.host, r->target.port, &hints, &res);
	if (rc != 0 || res == NULL) {
		snprintf(err, err_size, "cannot resolve syslog server \"%s\": %s", url, gai_strerror(rc));
		return -1;
	}
	memcpy(&r->addr, res->ai_addr, res->ai_addrlen);
	r->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

struct syslog_remote *syslog_remote_new(const char *url, const struct syslog_remote_limits *limits, char *err,
					size_t err_size)
{
	struct syslog_remote *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		snprintf(err, err_size, "out of memory for the syslog server");
		return NULL;
	}
	r->fd = -1;
	if (limits != NULL)
		r->limits = *limits;
	else
		syslog_remote_limits_init(&r->limits);
	if (syslog_target_parse(url, &r->target, err, err_size) != 0 || remote_resolve(r, url, err, err_size) != 0) {
		free(r);
		return NULL;
	}
	r->backoff_ms = r->limits.reconnect_min_ms;
	remote_connect(r);
	return r;
}

/* Builds the queue entry: an octet-counting frame for TCP, a datagram cut to its cap for UDP. */
static struct remote_msg *remote_msg_new(const struct syslog_remote *r, const char *header, size_t header_len,
					 const char *msg, size_t msg_len)
{
	char prefix[24] = "";
	size_t prefix_len = 0;
	size_t body = header_len + msg_len;
	struct remote_msg *m;

	if (r->target.transport == SYSLOG_TRANSPORT_TCP) {
		prefix_len = (size_t)snprintf(prefix, sizeof(prefix), "%zu ", body);
	} else if (body > r->limits.udp_message_bytes) {
		body = r->limits.udp_message_bytes;

		/* Cut before a UTF-8 continuation byte so the datagram stays valid UTF-8. */
		while (body > header_len && (((unsigned char)msg[body - header_len]) & 0xc0) == 0x80)
			body--;
	}
	m = malloc(sizeof(*m) + prefix_len + body);
	if (m == NULL)
		return NULL;
	m->next = NULL;
	m->len = prefix_len + body;
	m->sent = 0;
	memcpy(m->data, prefix, prefix_len);
	if (body <= header_len) {
		memcpy(m->data + prefix_len, header, body);
	} else {
		memcpy(m->data + prefix_len, header, header_len);
		memcpy(m->data + prefix_len + header_len, msg, body - header_len);
	}
	return m;
}

int syslog_remote_send(struct syslog_remote *r, const char *header, size_t header_len, const char *msg,
		       size_t msg_len)
{
	struct remote_msg *m;

	/* A full queue drops the new message: the collector has been away longer than the queue covers. */
	if (r->counters.queued >= r->limits.queue_messages ||
	    r->queued_bytes + header_len + msg_len + 24 > r->limits.queue_bytes) {
		r->counters.dropped++;
		remote_pump(r, false);
		return -1;
	}
	m = remote_msg_new(r, header, header_len, msg, msg_len);
	if (m == NULL) {
		r->counters.dropped++;
		return -1;
	}
	if (r->tail != NULL)
		r->tail->next = m;
	else
		r->head = m;
	r->tail = m;
	r->queued_bytes += m->len;
	r->counters.queued++;
	remote_pump(r, false);
	return 0;
}

void syslog_remote_poll(struct syslog_remote *r)
{
	remote_pump(r, true);
}

/* Waits for the socket to become writable, or until the next connection attempt, at most wait_ms. */
static void remote_wait(const struct syslog_remote *r, uint64_t wait_ms)
{
	struct pollfd pfd = {.fd = r->fd, .events = POLLOUT};

	if (r->state == REMOTE_DISCONNECTED) {
		uint64_t now = remote_now_ms();
		uint64_t until = r->next_attempt_ms > now ? r->next_attempt_ms - now : 0;

		poll(NULL, 0, (int)(until < wait_ms ? until : wait_ms));
		return;
	}
	poll(&pfd, 1, (int)wait_ms);
}

void syslog_remote_drain(struct syslog_remote *r, unsigned timeout_ms)
{
	uint64_t deadline = remote_now_ms() + timeout_ms;

	r->attempt_failed = false;
	for (;;) {
		uint64_t now;

		remote_pump(r, true);
		if (r->head == NULL || r->attempt_failed)
			return;
		now = remote_now_ms();
		if (now >= deadline)
			return;
		remote_wait(r, deadline - now < 50 ? deadline - now : 50);
	}
}

void syslog_remote_get_counters(const struct syslog_remote *r, struct syslog_remote_counters *out)
{
	*out = r->counters;
}

void syslog_remote_free(struct syslog_remote *r)
{
	if (r == NULL)
		return;
	while (r->head != NULL)
		remote_pop(r, false);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}
