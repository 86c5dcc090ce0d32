/* Fuzz target: the YAML rules loader, on arbitrary text. */
#include <stdint.h>

#include "detect/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rule_errors errs = {0};
	struct rule_set *set = rule_set_load_buffer("fuzz.yaml", (const char *)data, size, &errs);

	rule_set_free(set);
	rule_errors_free(&errs);
	return 0;
}
