/*
 * Fuzz target: the mail analyzers and the TLS analyzer behind them, driven
 * through the application dispatcher. Byte 0 picks the protocol; then each
 * turn is a header byte (bit 7: server to client, bit 6: a gap instead of
 * data, bits 0-5: length) followed by its bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "core/config.h"
#include "core/session.h"
#include "tls/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum app_proto fuzz_protos[] = {
	APP_PROTO_SMTP, APP_PROTO_SUBMISSION, APP_PROTO_SMTPS, APP_PROTO_POP3,
	APP_PROTO_POP3S, APP_PROTO_IMAP,      APP_PROTO_IMAPS, APP_PROTO_TLS,
};

static struct tls_context *fuzz_tls;
static struct mailtap_config fuzz_cfg;

static void fuzz_emit(void *ctx, const struct event *ev)
{
	(void)ctx;
	if (ev->session == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct event_sink sink = {fuzz_emit, NULL};
	struct session s;
	struct app_analyzer *a;
	size_t pos = 1;

	if (size < 1)
		return 0;
	if (fuzz_tls == NULL) {
		fuzz_tls = tls_context_new();
		config_set_defaults(&fuzz_cfg);
		fuzz_cfg.line_bytes = 256;
	}
	memset(&s, 0, sizeof(s));
	s.app_proto = fuzz_protos[data[0] % (sizeof(fuzz_protos) / sizeof(fuzz_protos[0]))];
	s.mail.starttls.offered = TRISTATE_UNKNOWN;
	s.sink = &sink;
	s.now_usec = 1700000000000000ull;
	fuzz_cfg.reveal_credentials = (data[0] & 0x80u) != 0;
	a = app_analyzer_new(&s, &fuzz_cfg, fuzz_tls);
	if (a == NULL)
		return 0;
	while (pos < size) {
		uint8_t header = data[pos++];
		size_t len = header & 0x3fu;
		enum direction dir = (header & 0x80u) ? DIR_TO_CLIENT : DIR_TO_SERVER;

		if (len > size - pos)
			len = size - pos;
		if (header & 0x40u) {
			app_analyzer_gap(a, dir, len);
			continue;
		}
		app_analyzer_data(a, dir, data + pos, len);
		pos += len;
	}
	app_analyzer_finish(a);
	app_analyzer_free(a);
	session_release(&s);
	return 0;
}
