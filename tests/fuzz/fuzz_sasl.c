/* Fuzz target: base64 and the SASL response parsers. */
#include <stdint.h>
#include <stdlib.h>

#include "mail/base64.h"
#include "mail/sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t decoded[4096];
	uint8_t user[256];
	size_t decoded_len = 0;
	size_t user_len = 0;
	struct sasl_fields fields;

	if (base64_decode(data, size, decoded, sizeof(decoded), &decoded_len) == 0 && decoded_len > sizeof(decoded))
		abort();
	sasl_parse_plain(data, size, &fields);
	sasl_parse_cram_md5(data, size, &fields);
	sasl_parse_digest_md5(data, size, &fields);
	sasl_parse_oauth(data, size, &fields);
	sasl_parse_scram_first(data, size, &fields);
	sasl_parse_ntlm_type3(data, size, user, sizeof(user), &user_len);
	if (user_len > sizeof(user))
		abort();
	return 0;
}
