/* test_proxy.c: the pull-through cache's pure parts: upstream settings
 * (flags and config-file objects), WWW-Authenticate challenges, token
 * replies, upstream errors, which upstream a name maps to, tag freshness,
 * and where a transfer may go (address ranges, redirect targets).
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

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "common/log.h"
#include "registry/config_int.h"
#include "registry/proxy/proxy_int.h"
#include "registry/proxy/upstream.h"

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

	/* A registry with a port: stored with '_', picked by ?ns=HOST:PORT. */
	remote_ok("127.0.0.1:5706/=http://127.0.0.1:5706", false, &r);
	assert_string_equal(r.prefix, "127.0.0.1_5706/");
	assert_string_equal(r.ns, "127.0.0.1:5706");
	ups_remote_release(&r);
	remote_ok("registry.local:5000/team/=https://registry.local:5000",
		  false, &r);
	assert_string_equal(r.prefix, "registry.local_5000/team/");
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
	remote_bad("a:0/=https://x", false, "must be a repository name");
	remote_bad("a:65536/=https://x", false, "must be a repository name");
	remote_bad("a:/=https://x", false, "must be a repository name");
	remote_bad(":80/=https://x", false, "must be a repository name");
	remote_bad("a:80:1/=https://x", false, "must be a repository name");
	remote_bad("a/b:80/=https://x", false, "must be a repository name");
	remote_bad("a:80=https://x", false, "must be a repository name");
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
	assert_int_equal(
		ups_parse_challenge("Bearer realm=\"file:///etc\"", &ch), -1);
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
	check_error(
		404,
		"{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"x\"}]}",
		ERR_NAME_UNKNOWN, "up.example");
	check_error(404, "not json", ERR_MANIFEST_UNKNOWN, "HTTP 404");
	check_error(401, "", ERR_DENIED, "refused access (401)");
	check_error(403, "", ERR_DENIED, "refused access (403)");
	check_error(429, "", ERR_TOOMANYREQUESTS, "too many requests");
	check_error(
		500,
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

	/* A prefix with a port is a name with '_' in our store. */
	p = proxy_with(NULL, "127.0.0.1:5706/=http://127.0.0.1:5706", NULL);
	check_map(p, "127.0.0.1_5706/a/b", "127.0.0.1:5706", "a/b");
	check_map(p, "127.0.0.1/a/b", NULL, NULL);
	reg_proxy_free(p);
}

/* What of a client's Range goes on to an upstream, and which of its
 * Content-Range replies are the range asked for. */
static void test_part_ranges(void **state)
{
	char big[300];

	(void)state;
	assert_true(px_range_forwardable("bytes=100-199"));
	assert_true(px_range_forwardable("bytes=-500"));
	assert_true(px_range_forwardable("bytes=10-"));
	assert_true(px_range_forwardable("bytes=0-9, 100-109"));
	assert_false(px_range_forwardable(NULL));
	assert_false(px_range_forwardable("bytes=0-")); /* the whole blob */
	assert_false(px_range_forwardable("bytes="));
	assert_false(px_range_forwardable("bytes=12"));
	assert_false(px_range_forwardable("items=0-9"));
	assert_false(px_range_forwardable("bytes=0-9\r\nX-Evil: 1"));
	assert_false(px_range_forwardable("bytes=0-9;x"));
	memset(big, '1', sizeof(big));
	memcpy(big, "bytes=1-", 8);
	big[sizeof(big) - 1] = '\0';
	assert_false(px_range_forwardable(big));

	/* Content-Range, ask, length, whether it is the range asked for:
	 * then another range, a length not the range's, nonsense. */
	static const struct {
		const char *cr, *ask;
		int64_t len;
		bool ok;
	} cases[] = {
		{"bytes 100-199/1000", "bytes=100-199", 100, true},
		{"bytes 900-999/1000", "bytes=900-5000", 100, true},
		{"bytes 10-999/1000", "bytes=10-", 990, true},
		{"bytes 500-999/1000", "bytes=-500", 500, true},
		{"bytes 0-999/1000", "bytes=-5000", 1000, true},
		{"bytes 0-9/1000", "bytes=100-109", 10, false},
		{"bytes 100-109/1000", "bytes=100-199", 10, false},
		{"bytes 100-199/1000", "bytes=100-199", 99, false},
		{"bytes 10-998/1000", "bytes=10-", 989, false},
		{"bytes 400-899/1000", "bytes=-500", 500, false},
		{"bytes 100-199/150", "bytes=100-199", 100, false},
		{"bytes 199-100/1000", "bytes=100-199", 100, false},
		{"bytes -1-9/1000", "bytes=-1-9", 11, false},
		{"bytes */1000", "bytes=1-2", 2, false},
		{"", "bytes=1-2", 2, false},
		{"bytes 1-2/1000x", "bytes=1-2", 2, false},
		{"bytes 0-99999999999999999999/1", "bytes=0-", 1, false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (px_content_range_ok(cases[i].cr, cases[i].ask,
					cases[i].len) != cases[i].ok)
			fail_msg("'%s' for '%s' (%lld bytes): not %s",
				 cases[i].cr, cases[i].ask,
				 (long long)cases[i].len,
				 cases[i].ok ? "accepted" : "refused");
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

/* --- Where a transfer may go -------------------------------------------------
 */

static void check_kind(const char *ip, enum ups_addr_kind want)
{
	enum ups_addr_kind got = ups_addr_kind_str(ip);

	if (got != want)
		fail_msg("%s: %s, expected %s", ip, ups_addr_kind_name(got),
			 ups_addr_kind_name(want));
}

static void test_addr_kind(void **state)
{
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;

	(void)state;
	check_kind("8.8.8.8", UPS_ADDR_PUBLIC);
	check_kind("1.1.1.1", UPS_ADDR_PUBLIC);
	check_kind("172.32.0.1", UPS_ADDR_PUBLIC);
	check_kind("100.128.0.1", UPS_ADDR_PUBLIC);
	check_kind("127.0.0.1", UPS_ADDR_LOOPBACK);
	check_kind("127.255.255.254", UPS_ADDR_LOOPBACK);
	check_kind("10.1.2.3", UPS_ADDR_PRIVATE);
	check_kind("172.16.0.1", UPS_ADDR_PRIVATE);
	check_kind("172.31.255.255", UPS_ADDR_PRIVATE);
	check_kind("192.168.1.1", UPS_ADDR_PRIVATE);
	check_kind("100.64.0.1", UPS_ADDR_PRIVATE);
	check_kind("169.254.169.254", UPS_ADDR_LINKLOCAL);
	check_kind("0.0.0.0", UPS_ADDR_SPECIAL);
	check_kind("224.0.0.1", UPS_ADDR_SPECIAL);
	check_kind("255.255.255.255", UPS_ADDR_SPECIAL);
	check_kind("192.0.2.1", UPS_ADDR_SPECIAL);
	/* IPv6, and IPv4 inside it. */
	check_kind("2606:4700::1111", UPS_ADDR_PUBLIC);
	check_kind("::1", UPS_ADDR_LOOPBACK);
	check_kind("::", UPS_ADDR_SPECIAL);
	check_kind("fd00::1", UPS_ADDR_PRIVATE);
	check_kind("fc12:3456::1", UPS_ADDR_PRIVATE);
	check_kind("fe80::1", UPS_ADDR_LINKLOCAL);
	check_kind("febf::1", UPS_ADDR_LINKLOCAL);
	check_kind("ff02::1", UPS_ADDR_SPECIAL);
	check_kind("2001:db8::1", UPS_ADDR_SPECIAL);
	check_kind("::ffff:127.0.0.1", UPS_ADDR_LOOPBACK);
	check_kind("::ffff:169.254.169.254", UPS_ADDR_LINKLOCAL);
	check_kind("::ffff:8.8.8.8", UPS_ADDR_PUBLIC);
	check_kind("64:ff9b::a00:1", UPS_ADDR_PRIVATE);
	check_kind("2002:7f00:1::", UPS_ADDR_LOOPBACK);
	check_kind("::127.0.0.1", UPS_ADDR_SPECIAL);
	/* Not an address. */
	check_kind("localhost", UPS_ADDR_SPECIAL);
	check_kind("", UPS_ADDR_SPECIAL);
	check_kind(NULL, UPS_ADDR_SPECIAL);

	/* Socket addresses, as curl hands them over. */
	memset(&in4, 0, sizeof(in4));
	in4.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &in4.sin_addr);
	assert_int_equal(ups_addr_kind((struct sockaddr *)&in4, sizeof(in4)),
			 UPS_ADDR_LOOPBACK);
	inet_pton(AF_INET, "93.184.216.34", &in4.sin_addr);
	assert_int_equal(ups_addr_kind((struct sockaddr *)&in4, sizeof(in4)),
			 UPS_ADDR_PUBLIC);
	/* Too short for its family: not trusted. */
	assert_int_equal(ups_addr_kind((struct sockaddr *)&in4, 4),
			 UPS_ADDR_SPECIAL);
	memset(&in6, 0, sizeof(in6));
	in6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:10.0.0.1", &in6.sin6_addr);
	assert_int_equal(ups_addr_kind((struct sockaddr *)&in6, sizeof(in6)),
			 UPS_ADDR_PRIVATE);
	inet_pton(AF_INET6, "fe80::1", &in6.sin6_addr);
	assert_int_equal(ups_addr_kind((struct sockaddr *)&in6, sizeof(in6)),
			 UPS_ADDR_LINKLOCAL);
	in6.sin6_family = AF_UNIX;
	assert_int_equal(ups_addr_kind((struct sockaddr *)&in6, sizeof(in6)),
			 UPS_ADDR_SPECIAL);
}

static void test_hop_addr(void **state)
{
	static const enum ups_addr_kind kinds[] = {
		UPS_ADDR_PUBLIC, UPS_ADDR_LOOPBACK, UPS_ADDR_PRIVATE,
		UPS_ADDR_LINKLOCAL, UPS_ADDR_SPECIAL};
	const size_t n = sizeof(kinds) / sizeof(kinds[0]);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			enum ups_addr_kind origin = kinds[i], to = kinds[j];

			/* Once found, the upstream stays where it is (or
			 * goes public): no rebinding to loopback. */
			assert_int_equal(
				ups_hop_addr_ok(UPS_HOP_ORIGIN, origin, to),
				to == UPS_ADDR_PUBLIC || to == origin);
			/* Unlisted https: the internet only. */
			assert_int_equal(
				ups_hop_addr_ok(UPS_HOP_HTTPS, origin, to),
				to == UPS_ADDR_PUBLIC);
			/* Listed: the internet, or where the upstream is. */
			assert_int_equal(
				ups_hop_addr_ok(UPS_HOP_LISTED, origin, to),
				to == UPS_ADDR_PUBLIC ||
					(to == origin &&
					 to != UPS_ADDR_SPECIAL));
			assert_false(
				ups_hop_addr_ok(UPS_HOP_REFUSED, origin, to));
		}
	}
	/* The cases that matter most, spelled out. */
	assert_false(ups_hop_addr_ok(UPS_HOP_HTTPS, UPS_ADDR_LOOPBACK,
				     UPS_ADDR_LOOPBACK));
	assert_false(ups_hop_addr_ok(UPS_HOP_LISTED, UPS_ADDR_PUBLIC,
				     UPS_ADDR_LINKLOCAL));
	assert_false(ups_hop_addr_ok(UPS_HOP_LISTED, UPS_ADDR_PRIVATE,
				     UPS_ADDR_LOOPBACK));
	assert_true(ups_hop_addr_ok(UPS_HOP_LISTED, UPS_ADDR_PRIVATE,
				    UPS_ADDR_PRIVATE));
	assert_false(ups_hop_addr_ok(UPS_HOP_ORIGIN, UPS_ADDR_PUBLIC,
				     UPS_ADDR_LOOPBACK));
	assert_true(ups_hop_addr_ok(UPS_HOP_ORIGIN, UPS_ADDR_LOOPBACK,
				    UPS_ADDR_LOOPBACK));
}

static void check_hop(const struct ups_remote *r, const char *url,
		      enum ups_hop want)
{
	enum ups_hop got = ups_hop_of(r, url);

	if (got != want)
		fail_msg("%s -> %s: hop %d, expected %d", r->url, url, got,
			 want);
}

static void test_hop(void **state)
{
	struct ups_remote r;
	struct err e = ERR_INIT;
	char host[300];

	(void)state;
	remote_ok("{\"url\":\"http://127.0.0.1:5000\",\"redirect_allow\":"
		  "[\"minio.internal:9000\",\"*.s3.example.com\","
		  "\"[fd00::5]:9000\",\"Store.Example\"]}",
		  true, &r);
	assert_int_equal(r.nallow, 4);
	check_hop(&r, "http://127.0.0.1:5000/v2/a/blobs/x", UPS_HOP_ORIGIN);
	check_hop(&r, "HTTP://127.0.0.1:5000/cdn/x?sig=1", UPS_HOP_ORIGIN);
	check_hop(&r, "https://127.0.0.1:5000/x", UPS_HOP_ORIGIN);
	/* Another port of the same host is another service. */
	check_hop(&r, "http://127.0.0.1:5001/secret", UPS_HOP_REFUSED);
	check_hop(&r, "http://localhost:5000/x", UPS_HOP_REFUSED);
	check_hop(&r, "http://169.254.169.254/latest/meta-data/",
		  UPS_HOP_REFUSED);
	/* https anywhere, by name; the address is checked on connecting. */
	check_hop(&r, "https://127.0.0.1:5001/secret", UPS_HOP_HTTPS);
	check_hop(&r, "https://cdn.example/blob", UPS_HOP_HTTPS);
	/* The allow list. */
	check_hop(&r, "http://minio.internal:9000/b/x", UPS_HOP_LISTED);
	check_hop(&r, "http://MINIO.internal:9000/b/x", UPS_HOP_LISTED);
	check_hop(&r, "http://minio.internal:9001/b/x", UPS_HOP_REFUSED);
	check_hop(&r, "http://minio.internal/b/x", UPS_HOP_REFUSED);
	check_hop(&r, "http://bucket.s3.example.com/x", UPS_HOP_LISTED);
	check_hop(&r, "http://a.b.s3.example.com:8080/x", UPS_HOP_LISTED);
	check_hop(&r, "http://s3.example.com/x", UPS_HOP_REFUSED);
	check_hop(&r, "http://evils3.example.com/x", UPS_HOP_REFUSED);
	check_hop(&r, "http://[fd00::5]:9000/x", UPS_HOP_LISTED);
	check_hop(&r, "http://[fd00::5]:9001/x", UPS_HOP_REFUSED);
	check_hop(&r, "http://store.example:1234/x", UPS_HOP_LISTED);
	/* Other schemes, and what is no URL. */
	check_hop(&r, "ftp://127.0.0.1:5000/x", UPS_HOP_REFUSED);
	check_hop(&r, "file:///etc/passwd", UPS_HOP_REFUSED);
	check_hop(&r, "gopher://127.0.0.1:5000/x", UPS_HOP_REFUSED);
	check_hop(&r, "not a url", UPS_HOP_REFUSED);
	check_hop(&r, "", UPS_HOP_REFUSED);
	ups_remote_release(&r);

	/* Default ports count. */
	remote_ok("https://reg.example", true, &r);
	check_hop(&r, "https://reg.example:443/v2/", UPS_HOP_ORIGIN);
	check_hop(&r, "https://REG.example/v2/", UPS_HOP_ORIGIN);
	check_hop(&r, "http://reg.example/v2/", UPS_HOP_REFUSED);
	check_hop(&r, "http://reg.example:443/v2/", UPS_HOP_ORIGIN);
	ups_remote_release(&r);

	/* Messages name the host, never a path or a signature. */
	assert_int_equal(ups_url_host("https://cdn.example/b?X-Sig=s3cr3t",
				      host, sizeof(host)),
			 0);
	assert_string_equal(host, "cdn.example:443");
	assert_int_equal(ups_url_host("::", host, sizeof(host)), -1);

	/* Entries. */
	remote_ok("http://a.example", true, &r);
	assert_int_equal(ups_remote_allow(&r, "b.example", &e), 0);
	assert_int_equal(ups_remote_allow(&r, "b.example:8080", &e), 0);
	assert_int_equal(ups_remote_allow(&r, "*.b.example", &e), 0);
	assert_int_equal(ups_remote_allow(&r, "10.0.0.5", &e), 0);
	assert_int_equal(ups_remote_allow(&r, "[::1]:5000", &e), 0);
	static const char *const bad[] = {
		"",	      "*.",	     "http://b.example", "b.example/x",
		"b.example:", "b.example:x", "b.example:0",	 "b:70000",
		"[::1",	      "[::1]x",	     "u@b.example",	 "b example",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		if (ups_remote_allow(&r, bad[i], &e) == 0)
			fail_msg("allow entry '%s' accepted", bad[i]);
		assert_int_equal(e.code, ERR_INVALID);
	}
	assert_int_equal(r.nallow, 5);
	ups_remote_release(&r);
	remote_bad("{\"url\":\"https://x\",\"redirect_allow\":1}", true,
		   "'redirect_allow' must be");
	remote_bad("{\"url\":\"https://x\",\"redirect_allow\":[1]}", true,
		   "'redirect_allow' must be");
	remote_bad("{\"url\":\"https://x\",\"redirect_allow\":\"a/b\"}", true,
		   "expected HOST");
	remote_ok("{\"url\":\"https://x\",\"redirect_allow\":\"s.example\"}",
		  true, &r);
	check_hop(&r, "http://s.example/x", UPS_HOP_LISTED);
	ups_remote_release(&r);
}

/* --upstream-redirect-allow goes to every upstream; a bad entry stops
 * the start. */
static void test_redirect_allow_flag(void **state)
{
	struct reg_proxy *p = NULL;
	struct err e = ERR_INIT;
	struct cfg c;

	(void)state;
	cfg_defaults(&c);
	assert_int_equal(c.upstream_timeout, 3600);
	assert_int_equal(cfg_set(&c, "upstream-timeout", "90s", &e), 0);
	assert_int_equal(c.upstream_timeout, 90);
	assert_int_equal(cfg_set(&c, "upstream-timeout", "0", &e), -1);
	err_clear(&e);
	assert_int_equal(cfg_set(&c, "proxy-workers", "1", &e), 0);
	assert_int_equal(cfg_set(&c, "mirror", "http://10.0.0.1:5000", &e), 0);
	assert_int_equal(cfg_set(&c, "upstream", "q/=https://q.example", &e),
			 0);
	assert_int_equal(
		cfg_set(&c, "upstream-redirect-allow", "minio.lan:9000", &e),
		0);
	assert_int_equal(reg_proxy_new(&c, NULL, &p, &e), 0);
	assert_int_equal(p->nremotes, 2);
	for (size_t i = 0; i < p->nremotes; i++) {
		assert_int_equal(p->remotes[i].nallow, 1);
		check_hop(&p->remotes[i], "http://minio.lan:9000/x",
			  UPS_HOP_LISTED);
	}
	reg_proxy_free(p);
	assert_int_equal(cfg_set(&c, "upstream-redirect-allow", "a/b", &e), 0);
	assert_int_equal(reg_proxy_new(&c, NULL, &p, &e), -1);
	assert_null(p);
	assert_non_null(strstr(e.msg, "'a/b'"));
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
		cmocka_unit_test(test_part_ranges),
		cmocka_unit_test(test_fresh),
		cmocka_unit_test(test_config_objects),
		cmocka_unit_test(test_addr_kind),
		cmocka_unit_test(test_hop_addr),
		cmocka_unit_test(test_hop),
		cmocka_unit_test(test_redirect_allow_flag),
	};

	log_set_level(LL_ERROR);
	return cmocka_run_group_tests_name("proxy", tests, NULL, NULL);
}
