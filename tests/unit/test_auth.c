/* test_auth.c: users (htpasswd, `customs user`), basic mode, client
 * certificates, access rules, the catalog filter, failed-login limits. */
#define _XOPEN_SOURCE 700 /* nftw */

#include "test_auth_util.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>

#include <openssl/evp.h>

struct fx {
	char *dir;
	char *htpasswd;
	struct auth *a;
};

static const char rules_json[] =
	"{\"groups\": {\"ops\": [\"carol\"]},\n"
	" \"rules\": [\n"
	"  {\"users\": [\"alice\"], \"repositories\": [\"team/*\"],\n"
	"   \"actions\": [\"pull\", \"push\"]},\n"
	"  {\"users\": [\"alice\"], \"repositories\": [\"team/app\"],\n"
	"   \"actions\": [\"delete\"]},\n"
	"  {\"users\": [\"*\"], \"repositories\": [\"team/*\"],\n"
	"   \"actions\": [\"pull\"]},\n"
	"  {\"users\": [\"anonymous\"], \"repositories\": [\"public/*\"],\n"
	"   \"actions\": [\"pull\"]},\n"
	"  {\"users\": [\"group:ops\"], \"repositories\": [\"*\"],\n"
	"   \"actions\": [\"*\"]}\n"
	" ]}\n";

static struct auth *new_auth(struct fx *f, enum auth_mode mode,
			     const char *access)
{
	struct auth_config cfg = {0};
	struct err e = ERR_INIT;
	struct auth *a;

	cfg.mode = mode;
	cfg.data_dir = f->dir;
	cfg.access = access;
	a = auth_new(&cfg, &e);
	if (!a)
		fail_msg("auth_new: %s", e.msg);
	auth_set_clock(a, fake_clock);
	return a;
}

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	fake_now = time(NULL);
	f->dir = unit_tmpdir("auth");
	f->htpasswd = write_file(f->dir, "htpasswd",
				 "# users\n" ALICE_LINE "\n\n" BOB_LINE
				 "\r\n" CAROL_LINE "\n" MALLORY_LINE "\n");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	auth_free(f->a);
	unit_tmpdir_free(f->dir);
	free(f->htpasswd);
	free(f);
	return 0;
}

static void test_htpasswd_fixture(void **state)
{
	struct fx *f = *state;
	struct err e = ERR_INIT;

	f->a = new_auth(f, AUTH_MODE_BASIC, NULL);
	assert_int_equal(
		auth_password_check(f->a, "alice", "alice-pw", NULL, &e), 1);
	assert_int_equal(auth_password_check(f->a, "bob", "bob-pw", NULL, &e),
			 1);
	assert_int_equal(
		auth_password_check(f->a, "carol", "carol-pw", NULL, &e), 1);
	/* Twice: the second one is served by the login cache. */
	assert_int_equal(
		auth_password_check(f->a, "alice", "alice-pw", NULL, &e), 1);
	assert_int_equal(auth_password_check(f->a, "alice", "bob-pw", NULL, &e),
			 0);
	assert_int_equal(
		auth_password_check(f->a, "alice", "alice-pw\n", NULL, &e), 0);
	assert_int_equal(auth_password_check(f->a, "alice", "", NULL, &e), 0);
	/* MD5 lines are refused, unknown users fail like bad passwords. */
	assert_int_equal(auth_password_check(f->a, "mallory", "m-pw", NULL, &e),
			 0);
	assert_int_equal(auth_password_check(f->a, "nobody", "x", NULL, &e), 0);
	assert_int_equal(e.code, ERR_OK);
}

static void test_htpasswd_tool(void **state)
{
	struct fx *f = *state;
	struct err e = ERR_INIT;
	char line[256] = "";
	char *path;
	bool ok;
	FILE *p;

	/* What `htpasswd -B` writes today, not only the shipped lines. */
	p = popen("htpasswd -Bbn zed 'zed pw:x' 2>/dev/null", "r");
	ok = p && fgets(line, sizeof(line), p);
	if (p && pclose(p) != 0)
		ok = false;
	if (!ok || strncmp(line, "zed:$2y$", 8))
		skip(); /* apache2-utils (DEB_TEST) is not installed */
	path = write_file(f->dir, "htpasswd", line);
	f->a = new_auth(f, AUTH_MODE_BASIC, NULL);
	assert_int_equal(auth_password_check(f->a, "zed", "zed pw:x", NULL, &e),
			 1);
	assert_int_equal(auth_password_check(f->a, "zed", "zed pw", NULL, &e),
			 0);
	free(path);
}

static void test_htpasswd_reload(void **state)
{
	struct fx *f = *state;
	struct err e = ERR_INIT;
	char *p;

	f->a = new_auth(f, AUTH_MODE_BASIC, NULL);
	assert_int_equal(
		auth_password_check(f->a, "alice", "alice-pw", NULL, &e), 1);
	/* alice's line now carries bob's hash: her cached login is void. */
	p = write_file(f->dir, "htpasswd",
		       "alice:$2y$05$nw70azYB.tOdim9vLaPzeuVJi7s5L4wZYq9wLgQM"
		       "r4YaSW./qGiGO\n");
	free(p);
	assert_int_equal(
		auth_password_check(f->a, "alice", "alice-pw", NULL, &e), 0);
	assert_int_equal(auth_password_check(f->a, "alice", "bob-pw", NULL, &e),
			 1);
	assert_int_equal(auth_password_check(f->a, "bob", "bob-pw", NULL, &e),
			 0);
	/* A deleted file means no users. */
	assert_int_equal(unlink(f->htpasswd), 0);
	assert_int_equal(auth_password_check(f->a, "alice", "bob-pw", NULL, &e),
			 0);
}

static void test_user_update(void **state)
{
	struct fx *f = *state;
	struct err e = ERR_INIT;
	struct stat st;
	char *data;
	size_t len;
	struct auth_stamp stamp;

	f->a = new_auth(f, AUTH_MODE_BASIC, NULL);
	assert_int_equal(auth_htpasswd_update(f->htpasswd, "dave", "one", &e),
			 0);
	assert_int_equal(auth_password_check(f->a, "dave", "one", NULL, &e), 1);
	assert_int_equal(auth_htpasswd_update(f->htpasswd, "dave", "two", &e),
			 0);
	assert_int_equal(auth_password_check(f->a, "dave", "one", NULL, &e), 0);
	assert_int_equal(auth_password_check(f->a, "dave", "two", NULL, &e), 1);
	/* Other lines are kept as they were; dave appears once, cost 10. */
	assert_int_equal(auth_read_file(f->htpasswd, &data, &len, &stamp, &e),
			 0);
	assert_non_null(strstr(data, "# users\n" ALICE_LINE "\n"));
	assert_non_null(strstr(data, MALLORY_LINE "\n"));
	assert_non_null(strstr(data, "\ndave:$2y$10$"));
	assert_null(strstr(strstr(data, "dave:") + 1, "dave:"));
	free(data);
	/* An existing file keeps its mode (it may be group-readable for
	 * the registry on purpose). */
	assert_int_equal(chmod(f->htpasswd, 0640), 0);
	assert_int_equal(auth_htpasswd_update(f->htpasswd, "dave", "two", &e),
			 0);
	assert_int_equal(stat(f->htpasswd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	/* No temp file left behind: htpasswd and its lock file only. */
	assert_int_equal(unit_nfiles(f->dir), 2);

	assert_int_equal(auth_htpasswd_update(f->htpasswd, "dave", NULL, &e),
			 0);
	assert_int_equal(auth_password_check(f->a, "dave", "two", NULL, &e), 0);
	assert_int_equal(
		auth_password_check(f->a, "alice", "alice-pw", NULL, &e), 1);
	assert_int_equal(auth_htpasswd_update(f->htpasswd, "dave", NULL, &e),
			 -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	err_clear(&e);
	assert_int_equal(auth_htpasswd_update(f->htpasswd, "a:b", "x", &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	err_clear(&e);
	assert_int_equal(
		auth_htpasswd_update(f->htpasswd, "anonymous", "x", &e), -1);
}

static int run_user_cmd(const char *stdin_text, const char *verb,
			const char *name, const char *file)
{
	char *in = xasprintf("%s.stdin", file);
	char *argv[] = {(char *)"user",	      (char *)verb, (char *)name,
			(char *)"--htpasswd", (char *)file, NULL};
	FILE *fp = fopen(in, "w");
	int r;

	assert_non_null(fp);
	fputs(stdin_text, fp);
	fclose(fp);
	assert_non_null(freopen(in, "r", stdin));
	r = auth_user_cmd_main(5, argv);
	unlink(in);
	free(in);
	return r;
}

static void test_user_cmd(void **state)
{
	struct fx *f = *state;
	struct err e = ERR_INIT;
	char *path = xasprintf("%s/sub-htpasswd", f->dir);
	char *argv[] = {(char *)"user", (char *)"frob", (char *)"x", NULL};
	struct auth_config cfg = {0};
	struct stat st;

	assert_int_equal(run_user_cmd("s3cret pw\n", "add", "erin", path), 0);
	assert_int_equal(run_user_cmd("other\r\n", "add", "fred", path), 0);
	/* A new file is private. */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	cfg.mode = AUTH_MODE_BASIC;
	cfg.htpasswd = path;
	f->a = auth_new(&cfg, &e);
	assert_non_null(f->a);
	assert_int_equal(
		auth_password_check(f->a, "erin", "s3cret pw", NULL, &e), 1);
	assert_int_equal(auth_password_check(f->a, "fred", "other", NULL, &e),
			 1);
	assert_int_equal(run_user_cmd("", "del", "erin", path), 0);
	assert_int_equal(
		auth_password_check(f->a, "erin", "s3cret pw", NULL, &e), 0);
	assert_int_equal(run_user_cmd("", "del", "erin", path), 1);
	assert_int_equal(run_user_cmd("", "add", "gina", path), 1);
	assert_int_equal(run_user_cmd("x\n", "add", "bad:name", path), 2);
	assert_int_equal(auth_user_cmd_main(3, argv), 2);
	free(path);
}

static void test_basic_default_policy(void **state)
{
	struct fx *f = *state;
	char *alice = basic_header("alice", "alice-pw");
	char *wrong = basic_header("alice", "nope");
	struct auth_result res;
	char *odd;

	f->a = new_auth(f, AUTH_MODE_BASIC, NULL);
	/* Nobody: 401 with the Basic challenge, for /v2/ too. */
	res = check_as(f->a, NULL, NULL, AUTH_SCOPE_REPOSITORY, NULL, 0,
		       ERR_UNAUTHORIZED);
	assert_string_equal(res.challenge, "Basic realm=\"customs\"");
	auth_result_release(&res);
	res = check_as(f->a, NULL, NULL, AUTH_SCOPE_REPOSITORY, "any/repo",
		       AUTH_PULL, ERR_UNAUTHORIZED);
	assert_string_equal(res.challenge, "Basic realm=\"customs\"");
	auth_result_release(&res);
	/* Signed in: everything, including registry-wide admin. */
	res = check_as(f->a, alice, NULL, AUTH_SCOPE_REPOSITORY, "any/repo",
		       AUTH_PULL | AUTH_PUSH | AUTH_DELETE, ERR_OK);
	assert_string_equal(res.user, "alice");
	assert_int_equal(res.via, AUTH_VIA_BASIC);
	assert_null(res.challenge);
	auth_result_release(&res);
	res = check_as(f->a, alice, NULL, AUTH_SCOPE_REGISTRY, "db", AUTH_ADMIN,
		       ERR_OK);
	auth_result_release(&res);
	expect(f->a, alice, NULL, NULL, 0, ERR_OK);
	/* Bad password, odd schemes, broken encodings: 401. */
	res = check_as(f->a, wrong, NULL, AUTH_SCOPE_REPOSITORY, "any/repo",
		       AUTH_PULL, ERR_UNAUTHORIZED);
	assert_string_equal(res.challenge, "Basic realm=\"customs\"");
	assert_null(res.user);
	auth_result_release(&res);
	expect(f->a, "Bearer abc.def.ghi", NULL, "r", AUTH_PULL,
	       ERR_UNAUTHORIZED);
	expect(f->a, "Basic !!!!", NULL, "r", AUTH_PULL, ERR_UNAUTHORIZED);
	expect(f->a, "Basic YWxpY2U=", NULL, "r", AUTH_PULL,
	       ERR_UNAUTHORIZED); /* "alice", no colon */
	expect(f->a, "Basicx", NULL, "r", AUTH_PULL, ERR_UNAUTHORIZED);
	/* Case-insensitive scheme, extra spaces. */
	odd = xasprintf("bASIC  %s", alice + 6);
	expect(f->a, odd, NULL, "r", AUTH_PULL, ERR_OK);
	free(odd);
	free(alice);
	free(wrong);
}

static void test_basic_rules(void **state)
{
	struct fx *f = *state;
	char *access = write_file(f->dir, "access.json", rules_json);
	char *alice = basic_header("alice", "alice-pw");
	char *bob = basic_header("bob", "bob-pw");
	char *carol = basic_header("carol", "carol-pw");
	struct auth_result res;

	f->a = new_auth(f, AUTH_MODE_BASIC, access);
	expect(f->a, alice, NULL, "team/app", AUTH_PULL | AUTH_PUSH, ERR_OK);
	expect(f->a, alice, NULL, "team/app", AUTH_DELETE, ERR_OK);
	expect(f->a, alice, NULL, "team/other", AUTH_DELETE, ERR_DENIED);
	expect(f->a, alice, NULL, "elsewhere/x", AUTH_PULL, ERR_DENIED);
	expect(f->a, bob, NULL, "team/a/b/c", AUTH_PULL, ERR_OK);
	/* 403, and no challenge: signing in again would not help. */
	res = check_as(f->a, bob, NULL, AUTH_SCOPE_REPOSITORY, "team/app",
		       AUTH_PULL | AUTH_PUSH, ERR_DENIED);
	assert_null(res.challenge);
	auth_result_release(&res);
	/* Anonymous rules apply to everyone. */
	expect(f->a, NULL, NULL, "public/lib", AUTH_PULL, ERR_OK);
	expect(f->a, bob, NULL, "public/lib", AUTH_PULL, ERR_OK);
	expect(f->a, NULL, NULL, "public/lib", AUTH_PUSH, ERR_UNAUTHORIZED);
	expect(f->a, NULL, NULL, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	/* /v2/ still wants a sign-in. */
	expect(f->a, NULL, NULL, NULL, 0, ERR_UNAUTHORIZED);
	/* Group ops: everything everywhere, the registry included. */
	expect(f->a, carol, NULL, "x/y", AUTH_ALL, ERR_OK);
	res = check_as(f->a, carol, NULL, AUTH_SCOPE_REGISTRY, "db", AUTH_ADMIN,
		       ERR_OK);
	auth_result_release(&res);
	res = check_as(f->a, alice, NULL, AUTH_SCOPE_REGISTRY, "db", AUTH_ADMIN,
		       ERR_DENIED);
	auth_result_release(&res);
	/* The catalog: open to the signed-in and, here, to anonymous. */
	res = check_as(f->a, NULL, NULL, AUTH_SCOPE_REGISTRY, "catalog",
		       AUTH_PULL, ERR_OK);
	auth_result_release(&res);
	free(access);
	free(alice);
	free(bob);
	free(carol);
}

static void test_client_cert(void **state)
{
	struct fx *f = *state;
	char *access = write_file(f->dir, "access.json", rules_json);
	char *wrong = basic_header("bob", "nope");
	struct auth_result res;

	f->a = new_auth(f, AUTH_MODE_BASIC, access);
	/* The CN is the user name; it needs no htpasswd entry. */
	res = check_as(f->a, NULL, "alice", AUTH_SCOPE_REPOSITORY, "team/app",
		       AUTH_PUSH, ERR_OK);
	assert_string_equal(res.user, "alice");
	assert_int_equal(res.via, AUTH_VIA_CERT);
	auth_result_release(&res);
	expect(f->a, NULL, "zoe", "team/app", AUTH_PULL, ERR_OK);
	expect(f->a, NULL, "zoe", "team/app", AUTH_PUSH, ERR_DENIED);
	expect(f->a, NULL, "zoe", NULL, 0, ERR_OK);
	/* Names we never accept are no identity at all. */
	expect(f->a, NULL, "anonymous", "team/app", AUTH_PULL,
	       ERR_UNAUTHORIZED);
	expect(f->a, NULL, "a:b", "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	expect(f->a, NULL, "bad\xff", "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	expect(f->a, NULL, "Jos\xc3\xa9", "team/app", AUTH_PULL, ERR_OK);
	/* Credentials in the header, when present, are what counts. */
	expect(f->a, wrong, "alice", "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(access);
	free(wrong);
}

static void test_mode_none(void **state)
{
	struct fx *f = *state;
	struct auth_result res;
	const char *names[] = {"a", "b/c"};

	f->a = new_auth(f, AUTH_MODE_NONE, NULL);
	expect(f->a, NULL, NULL, "x", AUTH_ALL, ERR_OK);
	expect(f->a, "Basic garbage", NULL, "x", AUTH_PUSH, ERR_OK);
	res = check_as(f->a, NULL, "carol", AUTH_SCOPE_REGISTRY, "db",
		       AUTH_ADMIN, ERR_OK);
	assert_string_equal(res.user, "carol");
	assert_true(auth_may(f->a, NULL, "x", AUTH_ALL));
	assert_int_equal(auth_catalog_filter(f->a, &res, names, 2), 2);
	auth_result_release(&res);
}

static struct auth_snap *rules(const char *json)
{
	struct auth_snap *s = NULL;
	struct err e = ERR_INIT;

	if (auth_rules_parse(json, strlen(json), &s, &e) < 0)
		fail_msg("rules: %s", e.msg);
	return s;
}

static void test_rules_eval(void **state)
{
	struct auth_snap *r = rules(rules_json);
	struct auth_snap *glob =
		rules("{\"rules\": [{\"users\": [\"u\"], \"repositories\": "
		      "[\"lib/?x\", \"a/[bc]/*\", \"exact\"], \"actions\": "
		      "[\"pull\"]}]}");

	(void)state;
	/* Globs: '*' crosses '/', the prefix is literal. */
	assert_int_equal(auth_rules_granted(r, "alice", "team/a/b"),
			 AUTH_PULL | AUTH_PUSH);
	assert_int_equal(auth_rules_granted(r, "alice", "team"), 0);
	assert_int_equal(auth_rules_granted(r, "alice", "teamx/a"), 0);
	assert_int_equal(auth_rules_granted(r, "alice", "xteam/a"), 0);
	/* Rules add up. */
	assert_int_equal(auth_rules_granted(r, "alice", "team/app"),
			 AUTH_PULL | AUTH_PUSH | AUTH_DELETE);
	assert_int_equal(auth_rules_granted(r, "alice", "public/x"), AUTH_PULL);
	assert_int_equal(auth_rules_granted(r, "stranger", "team/x"),
			 AUTH_PULL);
	assert_int_equal(auth_rules_granted(r, NULL, "team/x"), 0);
	assert_int_equal(auth_rules_granted(r, NULL, "public/x"), AUTH_PULL);
	assert_int_equal(auth_rules_granted(r, "carol", "any"), AUTH_ALL);
	/* Registry-wide: only rules on "*". */
	assert_int_equal(auth_rules_granted(r, "carol", NULL), AUTH_ALL);
	assert_int_equal(auth_rules_granted(r, "alice", NULL), 0);
	/* Without rules: signed in = all, anonymous = nothing. */
	assert_int_equal(auth_rules_granted(NULL, "x", "y"), AUTH_ALL);
	assert_int_equal(auth_rules_granted(NULL, "x", NULL), AUTH_ALL);
	assert_int_equal(auth_rules_granted(NULL, NULL, "y"), 0);

	assert_int_equal(auth_rules_granted(glob, "u", "lib/ax"), AUTH_PULL);
	assert_int_equal(auth_rules_granted(glob, "u", "lib/abx"), 0);
	assert_int_equal(auth_rules_granted(glob, "u", "a/c/d/e"), AUTH_PULL);
	assert_int_equal(auth_rules_granted(glob, "u", "a/d/e"), 0);
	assert_int_equal(auth_rules_granted(glob, "u", "exact"), AUTH_PULL);
	assert_int_equal(auth_rules_granted(glob, "u", "exactly"), 0);
	assert_int_equal(auth_rules_granted(glob, "v", "exact"), 0);
	r->destroy(r);
	glob->destroy(glob);
}

static void rules_bad(const char *json, const char *want)
{
	struct auth_snap *s = NULL;
	struct err e = ERR_INIT;

	assert_int_equal(auth_rules_parse(json, strlen(json), &s, &e), -1);
	assert_null(s);
	assert_int_equal(e.code, ERR_INVALID);
	if (!strstr(e.msg, want))
		fail_msg("error '%s' lacks '%s'", e.msg, want);
}

static void test_rules_errors(void **state)
{
	(void)state;
	rules_bad("{\"rules\": [", "line 1");
	rules_bad("[]", "not a JSON object");
	rules_bad("{}", "\"rules\" must be an array");
	rules_bad("{\"rules\": [], \"rulez\": []}", "unknown key \"rulez\"");
	rules_bad("{\"rules\": [{\"users\": [\"a\"], \"repositories\": "
		  "[\"*\"], \"actions\": [\"pul\"]}]}",
		  "unknown action \"pul\"");
	rules_bad("{\"rules\": [{\"users\": [\"group:x\"], \"repositories\": "
		  "[\"*\"], \"actions\": [\"pull\"]}]}",
		  "no group \"x\"");
	rules_bad("{\"rules\": [{\"users\": [], \"repositories\": "
		  "[\"*\"], \"actions\": [\"pull\"]}]}",
		  "\"users\"");
	rules_bad("{\"rules\": [{\"users\": [\"a\"], \"repository\": "
		  "[\"*\"], \"actions\": [\"pull\"]}]}",
		  "unknown key \"repository\"");
	rules_bad("{\"rules\": [{\"users\": [\"a\"], \"repositories\": "
		  "\"*\", \"actions\": [\"pull\"]}]}",
		  "\"repositories\"");
	rules_bad("{\"groups\": {\"g\": [\"a b\"]}, \"rules\": []}", "group g");
	rules_bad("{\"rules\": [], \"rules\": []}", "duplicate");
}

static void test_rules_reload_and_filter(void **state)
{
	struct fx *f = *state;
	char *access = write_file(f->dir, "access.json", rules_json);
	const char *names[] = {"public/a", "team/x", "secret/z", "team/y/z",
			       "public/b"};
	struct auth_result who = {0};
	char *p;

	f->a = new_auth(f, AUTH_MODE_BASIC, access);
	assert_true(auth_may(f->a, "alice", "team/app", AUTH_DELETE));
	assert_false(auth_may(f->a, "bob", "team/app", AUTH_PUSH));
	assert_true(auth_may(f->a, NULL, "public/x", AUTH_PULL));
	assert_true(auth_may(f->a, "carol", NULL, AUTH_ADMIN));
	assert_false(auth_may(f->a, "alice", NULL, AUTH_ADMIN));

	/* Anonymous sees public/ only; a signed-in user team/ as well. */
	assert_int_equal(auth_catalog_filter(f->a, &who, names, 5), 2);
	assert_string_equal(names[0], "public/a");
	assert_string_equal(names[1], "public/b");
	who.user = (char *)"bob";
	assert_int_equal(auth_catalog_filter(f->a, &who, names, 5), 4);
	assert_string_equal(names[0], "public/a");
	assert_string_equal(names[1], "public/b");
	assert_string_equal(names[2], "team/x");
	assert_string_equal(names[3], "team/y/z");
	assert_string_equal(names[4], "secret/z"); /* kept, behind */

	/* Edited: bob may push now. */
	p = write_file(f->dir, "access.json",
		       "{\"rules\": [{\"users\": [\"bob\"], \"repositories\": "
		       "[\"team/*\"], \"actions\": [\"pull\", \"push\"]}]}");
	free(p);
	assert_true(auth_may(f->a, "bob", "team/app", AUTH_PUSH));
	assert_false(auth_may(f->a, "alice", "team/app", AUTH_PULL));
	/* Broken, then deleted: the last good rules stay. */
	p = write_file(f->dir, "access.json", "{\"rules\": [");
	free(p);
	assert_true(auth_may(f->a, "bob", "team/app", AUTH_PUSH));
	assert_false(auth_may(f->a, "alice", "team/app", AUTH_PULL));
	assert_int_equal(unlink(access), 0);
	assert_true(auth_may(f->a, "bob", "team/app", AUTH_PUSH));
	assert_false(auth_may(f->a, "alice", "x", AUTH_PULL));
	free(access);
}

static void test_rate_limit(void **state)
{
	struct fx *f = *state;
	char *good = basic_header("alice", "alice-pw");
	char *bad = basic_header("alice", "guess");
	struct auth_request other = {good, NULL, "198.51.100.7", NULL, false};
	struct auth_scope sc = {AUTH_SCOPE_REPOSITORY, "r", AUTH_PULL};
	struct auth_result res;
	struct err e = ERR_INIT;

	f->a = new_auth(f, AUTH_MODE_BASIC, NULL);
	for (int i = 0; i < 5; i++) {
		fake_now += 2;
		expect(f->a, bad, NULL, "r", AUTH_PULL, ERR_UNAUTHORIZED);
	}
	/* Blocked for 30 s: even the right password is not looked at. */
	res = check_as(f->a, good, NULL, AUTH_SCOPE_REPOSITORY, "r", AUTH_PULL,
		       ERR_TOOMANYREQUESTS);
	assert_int_equal(res.retry_after_s, 30);
	auth_result_release(&res);
	/* Anonymous requests are not logins; other peers are not blocked. */
	expect(f->a, NULL, NULL, "r", AUTH_PULL, ERR_UNAUTHORIZED);
	assert_int_equal(auth_check(f->a, &other, &sc, &res, &e), 0);
	auth_result_release(&res);

	fake_now += 31;
	expect(f->a, good, NULL, "r", AUTH_PULL, ERR_OK);
	/* The next failure blocks again, twice as long. */
	expect(f->a, bad, NULL, "r", AUTH_PULL, ERR_UNAUTHORIZED);
	res = check_as(f->a, good, NULL, AUTH_SCOPE_REPOSITORY, "r", AUTH_PULL,
		       ERR_TOOMANYREQUESTS);
	assert_int_equal(res.retry_after_s, 60);
	auth_result_release(&res);
	fake_now += 61;
	expect(f->a, bad, NULL, "r", AUTH_PULL, ERR_UNAUTHORIZED);
	res = check_as(f->a, good, NULL, AUTH_SCOPE_REPOSITORY, "r", AUTH_PULL,
		       ERR_TOOMANYREQUESTS);
	assert_int_equal(res.retry_after_s, 120);
	auth_result_release(&res);

	/* Quiet for long enough, the peer starts afresh: 4 failures pass. */
	fake_now += 121 + AUTH_RL_BLOCK_MAX_S + 1;
	for (int i = 0; i < 4; i++)
		expect(f->a, bad, NULL, "r", AUTH_PULL, ERR_UNAUTHORIZED);
	expect(f->a, good, NULL, "r", AUTH_PULL, ERR_OK);
	/* Failures spread out refill the bucket: 1 per 12 s. */
	fake_now += 24;
	for (int i = 0; i < 2; i++)
		expect(f->a, bad, NULL, "r", AUTH_PULL, ERR_UNAUTHORIZED);
	expect(f->a, good, NULL, "r", AUTH_PULL, ERR_OK);
	free(good);
	free(bad);
}

static int check_req(struct auth *a, const char *authz, const char *peer,
		     bool quick, struct auth_result *res, struct err *e)
{
	struct auth_request req = {authz, NULL, peer, NULL, quick};
	struct auth_scope sc = {AUTH_SCOPE_REPOSITORY, "r", AUTH_PULL};

	memset(e, 0, sizeof(*e));
	return auth_check(a, &req, &sc, res, e);
}

/* On an event-loop thread (quick) a password the cache does not know is
 * not checked: AUTH_LATER, with nothing decided or recorded. */
static void test_quick_login(void **state)
{
	struct fx *f = *state;
	char *good = basic_header("alice", "alice-pw");
	char *bad = basic_header("alice", "guess");
	char *bad_name = basic_header("any one", "x");
	struct auth_result res;
	struct err e;

	f->a = new_auth(f, AUTH_MODE_BASIC, NULL);
	assert_int_equal(check_req(f->a, good, "192.0.2.1", true, &res, &e),
			 AUTH_LATER);
	assert_null(res.user);
	auth_result_release(&res);
	/* Bad passwords wait their turn too; no failure is counted yet. */
	for (int i = 0; i < 10; i++) {
		assert_int_equal(
			check_req(f->a, bad, "192.0.2.1", true, &res, &e),
			AUTH_LATER);
		auth_result_release(&res);
	}
	/* A name that cannot be a user fails at once, like anonymous. */
	assert_int_equal(check_req(f->a, bad_name, "192.0.2.1", true, &res, &e),
			 -1);
	assert_int_equal(e.code, ERR_UNAUTHORIZED);
	auth_result_release(&res);
	assert_int_equal(check_req(f->a, NULL, "192.0.2.1", true, &res, &e),
			 -1);
	assert_int_equal(e.code, ERR_UNAUTHORIZED);
	auth_result_release(&res);
	/* Checked where blocking is fine, the password is then known. */
	assert_int_equal(check_req(f->a, good, "192.0.2.1", false, &res, &e),
			 0);
	assert_string_equal(res.user, "alice");
	auth_result_release(&res);
	assert_int_equal(check_req(f->a, good, "192.0.2.1", true, &res, &e), 0);
	assert_string_equal(res.user, "alice");
	auth_result_release(&res);
	free(good);
	free(bad);
	free(bad_name);
}

/* Failed logins from all addresses together have a budget: past it, a
 * password the cache does not know gets 429 unchecked (with Retry-After),
 * while one it knows still passes. */
static void test_global_budget(void **state)
{
	struct fx *f = *state;
	struct auth_config cfg = {0};
	char *alice = basic_header("alice", "alice-pw");
	char *bob = basic_header("bob", "bob-pw");
	char *bad = basic_header("alice", "guess");
	struct auth_result res;
	struct err e = ERR_INIT;
	char peer[32];

	cfg.mode = AUTH_MODE_BASIC;
	cfg.data_dir = f->dir;
	cfg.fail_budget = 3;
	f->a = auth_new(&cfg, &e);
	assert_non_null(f->a);
	auth_set_clock(f->a, fake_clock);
	/* alice signs in before the storm. */
	assert_int_equal(check_req(f->a, alice, "192.0.2.1", false, &res, &e),
			 0);
	auth_result_release(&res);
	/* Three addresses, one failure each: every one under its own
	 * limit, but the budget is spent. */
	for (int i = 0; i < 3; i++) {
		snprintf(peer, sizeof(peer), "198.51.100.%d", i + 1);
		assert_int_equal(check_req(f->a, bad, peer, false, &res, &e),
				 -1);
		assert_int_equal(e.code, ERR_UNAUTHORIZED);
		auth_result_release(&res);
	}
	assert_int_equal(check_req(f->a, bad, "198.51.100.9", false, &res, &e),
			 -1);
	assert_int_equal(e.code, ERR_TOOMANYREQUESTS);
	assert_int_equal(res.retry_after_s, 20); /* a token per 60/3 s */
	auth_result_release(&res);
	/* On the loop, no trip to a pool thread to learn that. */
	assert_int_equal(check_req(f->a, bob, "192.0.2.2", true, &res, &e), -1);
	assert_int_equal(e.code, ERR_TOOMANYREQUESTS);
	assert_true(res.retry_after_s > 0);
	auth_result_release(&res);
	/* alice's password is known: she is not held up. */
	assert_int_equal(check_req(f->a, alice, "192.0.2.1", true, &res, &e),
			 0);
	auth_result_release(&res);
	/* A token later, bob's good password is checked, and gives the
	 * token back: a failure may still follow, then none. */
	fake_now += 20;
	assert_int_equal(check_req(f->a, bob, "192.0.2.2", false, &res, &e), 0);
	auth_result_release(&res);
	assert_int_equal(check_req(f->a, bad, "198.51.100.7", false, &res, &e),
			 -1);
	assert_int_equal(e.code, ERR_UNAUTHORIZED);
	auth_result_release(&res);
	assert_int_equal(check_req(f->a, bad, "198.51.100.8", false, &res, &e),
			 -1);
	assert_int_equal(e.code, ERR_TOOMANYREQUESTS);
	auth_result_release(&res);
	free(alice);
	free(bob);
	free(bad);
}

static void test_global_budget_bucket(void **state)
{
	struct auth_rl rl;

	(void)state;
	auth_rl_init(&rl);
	/* No budget: never a wait. */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(auth_rl_global_take(&rl, 100), 0);
	rl.budget = 60;
	rl.gtokens = 60;
	for (int i = 0; i < 60; i++)
		assert_int_equal(auth_rl_global_take(&rl, 100), 0);
	assert_int_equal(auth_rl_global_wait(&rl, 100), 1);
	assert_int_equal(auth_rl_global_take(&rl, 100), 1);
	/* A second refills one; a refund gives one back. */
	assert_int_equal(auth_rl_global_take(&rl, 101), 0);
	assert_int_equal(auth_rl_global_wait(&rl, 101), 1);
	auth_rl_global_refund(&rl);
	assert_int_equal(auth_rl_global_wait(&rl, 101), 0);
	/* Refills stop at the budget. */
	assert_int_equal(auth_rl_global_wait(&rl, 100000), 0);
	for (int i = 0; i < 60; i++)
		assert_int_equal(auth_rl_global_take(&rl, 100000), 0);
	assert_true(auth_rl_global_take(&rl, 100000) > 0);
	auth_rl_release(&rl);
}

static void test_rate_limit_table(void **state)
{
	struct auth_rl rl;
	char peer[32];

	(void)state;
	/* A flood of addresses neither grows memory nor unblocks a peer
	 * that failed recently (evicted slots are the stalest). */
	auth_rl_init(&rl);
	for (int i = 0; i < 5; i++)
		auth_rl_fail(&rl, "203.0.113.9", 1000);
	assert_int_equal(auth_rl_wait(&rl, "203.0.113.9", 1001), 29);
	for (int i = 0; i < 3 * AUTH_RL_SLOTS; i++) {
		snprintf(peer, sizeof(peer), "10.%d.%d.%d", i >> 16,
			 (i >> 8) & 255, i & 255);
		auth_rl_fail(&rl, peer, 900);
	}
	assert_int_equal(auth_rl_wait(&rl, "203.0.113.9", 1001), 29);
	assert_int_equal(auth_rl_wait(&rl, "10.0.0.1", 901), 0);
	assert_int_equal(auth_rl_wait(&rl, NULL, 901), 0);
	auth_rl_release(&rl);
}

struct hammer {
	struct auth *a;
	const char *authz;
	int failures;
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	struct auth_request req = {h->authz, NULL, "192.0.2.5", NULL, false};
	struct auth_scope sc = {AUTH_SCOPE_REPOSITORY, "team/app", AUTH_PULL};
	const char *names[] = {"team/a", "x/y"};
	struct auth_result who = {(char *)"alice", AUTH_VIA_BASIC, NULL, 0};

	for (int i = 0; i < 300; i++) {
		struct auth_result res;
		struct err e = ERR_INIT;

		if (auth_check(h->a, &req, &sc, &res, &e) < 0)
			h->failures++;
		auth_result_release(&res);
		if (!auth_may(h->a, "alice", "team/b", AUTH_PULL) ||
		    auth_catalog_filter(h->a, &who, names, 2) != 1)
			h->failures++;
	}
	return NULL;
}

/* Event-loop threads check while `customs user` and an editor rewrite the
 * files; every version grants alice pull, so nothing may fail. */
static void test_threads(void **state)
{
	struct fx *f = *state;
	char *access = write_file(f->dir, "access.json", rules_json);
	char *authz = basic_header("alice", "alice-pw");
	struct hammer h[4];
	pthread_t tid[4];
	char *p;

	f->a = new_auth(f, AUTH_MODE_BASIC, access);
	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){f->a, authz, 0};
		assert_int_equal(
			pthread_create(&tid[i], NULL, hammer_run, &h[i]), 0);
	}
	for (int i = 0; i < 30; i++) {
		p = write_file(f->dir, "access.json",
			       i % 2 ? rules_json
				     : "{\"rules\": [{\"users\": [\"*\"], "
				       "\"repositories\": [\"team/*\"], "
				       "\"actions\": [\"pull\"]}]}");
		free(p);
		p = write_file(f->dir, "htpasswd",
			       i % 2 ? ALICE_LINE "\n" : ALICE_LINE "\n#\n");
		free(p);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(h[i].failures, 0);
	}
	free(access);
	free(authz);
}

static void test_config_errors(void **state)
{
	struct fx *f = *state;
	struct auth_config cfg = {0};
	struct err e = ERR_INIT;
	char *bad;

	cfg.mode = AUTH_MODE_NONE;
	cfg.access = "x.json";
	assert_null(auth_new(&cfg, &e));
	assert_non_null(strstr(e.msg, "--access"));

	err_clear(&e);
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = AUTH_MODE_BASIC;
	cfg.data_dir = f->dir;
	cfg.access = "/nonexistent/access.json";
	assert_null(auth_new(&cfg, &e));
	assert_non_null(strstr(e.msg, "/nonexistent/access.json"));

	err_clear(&e);
	bad = write_file(f->dir, "bad.json", "{\"rules\": [{}]}");
	cfg.access = bad;
	assert_null(auth_new(&cfg, &e));
	assert_non_null(strstr(e.msg, "rule 0"));
	free(bad);

	err_clear(&e);
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = AUTH_MODE_TOKEN;
	cfg.data_dir = f->dir;
	cfg.token_issuer = "ext";
	assert_null(auth_new(&cfg, &e));
	assert_non_null(strstr(e.msg, "--token-trust"));

	err_clear(&e);
	cfg.token_issuer = NULL;
	cfg.token_ttl_s = 30;
	assert_null(auth_new(&cfg, &e));
	assert_int_equal(e.code, ERR_INVALID);

	err_clear(&e);
	cfg.token_ttl_s = 0;
	cfg.token_key = "/nonexistent/key.pem";
	assert_null(auth_new(&cfg, &e));
	assert_non_null(strstr(e.msg, "/nonexistent/key.pem"));
	auth_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_htpasswd_fixture, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_htpasswd_tool, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_htpasswd_reload, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_user_update, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_user_cmd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_basic_default_policy,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_basic_rules, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_client_cert, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mode_none, setup,
						teardown),
		cmocka_unit_test(test_rules_eval),
		cmocka_unit_test(test_rules_errors),
		cmocka_unit_test_setup_teardown(test_rules_reload_and_filter,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit, setup,
						teardown),
		cmocka_unit_test(test_rate_limit_table),
		cmocka_unit_test_setup_teardown(test_quick_login, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_global_budget, setup,
						teardown),
		cmocka_unit_test(test_global_budget_bucket),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_errors, setup,
						teardown),
	};

	log_set_level(LL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
