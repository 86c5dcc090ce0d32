/*
 * Fuzz target: TCP reassembly of one stream. Each segment is described by
 * a 4-byte sequence offset, a one-byte length and a flags byte (bit 0 FIN,
 * bit 1 ACK, bit 2 SYN), followed by its payload. Small caps make the cap
 * paths reachable; the test checks that the budget is returned in full.
 */
#include <stdint.h>
#include <stdlib.h>

#include "reassembly/reassembly.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_on_data(void *ctx, const uint8_t *data, size_t len)
{
	uint64_t *total = ctx;

	/* Touch every byte so ASan sees a read of freed or unowned memory. */
	for (size_t i = 0; i < len; i++)
		*total += data[i];
}

static void fuzz_on_gap(void *ctx, uint64_t len)
{
	uint64_t *total = ctx;

	*total += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reasm_limits limits = {4096, 16, 8192};
	struct reasm_budget budget;
	struct reasm_stream stream;
	uint64_t total = 0;
	struct reasm_output out = {fuzz_on_data, fuzz_on_gap, &total};
	size_t pos = 0;
	uint32_t base = 0xfffff000u;

	reasm_budget_init(&budget, &limits);
	reasm_stream_init(&stream);
	while (size - pos >= 6) {
		uint32_t offset = (uint32_t)data[pos] << 24 | (uint32_t)data[pos + 1] << 16 |
				  (uint32_t)data[pos + 2] << 8 | data[pos + 3];
		size_t len = data[pos + 4];
		uint8_t flags = data[pos + 5];

		pos += 6;
		if (len > size - pos)
			len = size - pos;
		if (flags & 4u)
			reasm_stream_set_isn(&stream, base + offset);
		else if (flags & 2u)
			reasm_stream_ack(&stream, &budget, base + offset, &out);
		else
			reasm_stream_add(&stream, &budget, base + (offset & 0xffffu), data + pos, (uint32_t)len,
					 (flags & 1u) != 0, &out);
		pos += len;
	}
	reasm_stream_flush(&stream, &budget, &out);
	reasm_stream_release(&stream, &budget);
	if (budget.bytes_in_use != 0)
		abort();
	return 0;
}
