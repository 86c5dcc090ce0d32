/* nDPI 4.2 wrapper (Debian libndpi-dev). */
#include "classify/classify.h"

#include <ndpi_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct classifier {
	struct ndpi_detection_module_struct *ndpi;
};

struct classify_flow {
	struct ndpi_flow_struct *flow;
	unsigned packets;
};

struct classifier *classifier_new(void)
{
	struct classifier *c = calloc(1, sizeof(*c));
	NDPI_PROTOCOL_BITMASK all;

	if (c == NULL)
		return NULL;
	c->ndpi = ndpi_init_detection_module(ndpi_no_prefs);
	if (c->ndpi == NULL) {
		free(c);
		return NULL;
	}
	NDPI_BITMASK_SET_ALL(all);
	ndpi_set_protocol_detection_bitmask2(c->ndpi, &all);
	ndpi_finalize_initialization(c->ndpi);
	return c;
}

void classifier_free(struct classifier *c)
{
	if (c == NULL)
		return;
	ndpi_exit_detection_module(c->ndpi);
	free(c);
}

static enum app_proto classify_mail_proto(uint16_t ndpi_id)
{
	switch (ndpi_id) {
	case NDPI_PROTOCOL_MAIL_SMTP: return APP_PROTO_SMTP;
	case NDPI_PROTOCOL_MAIL_SMTPS: return APP_PROTO_SMTPS;
	case NDPI_PROTOCOL_MAIL_POP: return APP_PROTO_POP3;
	case NDPI_PROTOCOL_MAIL_POPS: return APP_PROTO_POP3S;
	case NDPI_PROTOCOL_MAIL_IMAP: return APP_PROTO_IMAP;
	case NDPI_PROTOCOL_MAIL_IMAPS: return APP_PROTO_IMAPS;
	default: return APP_PROTO_UNKNOWN;
	}
}

static void classify_fill_result(struct classifier *c, ndpi_protocol proto, struct classify_result *out)
{
	uint16_t id = proto.app_protocol != NDPI_PROTOCOL_UNKNOWN ? proto.app_protocol : proto.master_protocol;
	uint16_t master = proto.master_protocol;

	out->proto = classify_mail_proto(id);
	if (out->proto == APP_PROTO_UNKNOWN)
		out->proto = classify_mail_proto(master);
	out->is_tls = id == NDPI_PROTOCOL_TLS || master == NDPI_PROTOCOL_TLS;
	out->name[0] = '\0';
	if (id != NDPI_PROTOCOL_UNKNOWN)
		snprintf(out->name, sizeof(out->name), "%s", ndpi_get_proto_name(c->ndpi, id));
}

int classifier_feed(struct classifier *c, struct classify_flow **state, const uint8_t *ip_packet,
		    uint32_t ip_len, uint64_t ts_usec, struct classify_result *out)
{
	struct classify_flow *f = *state;
	ndpi_protocol proto;

	memset(out, 0, sizeof(*out));
	if (f == NULL) {
		f = calloc(1, sizeof(*f));
		if (f == NULL)
			return -1;
		f->flow = ndpi_flow_malloc(SIZEOF_FLOW_STRUCT);
		if (f->flow == NULL) {
			free(f);
			return -1;
		}
		memset(f->flow, 0, SIZEOF_FLOW_STRUCT);
		*state = f;
	}

	/* nDPI takes the length as an unsigned short; a reassembled datagram can be longer. */
	if (ip_len > 0xffff)
		ip_len = 0xffff;
	proto = ndpi_detection_process_packet(c->ndpi, f->flow, ip_packet, (unsigned short)ip_len,
					      ts_usec / 1000u);
	f->packets++;
	if (proto.app_protocol == NDPI_PROTOCOL_UNKNOWN && f->packets >= CLASSIFY_MAX_PACKETS) {
		uint8_t guessed = 0;

		proto = ndpi_detection_giveup(c->ndpi, f->flow, 1, &guessed);
		out->done = true;
	} else if (proto.app_protocol != NDPI_PROTOCOL_UNKNOWN) {
		out->done = true;
	}
	classify_fill_result(c, proto, out);
	return 0;
}

void classify_flow_free(struct classify_flow *state)
{
	if (state == NULL)
		return;
	ndpi_free_flow(state->flow);
	free(state);
}
