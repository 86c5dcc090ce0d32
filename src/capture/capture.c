/*
 * libpcap packet sources. Files are opened with fopen() and a 1 MiB stdio
 * buffer before libpcap sees them: libpcap 1.10 otherwise reads through the
 * default 4 KiB buffer and spends much of its time refilling it.
 */
#include "capture/capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/if_packet.h>
#include <sys/socket.h>
#endif

#define CAPTURE_FILE_BUFFER (1024u * 1024u)
#define CAPTURE_DEFAULT_SNAPLEN 262144

struct capture {
	pcap_t *pcap;
	FILE *file;    /* owned for file captures; libpcap closes it */
	char *buffer;  /* stdio buffer of file, freed after pcap_close */
	char name[256];
	char error[PCAP_ERRBUF_SIZE + 300];
	uint64_t packets;
	uint64_t file_size;
	bool live;
};

static void capture_format_error(char *err, size_t err_size, const char *what, const char *name,
				 const char *reason)
{
	snprintf(err, err_size, "%s %s: %s", what, name, reason);
}

struct capture *capture_open_file(const char *path, char *err, size_t err_size)
{
	char pcap_err[PCAP_ERRBUF_SIZE] = "";
	struct capture *c = calloc(1, sizeof(*c));
	struct stat st;

	if (c == NULL) {
		capture_format_error(err, err_size, "cannot open", path, "out of memory");
		return NULL;
	}
	snprintf(c->name, sizeof(c->name), "%s", path);
	c->file = fopen(path, "rb");
	if (c->file == NULL) {
		capture_format_error(err, err_size, "cannot open", path, strerror(errno));
		free(c);
		return NULL;
	}
	if (fstat(fileno(c->file), &st) == 0 && S_ISREG(st.st_mode))
		c->file_size = (uint64_t)st.st_size;
	c->buffer = malloc(CAPTURE_FILE_BUFFER);
	if (c->buffer != NULL)
		setvbuf(c->file, c->buffer, _IOFBF, CAPTURE_FILE_BUFFER);

	/* libpcap reads pcap and pcapng alike, from the magic number, whatever the file name. */
	c->pcap = pcap_fopen_offline_with_tstamp_precision(c->file, PCAP_TSTAMP_PRECISION_MICRO, pcap_err);
	if (c->pcap == NULL) {
		capture_format_error(err, err_size, "cannot read capture file", path, pcap_err);
		fclose(c->file);
		free(c->buffer);
		free(c);
		return NULL;
	}
	return c;
}

static int capture_set_fanout(struct capture *c, int group, char *err, size_t err_size)
{
#if defined(__linux__) && defined(PACKET_FANOUT)
	int fd = pcap_get_selectable_fd(c->pcap);
	/* The mode and flags sit in the upper 16 bits; shifting the 0x8000 flag as int would overflow. */
	uint32_t value = ((uint32_t)group & 0xffffu) | ((uint32_t)(PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);

	if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &value, sizeof(value)) != 0) {
		snprintf(err, err_size, "cannot join fanout group %d on %s: %s", group, c->name,
			 fd < 0 ? "no socket" : strerror(errno));
		return -1;
	}
	return 0;
#else
	snprintf(err, err_size, "fanout groups need Linux PACKET_FANOUT");
	(void)c;
	(void)group;
	return -1;
#endif
}

static struct capture *capture_fail_live(struct capture *c, char *err, size_t err_size, const char *what)
{
	snprintf(err, err_size, "cannot %s %s: %s", what, c->name, pcap_geterr(c->pcap));
	pcap_close(c->pcap);
	free(c);
	return NULL;
}

struct capture *capture_open_live(const struct live_options *opt, char *err, size_t err_size)
{
	char pcap_err[PCAP_ERRBUF_SIZE] = "";
	struct capture *c = calloc(1, sizeof(*c));
	int status;

	if (c == NULL) {
		snprintf(err, err_size, "cannot open interface %s: out of memory", opt->interface);
		return NULL;
	}
	snprintf(c->name, sizeof(c->name), "%s", opt->interface);
	c->live = true;
	c->pcap = pcap_create(opt->interface, pcap_err);
	if (c->pcap == NULL) {
		snprintf(err, err_size, "cannot open interface %s: %s", opt->interface, pcap_err);
		free(c);
		return NULL;
	}
	pcap_set_snaplen(c->pcap, opt->snaplen > 0 ? opt->snaplen : CAPTURE_DEFAULT_SNAPLEN);
	pcap_set_promisc(c->pcap, opt->promiscuous ? 1 : 0);
	pcap_set_timeout(c->pcap, opt->timeout_ms > 0 ? opt->timeout_ms : 500);
	if (opt->immediate)
		pcap_set_immediate_mode(c->pcap, 1);
	if (opt->buffer_kib > 0)
		pcap_set_buffer_size(c->pcap, opt->buffer_kib * 1024);
	pcap_set_tstamp_precision(c->pcap, PCAP_TSTAMP_PRECISION_MICRO);

	status = pcap_activate(c->pcap);
	if (status < 0)
		return capture_fail_live(c, err, err_size, "activate interface");
	if (opt->fanout_group >= 0 && capture_set_fanout(c, opt->fanout_group, err, err_size) != 0) {
		pcap_close(c->pcap);
		free(c);
		return NULL;
	}
	return c;
}

int capture_set_filter(struct capture *c, const char *expression, char *err, size_t err_size)
{
	struct bpf_program program;

	if (pcap_compile(c->pcap, &program, expression, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, err_size, "invalid filter '%s': %s", expression, pcap_geterr(c->pcap));
		return -1;
	}
	if (pcap_setfilter(c->pcap, &program) != 0) {
		snprintf(err, err_size, "cannot install filter on %s: %s", c->name, pcap_geterr(c->pcap));
		pcap_freecode(&program);
		return -1;
	}
	pcap_freecode(&program);
	return 0;
}

int capture_next(struct capture *c, struct capture_packet *pkt)
{
	struct pcap_pkthdr *hdr;
	const u_char *data;
	int rc = pcap_next_ex(c->pcap, &hdr, &data);

	if (rc == 1) {
		c->packets++;
		pkt->data = data;
		pkt->caplen = hdr->caplen;
		pkt->wirelen = hdr->len;
		pkt->ts_usec = (uint64_t)hdr->ts.tv_sec * 1000000u + (uint64_t)hdr->ts.tv_usec;
		pkt->linktype = pcap_datalink(c->pcap);
		return CAPTURE_PACKET;
	}
	if (rc == 0)
		return CAPTURE_TIMEOUT;
	if (rc == PCAP_ERROR_BREAK)
		return CAPTURE_END;
	snprintf(c->error, sizeof(c->error), "%s: packet %llu: %s", c->name,
		 (unsigned long long)(c->packets + 1), pcap_geterr(c->pcap));
	return CAPTURE_ERROR;
}

void capture_break(struct capture *c)
{
	pcap_breakloop(c->pcap);
}

const char *capture_error(const struct capture *c)
{
	return c->error;
}

const char *capture_name(const struct capture *c)
{
	return c->name;
}

uint64_t capture_packet_count(const struct capture *c)
{
	return c->packets;
}

uint64_t capture_file_offset(const struct capture *c)
{
	long pos;

	if (c->live || c->file == NULL)
		return 0;
	pos = ftell(c->file);
	return pos > 0 ? (uint64_t)pos : 0;
}

uint64_t capture_file_size(const struct capture *c)
{
	return c->file_size;
}

int capture_stats(struct capture *c, uint64_t *received, uint64_t *dropped, uint64_t *if_dropped)
{
	struct pcap_stat st;

	if (!c->live || pcap_stats(c->pcap, &st) != 0)
		return -1;
	*received = st.ps_recv;
	*dropped = st.ps_drop;
	*if_dropped = st.ps_ifdrop;
	return 0;
}

bool capture_is_live(const struct capture *c)
{
	return c->live;
}

void capture_close(struct capture *c)
{
	if (c == NULL)
		return;
	/* pcap_close() closes the FILE of an offline capture; its buffer outlives it. */
	pcap_close(c->pcap);
	free(c->buffer);
	free(c);
}

int capture_list_interfaces(void *stream)
{
	char pcap_err[PCAP_ERRBUF_SIZE] = "";
	pcap_if_t *list = NULL;
	FILE *out = stream;
	int n = 1;

	if (pcap_findalldevs(&list, pcap_err) != 0) {
		fprintf(stderr, "mailtap: cannot list interfaces: %s\n", pcap_err);
		return -1;
	}
	for (pcap_if_t *dev = list; dev != NULL; dev = dev->next, n++) {
		fprintf(out, "%d.%s", n, dev->name);
		if (dev->description != NULL)
			fprintf(out, " (%s)", dev->description);
		if (dev->flags & PCAP_IF_LOOPBACK)
			fprintf(out, " [Loopback]");
		fputc('\n', out);
	}
	pcap_freealldevs(list);
	return 0;
}
