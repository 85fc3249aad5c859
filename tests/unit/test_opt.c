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

/* Parses the NULL-terminated arguments after the command's name into a
 * (zeroed, then the defaults); the caller releases a and args. */
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

/* The JSON file of a test: text in /tmp/test_opt_PID.json. */
static const char *t_file(const char *text)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/test_opt_%d.json", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
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
	static const struct {
		const char *text;
		int64_t s;
	} durations[] = {
		{"0", 0},	    {"90", 90},	  {"90s", 90},
		{"15m", 900},	    {"1h", 3600}, {"7d", 7 * 86400},
		{"2w", 14 * 86400}, {"1x", -1},	  {"h", -1},
		{"-1", -1},	    {"1hh", -1},  {"99999999999999999999", -1},
	};

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
	for (size_t i = 0; i < sizeof(durations) / sizeof(*durations); i++)
		if (opt_duration(durations[i].text) != durations[i].s)
			fail_msg("%s: %lld", durations[i].text,
				 (long long)opt_duration(durations[i].text));
	assert_int_equal(opt_duration(NULL), -1);
}

static void test_bad(void **state UNUSED)
{
	static const struct {
		const char *want, *argv[4]; /* NULL-terminated */
	} bad[] = {
		{"unknown option '--nope'", {"--nope"}},
		{"unknown option '--nope'", {"--nope=1"}},
		{"unknown option '-x'", {"-x"}},
		{"--count needs a value", {"--count"}},
		{"--count: 'many' is not an integer", {"--count", "many"}},
		{"not an integer", {"--count", "4k"}},
		{"--count: 101 is out of range [0, 100]", {"--count", "101"}},
		{"out of range", {"--count", "-1"}},
		{"not a size", {"--max-size", "4 MB"}},
		{"not a size", {"--max-size", "4Q"}},
		{"not a size", {"--max-size", "4MiBs"}},
		{"out of range", {"--max-size", "0"}},
		{"out of range", {"--max-size", "2T"}},
		{"out of range", {"--max-size", "99999999999999999T"}},
		{"not a boolean", {"--flag=maybe"}},
		{"not a duration", {"--wait", "soon"}},
		{"out of range", {"--wait", "2d"}},
		{"'medium' is not one of fast, slow", {"--mode", "medium"}},
		{"unexpected argument 'c'", {"a", "b", "c"}},
	};
	struct opt_args args;
	struct err e = ERR_INIT;
	struct t_args a;
	int rc;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		rc = parse(&t_cmd, &a, &args, &e, bad[i].argv[0],
			   bad[i].argv[1], bad[i].argv[2], NULL);
		opt_args_release(&args);
		opt_release(&t_cmd, &a);
		if (rc == 0 || e.code != ERR_INVALID ||
		    !strstr(e.msg, bad[i].want))
			fail_msg("%s: rc %d, '%s' lacks '%s'", bad[i].argv[0],
				 rc, e.msg, bad[i].want);
	}
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
	const char *path = t_file("{\"name\": \"file\", \"count\": 9, "
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
	assert_string_equal(args.config, path);
	opt_args_release(&args);
	opt_release(&t_cmd, &a);
	unlink(path);
}

static void test_bad_file(void **state UNUSED)
{
	static const struct {
		const struct opt_cmd *cmd;
		const char *text, *want; /* want NULL: accepted */
	} files[] = {
		{&t_cmd, "{\"nope\": 1}", "unknown option 'nope'"},
		{&t_cmd, "[1]", "not a JSON object"},
		{&t_cmd, "{\"name\": ", ":1:"},
		{&t_cmd, "{\"count\": true}", "wrong JSON type"},
		{&t_cmd, "{\"mode\": {\"a\": 1}}", "wrong JSON type"},
		{&t_cmd, "{\"count\": 1000}", "out of range"},
		{&t_cmd, "{\"tag\": [1]}", "list items"},
		{&t_cmd, "{\"name\": \"a\", \"name\": \"b\"}", "duplicate"},
		{&t_cmd, "{\"config\": \"x\"}", "cannot nest"},
		/* A shared file: others' keys are left, ours still checked. */
		{&t_shared, "{\"listen\": \":5000\", \"count\": 2}", NULL},
		{&t_shared, "{\"listen\": 1, \"count\": \"x\"}",
		 "not an integer"},
	};
	struct opt_args args;
	struct err e = ERR_INIT;
	struct t_args a;
	const char *path;
	int rc;

	for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
		path = t_file(files[i].text);
		rc = parse(files[i].cmd, &a, &args, &e, "--config", path, NULL);
		opt_args_release(&args);
		opt_release(files[i].cmd, &a);
		if (files[i].want ? rc == 0 || !strstr(e.msg, files[i].want)
				  : rc < 0)
			fail_msg("%s: rc %d, '%s'", files[i].text, rc, e.msg);
		unlink(path);
	}
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
