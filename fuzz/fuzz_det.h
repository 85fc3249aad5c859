/* fuzz_det.h: running a package detector on one fuzz input, as the layer
 * walker would hand it a file. */
#ifndef FUZZ_FUZZ_DET_H
#define FUZZ_FUZZ_DET_H

#include "fuzz/fuzz.h"

#include "common/log.h"
#include "scanner/detect_int.h"

/* Detectors run in the scan workers' sandbox: so do their fuzz targets
 * under driver.c (see fuzz.h). */
const int fuzz_sandboxed = 1;

typedef void (*fuzz_det_fn)(const struct det_file *f, struct det_out *out);

static inline void fuzz_det_run(fuzz_det_fn fn, const char *path,
				const uint8_t *data, size_t size)
{
	char *copy = fuzz_cstr(data, size);
	struct det_file f = {path, "sha256:0", copy, size, NULL};
	struct det_out out;

	det_out_init(&out);
	fn(&f, &out);
	/* Every package has a name and a version. */
	for (size_t i = 0; i < out.inv.npkgs; i++)
		if (!out.inv.pkgs[i].name || !out.inv.pkgs[i].version)
			abort();
	det_out_release(&out);
	free(copy);
}

static inline void fuzz_det_quiet(void)
{
	log_set_level(LL_ERROR);
}

/* A detector target's LLVMFuzzerInitialize(): quiet logs, nothing else. */
#define FUZZ_DET_INITIALIZE                                                    \
	int LLVMFuzzerInitialize(int *argc, char ***argv)                      \
	{                                                                      \
		(void)argc;                                                    \
		(void)argv;                                                    \
		fuzz_det_quiet();                                              \
		return 0;                                                      \
	}

#endif
