/*
 * libpcap packet sources. Files are opened with fopen() and given a 1 MiB
 * stdio buffer before libpcap reads them, because libpcap 1.10 otherwise
 * reads through the default 4 KiB buffer and spends much of its time
 * refilling it.
 *
 * Classic pcap files (the four standard magic numbers: either byte order,
 * microsecond or nanosecond timestamps) are then read by capture_reader
 * below rather than by pcap_next_ex(): it fills one buffer with pread() and
 * hands out records in place, where libpcap copies each record through two
 * fread() calls. libpcap still opens the file (header checks, link type)
 * and compiles and runs BPF filters. pcapng and the rarer pcap variants
 * stay with libpcap.
 */
#include "capture/capture.h"

#include <endian.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cursor.h"

#ifdef __linux__
#include <linux/if_packet.h>
#include <sys/socket.h>
#endif

#define CAPTURE_FILE_BUFFER (1024u * 1024u)
#define CAPTURE_DEFAULT_SNAPLEN 262144

/* Record header of a classic pcap file: seconds, fraction, captured and original length. */
#define CAPTURE_RECORD_HEADER 16u
#define CAPTURE_FILE_HEADER 24u
/* libpcap's MAXIMUM_SNAPLEN: it rejects longer records as damaged, and so does the reader. */
#define CAPTURE_RECORD_MAX 262144u
/* Size of the buffer refilled with pread(); it has room for the longest record. */
#define CAPTURE_READ_BUFFER (1024u * 1024u)

/* mailtap's own reader of classic pcap records. */
struct capture_reader {
	int fd;		    /* the FILE's descriptor, read with pread() only; not owned */
	uint8_t *buf;	    /* owned, CAPTURE_READ_BUFFER bytes */
	size_t start;	    /* first unread byte in buf */
	size_t end;	    /* one past the last valid byte in buf */
	uint64_t offset;    /* file offset of buf[end] */
	bool big_endian;    /* byte order of the record headers */
	bool nanosecond;    /* fractions are nanoseconds, not microseconds */
	bool end_of_file;
};

struct capture {
	pcap_t *pcap;
	FILE *file;    /* owned for file captures; libpcap closes it */
	char *buffer;  /* stdio buffer of file, freed after pcap_close */
	struct capture_reader *reader;	/* owned; NULL when libpcap reads the records */
	struct bpf_program filter;	/* owned when has_filter; run on reader records */
	bool has_filter;
	int linktype;
	volatile sig_atomic_t stop;	/* set by capture_break() */
	char name[256];
	char error[PCAP_ERRBUF_SIZE + 300];
	uint64_t packets;
	uint64_t file_size;
	bool live;
};

/*
 * Picks the reader for a classic pcap file from its magic number. Returns
 * 0 with the byte order and timestamp unit set, or -1 for any other format.
 */
static int capture_reader_magic(const uint8_t magic[4], bool *big_endian, bool *nanosecond)
{
	static const struct {
		uint8_t bytes[4];
		bool big_endian;
		bool nanosecond;
	} known[] = {
		{{0xd4, 0xc3, 0xb2, 0xa1}, false, false},
		{{0x4d, 0x3c, 0xb2, 0xa1}, false, true},
		{{0xa1, 0xb2, 0xc3, 0xd4}, true, false},
		{{0xa1, 0xb2, 0x3c, 0x4d}, true, true},
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (memcmp(magic, known[i].bytes, 4) == 0) {
			*big_endian = known[i].big_endian;
			*nanosecond = known[i].nanosecond;
			return 0;
		}
	}
	return -1;
}

/* Sets up the reader when path is a regular classic pcap file; otherwise libpcap reads it. */
static void capture_reader_open(struct capture *c)
{
	struct capture_reader *r;
	uint8_t magic[4];
	bool big_endian, nanosecond;
	int fd = fileno(c->file);

	if (c->file_size < CAPTURE_FILE_HEADER || pread(fd, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic))
		return;
	if (capture_reader_magic(magic, &big_endian, &nanosecond) != 0)
		return;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return;
	r->buf = malloc(CAPTURE_READ_BUFFER);
	if (r->buf == NULL) {
		free(r);
		return;
	}
	r->fd = fd;
	r->offset = CAPTURE_FILE_HEADER;
	r->big_endian = big_endian;
	r->nanosecond = nanosecond;
	c->reader = r;
}

static void capture_reader_free(struct capture_reader *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}

/*
 * Makes at least need bytes readable at buf + start, reading more of the
 * file when fewer are buffered. Returns 0, or -1 with errno set when
 * pread() failed; at the end of the file fewer bytes may be readable.
 */
static int capture_reader_refill(struct capture_reader *r, size_t need)
{
	memmove(r->buf, r->buf + r->start, r->end - r->start);
	r->end -= r->start;
	r->start = 0;
	while (r->end < need) {
		ssize_t n = pread(r->fd, r->buf + r->end, CAPTURE_READ_BUFFER - r->end, (off_t)r->offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			r->end_of_file = true;
			break;
		}
		r->end += (size_t)n;
		r->offset += (uint64_t)n;
	}
	return 0;
}

/* The buffered bytes usually suffice; only a refill leaves this inline check. */
static inline int capture_reader_fill(struct capture_reader *r, size_t need)
{
	if (r->end - r->start >= need || r->end_of_file)
		return 0;
	return capture_reader_refill(r, need);
}

/* Reads the four fields of a record header in the file's byte order. */
static void capture_reader_header(const struct capture_reader *r, const uint8_t *bytes, uint32_t field[4])
{
	/* The caller checked that CAPTURE_RECORD_HEADER bytes are buffered. */
	memcpy(field, bytes, CAPTURE_RECORD_HEADER);
	for (int i = 0; i < 4; i++)
		field[i] = r->big_endian ? be32toh(field[i]) : le32toh(field[i]);
}

__attribute__((format(printf, 2, 3))) static int capture_reader_fail(struct capture *c, const char *fmt, ...)
{
	char reason[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(c->error, sizeof(c->error), "%s: packet %llu: %s", c->name, (unsigned long long)(c->packets + 1),
		 reason);
	return CAPTURE_ERROR;
}

/* Returns the next record of a classic pcap file that passes the filter, in place in the buffer. */
static int capture_reader_next(struct capture *c, struct capture_packet *pkt)
{
	struct capture_reader *r = c->reader;
	uint32_t field[4]; /* seconds, fraction, captured length, original length */
	uint32_t caplen;
	uint32_t usec;

	for (;;) {
		if (c->stop)
			return CAPTURE_END;
		if (capture_reader_fill(r, CAPTURE_RECORD_HEADER) != 0)
			return capture_reader_fail(c, "read error: %s", strerror(errno));
		if (r->end == r->start)
			return CAPTURE_END;
		if (r->end - r->start < CAPTURE_RECORD_HEADER)
			return capture_reader_fail(c, "truncated dump file; tried to read %u header bytes, only got %zu",
						   CAPTURE_RECORD_HEADER, r->end - r->start);
		capture_reader_header(r, r->buf + r->start, field);
		caplen = field[2];

		/*
		 * A length past libpcap's maximum means a damaged file, as libpcap itself reports.
		 * NOTE: libpcap 1.10 also cuts a record longer than the file header's snaplen down to
		 * that snaplen; this reader delivers such a record whole.
		 */
		if (caplen > CAPTURE_RECORD_MAX)
			return capture_reader_fail(c, "invalid packet capture length %u, bigger than maximum of %u",
						   caplen, CAPTURE_RECORD_MAX);
		if (capture_reader_fill(r, CAPTURE_RECORD_HEADER + caplen) != 0)
			return capture_reader_fail(c, "read error: %s", strerror(errno));
		if (r->end - r->start < CAPTURE_RECORD_HEADER + caplen)
			return capture_reader_fail(c, "truncated dump file; tried to read %u captured bytes, only got %zu",
						   caplen, r->end - r->start - CAPTURE_RECORD_HEADER);
		pkt->data = r->buf + r->start + CAPTURE_RECORD_HEADER;
		r->start += CAPTURE_RECORD_HEADER + caplen;
		usec = r->nanosecond ? field[1] / 1000u : field[1];
		if (c->has_filter) {
			struct pcap_pkthdr hdr;

			hdr.ts.tv_sec = (time_t)field[0];
			hdr.ts.tv_usec = (suseconds_t)usec;
			hdr.caplen = caplen;
			hdr.len = field[3];
			if (pcap_offline_filter(&c->filter, &hdr, pkt->data) == 0)
				continue;
		}
		c->packets++;
		pkt->caplen = caplen;
		pkt->wirelen = field[3];
		pkt->ts_usec = (uint64_t)field[0] * 1000000u + usec;
		pkt->linktype = c->linktype;
		return CAPTURE_PACKET;
	}
}

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
	c->linktype = pcap_datalink(c->pcap);
	capture_reader_open(c);
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
	c->linktype = pcap_datalink(c->pcap);
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
	if (c->reader != NULL) {
		if (c->has_filter)
			pcap_freecode(&c->filter);
		c->filter = program;
		c->has_filter = true;
		return 0;
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
	int rc;

	if (c->reader != NULL)
		return capture_reader_next(c, pkt);
	rc = pcap_next_ex(c->pcap, &hdr, &data);
	if (rc == 1) {
		c->packets++;
		pkt->data = data;
		pkt->caplen = hdr->caplen;
		pkt->wirelen = hdr->len;
		pkt->ts_usec = (uint64_t)hdr->ts.tv_sec * 1000000u + (uint64_t)hdr->ts.tv_usec;
		pkt->linktype = c->linktype;
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
	c->stop = 1;
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
	if (c->reader != NULL)
		return c->reader->offset - (c->reader->end - c->reader->start);
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
	if (c->has_filter)
		pcap_freecode(&c->filter);
	capture_reader_free(c->reader);
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
