/*
 * A small test harness: CHECK records a failure with its location and goes
 * on, so one run reports every broken case; test_finish() sets the exit code.
 */
#ifndef MAILTAP_TEST_H
#define MAILTAP_TEST_H

#include <stdio.h>
#include <string.h>

static int test_failures;
static int test_checks;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		test_checks++;                                                        \
		if (!(cond)) {                                                        \
			test_failures++;                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                     \
	} while (0)

#define CHECK_EQ_INT(actual, expected)                                                \
	do {                                                                          \
		long long check_a_ = (long long)(actual);                             \
		long long check_e_ = (long long)(expected);                           \
		test_checks++;                                                        \
		if (check_a_ != check_e_) {                                           \
			test_failures++;                                              \
			fprintf(stderr, "%s:%d: %s is %lld, expected %lld\n", __FILE__, __LINE__, \
				#actual, check_a_, check_e_);                         \
		}                                                                     \
	} while (0)

#define CHECK_EQ_STR(actual, expected)                                                \
	do {                                                                          \
		const char *check_a_ = (actual);                                      \
		const char *check_e_ = (expected);                                    \
		test_checks++;                                                        \
		if (check_a_ == NULL || strcmp(check_a_, check_e_) != 0) {            \
			test_failures++;                                              \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, \
				#actual, check_a_ ? check_a_ : "(null)", check_e_);   \
		}                                                                     \
	} while (0)

#define CHECK_EQ_MEM(actual, actual_len, expected, expected_len)                      \
	do {                                                                          \
		size_t check_al_ = (size_t)(actual_len);                              \
		size_t check_el_ = (size_t)(expected_len);                            \
		test_checks++;                                                        \
		if (check_al_ != check_el_ || memcmp((actual), (expected), check_el_) != 0) { \
			test_failures++;                                              \
			fprintf(stderr, "%s:%d: %s (%zu bytes) differs from %s (%zu bytes)\n", \
				__FILE__, __LINE__, #actual, check_al_, #expected, check_el_); \
		}                                                                     \
	} while (0)

static inline int test_finish(const char *name)
{
	if (test_checks == 0) {
		fprintf(stderr, "%s: no checks ran\n", name);
		return 1;
	}
	printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
	return test_failures == 0 ? 0 : 1;
}

#endif
