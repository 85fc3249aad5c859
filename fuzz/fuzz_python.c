/* fuzz_python.c: *.dist-info/METADATA and PKG-INFO (detect_python.c). */
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
	fuzz_det_run(det_python,
		     "usr/lib/python3/dist-packages/x-1.0.dist-info/METADATA",
		     data, size);
	fuzz_det_run(det_python, "usr/lib/python3/site-packages/x.egg-info",
		     data, size);
	return 0;
}
