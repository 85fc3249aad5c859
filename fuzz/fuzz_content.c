/* fuzz_content.c: Red Hat's content manifests (detect_content.c). */
#include "fuzz/fuzz_det.h"

FUZZ_DET_INITIALIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct det_out out;
	char *copy = fuzz_cstr(data, size);
	struct det_file f = {"root/buildinfo/content_manifests/x.json",
			     "sha256:0", copy, size, NULL};

	det_out_init(&out);
	det_content_manifest(&f, &out);
	/* A manifest names repositories, never packages; each kept content
	 * set is a bounded label. */
	if (out.inv.npkgs || out.inv.ncontent_sets > INV_MAX_CONTENT_SETS)
		abort();
	for (size_t i = 0; i < out.inv.ncontent_sets; i++)
		if (!out.inv.content_sets[i][0] ||
		    strlen(out.inv.content_sets[i]) > INV_MAX_CONTENT_SET)
			abort();
	det_out_release(&out);
	free(copy);
	return 0;
}
