/* fuzz_apk.c: lib/apk/db/installed (detect_apk.c). */
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
	fuzz_det_run(det_apk, "lib/apk/db/installed", data, size);
	return 0;
}
