/* fuzz_rpmdb.c: rpm databases in BerkeleyDB and NDB form (rpmdb_bdb.c,
 * rpmdb_ndb.c).  An input starting with NDB's magic goes to the NDB
 * reader, anything else to the BerkeleyDB one. */
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
	if (size >= 4 && !memcmp(data, "RpmP", 4))
		fuzz_det_run(det_rpm_ndb, "var/lib/rpm/Packages.db", data,
			     size);
	else
		fuzz_det_run(det_rpm_bdb, "var/lib/rpm/Packages", data, size);
	return 0;
}
