/*
 * Protocol classification with nDPI, for the first packets of a flow: to
 * find mail on ports outside the port map, and to label a non-mail
 * protocol that turns up on a mail port.
 */
#ifndef MAILTAP_CLASSIFY_H
#define MAILTAP_CLASSIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/proto.h"

/* Packets of one flow shown to nDPI before it is asked for its best guess. */
#define CLASSIFY_MAX_PACKETS 12

struct classifier;
struct classify_flow;

struct classify_result {
	bool done;		/* no more packets are needed */
	enum app_proto proto;	/* mail protocol nDPI found, or APP_PROTO_UNKNOWN */
	bool is_tls;		/* nDPI saw TLS */
	char name[32];		/* nDPI's protocol name, "" when unknown */
};

/* Creates the nDPI detection module (about 20 ms). Returns NULL on failure. */
struct classifier *classifier_new(void);
void classifier_free(struct classifier *c);

/*
 * Shows one IP packet (header included) of a flow to nDPI. *state is the
 * flow's nDPI state, created on first use; free it with classify_flow_free()
 * once the result is done. Returns 0, or -1 on allocation failure.
 */
int classifier_feed(struct classifier *c, struct classify_flow **state, const uint8_t *ip_packet,
		    uint32_t ip_len, uint64_t ts_usec, struct classify_result *out);
void classify_flow_free(struct classify_flow *state);

#endif
