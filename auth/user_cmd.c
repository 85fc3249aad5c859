/* user_cmd.c: customs user add|del NAME [--htpasswd FILE] [--data DIR]. */
#include "auth/auth_int.h"
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

static void usage(FILE *out)
{
	fprintf(out,
		"usage: customs user add NAME [--htpasswd FILE] [--data DIR]\n"
		"       customs user del NAME [--htpasswd FILE] [--data DIR]\n"
		"\n"
		"add reads the password from stdin (one line; asked twice "
		"without echo\n"
		"on a terminal) and stores its bcrypt hash, replacing any "
		"old one.\n"
		"The file defaults to DIR/htpasswd (DIR: " DEFAULT_DATA "); "
		"a running\nregistry picks up the change by itself.\n");
}

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

/* "--opt VALUE" or "--opt=VALUE"; advances *i past what it used. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt)
{
	size_t n = strlen(opt);

	if (!strncmp(argv[*i], opt, n) && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (!strcmp(argv[*i], opt) && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

int auth_user_cmd_main(int argc, char **argv)
{
	const char *verb = NULL, *name = NULL, *file = NULL;
	const char *data = DEFAULT_DATA, *v;
	char pass[AUTH_PASS_MAX + 2];
	struct err e = ERR_INIT;
	char *path;
	int r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if ((v = opt_value(argc, argv, &i, "--htpasswd"))) {
			file = v;
		} else if ((v = opt_value(argc, argv, &i, "--data"))) {
			data = v;
		} else if (argv[i][0] == '-' || (verb && name)) {
			fprintf(stderr, "customs user: unexpected '%s'\n",
				argv[i]);
			usage(stderr);
			return 2;
		} else if (!verb) {
			verb = argv[i];
		} else {
			name = argv[i];
		}
	}
	if (!verb || !name || (strcmp(verb, "add") && strcmp(verb, "del"))) {
		usage(stderr);
		return 2;
	}
	if (!auth_user_name_ok(name)) {
		fprintf(stderr,
			"customs user: invalid user name '%s' (no ':', "
			"spaces or control characters; not 'anonymous' or "
			"'*')\n",
			name);
		return 2;
	}
	if (!strcmp(verb, "add") && read_password(pass, sizeof(pass)) < 0)
		return 1;
	/* The first user usually comes before the first `serve`, which is
	 * what would otherwise create the data directory. */
	if (!file && mkdir(data, 0755) < 0 && errno != EEXIST) {
		perror("customs user: mkdir");
		OPENSSL_cleanse(pass, sizeof(pass));
		return 1;
	}
	path = file ? xstrdup(file) : xasprintf("%s/htpasswd", data);
	r = auth_htpasswd_update(path, name, strcmp(verb, "add") ? NULL : pass,
				 &e);
	OPENSSL_cleanse(pass, sizeof(pass));
	if (r < 0)
		fprintf(stderr, "customs user: %s\n", e.msg);
	else
		fprintf(stderr, "customs user: %s %s in %s\n", name,
			strcmp(verb, "add") ? "removed" : "set", path);
	free(path);
	return r < 0 ? 1 : 0;
}
