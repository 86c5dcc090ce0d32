/*
 * Packet sources through libpcap: capture files (pcap and pcapng,
 * recognised by their contents and read through a 1 MiB buffer) and live
 * interfaces. Lifecycle: open -> next ... -> close.
 */
#ifndef MAILTAP_CAPTURE_H
#define MAILTAP_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct capture_packet {
	const uint8_t *data; /* owned by libpcap; valid until the next capture_next() */
	uint32_t caplen;
	uint32_t wirelen;
	uint64_t ts_usec;
	int linktype;
};

struct live_options {
	const char *interface;
	int snaplen;		 /* bytes, 0 for the default (262144) */
	bool promiscuous;
	bool immediate;
	int buffer_kib;		 /* kernel buffer in KiB, 0 for libpcap's default */
	int timeout_ms;		 /* read timeout, so signals are noticed while idle */
	int fanout_group;	 /* PACKET_FANOUT group id, -1 for none */
};

enum capture_status {
	CAPTURE_PACKET = 0,   /* *pkt holds a packet */
	CAPTURE_TIMEOUT = 1,  /* live: nothing arrived within the timeout */
	CAPTURE_END = 2,      /* end of file */
	CAPTURE_ERROR = -1,   /* damaged file or capture failure; see capture_error() */
};

struct capture;

/* Opens a capture file. Returns NULL with a message in err when it cannot be read. */
struct capture *capture_open_file(const char *path, char *err, size_t err_size);
/* Opens and activates a live interface. Returns NULL with a message in err. */
struct capture *capture_open_live(const struct live_options *opt, char *err, size_t err_size);
/* Compiles and installs a BPF filter. Returns 0, or -1 with a message in err. */
int capture_set_filter(struct capture *c, const char *expression, char *err, size_t err_size);
int capture_next(struct capture *c, struct capture_packet *pkt);
/* Asks a blocking capture_next() to return; safe from a signal handler. */
void capture_break(struct capture *c);
const char *capture_error(const struct capture *c);
const char *capture_name(const struct capture *c);
/* Packets returned so far (the number of the next packet is this plus one). */
uint64_t capture_packet_count(const struct capture *c);
/* Input bytes consumed so far and the file size, for progress; 0 when unknown. */
uint64_t capture_file_offset(const struct capture *c);
uint64_t capture_file_size(const struct capture *c);
/* Kernel counters of a live capture. Returns 0, or -1 when not available. */
int capture_stats(struct capture *c, uint64_t *received, uint64_t *dropped, uint64_t *if_dropped);
/* True for an interface, false for a capture file. */
bool capture_is_live(const struct capture *c);
void capture_close(struct capture *c);

/* Prints the interfaces libpcap can open, one per line. Returns 0 or -1. */
int capture_list_interfaces(void *stream);

#endif
