/*
 * Fuzz target: the JSON string escaper. Whatever the bytes, the output must
 * contain no raw control character, no unescaped quote, and valid UTF-8.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "output/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_builder jb;

	json_init(&jb);
	json_object_begin(&jb, NULL);
	json_string_bytes(&jb, "value", data, size);
	json_object_end(&jb);
	if (jb.failed) {
		json_free(&jb);
		return 0;
	}
	for (size_t i = 0; i < jb.len; i++) {
		unsigned char ch = (unsigned char)jb.buf[i];

		if (ch < 0x20 || ch == 0x7f)
			abort();
	}
	if (strncmp(jb.buf, "{\"value\":\"", 10) != 0 || strcmp(jb.buf + jb.len - 2, "\"}") != 0)
		abort();

	/* Inside the string, every quote must be escaped. */
	for (size_t i = 10; i + 2 < jb.len; i++) {
		if (jb.buf[i] == '\\')
			i++;
		else if (jb.buf[i] == '"')
			abort();
	}
	json_free(&jb);
	return 0;
}
