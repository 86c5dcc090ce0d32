/*
 * Decodes every packet of the public captures under the directory named by
 * the environment variable MAILTAP_SHARED_CAPTURES. Per file, the number of
 * TCP segments is compared with the count from TShark 4.0.17
 * ("tshark -r FILE -Y tcp | wc -l"). Their payload bytes are compared with
 * the sum of tcp.len ("tshark -r FILE -Y 'tcp && !icmp' -T fields -e
 * tcp.len"), which matches because no TCP payload in these files is cut by
 * the snapshot length. The captures are read in place and never copied
 * into the project. Without the variable, one frame built here is decoded.
 */
#include <dirent.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "decode/decode.h"
#include "test.h"
#include "test_decode_frames.h"

#define PATH_BYTES 4096

struct expected_count {
	const char *path; /* relative to MAILTAP_SHARED_CAPTURES */
	long tcp_segments;
	long payload_bytes; /* sum of tcp.len over those segments */
};

static const struct expected_count expected_counts[] = {
	{"arkime/curl-enabled-tls13.pcap", 31, 5083},
	{"arkime/imap.pcap", 121, 22651},
	{"arkime/ntlm_synthetic.pcap", 218, 7781},
	{"arkime/openssl-ssl3.pcap", 20, 4650},
	{"arkime/openssl-tls1.pcap", 20, 4790},
	{"arkime/openssl-tls1_2-tls1.pcap", 19, 4601},
	{"arkime/openssl-tls1_2.pcap", 20, 4898},
	{"arkime/smtp-data-250.pcap", 30, 1898},
	{"arkime/smtp-rcpt-553.pcap", 16, 789},
	{"arkime/smtp-starttls.pcap", 36, 6011},
	{"arkime/tls-split-client-hello.pcap", 35, 12672},
	{"ndpi/443-curl.pcap", 109, 66816},
	{"ndpi/KakaoTalk_chat.pcap", 310, 49761},
	{"ndpi/dns.pcap", 0, 0},
	{"ndpi/http.pcapng", 10, 602},
	{"ndpi/http_ipv6.pcap", 128, 38744},
	{"ndpi/ja3_lots_of_cipher_suites.pcap", 11, 4396},
	{"ndpi/pops.pcapng", 5, 2704},
	{"ndpi/smtp-starttls.pcap", 69, 9842},
	{"ndpi/smtp.pcap", 95, 17955},
	{"ndpi/smtps.pcapng", 4, 696},
	{"ndpi/tls_1.2_unidirectional_server.pcapng", 18, 6022},
	{"ndpi/tls_1.3_unidirectional_client.pcapng", 9, 886},
	{"ndpi/tls_alert.pcap", 18, 361},
	{"ndpi/tls_missing_ch_frag.pcap", 14, 9150},
	/*
	 * tshark counts 57: frames 26, 28, 29 and 30 are ICMP destination
	 * unreachable (type 3, code 4) quoting a TCP header, which is not a
	 * TCP segment for us ("tcp && !icmp" gives 53).
	 */
	{"suricata-verify/bug-3616-smtp.pcap", 53, 21083},
	{"suricata-verify/imap-detection.pcap", 106, 21515},
	{"suricata-verify/linktype-228_flow-test-01.pcap", 7, 164},
	{"suricata-verify/pop3-02-bug-7709.pcap", 50, 7196},
	{"suricata-verify/pop3-auth-01.pcap", 29, 369},
	{"suricata-verify/protocol-change-failed-event.pcap", 10, 69},
	{"suricata-verify/smtp-bug-5989.pcap", 46, 25539},
	{"suricata-verify/smtp-errors_smtperr.pcap", 158, 40038},
	{"suricata-verify/smtp-long-DATA-line.pcap", 46, 20575},
	{"suricata-verify/smtp-pipelining.pcap", 18, 402},
	{"suricata-verify/smtp-rset-starttls.pcap", 10, 31},
	{"suricata-verify/tls_tls-client-hello-frag-01_dump_mtu300.pcap", 62, 21421},
	{"suricata-verify/tls_tls13-draft28_tls13_draft28.pcap", 30, 5205},
	{"zeek/communityid_ipv6.pcap", 17, 250},
	{"zeek/dns53.pcap", 0, 0},
	{"zeek/http-vlan-0.pcap", 14, 5143},
	{"zeek/pop3-unknown-commands.pcap", 29, 167},
	{"zeek/smtp-attachment-msg.pcap", 17, 688},
	{"zeek/smtp-mail-transactions-invalid.pcap", 76, 1236},
	{"zeek/smtp-one-side-only.pcap", 19, 18530},
	/* tshark counts 122, with the same four ICMP errors quoting TCP ("tcp && !icmp" gives 118). */
	{"zeek/smtp.pcap", 118, 29126},
	{"zeek/smtp_rfc3030-bdat-multipart-chunked.pcap", 184, 4748},
	{"zeek/smtp_smtp-bdat-gap.pcap", 40, 473},
	{"zeek/tls_chrome-1250-tls-x25519-kyber.pcap", 15, 10875},
	{"zeek/tls_dhe.pcap", 24, 4953},
	{"zeek/tls_ecdhe.pcap", 28, 5146},
	{"zeek/tls_hrr.pcap", 19, 2618},
	{"zeek/tls_imap-starttls.pcap", 32, 6193},
	{"zeek/tls_missing-intermediate.pcap", 50, 9281},
	{"zeek/tls_openjdk-25.0.2-zeek.org.pcap", 6, 3377},
	{"zeek/tls_pop3-starttls.pcap", 33, 3441},
	{"zeek/tls_smtp-starttls.pcap", 37, 5627},
	{"zeek/tls_ssl-v2.pcap", 25, 1814},
	{"zeek/tls_ssl.v3.pcap", 252, 169870},
	{"zeek/tls_telesec.pcap", 22, 5800},
	{"zeek/tls_tls-1.2-handshake-failure.pcap", 11, 185},
	{"zeek/tls_tls-conn-with-extensions.pcap", 58, 19311},
	{"zeek/tls_tls-early-alert.pcap", 17, 6771},
	{"zeek/tls_tls1.2.pcap", 22, 6749},
	{"zeek/tls_tls13_psk_succesfull.pcap", 20, 1012},
	{"zeek/tls_tls13draft23-chrome67.0.3368.0-canary.pcap", 24, 3820},
	{"zeek/tls_tls1_1.pcap", 23, 5268},
	{"zeek/tls_xmpp-starttls.pcap", 34, 5354},
};

#define EXPECTED_COUNT_ROWS (sizeof(expected_counts) / sizeof(expected_counts[0]))

/* Per-run totals, printed at the end. */
struct public_totals {
	int files_compared;
	int files_unlisted;
	bool row_seen[EXPECTED_COUNT_ROWS];
};

static const struct expected_count *expected_find(const char *relative, size_t *row)
{
	size_t i;

	for (i = 0; i < EXPECTED_COUNT_ROWS; i++) {
		if (strcmp(expected_counts[i].path, relative) == 0) {
			*row = i;
			return &expected_counts[i];
		}
	}
	return NULL;
}

/* Counts the DECODE_TCP results in the file and their payload bytes. tcp is -1 when libpcap cannot open it. */
static void decode_file(const char *path, long *tcp, long *payload_bytes)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *header;
	const u_char *data;
	struct decoder *d;
	struct packet_view v;
	pcap_t *p = pcap_open_offline(path, errbuf);
	int linktype;

	*tcp = 0;
	*payload_bytes = 0;
	if (p == NULL) {
		fprintf(stderr, "%s: %s\n", path, errbuf);
		*tcp = -1;
		return;
	}
	d = decoder_new();
	linktype = pcap_datalink(p);
	CHECK(decoder_linktype_supported(linktype));
	while (pcap_next_ex(p, &header, &data) == 1) {
		uint64_t ts = (uint64_t)header->ts.tv_sec * 1000000u + (uint64_t)header->ts.tv_usec;

		if (decoder_decode(d, linktype, data, header->caplen, header->len, ts, &v) == DECODE_TCP) {
			(*tcp)++;
			*payload_bytes += v.payload_len;
		}
	}
	decoder_free(d);
	pcap_close(p);
}

static bool is_capture_name(const char *name)
{
	size_t len = strlen(name);

	return (len > 5 && strcmp(name + len - 5, ".pcap") == 0) ||
	       (len > 7 && strcmp(name + len - 7, ".pcapng") == 0);
}

static void compare_file(const char *path, const char *relative, struct public_totals *totals)
{
	size_t row = 0;
	const struct expected_count *expected = expected_find(relative, &row);
	long tcp;
	long payload_bytes;

	decode_file(path, &tcp, &payload_bytes);
	if (expected == NULL) {
		printf("no expected count for %s (%ld TCP segments decoded)\n", relative, tcp);
		totals->files_unlisted++;
		return;
	}
	totals->row_seen[row] = true;
	totals->files_compared++;
	if (tcp != expected->tcp_segments)
		fprintf(stderr, "%s: %ld TCP segments decoded, tshark counts %ld\n", relative, tcp,
			expected->tcp_segments);
	CHECK_EQ_INT(tcp, expected->tcp_segments);
	if (payload_bytes != expected->payload_bytes)
		fprintf(stderr, "%s: %ld payload bytes decoded, tshark counts %ld\n", relative,
			payload_bytes, expected->payload_bytes);
	CHECK_EQ_INT(payload_bytes, expected->payload_bytes);
}

/* Walks dir (relative is its path under the root) and compares every pcap or pcapng file. */
static void walk_directory(const char *dir, const char *relative, struct public_totals *totals)
{
	DIR *handle = opendir(dir);
	struct dirent *entry;

	CHECK(handle != NULL);
	if (handle == NULL)
		return;
	while ((entry = readdir(handle)) != NULL) {
		char path[PATH_BYTES];
		char sub[PATH_BYTES];
		struct stat st;

		if (entry->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
		snprintf(sub, sizeof(sub), "%s%s%s", relative, relative[0] ? "/" : "", entry->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			walk_directory(path, sub, totals);
		else if (S_ISREG(st.st_mode) && is_capture_name(entry->d_name))
			compare_file(path, sub, totals);
	}
	closedir(handle);
}

/* Runs without the captures: one IPv4 TCP frame over Ethernet. */
static void test_builtin_frame(void)
{
	static const uint8_t payload[] = "+OK POP3 ready\r\n";
	struct tcp_spec t = {
		.src_port = 110,
		.dst_port = 51000,
		.seq = 1,
		.ack = 2,
		.flags = TCP_FLAG_ACK | TCP_FLAG_PSH,
		.window = 1024,
		.payload = payload,
		.payload_len = sizeof(payload) - 1,
	};
	static struct frame f;
	struct decoder *d = decoder_new();
	struct packet_view v;

	frame_reset(&f);
	frame_ethernet(&f, 0x0800);
	frame_ipv4(&f, 0, (unsigned)(20 + tcp_spec_len(&t)), 1, 0, 6);
	frame_tcp(&f, &t);
	CHECK_EQ_INT(decoder_decode(d, 1, f.bytes, (uint32_t)f.len, (uint32_t)f.len, 1, &v), DECODE_TCP);
	CHECK_EQ_INT(v.src_port, 110);
	CHECK_EQ_INT(v.dst_port, 51000);
	CHECK_EQ_MEM(v.payload, v.payload_len, payload, sizeof(payload) - 1);
	decoder_free(d);
}

int main(void)
{
	const char *root = getenv("MAILTAP_SHARED_CAPTURES");
	static struct public_totals totals;
	size_t i;

	test_builtin_frame();
	if (root == NULL || root[0] == '\0') {
		printf("skipped: MAILTAP_SHARED_CAPTURES not set\n");
		return test_finish("test_decode_public");
	}

	walk_directory(root, "", &totals);
	for (i = 0; i < EXPECTED_COUNT_ROWS; i++) {
		if (!totals.row_seen[i])
			fprintf(stderr, "%s: listed but not found under %s\n", expected_counts[i].path, root);
		CHECK(totals.row_seen[i]);
	}
	printf("compared %d files with tshark counts, %d files without an expected count\n",
	       totals.files_compared, totals.files_unlisted);
	return test_finish("test_decode_public");
}
