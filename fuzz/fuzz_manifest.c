/* fuzz_manifest.c: manifest validation (api_mparse.c), the body of a
 * manifest PUT, under each Content-Type a client may send with it. */
#include "fuzz/fuzz.h"

#include "common/log.h"
#include "registry/api_int.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LL_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {
		NULL,
		"application/vnd.oci.image.manifest.v1+json",
		"application/vnd.oci.image.index.v1+json",
		"application/vnd.docker.distribution.manifest.v2+json; x=y",
		"application/vnd.docker.distribution.manifest.list.v2+json",
		"application/vnd.example+json",
	};
	struct reg_manifest m;
	struct err e = ERR_INIT;

	for (size_t i = 0; i < sizeof(types) / sizeof(*types); i++) {
		memset(&m, 0, sizeof(m));
		err_clear(&e);
		if (reg_manifest_parse((const char *)data, size, types[i], &m,
				       &e) == 0 &&
		    m.ndescs && !m.descs)
			abort();
		reg_manifest_release(&m);
	}
	return 0;
}
