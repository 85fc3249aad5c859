/* fuzz_java.c: pom.properties and MANIFEST.MF in Java archives
 * (detect_java.c).  The input is the text of a pom.properties (or, when
 * it starts with "Manifest-", of a manifest), put into a .jar built here,
 * so the fuzzer works on our readers and archive walk rather than on
 * libarchive's zip code; an input that is already a zip is handed over as
 * it is (nested archives included). */
#include "fuzz/fuzz_det.h"

#include <archive.h>
#include <archive_entry.h>

static void *fz_jar(const uint8_t *data, size_t size, size_t *len_out)
{
	const char *path =
		size >= 9 && !memcmp(data, "Manifest-", 9)
			? "META-INF/MANIFEST.MF"
			: "META-INF/maven/com.example/app/pom.properties";
	size_t cap = size + 4096, used = 0;
	struct archive *a = archive_write_new();
	struct archive_entry *ent = archive_entry_new();
	void *buf = malloc(cap);
	int ok;

	if (!a || !ent || !buf)
		abort();
	archive_entry_set_pathname(ent, path);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0644);
	archive_entry_set_size(ent, (la_int64_t)size);
	ok = archive_write_set_format_zip(a) == ARCHIVE_OK &&
	     archive_write_open_memory(a, buf, cap, &used) == ARCHIVE_OK &&
	     archive_write_header(a, ent) == ARCHIVE_OK &&
	     archive_write_data(a, data, size) == (la_ssize_t)size &&
	     archive_write_close(a) == ARCHIVE_OK;
	archive_entry_free(ent);
	archive_write_free(a);
	if (!ok) {
		free(buf);
		return NULL;
	}
	*len_out = used;
	return buf;
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
	size_t len;
	void *jar;

	if (size >= 4 && !memcmp(data, "PK\3\4", 4)) {
		fuzz_det_run(det_java, "opt/app/app.jar", data, size);
		return 0;
	}
	jar = fz_jar(data, size, &len);
	if (!jar)
		return 0;
	fuzz_det_run(det_java, "opt/app/app-1.0.jar", jar, len);
	free(jar);
	return 0;
}
