/* test_config.c: `customs serve` options: defaults, flags, the JSON file,
 * bounds, and the errors for anything unknown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "registry/config_int.h"

#define UNUSED __attribute__((unused))

static int from_args(struct cfg *c, bool *help, struct err *e, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)"serve";
	va_start(ap, e);
	for (char *a; (a = va_arg(ap, char *)) && argc < 31;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	err_clear(e);
	return cfg_from_args(c, argc, argv, help, e);
}

static void test_defaults(void **state UNUSED)
{
	struct err e = ERR_INIT;
	struct cfg c;
	bool help;

	assert_int_equal(from_args(&c, &help, &e, NULL), 0);
	assert_false(help);
	assert_string_equal(c.listen, "127.0.0.1:5000");
	assert_string_equal(c.data, "./var");
	assert_int_equal(c.threads, 0);
	assert_null(c.tls_cert);
	assert_null(c.tls_key);
	assert_int_equal(c.max_manifest, 4 * 1024 * 1024);
	assert_string_equal(c.log_level, "info");
	assert_string_equal(c.log_format, "text");
	assert_null(c.port_file);
	cfg_release(&c);
}

static void test_flags(void **state UNUSED)
{
	struct err e = ERR_INIT;
	struct cfg c;
	bool help;

	assert_int_equal(from_args(&c, &help, &e, "--listen", "127.0.0.1:0",
				   "--data=/tmp/d", "--threads", "3",
				   "--max-manifest", "64KiB", "--log-level",
				   "debug", "--port-file", "/tmp/p",
				   "--tls-cert", "c.pem", "--tls-key", "k.pem",
				   NULL),
			 0);
	assert_string_equal(c.listen, "127.0.0.1:0");
	assert_string_equal(c.data, "/tmp/d");
	assert_int_equal(c.threads, 3);
	assert_int_equal(c.max_manifest, 64 * 1024);
	assert_string_equal(c.log_level, "debug");
	assert_string_equal(c.port_file, "/tmp/p");
	assert_string_equal(c.tls_cert, "c.pem");
	cfg_release(&c);

	assert_int_equal(from_args(&c, &help, &e, "--max-manifest", "2M", NULL),
			 0);
	assert_int_equal(c.max_manifest, 2 * 1024 * 1024);
	assert_false(c.refuse_sparse);
	cfg_release(&c);
	assert_int_equal(from_args(&c, &help, &e, "--refuse-sparse", NULL), 0);
	assert_true(c.refuse_sparse);
	cfg_release(&c);

	assert_int_equal(from_args(&c, &help, &e, "--bogus", "--help", NULL),
			 0);
	assert_true(help);
	cfg_release(&c);
}

static void check_bad(const char *want, ...)
{
	struct err e = ERR_INIT;
	char *argv[8];
	int argc = 0;
	struct cfg c;
	va_list ap;
	bool help;

	argv[argc++] = (char *)"serve";
	va_start(ap, want);
	for (char *a; (a = va_arg(ap, char *)) && argc < 7;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	if (cfg_from_args(&c, argc, argv, &help, &e) == 0)
		fail_msg("accepted %s", argv[1]);
	assert_int_equal(e.code, ERR_INVALID);
	if (!strstr(e.msg, want))
		fail_msg("'%s' lacks '%s'", e.msg, want);
}

static void test_bad_flags(void **state UNUSED)
{
	check_bad("unknown option '--nope'", "--nope", "1", NULL);
	check_bad("unexpected argument", "stray", NULL);
	check_bad("needs a value", "--listen", NULL);
	check_bad("not an integer", "--threads", "many", NULL);
	check_bad("not an integer", "--threads", "4k", NULL);
	check_bad("out of range", "--threads", "-1", NULL);
	check_bad("out of range", "--threads", "100000", NULL);
	check_bad("not a size", "--max-manifest", "4 MB", NULL);
	check_bad("out of range", "--max-manifest", "8G", NULL);
	check_bad("out of range", "--max-manifest", "99999999999999999T", NULL);
	check_bad("not one of", "--log-level", "loud", NULL);
	check_bad("not one of", "--log-format", "xml", NULL);
	check_bad("go together", "--tls-cert", "c.pem", NULL);
	check_bad("--data is empty", "--data", "", NULL);
	check_bad("want a postgres:// URL", "--meta", "mysql://db/x", NULL);
}

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/test_config_XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_file(void **state UNUSED)
{
	char *path = write_tmp("{\"listen\": \"127.0.0.1:7000\", "
			       "\"max_manifest\": 8192, \"threads\": \"2\", "
			       "\"logLevel\": \"warn\", \"portfile\": \"/p\", "
			       "\"refuse-sparse\": true}");
	struct err e = ERR_INIT;
	struct cfg c;
	bool help;

	/* The file overrides defaults; flags override the file. */
	assert_int_equal(from_args(&c, &help, &e, "--threads", "5", "--config",
				   path, NULL),
			 0);
	assert_string_equal(c.listen, "127.0.0.1:7000");
	assert_int_equal(c.max_manifest, 8192);
	assert_int_equal(c.threads, 5);
	assert_string_equal(c.port_file, "/p");
	assert_true(c.refuse_sparse);
	cfg_release(&c);
	unlink(path);
	free(path);
}

static void check_bad_file(const char *text, const char *want)
{
	char *path = write_tmp(text);
	struct err e = ERR_INIT;
	struct cfg c;
	bool help;

	if (from_args(&c, &help, &e, "--config", path, NULL) == 0)
		fail_msg("accepted config %s", text);
	if (!strstr(e.msg, want))
		fail_msg("'%s' lacks '%s'", e.msg, want);
	unlink(path);
	free(path);
}

static void test_bad_file(void **state UNUSED)
{
	struct err e = ERR_INIT;
	struct cfg c;
	bool help;

	check_bad_file("{\"nope\": 1}", "unknown option 'nope'");
	check_bad_file("[1]", "not a JSON object");
	check_bad_file("{\"listen\": ", ":1:");
	check_bad_file("{\"threads\": true}", "wrong JSON type");
	check_bad_file("{\"threads\": 1000}", "out of range");
	check_bad_file("{\"listen\": \"a\", \"listen\": \"b\"}", "duplicate");
	check_bad_file("{\"config\": \"x\"}", "cannot nest");
	assert_int_equal(from_args(&c, &help, &e, "--config",
				   "/nonexistent/customs.json", NULL),
			 -1);
	assert_non_null(strstr(e.msg, "/nonexistent/customs.json"));
}

static void test_usage(void **state UNUSED)
{
	static char buf[16384];
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	assert_non_null(f);
	cfg_usage(f);
	fclose(f);
	for (const struct opt *o = cfg_options; o->name; o++) {
		char flag[64];

		snprintf(flag, sizeof(flag), "--%s", o->name);
		assert_non_null(strstr(buf, flag));
	}
	assert_non_null(strstr(buf, "(default :5000)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),  cmocka_unit_test(test_flags),
		cmocka_unit_test(test_bad_flags), cmocka_unit_test(test_file),
		cmocka_unit_test(test_bad_file),  cmocka_unit_test(test_usage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
