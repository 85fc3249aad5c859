/* user_cmd.c: customs user add|del NAME [--htpasswd FILE] [--data DIR]. */
#include "auth/auth_int.h"
#include "common/opt.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/banned.h"

#define DEFAULT_DATA "./var"

struct user_args {
	char *htpasswd;
	char *data;
};

#define UA_OFF(f) offsetof(struct user_args, f)

static const struct opt user_opts[] = {
	{"htpasswd", OPT_STRING, 0, 0, NULL, UA_OFF(htpasswd), NULL, "FILE",
	 "the users and their bcrypt hashes (default DIR/htpasswd)"},
	{"data", OPT_STRING, 0, 0, DEFAULT_DATA, UA_OFF(data), NULL, "DIR",
	 "data directory"},
	{NULL, 0, 0, 0, NULL, 0, NULL, NULL, NULL},
};

/* serve's --config file works: its other keys are serve's. */
static const struct opt_cmd user_cmd = {
	.name = "user",
	.synopsis = "add|del NAME [options]",
	.notes = "add reads the password from stdin (one line; asked twice "
		 "without echo\n"
		 "on a terminal) and stores its bcrypt hash, replacing any "
		 "old one.\n"
		 "A running registry picks up the change by itself.",
	.opts = user_opts,
	.max_operands = 2,
	.flags = OPT_SHARED_FILE,
};

/* One line of at most AUTH_PASS_MAX bytes, without its newline. */
static int read_line(FILE *in, char *buf, size_t size)
{
	size_t n;

	if (!fgets(buf, (int)size, in))
		return -1;
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else if (n == size - 1)
		return -1; /* too long */
	if (n && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return 0;
}

static int prompt(const char *what, char *buf, size_t size)
{
	struct termios old, quiet;
	int r;

	fprintf(stderr, "%s", what);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &old) < 0)
		return read_line(stdin, buf, size);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	r = read_line(stdin, buf, size);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fprintf(stderr, "\n");
	return r;
}

static int read_password(char *pass, size_t size)
{
	char again[AUTH_PASS_MAX + 2];
	int r = 0;

	if (!isatty(STDIN_FILENO)) {
		if (read_line(stdin, pass, size) < 0) {
			fprintf(stderr,
				"customs user: no password on stdin "
				"(or longer than %d bytes)\n",
				AUTH_PASS_MAX);
			return -1;
		}
	} else if (prompt("Password: ", pass, size) < 0 ||
		   prompt("Retype password: ", again, sizeof(again)) < 0 ||
		   strcmp(pass, again)) {
		fprintf(stderr, "customs user: passwords do not match\n");
		r = -1;
	}
	OPENSSL_cleanse(again, sizeof(again));
	if (r == 0 && !*pass) {
		fprintf(stderr, "customs user: empty password\n");
		r = -1;
	}
	if (r == 0 && strlen(pass) > 72)
		fprintf(stderr, "customs user: warning: bcrypt uses only the "
				"first 72 bytes of a password\n");
	return r;
}

int auth_user_cmd_main(int argc, char **argv)
{
	struct user_args a = {NULL, NULL};
	struct opt_args args = {0};
	const char *verb, *name;
	char pass[AUTH_PASS_MAX + 2];
	struct err e = ERR_INIT;
	char *path = NULL;
	int rc, r;

	pass[0] = '\0';
	if (!opt_cli(&user_cmd, &a, argc, argv, &args, &rc))
		goto out;
	verb = args.n > 0 ? args.v[0] : "";
	name = args.n > 1 ? args.v[1] : NULL;
	rc = 2;
	if (strcmp(verb, "add") && strcmp(verb, "del")) {
		opt_fail(&user_cmd, "expected add or del");
		goto out;
	}
	if (!name) {
		opt_fail(&user_cmd, "%s needs a NAME", verb);
		goto out;
	}
	if (!auth_user_name_ok(name)) {
		opt_fail(&user_cmd,
			 "invalid user name '%s' (no ':', spaces or control "
			 "characters; not 'anonymous' or '*')",
			 name);
		goto out;
	}
	rc = 1;
	if (!strcmp(verb, "add") && read_password(pass, sizeof(pass)) < 0)
		goto out;
	/* The first user usually comes before the first `serve`, which is
	 * what would otherwise create the data directory. */
	if (!a.htpasswd && mkdir(a.data, 0755) < 0 && errno != EEXIST) {
		perror("customs user: mkdir");
		goto out;
	}
	path = a.htpasswd ? xstrdup(a.htpasswd)
			  : xasprintf("%s/htpasswd", a.data);
	r = auth_htpasswd_update(path, name, strcmp(verb, "add") ? NULL : pass,
				 &e);
	if (r < 0)
		fprintf(stderr, "customs user: %s\n", e.msg);
	else
		fprintf(stderr, "customs user: %s %s in %s\n", name,
			strcmp(verb, "add") ? "removed" : "set", path);
	rc = r < 0 ? 1 : 0;
out:
	OPENSSL_cleanse(pass, sizeof(pass));
	free(path);
	opt_args_release(&args);
	opt_release(&user_cmd, &a);
	return rc;
}
