/* fuzz_runtime.c: the runtime detectors (detect_runtime.c).  The first
 * byte picks one: 0 Node.js (a version string anywhere in a binary), 1
 * Python (a NUL-delimited PY_VERSION for the file name's 3.N), 2 an
 * OpenJDK release file; the rest is the file. */
#include "fuzz/fuzz_det.h"

FUZZ_DET_INITIALIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_det_run(det_node, "usr/local/bin/node", data + 1,
			     size - 1);
		break;
	case 1:
		fuzz_det_run(det_python_rt,
			     "usr/local/lib/libpython3.12.so.1.0", data + 1,
			     size - 1);
		break;
	default:
		fuzz_det_run(det_java_release, "opt/java/openjdk/release",
			     data + 1, size - 1);
		break;
	}
	return 0;
}
