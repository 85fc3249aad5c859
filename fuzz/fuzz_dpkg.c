/* fuzz_dpkg.c: var/lib/dpkg/status and the status.d/ files of distroless
 * images (detect_dpkg.c). */
#include "fuzz/fuzz_det.h"

static void fz_status(const struct det_file *f, struct det_out *out)
{
	det_dpkg(f, false, out);
}

static void fz_status_d(const struct det_file *f, struct det_out *out)
{
	det_dpkg(f, true, out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_det_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_det_run(fz_status, "var/lib/dpkg/status", data, size);
	fuzz_det_run(fz_status_d, "var/lib/dpkg/status.d/pkg", data, size);
	return 0;
}
