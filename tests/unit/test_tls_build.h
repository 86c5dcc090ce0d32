/*
 * Builders for the TLS unit tests: byte buffers with length prefixes
 * patched afterwards, handshake messages wrapped in records, and a
 * ClientHello that carries every extension the analyzer reads.
 */
#ifndef MAILTAP_TEST_TLS_BUILD_H
#define MAILTAP_TEST_TLS_BUILD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/session.h"

#define TB_MAX (256u * 1024u)

struct tb {
	uint8_t *data;
	size_t len;
};

static inline struct tb tb_new(void)
{
	struct tb b = {calloc(1, TB_MAX), 0};

	if (b.data == NULL)
		abort();
	return b;
}

static inline void tb_free(struct tb *b)
{
	free(b->data);
	b->data = NULL;
}

static inline void tb_u8(struct tb *b, unsigned v)
{
	b->data[b->len++] = (uint8_t)v;
}

static inline void tb_u16(struct tb *b, unsigned v)
{
	tb_u8(b, v >> 8);
	tb_u8(b, v);
}

static inline void tb_u24(struct tb *b, unsigned long v)
{
	tb_u8(b, (unsigned)(v >> 16));
	tb_u8(b, (unsigned)(v >> 8));
	tb_u8(b, (unsigned)v);
}

static inline void tb_bytes(struct tb *b, const void *src, size_t n)
{
	if (n == 0)
		return;
	memcpy(b->data + b->len, src, n);
	b->len += n;
}

static inline void tb_str(struct tb *b, const char *s)
{
	tb_bytes(b, s, strlen(s));
}

/* Reserves a big-endian length field of width bytes; tb_close fills it. */
static inline size_t tb_open(struct tb *b, size_t width)
{
	size_t at = b->len;

	b->len += width;
	return at;
}

static inline void tb_close(struct tb *b, size_t at, size_t width)
{
	size_t n = b->len - at - width;

	for (size_t i = 0; i < width; i++)
		b->data[at + i] = (uint8_t)(n >> (8 * (width - 1 - i)));
}

/* Appends a handshake message (type, 24-bit length, body). */
static inline void tb_handshake(struct tb *out, unsigned type, const struct tb *body)
{
	tb_u8(out, type);
	tb_u24(out, body->len);
	tb_bytes(out, body->data, body->len);
}

/* Wraps bytes of one content type in records of at most fragment bytes each. */
static inline void tb_records(struct tb *out, unsigned type, unsigned version, const uint8_t *data,
			      size_t len, size_t fragment)
{
	size_t done = 0;

	do {
		size_t n = len - done < fragment ? len - done : fragment;

		tb_u8(out, type);
		tb_u16(out, version);
		tb_u16(out, (unsigned)n);
		tb_bytes(out, data + done, n);
		done += n;
	} while (done < len);
}

/* A 32-byte random that is not the HelloRetryRequest value. */
static inline void tb_random(struct tb *b)
{
	for (unsigned i = 0; i < 32; i++)
		tb_u8(b, 0x40 + i);
}

static inline void tb_extension(struct tb *b, unsigned type, const void *data, size_t len)
{
	tb_u16(b, type);
	tb_u16(b, (unsigned)len);
	tb_bytes(b, data, len);
}

/*
 * ClientHello body that follows the example of FoxIO's JA4 specification.
 * It has the same 15 cipher suites, the same 16 extensions in the same
 * order, the same 8 signature algorithms and ALPN "h2" first. GREASE values
 * are added to the cipher list, the extension list, supported_groups and
 * supported_versions.
 */
static inline void tb_client_hello_full(struct tb *b, const char *sni)
{
	static const uint16_t suites[] = {0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c,
					  0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d,
					  0x002f, 0x0035};
	static const uint8_t compress_certificate[] = {0x02, 0x00, 0x02};
	static const uint8_t key_share[] = {0x00, 0x00};
	static const uint8_t alps[] = {0x00, 0x03, 0x02, 'h', '2'};
	static const uint8_t psk_modes[] = {0x01, 0x01};
	static const uint8_t sig_algs[] = {0x00, 0x10, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x03,
					   0x08, 0x05, 0x05, 0x01, 0x08, 0x06, 0x06, 0x01};
	static const uint8_t status_request[] = {0x01, 0x00, 0x00, 0x00, 0x00};
	static const uint8_t versions[] = {0x06, 0x2a, 0x2a, 0x03, 0x04, 0x03, 0x03};
	static const uint8_t renegotiation[] = {0x00};
	static const uint8_t point_formats[] = {0x01, 0x00};
	static const uint8_t groups[] = {0x00, 0x08, 0x3a, 0x3a, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18};
	static const uint8_t padding[8] = {0};
	size_t at;
	size_t ext;

	tb_u16(b, 0x0303);
	tb_random(b);
	tb_u8(b, 32);
	for (unsigned i = 0; i < 32; i++)
		tb_u8(b, i);
	tb_u16(b, sizeof(suites));
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		tb_u16(b, suites[i]);
	tb_u8(b, 1);
	tb_u8(b, 0);
	ext = tb_open(b, 2);
	tb_extension(b, 0x1a1a, NULL, 0);
	tb_extension(b, 0x001b, compress_certificate, sizeof(compress_certificate));
	tb_u16(b, 0x0000);
	at = tb_open(b, 2);
	{
		size_t list = tb_open(b, 2);

		tb_u8(b, 0);
		tb_u16(b, (unsigned)strlen(sni));
		tb_str(b, sni);
		tb_close(b, list, 2);
	}
	tb_close(b, at, 2);
	tb_extension(b, 0x0033, key_share, sizeof(key_share));
	tb_u16(b, 0x0010);
	at = tb_open(b, 2);
	{
		size_t list = tb_open(b, 2);

		tb_u8(b, 2);
		tb_str(b, "h2");
		tb_u8(b, 8);
		tb_str(b, "http/1.1");
		tb_close(b, list, 2);
	}
	tb_close(b, at, 2);
	tb_extension(b, 0x4469, alps, sizeof(alps));
	tb_extension(b, 0x0017, NULL, 0);
	tb_extension(b, 0x002d, psk_modes, sizeof(psk_modes));
	tb_extension(b, 0x000d, sig_algs, sizeof(sig_algs));
	tb_extension(b, 0x0005, status_request, sizeof(status_request));
	tb_extension(b, 0x0023, NULL, 0);
	tb_extension(b, 0x0012, NULL, 0);
	tb_extension(b, 0x002b, versions, sizeof(versions));
	tb_extension(b, 0xff01, renegotiation, sizeof(renegotiation));
	tb_extension(b, 0x000b, point_formats, sizeof(point_formats));
	tb_extension(b, 0x000a, groups, sizeof(groups));
	tb_extension(b, 0x0015, padding, sizeof(padding));
	tb_close(b, ext, 2);
}

/* ClientHello body of an older client: no extensions at all. */
static inline void tb_client_hello_plain(struct tb *b, unsigned version, const uint16_t *suites, size_t count)
{
	tb_u16(b, version);
	tb_random(b);
	tb_u8(b, 0);
	tb_u16(b, (unsigned)(count * 2));
	for (size_t i = 0; i < count; i++)
		tb_u16(b, suites[i]);
	tb_u8(b, 1);
	tb_u8(b, 0);
}

/*
 * ServerHello body. selected_version 0 leaves supported_versions out (TLS
 * 1.2 style, with renegotiation_info and ec_point_formats instead);
 * otherwise it carries supported_versions and an empty key_share.
 */
static inline void tb_server_hello(struct tb *b, unsigned legacy, unsigned cipher, unsigned selected_version,
				   bool hello_retry_request)
{
	static const uint8_t hrr_random[32] = {
		0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
		0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
	};
	size_t ext;

	tb_u16(b, legacy);
	if (hello_retry_request)
		tb_bytes(b, hrr_random, sizeof(hrr_random));
	else
		tb_random(b);
	tb_u8(b, 0);
	tb_u16(b, cipher);
	tb_u8(b, 0);
	ext = tb_open(b, 2);
	if (selected_version != 0) {
		uint8_t version[2] = {(uint8_t)(selected_version >> 8), (uint8_t)selected_version};
		static const uint8_t key_share[] = {0x00, 0x1d};

		tb_extension(b, 0x002b, version, sizeof(version));
		tb_extension(b, 0x0033, key_share, sizeof(key_share));
	} else {
		static const uint8_t renegotiation[] = {0x00};
		static const uint8_t point_formats[] = {0x01, 0x00};

		tb_extension(b, 0xff01, renegotiation, sizeof(renegotiation));
		tb_extension(b, 0x000b, point_formats, sizeof(point_formats));
	}
	tb_close(b, ext, 2);
}

/* Counts the events a session raised, by type. */
struct event_counter {
	unsigned count[EVENT_TYPE_COUNT];
	int last_aux[EVENT_TYPE_COUNT];
};

static inline void event_counter_emit(void *ctx, const struct event *ev)
{
	struct event_counter *counter = ctx;

	counter->count[ev->type]++;
	counter->last_aux[ev->type] = ev->aux;
}

#endif
