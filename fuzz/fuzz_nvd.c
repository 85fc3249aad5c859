/* fuzz_nvd.c: the NVD importer (nvd.c through vulndb_stream()): one file,
 * an NVD 2.0 feed or API page or a bare "cve" record, plain or gzip'd,
 * imported into a DB in memory. */
#include "fuzz/fuzz.h"

#include <stdio.h>
#include <unistd.h>

#include "common/log.h"
#include "scanner/vulndb_int.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LL_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vulndb_imp imp;
	struct err e = ERR_INIT;
	FILE *f = tmpfile();
	char path[64];

	/* The importer reads files by name, as `db import nvd=FILE` does. */
	if (!f || fwrite(data, 1, size, f) != size || fflush(f))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fileno(f));
	if (vulndb_imp_open(&imp, ":memory:", &e) < 0)
		abort();
	/* Malformed input fails the file (ERR_INVALID, ERR_TOO_LARGE) or
	 * skips a record; the DB itself never fails. */
	if (nvd_import(&imp, path, &e) < 0 && e.code == ERR_DB)
		abort();
	vulndb_imp_release(&imp);
	fclose(f);
	return 0;
}
