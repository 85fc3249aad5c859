/* fuzz_tracker.c: the Debian Security Tracker importer (tracker.c): one
 * tracker JSON document streamed into a DB in memory.  A document that is
 * not tracker JSON fails (ERR_INVALID, ERR_TOO_LARGE); only a failure of
 * the DB is a bug. */
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
	if (tracker_import_mem(&imp, data, size, "fuzz", &e) < 0 &&
	    e.code == ERR_DB)
		abort();
	vulndb_imp_release(&imp);
	return 0;
}
