/* fuzz.h: what the libFuzzer targets in fuzz/ share.
 *
 * Each fuzz_<name>.c defines LLVMFuzzerTestOneInput() for one parser.  The
 * same file links either with libFuzzer (clang -fsanitize=fuzzer: `make
 * fuzz`) or with driver.c (any compiler: `make fuzz-regress` replays the
 * committed corpus, crashes found included, as a regression test).
 */
#ifndef FUZZ_FUZZ_H
#define FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Defined (as 1) by targets whose parser runs in the scan workers'
 * sandbox: driver.c then reads every input first and runs them inside
 * the same confinement (scan_sandbox_enter()), so a parser that needs a
 * syscall the sandbox forbids shows up here. */
extern const int fuzz_sandboxed __attribute__((weak));
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A NUL-terminated copy of the input, as the parsers are handed files;
 * the caller frees it. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
