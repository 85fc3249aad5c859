/* fuzz_rpm.c: rpm package headers (detect_rpm.c).  The input is one
 * header blob, stored as the only row of an rpmdb.sqlite built here, so
 * the fuzzer works on the header format rather than on sqlite's; an input
 * that is already an sqlite file is handed over as it is. */
#include "fuzz/fuzz_det.h"

#include <sqlite3.h>

static int fz_wrap(const uint8_t *data, size_t size, unsigned char **db_out,
		   sqlite3_int64 *len_out)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int ret = -1;

	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    sqlite3_exec(db,
			 "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY"
			 " AUTOINCREMENT, blob BLOB NOT NULL)",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO Packages (blob) VALUES (?1)",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 1, data, (int)size, SQLITE_STATIC) !=
		    SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		goto out;
	*db_out = sqlite3_serialize(db, "main", len_out, 0);
	ret = *db_out ? 0 : -1;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ret;
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
	unsigned char *db;
	sqlite3_int64 len;

	if (size >= 16 && !memcmp(data, "SQLite format 3", 16)) {
		fuzz_det_run(det_rpm_sqlite, "var/lib/rpm/rpmdb.sqlite", data,
			     size);
		return 0;
	}
	if (size > (1u << 20) || fz_wrap(data, size, &db, &len) < 0)
		return 0;
	fuzz_det_run(det_rpm_sqlite, "var/lib/rpm/rpmdb.sqlite", db,
		     (size_t)len);
	sqlite3_free(db);
	return 0;
}
