/* test_auth_util.h: helpers shared by the auth unit tests (static, so each
 * test binary has its own copy). */
#ifndef TEST_AUTH_UTIL_H
#define TEST_AUTH_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/auth_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "tests/unit/unit_util.h"

/* htpasswd -Bbn output (apache2-utils 2.4.71), passwords NAME-pw. */
#define ALICE_LINE                                                             \
	"alice:$2y$05$L0KUAMp.RzZkR33tf7al/.z3aNxOhsQaJ/vcxg6Tx7AGJ7gtIzyoK"
#define BOB_LINE                                                               \
	"bob:$2y$05$nw70azYB.tOdim9vLaPzeuVJi7s5L4wZYq9wLgQMr4YaSW./qGiGO"
#define CAROL_LINE                                                             \
	"carol:$2y$04$ZemZCjKHhljVx.JQ57cz6eWda6n3pbg8wxuyeSTu7i5YyuuNGSX0K"
/* htpasswd -mbn: MD5, which we refuse. */
#define MALLORY_LINE "mallory:$apr1$OoAlBRz/$fmNCl0UqJWalmGU3viC8Y/"

static time_t fake_now;

static time_t fake_clock(void)
{
	return fake_now;
}

static char *write_file(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	char *tmp = xasprintf("%s.new", path);
	FILE *f = fopen(tmp, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	/* A rename, as editors and `customs user` do: the inode changes, so
	 * a reload is seen even within one mtime tick. */
	assert_int_equal(rename(tmp, path), 0);
	free(tmp);
	return path;
}

/* "Basic base64(user:pass)" */
static char *basic_header(const char *user, const char *pass)
{
	char *raw = xasprintf("%s:%s", user, pass);
	char *b = xmalloc(4 * (strlen(raw) + 2) / 3 + 4);
	char *h;

	EVP_EncodeBlock((unsigned char *)b, (unsigned char *)raw,
			(int)strlen(raw));
	h = xasprintf("Basic %s", b);
	free(raw);
	free(b);
	return h;
}

/* auth_check, expecting code (ERR_OK = allowed); returns the result for
 * further checks (release it). */
static struct auth_result check_as(struct auth *a, const char *authz,
				   const char *cn, enum auth_scope_type type,
				   const char *name, unsigned actions,
				   enum err_code want)
{
	struct auth_request req = {authz, cn, "192.0.2.1", "https://reg.test",
				   false};
	struct auth_scope sc = {type, name, actions};
	struct auth_result res;
	struct err e = ERR_INIT;
	int r = auth_check(a, &req, name ? &sc : NULL, &res, &e);

	if ((r == 0) != (want == ERR_OK) || e.code != want)
		fail_msg("auth_check %s %s %u: got %d (%s), want %s",
			 name ? name : "(base)", authz ? authz : "-", actions,
			 (int)e.code, e.msg, err_code_name(want));
	return res;
}

static void expect(struct auth *a, const char *authz, const char *cn,
		   const char *repo, unsigned actions, enum err_code want)
{
	struct auth_result res = check_as(a, authz, cn, AUTH_SCOPE_REPOSITORY,
					  repo, actions, want);

	auth_result_release(&res);
}

#endif
