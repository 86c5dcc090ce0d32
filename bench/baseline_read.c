/*
 * Baseline readers for the benchmarks: the fastest plain libpcap loops over
 * a capture file, to compare mailtap's packet rate with. Each loop reads
 * every packet with pcap_next_ex() and sums every captured byte, so the data
 * is really touched as an analyzer would touch it.
 *
 *   baseline_read plain FILE    pcap_open_offline(), libpcap's own FILE buffer
 *   baseline_read buffered FILE fopen() + setvbuf(1 MiB) + pcap_fopen_offline()
 *
 * Prints packets, bytes and the byte sum (so the compiler keeps the loop).
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASELINE_FILE_BUFFER (1024u * 1024u)

static int baseline_loop(pcap_t *p, const char *mode)
{
	struct pcap_pkthdr *hdr;
	const u_char *data;
	uint64_t packets = 0;
	uint64_t bytes = 0;
	uint64_t sum = 0;
	int rc;

	while ((rc = pcap_next_ex(p, &hdr, &data)) == 1) {
		packets++;
		bytes += hdr->caplen;
		for (uint32_t i = 0; i < hdr->caplen; i++)
			sum += data[i];
	}
	if (rc != PCAP_ERROR_BREAK) {
		fprintf(stderr, "baseline_read: packet %llu: %s\n", (unsigned long long)(packets + 1), pcap_geterr(p));
		return 1;
	}
	printf("mode=%s packets=%llu bytes=%llu sum=%llu\n", mode, (unsigned long long)packets,
	       (unsigned long long)bytes, (unsigned long long)sum);
	return 0;
}

static int baseline_plain(const char *path)
{
	char err[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_open_offline(path, err);
	int rc;

	if (p == NULL) {
		fprintf(stderr, "baseline_read: cannot read %s: %s\n", path, err);
		return 1;
	}
	rc = baseline_loop(p, "plain");
	pcap_close(p);
	return rc;
}

static int baseline_buffered(const char *path)
{
	char err[PCAP_ERRBUF_SIZE] = "";
	char *buffer = malloc(BASELINE_FILE_BUFFER);
	FILE *f = fopen(path, "rb");
	pcap_t *p;
	int rc;

	if (f == NULL || buffer == NULL) {
		fprintf(stderr, "baseline_read: cannot open %s\n", path);
		if (f != NULL)
			fclose(f);
		free(buffer);
		return 1;
	}
	setvbuf(f, buffer, _IOFBF, BASELINE_FILE_BUFFER);
	p = pcap_fopen_offline(f, err);
	if (p == NULL) {
		fprintf(stderr, "baseline_read: cannot read %s: %s\n", path, err);
		fclose(f);
		free(buffer);
		return 1;
	}
	rc = baseline_loop(p, "buffered");
	/* pcap_close() closes f; the buffer must outlive it. */
	pcap_close(p);
	free(buffer);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "plain") != 0 && strcmp(argv[1], "buffered") != 0)) {
		fprintf(stderr, "usage: baseline_read plain|buffered FILE\n");
		return 2;
	}
	if (strcmp(argv[1], "plain") == 0)
		return baseline_plain(argv[2]);
	return baseline_buffered(argv[2]);
}
