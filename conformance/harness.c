/* harness.c: runs tests, keeps their memory, reports lines and JUnit XML. */
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ct_int.h"

/* The tables in the order they run: pull needs nothing but push helpers,
 * management deletes what it pushed itself, clients run last (slowest). */
static const struct ct_test *const ct_tables[] = {
	ct_base_tests,	    ct_pull_tests,	 ct_push_tests,
	ct_upload_tests,    ct_manifest_tests,	 ct_discovery_tests,
	ct_referrers_tests, ct_management_tests, ct_compat_tests,
	ct_client_tests,
};

void *ct_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "conformance: out of memory\n");
		abort();
	}
	return p;
}

void *ct_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q) {
		fprintf(stderr, "conformance: out of memory\n");
		abort();
	}
	return q;
}

char *ct_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = ct_xmalloc(n);

	memcpy(p, s, n);
	return p;
}

void sbuf_add(struct sbuf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->alloc) {
		size_t want = b->alloc ? b->alloc : 64;

		while (want < b->len + len + 1)
			want *= 2;
		b->p = ct_xrealloc(b->p, want);
		b->alloc = want;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void sbuf_adds(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

void sbuf_vaddf(struct sbuf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;
	char *tmp;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	tmp = ct_xmalloc((size_t)n + 1);
	vsnprintf(tmp, (size_t)n + 1, fmt, ap);
	sbuf_add(b, tmp, (size_t)n);
	free(tmp);
}

void sbuf_addf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(b, fmt, ap);
	va_end(ap);
}

const char *sbuf_str(const struct sbuf *b)
{
	return b->p ? b->p : "";
}

void sbuf_release(struct sbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->alloc = 0;
}

const struct ct_cfg *ct_cfg(const struct ct *t)
{
	return t->cfg;
}

static void ct_set_msg(struct ct *t, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void ct_set_msg(struct ct *t, const char *fmt, va_list ap)
{
	struct sbuf b = {0};

	sbuf_vaddf(&b, fmt, ap);
	free(t->msg);
	t->msg = b.p ? b.p : ct_xstrdup("");
}

int ct_fail(struct ct *t, const char *fmt, ...)
{
	va_list ap;

	if (t->result == CT_FAIL)
		return -1;
	va_start(ap, fmt);
	ct_set_msg(t, fmt, ap);
	va_end(ap);
	t->result = CT_FAIL;
	sbuf_addf(&t->log, "!! %s\n", t->msg);
	return -1;
}

void ct_skip(struct ct *t, const char *fmt, ...)
{
	va_list ap;

	if (t->result == CT_FAIL)
		return;
	va_start(ap, fmt);
	ct_set_msg(t, fmt, ap);
	va_end(ap);
	t->result = CT_SKIP;
}

bool ct_failed(const struct ct *t)
{
	return t->result == CT_FAIL;
}

void ct_note(struct ct *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&t->log, fmt, ap);
	va_end(ap);
	sbuf_adds(&t->log, "\n");
}

void *ct_keep(struct ct *t, void *p, void (*free_fn)(void *))
{
	if (!p)
		return NULL;
	if (t->nkeeps == t->akeeps) {
		t->akeeps = t->akeeps ? 2 * t->akeeps : 32;
		t->keeps = ct_xrealloc(t->keeps, t->akeeps * sizeof(*t->keeps));
	}
	t->keeps[t->nkeeps].p = p;
	t->keeps[t->nkeeps].free_fn = free_fn;
	t->nkeeps++;
	return p;
}

char *ct_strdup(struct ct *t, const char *s)
{
	return ct_keep(t, ct_xstrdup(s), free);
}

char *ct_printf(struct ct *t, const char *fmt, ...)
{
	struct sbuf b = {0};
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (!b.p)
		return ct_strdup(t, "");
	return ct_keep(t, b.p, free);
}

unsigned char *ct_random(struct ct *t, size_t n)
{
	unsigned char *p = ct_keep(t, ct_xmalloc(n), free);
	FILE *f = fopen("/dev/urandom", "rb");

	if (!f || fread(p, 1, n, f) != n) {
		/* Still unique enough for one run. */
		for (size_t i = 0; i < n; i++)
			p[i] = (unsigned char)rand();
	}
	if (f)
		fclose(f);
	return p;
}

static void ct_release(struct ct *t)
{
	/* Last kept, first freed: a response may point into a kept string. */
	while (t->nkeeps > 0) {
		struct ct_keep *k = &t->keeps[--t->nkeeps];

		k->free_fn(k->p);
	}
	free(t->keeps);
	t->keeps = NULL;
	t->akeeps = 0;
}

/* --- reporting ---------------------------------------------------------- */

struct ct_outcome {
	const struct ct_test *test;
	enum ct_result result;
	char *msg;
	char *log;
	double secs;
};

/* Length of the valid UTF-8 sequence at s (1 for ASCII), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s)
{
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

bool ct_is_text(const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(p + i);

		if (n == 0 || i + n > len ||
		    (p[i] < 0x20 && p[i] != '\n' && p[i] != '\r' &&
		     p[i] != '\t') ||
		    p[i] == 0x7f)
			return false;
		i += n;
	}
	return true;
}

/* Escapes for XML 1.0: markup characters, and bytes that are not valid
 * UTF-8 or are control characters XML forbids, as \xNN. */
static void xml_escape(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_seq(p);

		if (n == 0 || (*p < 0x20 && *p != '\n' && *p != '\t')) {
			fprintf(f, "\\x%02x", *p);
			p++;
			continue;
		}
		switch (*p) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fwrite(p, 1, n, f);
		}
		p += n;
	}
}

/* The group is the name's part before '/'. */
static size_t group_len(const char *name)
{
	const char *slash = strchr(name, '/');

	return slash ? (size_t)(slash - name) : strlen(name);
}

static void junit_suite(FILE *f, const struct ct_outcome *o, size_t n)
{
	size_t fails = 0, skips = 0;
	double secs = 0;
	size_t glen = group_len(o[0].test->name);

	for (size_t i = 0; i < n; i++) {
		fails += o[i].result == CT_FAIL;
		skips += o[i].result == CT_SKIP;
		secs += o[i].secs;
	}
	fprintf(f,
		"  <testsuite name=\"%.*s\" tests=\"%zu\" failures=\"%zu\" "
		"errors=\"0\" skipped=\"%zu\" time=\"%.3f\">\n",
		(int)glen, o[0].test->name, n, fails, skips, secs);
	for (size_t i = 0; i < n; i++) {
		fprintf(f,
			"    <testcase classname=\"conformance.%.*s\" name=\"",
			(int)glen, o[i].test->name);
		xml_escape(f, o[i].test->name);
		fprintf(f, "\" time=\"%.3f\">\n", o[i].secs);
		fputs("      <properties><property name=\"section\" value=\"",
		      f);
		xml_escape(f, o[i].test->section);
		fputs("\"/></properties>\n", f);
		if (o[i].result == CT_FAIL) {
			fputs("      <failure message=\"", f);
			xml_escape(f, o[i].msg ? o[i].msg : "");
			fputs("\">", f);
			xml_escape(f, o[i].log ? o[i].log : "");
			fputs("</failure>\n", f);
		} else if (o[i].result == CT_SKIP) {
			fputs("      <skipped message=\"", f);
			xml_escape(f, o[i].msg ? o[i].msg : "");
			fputs("\"/>\n", f);
		}
		if (o[i].log && o[i].result != CT_FAIL) {
			fputs("      <system-out>", f);
			xml_escape(f, o[i].log);
			fputs("</system-out>\n", f);
		}
		fputs("    </testcase>\n", f);
	}
	fputs("  </testsuite>\n", f);
}

static int junit_write(const char *path, const struct ct_cfg *cfg,
		       const struct ct_outcome *o, size_t n)
{
	FILE *f = fopen(path, "w");
	size_t fails = 0, skips = 0;

	if (!f) {
		fprintf(stderr, "conformance: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		fails += o[i].result == CT_FAIL;
		skips += o[i].result == CT_SKIP;
	}
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fputs("<testsuites name=\"oci-distribution-conformance (", f);
	xml_escape(f, cfg->base);
	fprintf(f, ")\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\">\n", n,
		fails, skips);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1, glen = group_len(o[i].test->name);

		while (j < n && group_len(o[j].test->name) == glen &&
		       !strncmp(o[j].test->name, o[i].test->name, glen))
			j++;
		junit_suite(f, o + i, j - i);
		i = j;
	}
	fputs("</testsuites>\n", f);
	if (fclose(f) != 0) {
		fprintf(stderr, "conformance: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static double now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ": msg" with control characters as spaces: one line per test. */
static void print_one_line(const char *msg)
{
	size_t n = strlen(msg);

	while (n > 0 && (unsigned char)msg[n - 1] <= ' ')
		n--;
	fputs(": ", stdout);
	for (size_t i = 0; i < n; i++)
		putchar((unsigned char)msg[i] < ' ' ? ' ' : msg[i]);
}

static void run_one(const struct ct_cfg *cfg, struct ct_http *http,
		    const struct ct_test *test, struct ct_outcome *out)
{
	struct ct t = {.cfg = cfg, .http = http, .result = CT_PASS};
	double start = now_secs();
	static const char *const label[] = {"PASS", "FAIL", "SKIP"};

	test->fn(&t);
	ct_release(&t);
	out->test = test;
	out->result = t.result;
	out->msg = t.msg;
	out->log = t.log.p;
	out->secs = now_secs() - start;

	printf("%s %s [%s]", label[t.result], test->name, test->section);
	if (t.msg)
		print_one_line(t.msg);
	printf("\n");
	if (t.result == CT_FAIL && cfg->verbose && t.log.p)
		printf("%s", t.log.p);
	fflush(stdout);
}

static int compile(regex_t *re, const char *pat)
{
	char msg[256];
	int rc = regcomp(re, pat, REG_EXTENDED | REG_NOSUB);

	if (rc != 0) {
		regerror(rc, re, msg, sizeof(msg));
		fprintf(stderr, "conformance: bad pattern '%s': %s\n", pat,
			msg);
		return -1;
	}
	return 0;
}

static bool selected(const struct ct_test *test, const regex_t *only,
		     const regex_t *exclude)
{
	if (only && regexec(only, test->name, 0, NULL, 0) != 0)
		return false;
	if (exclude && regexec(exclude, test->name, 0, NULL, 0) == 0)
		return false;
	return true;
}

int ct_run_all(const struct ct_cfg *cfg, const struct ct_run_opts *o)
{
	regex_t only, exclude;
	bool have_only = false, have_exclude = false;
	struct ct_outcome *outs = NULL;
	size_t n = 0, cap = 0, fails = 0, skips = 0, passes = 0;
	struct ct_http *http = NULL;
	int ret = -1;

	if (o->only && compile(&only, o->only) < 0)
		goto out;
	have_only = o->only != NULL;
	if (o->exclude && compile(&exclude, o->exclude) < 0)
		goto out;
	have_exclude = o->exclude != NULL;

	http = ct_http_new(cfg);
	for (size_t k = 0; k < sizeof(ct_tables) / sizeof(*ct_tables); k++) {
		for (const struct ct_test *test = ct_tables[k]; test->name;
		     test++) {
			if (!selected(test, have_only ? &only : NULL,
				      have_exclude ? &exclude : NULL))
				continue;
			if (o->list) {
				printf("%-40s %s\n", test->name, test->section);
				continue;
			}
			if (n == cap) {
				cap = cap ? 2 * cap : 128;
				outs = ct_xrealloc(outs, cap * sizeof(*outs));
			}
			run_one(cfg, http, test, &outs[n]);
			passes += outs[n].result == CT_PASS;
			fails += outs[n].result == CT_FAIL;
			skips += outs[n].result == CT_SKIP;
			n++;
		}
	}
	if (o->list) {
		ret = 0;
		goto out;
	}
	if (o->junit && n > 0 && junit_write(o->junit, cfg, outs, n) < 0)
		fails++;
	printf("%zu passed, %zu failed, %zu skipped\n", passes, fails, skips);
	ret = (int)fails;
out:
	for (size_t i = 0; i < n; i++) {
		free(outs[i].msg);
		free(outs[i].log);
	}
	free(outs);
	ct_http_free(http);
	if (have_only)
		regfree(&only);
	if (have_exclude)
		regfree(&exclude);
	return ret;
}
