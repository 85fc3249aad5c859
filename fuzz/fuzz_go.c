/* fuzz_go.c: Go build info in ELF executables (detect_go.c): the ELF
 * headers, the buildinfo header, pointer and inline string forms and the
 * module lines. */
#include "fuzz/fuzz_det.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_det_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_det_run(det_go, "usr/bin/app", data, size);
	return 0;
}
