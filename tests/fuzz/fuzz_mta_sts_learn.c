/*
 * Fuzz target: MTA-STS learning from one DNS message (RFC 1035 header,
 * question, compressed names, TXT records) and from one TCP payload to
 * port 443 (a ClientHello's server_name). The first input byte picks the
 * path; one learner persists across inputs so its map and eviction run too.
 */
#include <stddef.h>
#include <stdint.h>

#include "policy/mta_sts_learn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mta_sts_learner *learner;
	static uint64_t ts;

	if (learner == NULL)
		learner = mta_sts_learner_new(64);
	if (learner == NULL || size == 0)
		return 0;
	ts++;
	if (data[0] & 1)
		mta_sts_learn_https(learner, data + 1, size - 1, ts);
	else
		mta_sts_learn_dns(learner, data + 1, size - 1, ts);
	return 0;
}
