/* test_authz.c: what each route of the real table needs of auth/, and how
 * the serve flags become an auth config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "registry/authz_int.h"

#define UNUSED __attribute__((unused))

#define DG                                                                     \
	"sha256:"                                                              \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

struct need_case {
	enum http_method method;
	const char *path;
	enum reg_authz_need need;
	enum auth_scope_type type;
	const char *name; /* the scope's name */
	unsigned actions;
};

#define REPO  AUTH_SCOPE_REPOSITORY
#define REGY  AUTH_SCOPE_REGISTRY
#define PP    (AUTH_PULL | AUTH_PUSH)
#define SCOPE REG_AUTHZ_SCOPE

static const struct need_case need_cases[] = {
	{HTTP_M_GET, "/v2/", REG_AUTHZ_SIGNED_IN, REPO, NULL, 0},
	{HTTP_M_HEAD, "/v2/", REG_AUTHZ_SIGNED_IN, REPO, NULL, 0},
	{HTTP_M_GET, "/v2", REG_AUTHZ_SIGNED_IN, REPO, NULL, 0},
	{HTTP_M_GET, AUTH_TOKEN_PATH, REG_AUTHZ_OPEN, REPO, NULL, 0},
	{HTTP_M_POST, AUTH_TOKEN_PATH, REG_AUTHZ_OPEN, REPO, NULL, 0},
	{HTTP_M_GET, "/v2/_catalog", SCOPE, REGY, AUTH_REGISTRY_CATALOG,
	 AUTH_PULL},
	{HTTP_M_POST, "/v2/_customs/db", SCOPE, REGY, AUTH_REGISTRY_DB,
	 AUTH_ADMIN},
	{HTTP_M_GET, "/v2/_customs/db", REG_AUTHZ_SIGNED_IN, REPO, NULL, 0},
	{HTTP_M_GET, "/v2/_customs/doc", REG_AUTHZ_SIGNED_IN, REPO, NULL, 0},
	{HTTP_M_GET, "/v2/_oci/ext/discover", REG_AUTHZ_SIGNED_IN, REPO, NULL,
	 0},
	{HTTP_M_GET, "/v2/a/b/_oci/ext/discover", SCOPE, REPO, "a/b",
	 AUTH_PULL},
	{HTTP_M_GET, "/v2/a/b/manifests/v1", SCOPE, REPO, "a/b", AUTH_PULL},
	{HTTP_M_HEAD, "/v2/a/b/manifests/" DG, SCOPE, REPO, "a/b", AUTH_PULL},
	{HTTP_M_PUT, "/v2/a/b/manifests/v1", SCOPE, REPO, "a/b", PP},
	{HTTP_M_DELETE, "/v2/a/b/manifests/" DG, SCOPE, REPO, "a/b",
	 AUTH_DELETE},
	{HTTP_M_GET, "/v2/a/b/blobs/" DG, SCOPE, REPO, "a/b", AUTH_PULL},
	{HTTP_M_HEAD, "/v2/a/b/blobs/" DG, SCOPE, REPO, "a/b", AUTH_PULL},
	{HTTP_M_DELETE, "/v2/a/b/blobs/" DG, SCOPE, REPO, "a/b", AUTH_DELETE},
	{HTTP_M_GET, "/v2/a/b/tags/list", SCOPE, REPO, "a/b", AUTH_PULL},
	{HTTP_M_GET, "/v2/a/b/referrers/" DG, SCOPE, REPO, "a/b", AUTH_PULL},
	{HTTP_M_GET, "/v2/a/b/_customs/scan/" DG, SCOPE, REPO, "a/b",
	 AUTH_PULL},
	/* Every upload step is a push, status and cancel included. */
	{HTTP_M_POST, "/v2/a/b/blobs/uploads/", SCOPE, REPO, "a/b", PP},
	{HTTP_M_POST, "/v2/a/b/blobs/uploads", SCOPE, REPO, "a/b", PP},
	{HTTP_M_GET, "/v2/a/b/blobs/uploads/abc-1", SCOPE, REPO, "a/b", PP},
	{HTTP_M_PATCH, "/v2/a/b/blobs/uploads/abc-1", SCOPE, REPO, "a/b", PP},
	{HTTP_M_PUT, "/v2/a/b/blobs/uploads/abc-1", SCOPE, REPO, "a/b", PP},
	{HTTP_M_DELETE, "/v2/a/b/blobs/uploads/abc-1", SCOPE, REPO, "a/b", PP},
};

static void test_route_needs(void **state UNUSED)
{
	for (size_t i = 0; i < sizeof(need_cases) / sizeof(*need_cases); i++) {
		const struct need_case *k = &need_cases[i];
		struct reg_call c = {0};
		struct auth_scope sc;
		struct reg_match m;
		struct err e = ERR_INIT;

		reg_route_find(k->method, k->path, &m);
		if (!m.route)
			fail_msg("%s: no route", k->path);
		assert_int_equal(reg_route_parse(&m, &c, &e), 0);
		if (reg_authz_need(m.route, c.name, &sc) != k->need)
			fail_msg("%d %s: need %d", (int)k->method, k->path,
				 (int)k->need);
		if (k->need != REG_AUTHZ_SCOPE)
			continue;
		if (sc.type != k->type || strcmp(sc.name, k->name) ||
		    sc.actions != k->actions)
			fail_msg("%d %s: scope %d %s %u", (int)k->method,
				 k->path, (int)sc.type, sc.name, sc.actions);
	}
}

/* A route the table above does not know gets the method's rule. */
static enum reg_status dummy(struct reg_call *c)
{
	(void)c;
	return REG_DONE;
}

static void test_default_needs(void **state UNUSED)
{
	struct reg_route r = {"<name>/x", HTTP_M_GET, ROUTE_ARG_NONE, dummy};
	struct auth_scope sc;

	assert_int_equal(reg_authz_need(&r, "n", &sc), REG_AUTHZ_SCOPE);
	assert_int_equal(sc.actions, AUTH_PULL);
	assert_string_equal(sc.name, "n");
	r.method = HTTP_M_POST;
	assert_int_equal(reg_authz_need(&r, "n", &sc), REG_AUTHZ_SCOPE);
	assert_int_equal(sc.actions, PP);
	r.method = HTTP_M_DELETE;
	assert_int_equal(reg_authz_need(&r, "n", &sc), REG_AUTHZ_SCOPE);
	assert_int_equal(sc.actions, AUTH_DELETE);
	/* Registry-wide: reads need a signed-in caller, writes an admin. */
	r.method = HTTP_M_GET;
	assert_int_equal(reg_authz_need(&r, "", &sc), REG_AUTHZ_SIGNED_IN);
	r.method = HTTP_M_PUT;
	assert_int_equal(reg_authz_need(&r, "", &sc), REG_AUTHZ_SCOPE);
	assert_int_equal(sc.type, AUTH_SCOPE_REGISTRY);
	assert_int_equal(sc.actions, AUTH_ADMIN);
}

/* --- reg_authz_new ---------------------------------------------------- */

static char tmpdir[64];

static int setup_dir(void **state UNUSED)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/customs-authz.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state UNUSED)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/token.key", tmpdir);
	unlink(path);
	return rmdir(tmpdir);
}

/* Builds a cfg from flag pairs and runs reg_authz_new(). */
static int authz_from(const char *const *kv, struct auth **a, struct err *e)
{
	struct cfg c;
	int rc = 0;

	cfg_defaults(&c);
	assert_int_equal(cfg_set(&c, "data", tmpdir, e), 0);
	for (; *kv && rc == 0; kv += 2)
		rc = cfg_set(&c, kv[0], kv[1], e);
	if (rc == 0)
		rc = reg_authz_new(&c, a, e);
	cfg_release(&c);
	return rc;
}

static void test_new(void **state UNUSED)
{
	static const char *const none[] = {NULL};
	static const char *const none_access[] = {"access", "/x.json", NULL};
	static const char *const basic_key[] = {"auth", "basic", "token-key",
						"/k.pem", NULL};
	static const char *const basic[] = {"auth", "basic", NULL};
	static const char *const token[] = {"auth", "token", NULL};
	static const char *const bad_mode[] = {"auth", "digest", NULL};
	struct auth *a = NULL;
	struct err e = ERR_INIT;

	assert_int_equal(authz_from(none, &a, &e), 0);
	assert_null(a);
	assert_int_equal(authz_from(none_access, &a, &e), -1);
	assert_non_null(strstr(e.msg, "--access needs --auth"));
	err_clear(&e);
	assert_int_equal(authz_from(basic_key, &a, &e), -1);
	assert_non_null(strstr(e.msg, "--token-key needs --auth token"));
	err_clear(&e);
	assert_int_equal(authz_from(bad_mode, &a, &e), -1);
	err_clear(&e);
	assert_int_equal(authz_from(basic, &a, &e), 0);
	assert_non_null(a);
	assert_int_equal(auth_mode(a), AUTH_MODE_BASIC);
	auth_free(a);
	/* Token mode makes its signing key in the data directory. */
	assert_int_equal(authz_from(token, &a, &e), 0);
	assert_int_equal(auth_mode(a), AUTH_MODE_TOKEN);
	auth_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_needs),
		cmocka_unit_test(test_default_needs),
		cmocka_unit_test_setup_teardown(test_new, setup_dir,
						teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
