/* fuzz_tracker.c: the Debian Security Tracker importer (tracker.c): one
 * tracker JSON document streamed into a DB in memory.  A document that is
 * not tracker JSON fails (ERR_INVALID, ERR_TOO_LARGE); only a failure of
 * the DB is a bug.  One DB serves every input: each is imported inside a
 * savepoint that is rolled back, which is cheaper than a new schema. */
#include "fuzz/fuzz.h"

#include "common/log.h"
#include "scanner/vulndb_int.h"

static struct vulndb_imp imp;

static void fuzz_exec(const char *sql)
{
	if (sqlite3_exec(imp.db, sql, NULL, NULL, NULL) != SQLITE_OK)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct err e = ERR_INIT;

	(void)argc;
	(void)argv;
	log_set_level(LL_ERROR);
	if (vulndb_imp_open(&imp, ":memory:", &e) < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = ERR_INIT;

	fuzz_exec("SAVEPOINT one");
	if (tracker_import_mem(&imp, data, size, "fuzz", &e) < 0 &&
	    e.code == ERR_DB)
		abort();
	fuzz_exec("ROLLBACK TO one; RELEASE one");
	return 0;
}
