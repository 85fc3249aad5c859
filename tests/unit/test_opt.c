/* test_opt.c: the option engine of every subcommand (common/opt.c):
 * flags, operands, the JSON file, defaults, errors and the help. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/opt.h"

#define UNUSED __attribute__((unused))

struct t_args {
	char *name;
	char *mode;
	int n;
	size_t size;
	bool flag;
	int64_t wait;
	struct opt_list tags;
	char *config;
	char *alias_target;
};

#define T_OFF(f) offsetof(struct t_args, f)

static const char *const t_modes[] = {"fast", "slow", NULL};

static const struct opt t_opts[] = {
	{"name", OPT_STRING, 0, 0, "anon", T_OFF(name), NULL, "NAME",
	 "who it is"},
	{"mode", OPT_STRING, 0, 0, NULL, T_OFF(mode), t_modes, "MODE",
	 "fast or slow"},
	{"count", OPT_INT, 0, 100, "3", T_OFF(n), NULL, NULL, "how many"},
	{"max-size", OPT_SIZE, 1, 1LL << 40, NULL, T_OFF(size), NULL, NULL,
	 "largest"},
	{"flag", OPT_BOOL, 0, 0, NULL, T_OFF(flag), NULL, NULL, "a switch"},
	{"wait", OPT_DURATION, 0, 86400, NULL, T_OFF(wait), NULL, NULL,
	 "how long"},
	{"tag", OPT_LIST, 0, 0, NULL, T_OFF(tags), NULL, "TAG", "a tag"},
	{"config", OPT_CONFIG, 0, 0, NULL, T_OFF(config), NULL, NULL,
	 OPT_CONFIG_HELP},
	{"old-name", OPT_STRING, 0, 0, NULL, T_OFF(alias_target), NULL, NULL,
	 NULL},
	{NULL, 0, 0, 0, NULL, 0, NULL, NULL, NULL},
};

static const struct opt_cmd t_cmd = {
	.name = "test",
	.synopsis = "[options] FILE...",
	.notes = "Some notes.",
	.opts = t_opts,
	.max_operands = 2,
};

static const struct opt_cmd t_shared = {
	.name = "shared",
	.opts = t_opts,
	.flags = OPT_SHARED_FILE,
};

/* Parses the NULL-terminated arguments after "test" into a (zeroed, then
 * defaults); args is released by the caller. */
static int parse(const struct opt_cmd *cmd, struct t_args *a,
		 struct opt_args *args, struct err *e, ...)
{
	static char *argv[32];
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)cmd->name;
	va_start(ap, e);
	for (char *s; (s = va_arg(ap, char *)) && argc < 31;)
		argv[argc++] = s;
	va_end(ap);
	argv[argc] = NULL;
	memset(a, 0, sizeof(*a));
	opt_defaults(cmd, a);
	err_clear(e);
	return opt_parse(cmd, a, argc, argv, args, e);
}

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/test_opt_XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_defaults_and_flags(void **state UNUSED)
{
	struct opt_args args;
	struct err e = ERR_INIT;
	struct t_args a;

	assert_int_equal(parse(&t_cmd, &a, &args, &e, NULL), 0);
	assert_string_equal(a.name, "anon");
	assert_int_equal(a.n, 3);
	assert_null(a.mode);
	assert_false(args.help);
	assert_int_equal(args.n, 0);
	opt_args_release(&args);
	opt_release(&t_cmd, &a);

	assert_int_equal(parse(&t_cmd, &a, &args, &e, "--name", "bob",
			       "--count=7", "--flag", "--max_size", "64k",
			       "--Wait", "15m", "--tag", "a", "--tag=b",
			       "--mode", "slow", NULL),
			 0);
	assert_string_equal(a.name, "bob");
	assert_int_equal(a.n, 7);
	assert_true(a.flag);
	assert_int_equal(a.size, 64 * 1024);
	assert_int_equal(a.wait, 900);
	assert_int_equal(a.tags.n, 2);
	assert_string_equal(a.tags.v[0], "a");
	assert_string_equal(a.tags.v[1], "b");
	assert_string_equal(a.mode, "slow");
	opt_args_release(&args);
	opt_release(&t_cmd, &a);
	assert_null(a.name);
	assert_null(a.tags.v);
	assert_int_equal(a.tags.n, 0);

	/* A later flag wins; a bool is cleared with =false; a hidden row
	 * is still accepted. */
	assert_int_equal(parse(&t_cmd, &a, &args, &e, "--flag", "--count", "1",
			       "--count", "2", "--flag=false", "--old-name",
			       "x", NULL),
			 0);
	assert_int_equal(a.n, 2);
	assert_false(a.flag);
	assert_string_equal(a.alias_target, "x");
	opt_args_release(&args);
	opt_release(&t_cmd, &a);
}

static void check_size(const char *text, size_t want)
{
	struct opt_args args;
	struct err e = ERR_INIT;
	struct t_args a;

	if (parse(&t_cmd, &a, &args, &e, "--max-size", text, NULL) < 0)
		fail_msg("%s: %s", text, e.msg);
	assert_int_equal(a.size, want);
	opt_args_release(&args);
	opt_release(&t_cmd, &a);
}

static void test_units(void **state UNUSED)
{
	check_size("4096", 4096);
	check_size("64k", 64 << 10);
	check_size("64K", 64 << 10);
	check_size("64KiB", 64 << 10);
	check_size("4M", 4 << 20);
	check_size("4m", 4 << 20);
	check_size("4MB", 4 << 20);
	check_size("4MiB", 4 << 20);
	check_size("1G", 1 << 30);
	check_size("1GiB", 1 << 30);
	check_size("1T", 1ULL << 40);
	check_size("1GB", 1 << 30);
	assert_int_equal(opt_duration("0"), 0);
	assert_int_equal(opt_duration("90"), 90);
	assert_int_equal(opt_duration("90s"), 90);
	assert_int_equal(opt_duration("15m"), 900);
	assert_int_equal(opt_duration("1h"), 3600);
	assert_int_equal(opt_duration("7d"), 7 * 86400);
	assert_int_equal(opt_duration("2w"), 14 * 86400);
	assert_int_equal(opt_duration("1x"), -1);
	assert_int_equal(opt_duration("h"), -1);
	assert_int_equal(opt_duration("-1"), -1);
	assert_int_equal(opt_duration("1hh"), -1);
	assert_int_equal(opt_duration(NULL), -1);
	assert_int_equal(opt_duration("99999999999999999999"), -1);
}

static void check_bad(const char *want, ...)
{
	struct opt_args args;
	struct err e = ERR_INIT;
	char *argv[8];
	int argc = 0;
	struct t_args a;
	va_list ap;
	int rc;

	argv[argc++] = (char *)"test";
	va_start(ap, want);
	for (char *s; (s = va_arg(ap, char *)) && argc < 7;)
		argv[argc++] = s;
	va_end(ap);
	argv[argc] = NULL;
	memset(&a, 0, sizeof(a));
	opt_defaults(&t_cmd, &a);
	rc = opt_parse(&t_cmd, &a, argc, argv, &args, &e);
	opt_args_release(&args);
	opt_release(&t_cmd, &a);
	if (rc == 0)
		fail_msg("accepted %s", argv[1]);
	assert_int_equal(e.code, ERR_INVALID);
	if (!strstr(e.msg, want))
		fail_msg("'%s' lacks '%s'", e.msg, want);
}

static void test_bad(void **state UNUSED)
{
	check_bad("unknown option '--nope'", "--nope", NULL);
	check_bad("unknown option '--nope'", "--nope=1", NULL);
	check_bad("unknown option '-x'", "-x", NULL);
	check_bad("--count needs a value", "--count", NULL);
	check_bad("--count: 'many' is not an integer", "--count", "many", NULL);
	check_bad("not an integer", "--count", "4k", NULL);
	check_bad("--count: 101 is out of range [0, 100]", "--count", "101",
		  NULL);
	check_bad("out of range", "--count", "-1", NULL);
	check_bad("not a size", "--max-size", "4 MB", NULL);
	check_bad("not a size", "--max-size", "4Q", NULL);
	check_bad("not a size", "--max-size", "4MiBs", NULL);
	check_bad("out of range", "--max-size", "0", NULL);
	check_bad("out of range", "--max-size", "2T", NULL);
	check_bad("out of range", "--max-size", "99999999999999999T", NULL);
	check_bad("not a boolean", "--flag=maybe", NULL);
	check_bad("not a duration", "--wait", "soon", NULL);
	check_bad("out of range", "--wait", "2d", NULL);
	check_bad("'medium' is not one of fast, slow", "--mode", "medium",
		  NULL);
	check_bad("unexpected argument 'c'", "a", "b", "c", NULL);
}

static void test_operands(void **state UNUSED)
{
	struct opt_args args;
	struct err e = ERR_INIT;
	struct t_args a;

	/* Flags and operands mix; `--` ends the flags; "-" is an operand. */
	assert_int_equal(parse(&t_cmd, &a, &args, &e, "one", "--count", "5",
			       "--", "--flag", NULL),
			 0);
	assert_int_equal(args.n, 2);
	assert_string_equal(args.v[0], "one");
	assert_string_equal(args.v[1], "--flag");
	assert_false(a.flag);
	assert_int_equal(a.n, 5);
	opt_args_release(&args);
	opt_release(&t_cmd, &a);

	assert_int_equal(parse(&t_cmd, &a, &args, &e, "-", NULL), 0);
	assert_int_equal(args.n, 1);
	assert_string_equal(args.v[0], "-");
	opt_args_release(&args);
	opt_release(&t_cmd, &a);

	/* A command without operands refuses them. */
	assert_int_equal(parse(&t_shared, &a, &args, &e, "stray", NULL), -1);
	assert_non_null(strstr(e.msg, "unexpected argument 'stray'"));
	opt_args_release(&args);
	opt_release(&t_shared, &a);
}

static void test_help(void **state UNUSED)
{
	struct opt_args args;
	struct err e = ERR_INIT;
	struct t_args a;

	/* --help anywhere wins over what is wrong elsewhere. */
	assert_int_equal(parse(&t_cmd, &a, &args, &e, "--nope", "--help", NULL),
			 0);
	assert_true(args.help);
	opt_args_release(&args);
	opt_release(&t_cmd, &a);
	assert_int_equal(parse(&t_cmd, &a, &args, &e, "-h", NULL), 0);
	assert_true(args.help);
	opt_args_release(&args);
	opt_release(&t_cmd, &a);
	/* ... but not past `--`. */
	assert_int_equal(parse(&t_cmd, &a, &args, &e, "--", "--help", NULL), 0);
	assert_false(args.help);
	assert_int_equal(args.n, 1);
	opt_args_release(&args);
	opt_release(&t_cmd, &a);
}

static void test_file(void **state UNUSED)
{
	char *path = write_tmp("{\"name\": \"file\", \"count\": 9, "
			       "\"max_size\": \"1M\", \"Flag\": true, "
			       "\"wait\": 60, \"tag\": [\"x\", {\"b\": 1, "
			       "\"a\": 2}], \"mode\": \"fast\"}");
	struct opt_args args;
	struct err e = ERR_INIT;
	struct t_args a;

	/* The file before the flags wherever it is named; flags win. */
	assert_int_equal(parse(&t_cmd, &a, &args, &e, "--count", "4",
			       "--config", path, NULL),
			 0);
	assert_string_equal(a.name, "file");
	assert_int_equal(a.n, 4);
	assert_int_equal(a.size, 1 << 20);
	assert_true(a.flag);
	assert_int_equal(a.wait, 60);
	assert_int_equal(a.tags.n, 2);
	assert_string_equal(a.tags.v[0], "x");
	assert_string_equal(a.tags.v[1], "{\"a\":2,\"b\":1}");
	assert_string_equal(a.config, path);
	opt_args_release(&args);
	opt_release(&t_cmd, &a);
	unlink(path);
	free(path);
}

static void check_bad_file(const struct opt_cmd *cmd, const char *text,
			   const char *want)
{
	char *path = write_tmp(text);
	struct opt_args args;
	struct err e = ERR_INIT;
	struct t_args a;
	int rc;

	rc = parse(cmd, &a, &args, &e, "--config", path, NULL);
	opt_args_release(&args);
	opt_release(cmd, &a);
	if (want && rc == 0)
		fail_msg("accepted config %s", text);
	if (want && !strstr(e.msg, want))
		fail_msg("'%s' lacks '%s'", e.msg, want);
	if (!want && rc < 0)
		fail_msg("refused config %s: %s", text, e.msg);
	unlink(path);
	free(path);
}

static void test_bad_file(void **state UNUSED)
{
	struct opt_args args;
	struct err e = ERR_INIT;
	struct t_args a;

	check_bad_file(&t_cmd, "{\"nope\": 1}", "unknown option 'nope'");
	check_bad_file(&t_cmd, "[1]", "not a JSON object");
	check_bad_file(&t_cmd, "{\"name\": ", ":1:");
	check_bad_file(&t_cmd, "{\"count\": true}", "wrong JSON type");
	check_bad_file(&t_cmd, "{\"mode\": {\"a\": 1}}", "wrong JSON type");
	check_bad_file(&t_cmd, "{\"count\": 1000}", "out of range");
	check_bad_file(&t_cmd, "{\"tag\": [1]}", "list items");
	check_bad_file(&t_cmd, "{\"name\": \"a\", \"name\": \"b\"}",
		       "duplicate");
	check_bad_file(&t_cmd, "{\"config\": \"x\"}", "cannot nest");
	/* A shared file: others' keys are left, ours still checked. */
	check_bad_file(&t_shared, "{\"listen\": \":5000\", \"count\": 2}",
		       NULL);
	check_bad_file(&t_shared, "{\"listen\": 1, \"count\": \"x\"}",
		       "not an integer");
	assert_int_equal(parse(&t_cmd, &a, &args, &e, "--config",
			       "/nonexistent/x.json", NULL),
			 -1);
	assert_non_null(strstr(e.msg, "/nonexistent/x.json"));
	opt_args_release(&args);
	opt_release(&t_cmd, &a);
}

/* What f printed, as a string the caller frees. */
static char *slurp(FILE *f)
{
	long n;
	char *s;

	fflush(f);
	n = ftell(f);
	assert_true(n >= 0);
	s = calloc(1, (size_t)n + 1);
	rewind(f);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	return s;
}

static void test_usage(void **state UNUSED)
{
	const char *head = "usage: customs test [options] FILE...\n"
			   "\noptions:\n";
	FILE *f = tmpfile();
	struct t_args a;
	char *out;

	memset(&a, 0, sizeof(a));
	opt_defaults(&t_cmd, &a);
	a.size = 8ULL << 30; /* a computed default */
	a.wait = 120;
	opt_usage(&t_cmd, &a, f);
	out = slurp(f);
	/* The usage line first, then one line per flag. */
	assert_int_equal(strncmp(out, head, strlen(head)), 0);
	assert_non_null(strstr(out, "\n  --name NAME      who it is "
				    "(default anon)\n"));
	assert_non_null(strstr(out, "\n  --count N        how many "
				    "(default 3)\n"));
	assert_non_null(strstr(out, "  --max-size SIZE  largest "
				    "(default 8GiB)\n"));
	assert_non_null(strstr(out, "  --flag           a switch\n"));
	assert_non_null(strstr(out, "  --wait DURATION  how long "
				    "(default 2m)\n"));
	assert_non_null(strstr(out, "  --tag TAG        a tag (repeatable)\n"));
	assert_non_null(strstr(out, "  --config FILE    JSON object"));
	assert_non_null(strstr(out, "  --help           show this help\n"));
	assert_null(strstr(out, "old-name"));
	/* Then the units, then the notes. */
	assert_non_null(strstr(out, "\nSIZE is bytes"));
	assert_non_null(strstr(out, "\nDURATION is seconds"));
	assert_non_null(strstr(out, "\n\nSome notes.\n"));
	assert_true(strstr(out, "--help") < strstr(out, "SIZE is"));
	free(out);
	fclose(f);
	opt_release(&t_cmd, &a);
}

/* Runs fn with stderr going to a file; returns what it wrote. */
static char *capture_stderr(void (*fn)(void *), void *arg)
{
	FILE *f = tmpfile();
	int saved = dup(2);
	char *out;

	fflush(stderr);
	dup2(fileno(f), 2);
	fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fseek(f, 0, SEEK_END);
	out = slurp(f);
	fclose(f);
	return out;
}

static void run_fail(void *arg)
{
	assert_int_equal(opt_fail(&t_cmd, "bad %s", (const char *)arg), 2);
}

struct cli_run {
	char **argv;
	int argc;
	bool go;
	int status;
};

static void run_cli(void *arg)
{
	struct cli_run *r = arg;
	struct opt_args args;
	struct t_args a;

	memset(&a, 0, sizeof(a));
	r->go = opt_cli(&t_cmd, &a, r->argc, r->argv, &args, &r->status);
	opt_args_release(&args);
	opt_release(&t_cmd, &a);
}

static void test_fail_and_cli(void **state UNUSED)
{
	char *argv_bad[] = {(char *)"test", (char *)"--nope", NULL};
	char *argv_ok[] = {(char *)"test", (char *)"f", NULL};
	struct cli_run r = {argv_bad, 2, true, -1};
	char *out;

	out = capture_stderr(run_fail, (void *)"thing");
	assert_string_equal(
		out, "customs test: bad thing; see customs test --help\n");
	free(out);

	out = capture_stderr(run_cli, &r);
	assert_false(r.go);
	assert_int_equal(r.status, 2);
	assert_string_equal(out, "customs test: unknown option '--nope'; see "
				 "customs test --help\n");
	free(out);

	r.argv = argv_ok;
	r.status = -1;
	out = capture_stderr(run_cli, &r);
	assert_true(r.go);
	assert_string_equal(out, "");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_flags),
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_operands),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_bad_file),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_fail_and_cli),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
