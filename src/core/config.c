/* Defaults and the --ports parser. */
#include "core/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"

static void port_map_set(struct port_map *map, uint16_t port, enum app_proto proto)
{
	map->proto_by_port[port] = (uint8_t)proto;
}

void port_map_set_defaults(struct port_map *map)
{
	memset(map->proto_by_port, 0, sizeof(map->proto_by_port));
	port_map_set(map, 25, APP_PROTO_SMTP);
	port_map_set(map, 2525, APP_PROTO_SMTP);
	port_map_set(map, 587, APP_PROTO_SUBMISSION);
	port_map_set(map, 465, APP_PROTO_SMTPS);
	port_map_set(map, 110, APP_PROTO_POP3);
	port_map_set(map, 995, APP_PROTO_POP3S);
	port_map_set(map, 143, APP_PROTO_IMAP);
	port_map_set(map, 993, APP_PROTO_IMAPS);
}

void config_set_defaults(struct mailtap_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	port_map_set_defaults(&cfg->ports);
	cfg->max_flows = LIMIT_FLOWS_DEFAULT;
	cfg->flow_idle_timeout_s = LIMIT_FLOW_IDLE_TIMEOUT_S;
	cfg->flow_closed_timeout_s = LIMIT_FLOW_CLOSED_TIMEOUT_S;
	cfg->reasm_stream_bytes = LIMIT_REASM_STREAM_BYTES_DEFAULT;
	cfg->reasm_stream_segments = LIMIT_REASM_STREAM_SEGMENTS_DEFAULT;
	cfg->reasm_total_bytes = LIMIT_REASM_TOTAL_BYTES_DEFAULT;
	cfg->line_bytes = LIMIT_LINE_BYTES_DEFAULT;
	cfg->literal_bytes = LIMIT_LITERAL_BYTES_DEFAULT;
}

int port_map_parse(struct port_map *map, const char *spec, char *err, size_t err_size)
{
	const char *eq = strchr(spec, '=');
	char name[16];
	enum app_proto proto;
	const char *p;

	if (eq == NULL || (size_t)(eq - spec) >= sizeof(name)) {
		snprintf(err, err_size, "invalid --ports value '%s': expected NAME=PORT[,PORT...]", spec);
		return -1;
	}
	memcpy(name, spec, (size_t)(eq - spec));
	name[eq - spec] = '\0';
	proto = app_proto_from_name(name);
	if (proto == APP_PROTO_UNKNOWN) {
		snprintf(err, err_size,
			 "unknown protocol '%s' in --ports: expected smtp, submission, smtps, pop3, pop3s, imap, imaps or tls",
			 name);
		return -1;
	}
	p = eq + 1;
	do {
		char *end;
		unsigned long port;

		errno = 0;
		port = strtoul(p, &end, 10);
		if (end == p || errno != 0 || port == 0 || port > 65535 || (*end != ',' && *end != '\0')) {
			snprintf(err, err_size, "invalid port in --ports value '%s': ports are 1 to 65535", spec);
			return -1;
		}
		port_map_set(map, (uint16_t)port, proto);
		p = *end == ',' ? end + 1 : end;
	} while (*p != '\0');
	return 0;
}

enum app_proto port_map_lookup(const struct port_map *map, uint16_t port)
{
	return (enum app_proto)map->proto_by_port[port];
}
