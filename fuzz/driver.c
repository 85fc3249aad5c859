/* driver.c: runs a fuzz target over files, without libFuzzer.
 *
 *	fuzz_<name> FILE|DIR...
 *
 * Each file (each regular file of a directory) is one input.  Built with
 * the project's own compiler and flags (SANITIZE=address,undefined works),
 * it replays the committed corpus: every crash a fuzzer found stays there
 * as a regression test.
 */
#define _XOPEN_SOURCE 700

#include "fuzz/fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "scanner/scanner.h"
#include <sys/stat.h>

/* The inputs, read before any runs (a sandboxed target cannot open
 * files afterwards). */
struct input {
	uint8_t *data;
	size_t len;
};
static struct input *inputs;
static size_t ninputs;

static int load_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (len == cap) {
			cap = cap ? 2 * cap : 65536;
			data = realloc(data, cap);
			if (!data)
				abort();
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	inputs = realloc(inputs, (ninputs + 1) * sizeof(*inputs));
	if (!inputs)
		abort();
	inputs[ninputs].data = data;
	inputs[ninputs++].len = len;
	return 0;
}

static int load_path(const char *path)
{
	struct dirent *de;
	struct stat sb;
	char sub[4096];
	int rc = 0;
	DIR *d;

	if (stat(path, &sb) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode))
		return load_file(path);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)) && rc == 0) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		rc = load_path(sub);
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	bool sandbox =
		&fuzz_sandboxed && fuzz_sandboxed && !getenv("FUZZ_NO_SANDBOX");

	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		if (load_path(argv[i]) < 0)
			return 1;
	if (sandbox && scan_sandbox_enter(SCAN_SANDBOX_MEMORY, 0) < 0) {
		fprintf(stderr, "%s: cannot enter the sandbox\n", argv[0]);
		return 1;
	}
	for (size_t i = 0; i < ninputs; i++) {
		LLVMFuzzerTestOneInput(inputs[i].data, inputs[i].len);
		free(inputs[i].data);
	}
	free(inputs);
	printf("%s: %zu inputs ran%s\n", argv[0], ninputs,
	       sandbox ? " in the scan sandbox" : "");
	fflush(stdout);
	/* No exit handlers: LeakSanitizer's would need what the sandbox
	 * forbids. */
	_exit(0);
}
