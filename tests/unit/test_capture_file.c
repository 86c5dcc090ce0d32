/*
 * Unit tests for capture files read by mailtap's own classic pcap reader:
 * both byte orders, microsecond and nanosecond files, records that cross
 * the read buffer, filters, and files cut short or damaged. The expected
 * values come from the records each test writes (pcap format as documented
 * in pcap-savefile(5)); damaged files must give libpcap's messages.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"
#include "test.h"

struct pcap_file {
	uint8_t *bytes;
	size_t len;
	size_t cap;
	bool big_endian;
};

static void file_put(struct pcap_file *f, const void *data, size_t len)
{
	if (f->len + len > f->cap) {
		f->cap = (f->len + len) * 2;
		f->bytes = realloc(f->bytes, f->cap);
		if (f->bytes == NULL)
			abort();
	}
	memcpy(f->bytes + f->len, data, len);
	f->len += len;
}

static void file_put32(struct pcap_file *f, uint32_t v)
{
	uint8_t b[4];

	for (int i = 0; i < 4; i++)
		b[f->big_endian ? 3 - i : i] = (uint8_t)(v >> (8 * i));
	file_put(f, b, 4);
}

static void file_put16(struct pcap_file *f, uint16_t v)
{
	uint8_t b[2];

	b[f->big_endian ? 1 : 0] = (uint8_t)v;
	b[f->big_endian ? 0 : 1] = (uint8_t)(v >> 8);
	file_put(f, b, 2);
}

/* Starts a file with the global header: magic, version 2.4, snaplen 262144, Ethernet. */
static void file_begin(struct pcap_file *f, bool big_endian, bool nanosecond)
{
	memset(f, 0, sizeof(*f));
	f->big_endian = big_endian;
	file_put32(f, nanosecond ? 0xa1b23c4du : 0xa1b2c3d4u);
	file_put16(f, 2);
	file_put16(f, 4);
	file_put32(f, 0);
	file_put32(f, 0);
	file_put32(f, 262144);
	file_put32(f, 1);
}

static void file_record(struct pcap_file *f, uint32_t sec, uint32_t frac, const uint8_t *data, uint32_t caplen,
			uint32_t wirelen)
{
	file_put32(f, sec);
	file_put32(f, frac);
	file_put32(f, caplen);
	file_put32(f, wirelen);
	file_put(f, data, caplen);
}

/* A minimal Ethernet + IPv4 + TCP frame of len bytes (len >= 54), to port dport, with a byte pattern after. */
static void frame_make(uint8_t *frame, uint32_t len, uint16_t dport, uint8_t seed)
{
	memset(frame, 0, len);
	frame[12] = 0x08;
	frame[14] = 0x45;
	frame[16] = (uint8_t)((len - 14) >> 8);
	frame[17] = (uint8_t)(len - 14);
	frame[22] = 64;
	frame[23] = 6;
	frame[26] = 10;
	frame[29] = 1;
	frame[30] = 192;
	frame[33] = 2;
	frame[34] = 0xc3;
	frame[35] = 0x50;
	frame[36] = (uint8_t)(dport >> 8);
	frame[37] = (uint8_t)dport;
	frame[46] = 0x50;
	frame[47] = 0x10;
	for (uint32_t i = 54; i < len; i++)
		frame[i] = (uint8_t)(seed + i);
}

/* Writes f to a temporary file and opens it; returns NULL on failure. */
static struct capture *file_open(struct pcap_file *f, char *path, size_t path_size)
{
	char err[512];
	int fd;
	struct capture *c;

	snprintf(path, path_size, "/tmp/mailtap-test-capture-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	if (write(fd, f->bytes, f->len) != (ssize_t)f->len) {
		close(fd);
		return NULL;
	}
	close(fd);
	c = capture_open_file(path, err, sizeof(err));
	if (c == NULL)
		fprintf(stderr, "capture_open_file: %s\n", err);
	return c;
}

static void file_done(struct capture *c, struct pcap_file *f, const char *path)
{
	capture_close(c);
	unlink(path);
	free(f->bytes);
}

static void test_byte_order(bool big_endian, bool nanosecond)
{
	struct pcap_file f;
	struct capture_packet pkt;
	struct capture *c;
	char path[64];
	uint8_t frame[200];

	file_begin(&f, big_endian, nanosecond);
	frame_make(frame, 60, 25, 1);
	file_record(&f, 1767225600, nanosecond ? 123456789u : 123456u, frame, 60, 60);
	frame_make(frame, 200, 993, 2);
	file_record(&f, 1767225601, nanosecond ? 999u : 7u, frame, 100, 200);
	c = file_open(&f, path, sizeof(path));
	CHECK(c != NULL);
	if (c == NULL)
		return;

	CHECK_EQ_INT(capture_next(c, &pkt), CAPTURE_PACKET);
	CHECK_EQ_INT(pkt.caplen, 60);
	CHECK_EQ_INT(pkt.wirelen, 60);
	CHECK_EQ_INT(pkt.ts_usec, 1767225600ull * 1000000u + 123456u);
	CHECK_EQ_INT(pkt.linktype, 1);
	frame_make(frame, 60, 25, 1);
	CHECK_EQ_MEM(pkt.data, pkt.caplen, frame, 60);

	CHECK_EQ_INT(capture_next(c, &pkt), CAPTURE_PACKET);
	CHECK_EQ_INT(pkt.caplen, 100);
	CHECK_EQ_INT(pkt.wirelen, 200);
	CHECK_EQ_INT(pkt.ts_usec, 1767225601ull * 1000000u + (nanosecond ? 0u : 7u));
	frame_make(frame, 200, 993, 2);
	CHECK_EQ_MEM(pkt.data, pkt.caplen, frame, 100);

	CHECK_EQ_INT(capture_next(c, &pkt), CAPTURE_END);
	CHECK_EQ_INT(capture_packet_count(c), 2);
	CHECK_EQ_INT(capture_file_offset(c), f.len);
	file_done(c, &f, path);
}

/* Records of many sizes, about 3 MiB in all, so several cross the reader's 1 MiB buffer. */
static void test_buffer_crossing(void)
{
	static uint8_t frame[70000];
	struct pcap_file f;
	struct capture_packet pkt;
	struct capture *c;
	char path[64];
	uint32_t n = 0;
	uint32_t lengths[400];

	file_begin(&f, false, false);
	for (n = 0; n < 400; n++) {
		lengths[n] = 54 + (n * 7919u) % 15000u + (n % 37 == 0 ? 50000u : 0u);
		frame_make(frame, lengths[n], 25, (uint8_t)n);
		file_record(&f, 1767225600 + n, n, frame, lengths[n], lengths[n]);
	}
	c = file_open(&f, path, sizeof(path));
	CHECK(c != NULL);
	if (c == NULL)
		return;
	for (uint32_t i = 0; i < n; i++) {
		int rc = capture_next(c, &pkt);

		CHECK_EQ_INT(rc, CAPTURE_PACKET);
		if (rc != CAPTURE_PACKET)
			break;
		frame_make(frame, lengths[i], 25, (uint8_t)i);
		CHECK_EQ_MEM(pkt.data, pkt.caplen, frame, lengths[i]);
		CHECK_EQ_INT(pkt.ts_usec, (1767225600ull + i) * 1000000u + i);
	}
	CHECK_EQ_INT(capture_next(c, &pkt), CAPTURE_END);
	CHECK_EQ_INT(capture_packet_count(c), n);
	file_done(c, &f, path);
}

static void test_filter_ports(void)
{
	struct pcap_file f;
	struct capture_packet pkt;
	struct capture *c;
	char path[64];
	char err[256];
	uint8_t frame[80];
	const uint16_t ports[] = {25, 443, 993, 53, 25};

	file_begin(&f, false, false);
	for (unsigned i = 0; i < 5; i++) {
		frame_make(frame, 80, ports[i], (uint8_t)i);
		file_record(&f, 1767225600, i, frame, 80, 80);
	}
	c = file_open(&f, path, sizeof(path));
	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK_EQ_INT(capture_set_filter(c, "tcp port 25 or tcp port 993", err, sizeof(err)), 0);
	CHECK_EQ_INT(capture_next(c, &pkt), CAPTURE_PACKET);
	CHECK_EQ_INT(pkt.ts_usec % 1000000u, 0);
	CHECK_EQ_INT(capture_next(c, &pkt), CAPTURE_PACKET);
	CHECK_EQ_INT(pkt.ts_usec % 1000000u, 2);
	CHECK_EQ_INT(capture_next(c, &pkt), CAPTURE_PACKET);
	CHECK_EQ_INT(pkt.ts_usec % 1000000u, 4);
	CHECK_EQ_INT(capture_next(c, &pkt), CAPTURE_END);
	CHECK_EQ_INT(capture_packet_count(c), 3);
	CHECK(capture_set_filter(c, "tcp port", err, sizeof(err)) != 0);
	file_done(c, &f, path);
}

/* Cuts a two-record file at every offset inside the second record. */
static void test_truncated_every_offset(void)
{
	struct pcap_file f;
	uint8_t frame[90];
	size_t second;

	file_begin(&f, false, false);
	frame_make(frame, 70, 110, 3);
	file_record(&f, 1767225600, 1, frame, 70, 70);
	second = f.len;
	frame_make(frame, 90, 110, 4);
	file_record(&f, 1767225600, 2, frame, 90, 90);

	for (size_t cut = second + 1; cut < f.len; cut++) {
		struct pcap_file part = f;
		struct capture_packet pkt;
		struct capture *c;
		char path[64];
		char expected[200];

		part.len = cut;
		c = file_open(&part, path, sizeof(path));
		CHECK(c != NULL);
		if (c == NULL)
			continue;
		CHECK_EQ_INT(capture_next(c, &pkt), CAPTURE_PACKET);
		CHECK_EQ_INT(capture_next(c, &pkt), CAPTURE_ERROR);
		if (cut - second < 16)
			snprintf(expected, sizeof(expected),
				 "%s: packet 2: truncated dump file; tried to read 16 header bytes, only got %zu", path,
				 cut - second);
		else
			snprintf(expected, sizeof(expected),
				 "%s: packet 2: truncated dump file; tried to read 90 captured bytes, only got %zu",
				 path, cut - second - 16);
		CHECK_EQ_STR(capture_error(c), expected);
		capture_close(c);
		unlink(path);
	}
	free(f.bytes);
}

static void test_caplen_too_long(void)
{
	struct pcap_file f;
	struct capture_packet pkt;
	struct capture *c;
	char path[64];
	char expected[200];
	uint8_t frame[60];

	file_begin(&f, true, false);
	frame_make(frame, 60, 143, 5);
	file_record(&f, 1767225600, 0, frame, 60, 60);
	file_put32(&f, 1767225600);
	file_put32(&f, 0);
	file_put32(&f, 262145);
	file_put32(&f, 262145);
	file_put(&f, frame, 60);
	c = file_open(&f, path, sizeof(path));
	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK_EQ_INT(capture_next(c, &pkt), CAPTURE_PACKET);
	CHECK_EQ_INT(capture_next(c, &pkt), CAPTURE_ERROR);
	snprintf(expected, sizeof(expected),
		 "%s: packet 2: invalid packet capture length 262145, bigger than maximum of 262144", path);
	CHECK_EQ_STR(capture_error(c), expected);
	file_done(c, &f, path);
}

static void test_header_only(void)
{
	struct pcap_file f;
	struct capture_packet pkt;
	struct capture *c;
	char path[64];

	file_begin(&f, false, true);
	c = file_open(&f, path, sizeof(path));
	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK_EQ_INT(capture_next(c, &pkt), CAPTURE_END);
	CHECK_EQ_INT(capture_packet_count(c), 0);
	file_done(c, &f, path);
}

static void test_break_stops_reading(void)
{
	struct pcap_file f;
	struct capture_packet pkt;
	struct capture *c;
	char path[64];
	uint8_t frame[60];

	file_begin(&f, false, false);
	frame_make(frame, 60, 25, 6);
	file_record(&f, 1767225600, 0, frame, 60, 60);
	file_record(&f, 1767225600, 1, frame, 60, 60);
	c = file_open(&f, path, sizeof(path));
	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK_EQ_INT(capture_next(c, &pkt), CAPTURE_PACKET);
	capture_break(c);
	CHECK_EQ_INT(capture_next(c, &pkt), CAPTURE_END);
	file_done(c, &f, path);
}

int main(void)
{
	test_byte_order(false, false);
	test_byte_order(true, false);
	test_byte_order(false, true);
	test_byte_order(true, true);
	test_buffer_crossing();
	test_filter_ports();
	test_truncated_every_offset();
	test_caplen_too_long();
	test_header_only();
	test_break_stops_reading();
	return test_finish("test_capture_file");
}
