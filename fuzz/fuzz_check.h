/* fuzz_check.h - the invariant check of every fuzz target: on failure, print what
 * failed and where (the replay driver and libFuzzer show it), then abort so the input
 * is kept as a crash. */
#ifndef SKYDIVE_FUZZ_CHECK_H
#define SKYDIVE_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(x)                                                                           \
	do {                                                                               \
		if (!(x)) {                                                                \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);     \
			abort();                                                           \
		}                                                                          \
	} while (0)

#endif
