/* fuzz_npm.c: package-lock.json and installed package.json files
 * (detect_npm.c). */
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
	fuzz_det_run(det_npm_lock, "app/package-lock.json", data, size);
	fuzz_det_run(det_npm_pkg, "app/node_modules/x/package.json", data,
		     size);
	return 0;
}
