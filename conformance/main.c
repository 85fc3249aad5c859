/* main.c: oci-conformance [options] URL: runs the suite against a registry. */
#define _XOPEN_SOURCE 700 /* nftw() */
#include <curl/curl.h>
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ct_int.h"
#include "fixtures.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: oci-conformance [options] URL\n"
		"\n"
		"Checks a registry against the OCI distribution spec v1.1.1 "
		"and "
		"what real\nclients rely on.  URL is the registry root, e.g. "
		"http://127.0.0.1:5000\n(or $OCI_ROOT_URL).\n"
		"\n"
		"  -n, --namespace NS       repository to push to "
		"($OCI_NAMESPACE,\n"
		"                           default conformance/main)\n"
		"  -m, --crossmount-namespace NS\n"
		"                           second repository, for mounts "
		"($OCI_CROSSMOUNT_NAMESPACE,\n"
		"                           default <NS>-mount)\n"
		"  -r, --run REGEX          only tests whose name matches "
		"($OCI_TEST_RUN)\n"
		"  -s, --skip REGEX         leave out tests whose name "
		"matches; "
		"repeatable\n"
		"                           ($OCI_TEST_SKIP)\n"
		"      --no-clients         leave out the skopeo/podman/docker "
		"scenarios\n"
		"                           ($OCI_SKIP_CLIENTS=1)\n"
		"      --strict             optional features count as "
		"required "
		"(deletion,\n"
		"                           Link pagination, single-POST "
		"upload, a manifest\n"
		"                           size limit)\n"
		"  -j, --junit FILE         write a JUnit XML report "
		"($OCI_JUNIT)\n"
		"      --clients-dir DIR    the client scenario scripts "
		"($CT_CLIENTS_DIR, default\n"
		"                           conformance/clients; run passes "
		"it)\n"
		"  -k, --keep               keep the scratch directory\n"
		"  -v, --verbose            print the transcript of failed "
		"tests\n"
		"  -l, --list               list the tests and what they "
		"check\n"
		"\n"
		"Credentials, if the registry wants them: $OCI_USERNAME, "
		"$OCI_PASSWORD\n(Basic, or Bearer tokens from the challenge's "
		"realm).\n"
		"Prints one line per test and 'N passed, N failed, N skipped'; "
		"exits 1\nif any test failed.\n");
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* base without trailing '/', and "host:port" for the client tools. */
static int parse_url(struct ct_cfg *c, const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	size_t n = strlen(url);
	int ret = -1;

	if (!u)
		abort();
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
		    CURLUE_OK) {
		fprintf(stderr, "oci-conformance: bad URL '%s'\n", url);
		goto out;
	}
	while (n > 0 && url[n - 1] == '/')
		n--;
	c->base = ct_xmalloc(n + 1);
	memcpy(c->base, url, n);
	c->base[n] = '\0';
	c->hostport = ct_xmalloc(strlen(host) + strlen(port) + 2);
	snprintf(c->hostport, strlen(host) + strlen(port) + 2, "%s:%s", host,
		 port);
	ret = 0;
out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return ret;
}

static void random_run(char out[9])
{
	unsigned char b[4] = {0};
	FILE *f = fopen("/dev/urandom", "rb");

	if (!f || fread(b, 1, sizeof(b), f) != sizeof(b)) {
		unsigned int x =
			(unsigned int)getpid() ^ (unsigned int)time(NULL);

		memcpy(b, &x, sizeof(b));
	}
	if (f)
		fclose(f);
	snprintf(out, 9, "%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Adds "(re)" to an alternation of exclusions. */
static void add_skip(struct sbuf *skip, const char *re)
{
	sbuf_addf(skip, "%s(%s)", skip->len ? "|" : "", re);
}

/* The clients/ directory beside the binary's sources: the run script
 * passes it; this guess serves a binary run by hand from the tree. */
static char *default_clients_dir(void)
{
	const char *e = env("CT_CLIENTS_DIR");

	return ct_xstrdup(e ? e : "conformance/clients");
}

/* §Pulling manifests: the grammar every <name> MUST match. */
static bool valid_name(const char *name)
{
	static const char *const re = "^[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*"
				      "(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*$";
	regex_t rx;
	bool ok;

	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
		abort();
	ok = regexec(&rx, name, 0, NULL, 0) == 0;
	regfree(&rx);
	return ok;
}

struct args {
	struct ct_cfg *c;
	struct ct_run_opts *o;
	struct sbuf skip;
	const char *ns, *ns2, *url;
	bool keep;
};

/* Environment first, then the flags.  Returns 0, or the exit status. */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{"namespace", required_argument, NULL, 'n'},
		{"crossmount-namespace", required_argument, NULL, 'm'},
		{"run", required_argument, NULL, 'r'},
		{"skip", required_argument, NULL, 's'},
		{"no-clients", no_argument, NULL, 'C'},
		{"strict", no_argument, NULL, 'S'},
		{"junit", required_argument, NULL, 'j'},
		{"clients-dir", required_argument, NULL, 'D'},
		{"keep", no_argument, NULL, 'k'},
		{"verbose", no_argument, NULL, 'v'},
		{"list", no_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	a->ns = env("OCI_NAMESPACE");
	a->ns2 = env("OCI_CROSSMOUNT_NAMESPACE");
	a->o->junit = env("OCI_JUNIT");
	a->o->only = env("OCI_TEST_RUN");
	if (env("OCI_TEST_SKIP"))
		add_skip(&a->skip, env("OCI_TEST_SKIP"));
	if (env("OCI_SKIP_CLIENTS") && strcmp(env("OCI_SKIP_CLIENTS"), "0"))
		add_skip(&a->skip, "^clients/");
	while ((opt = getopt_long(argc, argv, "n:m:r:s:j:kvlh", opts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'n':
			a->ns = optarg;
			break;
		case 'm':
			a->ns2 = optarg;
			break;
		case 'r':
			a->o->only = optarg;
			break;
		case 's':
			add_skip(&a->skip, optarg);
			break;
		case 'C':
			add_skip(&a->skip, "^clients/");
			break;
		case 'S':
			a->c->strict = true;
			break;
		case 'j':
			a->o->junit = optarg;
			break;
		case 'D':
			free(a->c->clients_dir);
			a->c->clients_dir = ct_xstrdup(optarg);
			break;
		case 'k':
			a->keep = true;
			break;
		case 'v':
			a->c->verbose++;
			break;
		case 'l':
			a->o->list = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	a->o->exclude = a->skip.p;
	a->url = optind < argc ? argv[optind] : env("OCI_ROOT_URL");
	if (!a->url && !a->o->list) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* Fills the configuration from the arguments; -1 after a message. */
static int configure(struct ct_cfg *c, const struct args *a)
{
	const char *ns = a->ns ? a->ns : "conformance/main";
	size_t n = strlen(ns) + sizeof("-mount");

	if (parse_url(c, a->url ? a->url : "http://127.0.0.1:5000") < 0)
		return -1;
	c->ns = ct_xstrdup(ns);
	c->ns2 = ct_xmalloc(n);
	snprintf(c->ns2, n, "%s-mount", ns);
	if (a->ns2) {
		free(c->ns2);
		c->ns2 = ct_xstrdup(a->ns2);
	}
	if (!valid_name(c->ns) || !valid_name(c->ns2)) {
		fprintf(stderr,
			"oci-conformance: '%s' is not a repository "
			"name ([a-z0-9]+ separated by '.', '_', '__', "
			"'-' and '/')\n",
			valid_name(c->ns) ? c->ns2 : c->ns);
		return -1;
	}
	c->user = env("OCI_USERNAME") ? ct_xstrdup(env("OCI_USERNAME")) : NULL;
	c->pass = env("OCI_PASSWORD") ? ct_xstrdup(env("OCI_PASSWORD")) : NULL;
	random_run(c->run);
	return 0;
}

static void banner(const struct ct_cfg *c, const struct args *a)
{
	printf("oci-conformance: %s, namespace %s, cross-mount %s, run %s\n",
	       c->base, c->ns, c->ns2, c->run);
	if (a->o->junit)
		printf("oci-conformance: JUnit report: %s\n", a->o->junit);
	if (a->keep)
		printf("oci-conformance: scratch directory (kept): %s\n",
		       c->work);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct ct_cfg c = {0};
	struct ct_run_opts o = {0};
	struct args a = {.c = &c, .o = &o};
	char tmpl[4096];
	int fails, ret;

	c.clients_dir = default_clients_dir();
	ret = parse_args(argc, argv, &a);
	if (ret >= 0)
		goto out;
	ret = 2;
	if (configure(&c, &a) < 0)
		goto out;
	snprintf(tmpl, sizeof(tmpl), "%s/oci-conformance.XXXXXX",
		 env("TMPDIR") ? env("TMPDIR") : "/tmp");
	if (!o.list && !mkdtemp(tmpl)) {
		fprintf(stderr, "oci-conformance: mkdtemp %s: %s\n", tmpl,
			strerror(errno));
		goto out;
	}
	c.work = tmpl;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto out;
	if (!o.list)
		banner(&c, &a);
	fails = ct_run_all(&c, &o);
	ret = fails < 0 ? 2 : fails > 0 ? 1 : 0;
	fx_cleanup();
	curl_global_cleanup();
	/* Depth first, without following links: only what the run made. */
	if (!o.list && !a.keep)
		nftw(c.work, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
out:
	sbuf_release(&a.skip);
	free(c.base);
	free(c.hostport);
	free(c.ns);
	free(c.ns2);
	free(c.user);
	free(c.pass);
	free(c.clients_dir);
	return ret;
}
