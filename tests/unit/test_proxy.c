/* test_proxy.c: the pull-through cache's pure parts: upstream settings
 * (flags and config-file objects), WWW-Authenticate challenges, token
 * replies, upstream errors, which upstream a name maps to, tag freshness.
 * The transfers themselves are tested against real registries in
 * tests/integration/t_proxy*.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "registry/config.h"
#include "registry/proxy_int.h"
#include "registry/upstream.h"

static int remote_ok(const char *text, bool mirror, struct ups_remote *r)
{
	struct err e = ERR_INIT;
	int rc = ups_remote_parse(text, mirror, r, &e);

	if (rc < 0)
		fail_msg("'%s': %s", text, e.msg);
	return rc;
}

static void remote_bad(const char *text, bool mirror, const char *why)
{
	struct ups_remote r;
	struct err e = ERR_INIT;

	assert_int_equal(ups_remote_parse(text, mirror, &r, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	if (!strstr(e.msg, why))
		fail_msg("'%s': '%s' lacks '%s'", text, e.msg, why);
}

static void test_remote_parse(void **state)
{
	struct ups_remote r;

	(void)state;
	remote_ok("docker.io/=https://registry-1.docker.io", false, &r);
	assert_string_equal(r.prefix, "docker.io/");
	assert_string_equal(r.ns, "docker.io");
	assert_string_equal(r.url, "https://registry-1.docker.io");
	assert_string_equal(r.host, "registry-1.docker.io");
	assert_true(r.docker_hub);
	assert_null(r.username);
	ups_remote_release(&r);

	remote_ok("HTTP://127.0.0.1:5000/", true, &r);
	assert_string_equal(r.prefix, "");
	assert_null(r.ns);
	assert_string_equal(r.url, "http://127.0.0.1:5000");
	assert_string_equal(r.host, "127.0.0.1:5000");
	assert_false(r.docker_hub);
	ups_remote_release(&r);

	/* A deeper prefix has no ?ns= host. */
	remote_ok("cache/ghcr/=https://ghcr.io", false, &r);
	assert_string_equal(r.prefix, "cache/ghcr/");
	assert_null(r.ns);
	ups_remote_release(&r);

	/* Config-file objects, with credentials and a CA bundle. */
	remote_ok("{\"prefix\":\"ghcr.io/\",\"url\":\"https://ghcr.io\","
		  "\"username\":\"u\",\"password\":\"p\",\"ca\":\"/dev/null\"}",
		  false, &r);
	assert_string_equal(r.prefix, "ghcr.io/");
	assert_string_equal(r.username, "u");
	assert_string_equal(r.password, "p");
	assert_string_equal(r.ca, "/dev/null");
	ups_remote_release(&r);
	remote_ok("{\"url\":\"https://mirror.example\"}", true, &r);
	assert_string_equal(r.prefix, "");
	ups_remote_release(&r);

	remote_bad("docker.io", false, "expected PREFIX=URL");
	remote_bad("docker.io=https://x", false, "must be a repository name");
	remote_bad("Docker.io/=https://x", false, "must be a repository name");
	remote_bad("/=https://x", false, "must be a repository name");
	remote_bad("a/=ftp://x", false, "only http and https");
	remote_bad("a/=not a url", false, "is not a URL");
	remote_bad("https://x/v2", true, "no path");
	remote_bad("https://x/?a=b", true, "no path");
	remote_bad("https://u:pw@x", true, "config file");
	remote_bad("{\"url\":\"https://x\",\"username\":\"u\"}", true,
		   "go together");
	remote_bad("{\"url\":\"https://x\",\"prefix\":\"a/\"}", true,
		   "unknown key 'prefix'");
	remote_bad("{\"url\":\"https://x\"}", false, "needs a prefix");
	remote_bad("{\"url\":1}", true, "must be a string");
	remote_bad("{\"url\":\"https://x\",\"ca\":\"/nonexistent/ca.pem\"}",
		   true, "CA bundle");
	remote_bad("{not json", true, "not a JSON object");
}

static void test_challenge(void **state)
{
	struct ups_challenge ch;

	(void)state;
	assert_int_equal(
		ups_parse_challenge(
			"Bearer realm=\"https://auth.docker.io/token\","
			"service=\"registry.docker.io\","
			"scope=\"repository:library/debian:pull\"",
			&ch),
		0);
	assert_int_equal(ch.scheme, UPS_AUTH_BEARER);
	assert_string_equal(ch.realm, "https://auth.docker.io/token");
	assert_string_equal(ch.service, "registry.docker.io");
	assert_string_equal(ch.scope, "repository:library/debian:pull");

	/* Spaces, unquoted values, escapes, an error parameter. */
	assert_int_equal(ups_parse_challenge("bearer  realm=http://h/t , "
					     "service=\"a\\\"b\", "
					     "error=\"invalid_token\"",
					     &ch),
			 0);
	assert_string_equal(ch.realm, "http://h/t");
	assert_string_equal(ch.service, "a\"b");
	assert_string_equal(ch.scope, "");

	assert_int_equal(ups_parse_challenge("Basic realm=\"upstream\"", &ch),
			 0);
	assert_int_equal(ch.scheme, UPS_AUTH_BASIC);
	/* Only the first of several challenges. */
	assert_int_equal(ups_parse_challenge("Basic realm=\"x\", Bearer "
					     "realm=\"https://y\"",
					     &ch),
			 0);
	assert_int_equal(ch.scheme, UPS_AUTH_BASIC);
	assert_string_equal(ch.realm, "x");

	assert_int_equal(ups_parse_challenge("Digest realm=\"x\"", &ch), -1);
	assert_int_equal(ups_parse_challenge("Bearer service=\"s\"", &ch), -1);
	assert_int_equal(ups_parse_challenge("Bearer realm=\"file:///etc\"",
					     &ch),
			 -1);
	assert_int_equal(ups_parse_challenge("Bearer realm=\"https://x", &ch),
			 -1);
	assert_int_equal(ups_parse_challenge("", &ch), -1);
	assert_int_equal(ups_parse_challenge(NULL, &ch), -1);
}

static void test_token(void **state)
{
	struct err e = ERR_INIT;
	char *tok = NULL;
	long ttl = 0;
	const char *s;

	(void)state;
	s = "{\"token\":\"abc.def\",\"expires_in\":300}";
	assert_int_equal(ups_parse_token(s, strlen(s), &tok, &ttl, &e), 0);
	assert_string_equal(tok, "abc.def");
	assert_int_equal(ttl, 300);
	free(tok);
	/* access_token (OAuth2 form) and the spec's 60 s default. */
	s = "{\"access_token\":\"xyz\"}";
	assert_int_equal(ups_parse_token(s, strlen(s), &tok, &ttl, &e), 0);
	assert_string_equal(tok, "xyz");
	assert_int_equal(ttl, 60);
	free(tok);

	s = "{\"token\":\"\"}";
	assert_int_equal(ups_parse_token(s, strlen(s), &tok, &ttl, &e), -1);
	err_clear(&e);
	s = "{\"token\":\"a\\r\\nX-Evil: 1\"}";
	assert_int_equal(ups_parse_token(s, strlen(s), &tok, &ttl, &e), -1);
	assert_int_equal(e.code, ERR_UPSTREAM);
	err_clear(&e);
	s = "<html>";
	assert_int_equal(ups_parse_token(s, strlen(s), &tok, &ttl, &e), -1);
}

static void check_error(long status, const char *body, enum err_code want,
			const char *msg_part)
{
	struct ups_remote r = {.host = (char *)"up.example"};
	struct err e = ERR_INIT;
	struct ups_xfer x;

	ups_xfer_init(&x);
	x.status = status;
	assert_int_equal(buf_adds(&x.body, body), 0);
	assert_int_equal(ups_error(&r, &x, ERR_MANIFEST_UNKNOWN, &e), -1);
	assert_int_equal(e.code, want);
	if (!strstr(e.msg, msg_part))
		fail_msg("'%s' lacks '%s'", e.msg, msg_part);
	ups_xfer_release(&x);
}

static void test_upstream_errors(void **state)
{
	(void)state;
	check_error(404,
		    "{\"errors\":[{\"code\":\"BLOB_UNKNOWN\","
		    "\"message\":\"blob unknown to registry\"}]}",
		    ERR_BLOB_UNKNOWN, "upstream up.example: blob unknown");
	check_error(404,
		    "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"x\"}]}",
		    ERR_NAME_UNKNOWN, "up.example");
	check_error(404, "not json", ERR_MANIFEST_UNKNOWN, "HTTP 404");
	check_error(401, "", ERR_DENIED, "refused access (401)");
	check_error(403, "", ERR_DENIED, "refused access (403)");
	check_error(429, "", ERR_TOOMANYREQUESTS, "too many requests");
	check_error(500,
		    "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"boom\"}]}",
		    ERR_UPSTREAM, "replied 500: boom");
}

static struct reg_proxy *proxy_with(const char *mirror, ...)
{
	struct reg_proxy *p = NULL;
	struct err e = ERR_INIT;
	struct cfg c;
	const char *u;
	va_list ap;

	cfg_defaults(&c);
	assert_int_equal(cfg_set(&c, "proxy-workers", "1", &e), 0);
	assert_int_equal(cfg_set(&c, "proxy-ttl", "100", &e), 0);
	if (mirror)
		assert_int_equal(cfg_set(&c, "mirror", mirror, &e), 0);
	va_start(ap, mirror);
	while ((u = va_arg(ap, const char *)))
		assert_int_equal(cfg_set(&c, "upstream", u, &e), 0);
	va_end(ap);
	if (reg_proxy_new(&c, NULL, &p, &e) < 0)
		fail_msg("reg_proxy_new: %s", e.msg);
	cfg_release(&c);
	return p;
}

static void check_map(const struct reg_proxy *p, const char *name,
		      const char *host, const char *remote)
{
	struct px_map m;

	if (!host) {
		assert_false(px_lookup(p, name, &m));
		return;
	}
	assert_true(px_lookup(p, name, &m));
	assert_string_equal(m.r->host, host);
	assert_string_equal(m.local, name);
	assert_string_equal(m.remote, remote);
}

static void test_lookup(void **state)
{
	struct reg_proxy *p;
	struct err e = ERR_INIT;
	struct cfg c;

	(void)state;
	/* No upstream configured: no proxy at all. */
	cfg_defaults(&c);
	assert_int_equal(reg_proxy_new(&c, NULL, &p, &e), 0);
	assert_null(p);
	cfg_release(&c);

	p = proxy_with(NULL, "docker.io/=https://registry-1.docker.io",
		       "ghcr.io/=https://ghcr.io",
		       "ghcr.io/team/=https://team.example", NULL);
	/* Docker Hub's official images live under library/. */
	check_map(p, "docker.io/debian", "registry-1.docker.io",
		  "library/debian");
	check_map(p, "docker.io/library/debian", "registry-1.docker.io",
		  "library/debian");
	check_map(p, "docker.io/bitnami/redis", "registry-1.docker.io",
		  "bitnami/redis");
	/* The longest prefix wins; elsewhere nobody adds library/. */
	check_map(p, "ghcr.io/team/app", "team.example", "app");
	check_map(p, "ghcr.io/other/app", "ghcr.io", "other/app");
	check_map(p, "ghcr.io/x", "ghcr.io", "x");
	/* Local names. */
	check_map(p, "docker.io", NULL, NULL);
	check_map(p, "docker.iox/a", NULL, NULL);
	check_map(p, "team/app", NULL, NULL);
	reg_proxy_free(p);

	/* A mirror takes what no prefix does. */
	p = proxy_with("http://127.0.0.1:5000", "quay.io/=https://quay.io",
		       NULL);
	check_map(p, "library/debian", "127.0.0.1:5000", "library/debian");
	check_map(p, "debian", "127.0.0.1:5000", "debian");
	check_map(p, "quay.io/coreos/etcd", "quay.io", "coreos/etcd");
	reg_proxy_free(p);
}

static void test_fresh(void **state)
{
	struct reg_proxy *p = proxy_with("http://127.0.0.1:5000", NULL);

	(void)state;
	assert_false(px_fresh(p, "library/debian", "12"));
	px_fresh_set(p, "library/debian", "12", true);
	assert_true(px_fresh(p, "library/debian", "12"));
	assert_false(px_fresh(p, "library/debian", "11"));
	assert_false(px_fresh(p, "library/debia", "n:12"));
	/* A failed upstream keeps the copy for a short while only. */
	px_fresh_set(p, "library/debian", "11", false);
	assert_true(px_fresh(p, "library/debian", "11"));
	p->ttl = 0;
	px_fresh_set(p, "library/debian", "12", true);
	assert_false(px_fresh(p, "library/debian", "12"));
	/* The table starts over when full, instead of growing. */
	p->ttl = 100;
	for (int i = 0; i < PX_FRESH_MAX + 10; i++) {
		char tag[16];

		snprintf(tag, sizeof(tag), "t%d", i);
		px_fresh_set(p, "r", tag, true);
	}
	assert_true(p->nfresh <= PX_FRESH_MAX);
	assert_true(px_fresh(p, "r", "t65545"));
	reg_proxy_free(p);
}

/* The config file keeps an object as its text for the upstream parser. */
static void test_config_objects(void **state)
{
	char path[] = "/tmp/test_proxy.XXXXXX";
	struct ups_remote r;
	struct err e = ERR_INIT;
	struct cfg c;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("{\"mirror\": {\"url\": \"https://m.example\", \"username\": "
	      "\"u\", \"password\": \"p\"},"
	      " \"upstream\": [\"a/=http://a.example\", {\"prefix\": \"b/\","
	      " \"url\": \"https://b.example\"}], \"proxy_ttl\": 60}",
	      f);
	fclose(f);
	cfg_defaults(&c);
	assert_int_equal(cfg_load_file(&c, path, &e), 0);
	unlink(path);
	assert_int_equal(c.proxy_ttl, 60);
	assert_int_equal(c.upstream.n, 2);
	assert_string_equal(c.upstream.v[0], "a/=http://a.example");
	remote_ok(c.mirror, true, &r);
	assert_string_equal(r.username, "u");
	ups_remote_release(&r);
	remote_ok(c.upstream.v[1], false, &r);
	assert_string_equal(r.prefix, "b/");
	ups_remote_release(&r);
	/* Objects only where text is taken. */
	assert_int_equal(cfg_set(&c, "proxy-ttl", "-1", &e), -1);
	cfg_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remote_parse),
		cmocka_unit_test(test_challenge),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_upstream_errors),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_fresh),
		cmocka_unit_test(test_config_objects),
	};

	log_set_level(LL_ERROR);
	return cmocka_run_group_tests_name("proxy", tests, NULL, NULL);
}
