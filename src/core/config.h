/*
 * Run-time configuration. Built once from flags (and the config file) and
 * never changed while packets flow; a reload builds a new one.
 */
#ifndef MAILTAP_CONFIG_H
#define MAILTAP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/proto.h"

/* Protocol per TCP port, indexed by port number so a lookup costs one load. */
struct port_map {
	uint8_t proto_by_port[65536]; /* enum app_proto values */
};

struct mailtap_config {
	bool reveal_credentials;
	struct port_map ports;

	uint32_t max_flows;
	uint32_t flow_idle_timeout_s;
	uint32_t flow_closed_timeout_s;
	uint32_t reasm_stream_bytes;
	uint32_t reasm_stream_segments;
	uint64_t reasm_total_bytes;
	uint32_t line_bytes;
	uint64_t literal_bytes;
};

/* Fills cfg with the documented defaults, including the default port map. */
void config_set_defaults(struct mailtap_config *cfg);
/* Sets the default mail ports: smtp 25,2525; submission 587; smtps 465; pop3 110; pop3s 995; imap 143; imaps 993. */
void port_map_set_defaults(struct port_map *map);
/*
 * Applies one "--ports" value such as "smtp=25,2525" or "tls=443": the named
 * protocol is assigned those ports (replacing earlier ones for that port).
 * Returns 0, or -1 with a message in err.
 */
int port_map_parse(struct port_map *map, const char *spec, char *err, size_t err_size);
/* Returns the protocol mapped to a port, or APP_PROTO_UNKNOWN. */
enum app_proto port_map_lookup(const struct port_map *map, uint16_t port);

#endif
