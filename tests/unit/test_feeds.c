/* test_feeds.c: the pure parts of `customs db update` (scanner/feeds*.c):
 * response headers, NVD's .meta, CRC-32C, sources and their names on
 * disk, the defaults, and the state file.  The downloads themselves are
 * tested against a real server (tests/integration/t_dbupdate.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/xmalloc.h"
#include "scanner/feeds_int.h"

#define UNUSED __attribute__((unused))

static void line(struct feed_headers *h, const char *s)
{
	feed_headers_line(h, s, strlen(s));
}

static void test_headers(void **state UNUSED)
{
	struct feed_headers h;

	feed_headers_init(&h);
	/* A redirect's headers are forgotten at the next status line. */
	line(&h, "HTTP/1.1 302 Found\r\n");
	line(&h, "ETag: \"old\"\r\n");
	line(&h, "HTTP/2 200\r\n");
	assert_int_equal(h.status, 200);
	assert_string_equal(h.etag, "");
	line(&h, "etag:  \"abc\"  \r\n");
	line(&h, "Last-Modified: Tue, 01 Dec 2026 10:00:00 GMT\r\n");
	line(&h, "Content-Length: 12345\r\n");
	line(&h, "Accept-Ranges: bytes\r\n");
	line(&h, "x-goog-hash: crc32c=n03x6A==\r\n");
	line(&h, "x-goog-hash: md5=Ojk9c3dhfxgoKVVHYwFbHQ==\r\n");
	assert_string_equal(h.etag, "\"abc\"");
	assert_string_equal(h.last_modified, "Tue, 01 Dec 2026 10:00:00 GMT");
	assert_int_equal(h.length, 12345);
	assert_true(h.ranges);
	assert_string_equal(h.crc32c, "n03x6A==");
	assert_string_equal(h.md5, "Ojk9c3dhfxgoKVVHYwFbHQ==");
	assert_false(h.encoded);
	line(&h, "Content-Encoding: gzip\r\n");
	assert_true(h.encoded);

	/* Both hashes in one header; a 206's range. */
	line(&h, "HTTP/1.1 206 Partial Content\r\n");
	line(&h, "X-Goog-Hash: crc32c=AAAAAA==, md5=MTIz\r\n");
	line(&h, "Content-Range: bytes 100-199/200\r\n");
	assert_int_equal(h.status, 206);
	assert_string_equal(h.crc32c, "AAAAAA==");
	assert_string_equal(h.md5, "MTIz");
	assert_int_equal(h.range_start, 100);
	assert_int_equal(h.range_total, 200);
	line(&h, "Content-Range: bytes 0-9/*\r\n");
	assert_int_equal(h.range_total, -1);

	/* Hostile values: too long to keep, not numbers, no colon. */
	feed_headers_init(&h);
	{
		char big[600];

		memset(big, 'a', sizeof(big));
		memcpy(big, "ETag: ", 6);
		big[sizeof(big) - 1] = '\0';
		line(&h, big);
		assert_string_equal(h.etag, "");
	}
	line(&h, "Content-Length: -5\r\n");
	assert_int_equal(h.length, -1);
	line(&h, "Content-Length: 99999999999999999999999\r\n");
	assert_int_equal(h.length, -1);
	line(&h, "garbage\r\n");
	line(&h, "HTTP/1.1\r\n");
	assert_int_equal(h.status, 0);
}

static void test_meta(void **state UNUSED)
{
	static const char meta[] =
		"lastModifiedDate:2026-12-01T03:00:01-05:00\r\n"
		"size:123456789\r\n"
		"zipSize:9999\r\n"
		"gzSize:8888\r\n"
		"sha256:"
		"B0E8C5B7F3A1D2C4E6F8091A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D"
		"5E\r\n";
	struct feed_meta m;
	struct err e = ERR_INIT;

	assert_int_equal(feed_meta_parse(meta, strlen(meta), &m, &e), 0);
	assert_int_equal(m.size, 123456789);
	assert_string_equal(m.sha256, "b0e8c5b7f3a1d2c4e6f8091a2b3c4d5e6f7081"
				      "92a3b4c5d6e7f8091a2b3c4d5e");
	assert_int_equal(feed_meta_parse("size:12\n", 8, &m, &e), -1);
	err_clear(&e);
	assert_int_equal(feed_meta_parse("size:1x\nsha256:00\n", 18, &m, &e),
			 -1);
	err_clear(&e);
	assert_int_equal(feed_meta_parse("<html>", 6, &m, &e), -1);
}

static void test_crc32c(void **state UNUSED)
{
	/* The check value of CRC-32C (RFC 3720, B.4). */
	assert_int_equal(feed_crc32c(0, "123456789", 9), 0xE3069283u);
	/* Incremental is the same as at once. */
	assert_int_equal(feed_crc32c(feed_crc32c(0, "1234", 4), "56789", 5),
			 0xE3069283u);
}

static void test_sources(void **state UNUSED)
{
	struct vulndb_source s;
	struct err e = ERR_INIT;

	assert_int_equal(vulndb_source_parse("osv=https://m.example/Debian/"
					     "all.zip?x=1",
					     &s, &e),
			 0);
	assert_int_equal(s.kind, VULNDB_OSV);
	assert_string_equal(s.name, "osv:m.example/Debian/all.zip");
	vulndb_source_release(&s);
	assert_int_equal(vulndb_source_parse("nvd=http://h/nvdcve-2.0-2024."
					     "json.gz",
					     &s, &e),
			 0);
	assert_int_equal(s.kind, VULNDB_NVD);
	vulndb_source_release(&s);
	assert_int_equal(vulndb_source_parse("osv=file:///etc/passwd", &s, &e),
			 -1);
	err_clear(&e);
	assert_int_equal(vulndb_source_parse("bogus=https://h/x", &s, &e), -1);
	err_clear(&e);
	assert_int_equal(vulndb_source_parse("auto=https://h/x", &s, &e), -1);
	err_clear(&e);
	assert_int_equal(vulndb_source_parse("https://h/x", &s, &e), -1);
	err_clear(&e);
	assert_int_equal(vulndb_source_parse("osv=https:///x", &s, &e), -1);
}

static void test_names(void **state UNUSED)
{
	char *s;

	s = feed_dir_name("osv:m.example/Debian/all.zip");
	assert_string_equal(s, "osv_m.example_Debian_all.zip");
	free(s);
	s = feed_dir_name("../x");
	assert_string_equal(s, "_._x"); /* no slash, not hidden */
	free(s);
	s = feed_file_name("https://h/a/all.zip?x=/y");
	assert_string_equal(s, "all.zip");
	free(s);
	s = feed_file_name("https://security-tracker.debian.org/tracker/data/"
			   "json");
	assert_string_equal(s, "json");
	free(s);
	s = feed_file_name("https://h/");
	assert_string_equal(s, "feed");
	free(s);
	s = feed_file_name("https://h");
	assert_string_equal(s, "feed");
	free(s);
	s = feed_file_name("https://h/..");
	assert_string_equal(s, "_.");
	free(s);
}

static void test_defaults(void **state UNUSED)
{
	static const char *const ecos[] = {"Debian", "npm"};
	static const char *const rt[] = {"Runtime"};
	static const char *const branches[] = {"v3.18"};
	struct vulndb_want want = {false, ecos, 2, branches, 1};
	struct vulndb_source *v;
	size_t n, nvd = 0, osv = 0, alpine = 0, tracker = 0;
	time_t t2026 = 1796306731; /* 2026-12-03 */

	vulndb_sources_default(NULL, t2026, &v, &n);
	for (size_t i = 0; i < n; i++) {
		nvd += v[i].kind == VULNDB_NVD;
		osv += v[i].kind == VULNDB_OSV;
		tracker += v[i].kind == VULNDB_DEBIAN_TRACKER;
		assert_true(!strncmp(v[i].url, "https://", 8));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(v[i].name, v[j].name);
	}
	assert_int_equal(osv, 17);
	assert_int_equal(tracker, 1);
	assert_int_equal(nvd, 2026 - 2002 + 1 + 1);
	assert_string_equal(v[0].url, "https://osv-vulnerabilities.storage."
				      "googleapis.com/Debian/all.zip");
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, "osv:Red Hat"))
			assert_string_equal(
				v[i].url, "https://osv-vulnerabilities.storage."
					  "googleapis.com/Red%20Hat/all.zip");
	vulndb_sources_free(v, n);

	vulndb_sources_default(&want, t2026, &v, &n);
	osv = tracker = 0;
	for (size_t i = 0; i < n; i++) {
		osv += v[i].kind == VULNDB_OSV;
		alpine += v[i].kind == VULNDB_ALPINE_SECDB;
		tracker += v[i].kind == VULNDB_DEBIAN_TRACKER;
	}
	assert_int_equal(osv, 2);
	assert_int_equal(alpine, 2); /* main and community */
	assert_int_equal(tracker, 1);
	vulndb_sources_free(v, n);

	/* Reports name runtimes "Runtime"; their advisories are Bitnami's. */
	want.ecosystems = rt;
	want.necosystems = 1;
	vulndb_sources_default(&want, t2026, &v, &n);
	osv = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].kind == VULNDB_OSV) {
			osv++;
			assert_string_equal(v[i].name, "osv:Bitnami");
		}
	assert_int_equal(osv, 1);
	vulndb_sources_free(v, n);
}

static void test_state(void **state UNUSED)
{
	char parent[] = "/tmp/test_feeds.XXXXXX";
	char *dir;
	json_t *status, *row;
	struct vulndb_source src = {(char *)"osv:h/all.zip", VULNDB_OSV,
				    (char *)"https://h/all.zip"};
	struct feed_state st, back;
	struct err e = ERR_INIT;
	char *path;
	FILE *f;

	assert_non_null(mkdtemp(parent));
	dir = xasprintf("%s/src", parent);
	assert_int_equal(mkdir(dir, 0755), 0);
	feed_state_load(dir, &back); /* none: zeroed */
	assert_int_equal(back.last_success, 0);
	assert_string_equal(back.etag, "");
	memset(&st, 0, sizeof(st));
	snprintf(st.etag, sizeof(st.etag), "\"e1\"");
	snprintf(st.url, sizeof(st.url), "https://h/all.zip");
	snprintf(st.last_error, sizeof(st.last_error), "HTTP 500");
	st.last_success = 1000;
	st.last_attempt = 2000;
	st.records = 42;
	st.pending = true;
	assert_int_equal(feed_state_save(dir, &src, "all.zip", &st, &e), 0);
	feed_state_load(dir, &back);
	assert_string_equal(back.etag, "\"e1\"");
	assert_string_equal(back.last_modified, "");
	assert_string_equal(back.last_error, "HTTP 500");
	assert_string_equal(back.url, "https://h/all.zip");
	assert_int_equal(back.last_success, 1000);
	assert_int_equal(back.records, 42);
	assert_true(back.pending);
	/* The status as db status and GET /v2/_customs/db show it. */
	status = vulndb_sources_status(parent, 1500);
	assert_int_equal(json_array_size(status), 1);
	row = json_array_get(status, 0);
	assert_string_equal(json_string_value(json_object_get(row, "name")),
			    "osv:h/all.zip");
	assert_int_equal(json_integer_value(json_object_get(row, "age_s")),
			 500);
	assert_int_equal(json_integer_value(json_object_get(row, "records")),
			 42);
	assert_string_equal(
		json_string_value(json_object_get(row, "last_error")),
		"HTTP 500");
	json_decref(status);
	/* A damaged state file reads as none. */
	path = xasprintf("%s/state.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"etag\": 5, \"records\": \"x\"", f);
	fclose(f);
	feed_state_load(dir, &back);
	assert_string_equal(back.etag, "");
	assert_int_equal(back.records, 0);
	unlink(path);
	free(path);
	rmdir(dir);
	rmdir(parent);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers), cmocka_unit_test(test_meta),
		cmocka_unit_test(test_crc32c),	cmocka_unit_test(test_sources),
		cmocka_unit_test(test_names),	cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
