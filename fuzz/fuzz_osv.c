/* fuzz_osv.c: the OSV importer (osv.c, secdb.c via vulndb_doc()): one JSON
 * document (an OSV record, an array of them, or an Alpine secdb file)
 * imported into a DB in memory. */
#include "fuzz/fuzz.h"

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

	if (vulndb_imp_open(&imp, ":memory:", &e) < 0)
		abort();
	/* Bad input is skipped, never a failure of the DB. */
	if (vulndb_doc(&imp, (const char *)data, size, "fuzz", &e) < 0)
		abort();
	vulndb_imp_release(&imp);
	return 0;
}
