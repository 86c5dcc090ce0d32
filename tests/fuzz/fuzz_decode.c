/*
 * Fuzz target: link, IP and TCP decoding with fragment reassembly. The
 * input is a series of frames, each prefixed by a one-byte link type index
 * and a two-byte length, all through one decoder so fragments meet.
 */
#include <stddef.h>
#include <stdint.h>

#include "decode/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int fuzz_linktypes[] = {
	DECODE_LINKTYPE_ETHERNET, DECODE_LINKTYPE_NULL,	      DECODE_LINKTYPE_LOOP, DECODE_LINKTYPE_RAW,
	DECODE_LINKTYPE_IPV4,	  DECODE_LINKTYPE_IPV6,	      DECODE_LINKTYPE_LINUX_SLL,
	DECODE_LINKTYPE_LINUX_SLL2, DECODE_LINKTYPE_PPP,      DECODE_LINKTYPE_DLT_RAW_12,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct decoder *d = decoder_new();
	struct packet_view view;
	size_t pos = 0;
	uint64_t ts = 1000000;

	if (d == NULL)
		return 0;
	while (size - pos >= 3) {
		int linktype = fuzz_linktypes[data[pos] % (sizeof(fuzz_linktypes) / sizeof(fuzz_linktypes[0]))];
		size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];

		pos += 3;
		if (len > size - pos)
			len = size - pos;
		decoder_decode(d, linktype, data + pos, (uint32_t)len, (uint32_t)len + (data[pos - 3] & 0x80u),
			       ts, &view);
		pos += len;
		ts += 7000000;
		decoder_expire(d, ts);
	}
	decoder_free(d);
	return 0;
}
