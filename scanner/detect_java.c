/* detect_java.c: Java archives (.jar, .war, .ear), read as zip from
 * memory.  Each META-INF/maven/<group>/<artifact>/pom.properties names a
 * Maven artifact; archives inside archives (WEB-INF/lib/x.jar, fat jars)
 * are opened in turn, to a bounded depth and size.
 */
#include "scanner/detect_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "scanner/meter_int.h"
#include "common/banned.h"

#define JAVA_MAX_DEPTH 3
#define JAVA_MAX_PROPS (64u << 10)

struct java_ctx {
	const struct det_file *f;
	struct det_out *out;
	size_t budget; /* bytes nested archives may still take */
	size_t bad;
};

static bool java_ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcasecmp(s + n - m, suffix);
}

static bool java_is_pom(const char *name)
{
	const char *p = name;
	int slashes = 0;

	if (strncmp(name, "META-INF/maven/", 15) ||
	    !java_ends(name, "/pom.properties"))
		return false;
	for (p = name + 15; *p; p++)
		slashes += *p == '/';
	return slashes == 2;
}

static char *java_prop(const char *data, size_t len, const char *key)
{
	struct det_lines it = {data, data + len};
	size_t k = strlen(key), n;
	const char *line;

	while (det_next_line(&it, &line, &n)) {
		while (n && (*line == ' ' || *line == '\t')) {
			line++;
			n--;
		}
		if (n <= k || memcmp(line, key, k))
			continue;
		line += k;
		n -= k;
		while (n && (*line == ' ' || *line == '\t')) {
			line++;
			n--;
		}
		if (!n || (*line != '=' && *line != ':'))
			continue;
		line++;
		n--;
		while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		while (n && (*line == ' ' || *line == '\t')) {
			line++;
			n--;
		}
		return n && n <= DET_MAX_FIELD ? xstrndup(line, n) : NULL;
	}
	return NULL;
}

static void java_pom(struct java_ctx *c, const char *data, size_t len)
{
	char *g = java_prop(data, len, "groupId");
	char *a = java_prop(data, len, "artifactId");
	char *v = java_prop(data, len, "version");
	struct scan_pkg p = {.eco = ECO_MAVEN};

	if (!g || !a || !v) {
		c->bad++;
		goto out;
	}
	p.name = xasprintf("%s:%s", g, a);
	p.version = v;
	for (size_t i = 0; i < c->out->inv.npkgs; i++) {
		const struct scan_pkg *q = &c->out->inv.pkgs[i];

		if (q->eco == ECO_MAVEN && !strcmp(q->name, p.name) &&
		    !strcmp(q->version, v) && !strcmp(q->path, c->f->path))
			goto out;
	}
	p.layer = (char *)c->f->layer;
	p.path = (char *)c->f->path;
	det_out_add(c->out, &p, NULL);
out:
	free(p.name);
	free(g);
	free(a);
	free(v);
}

/* Reads the current entry into b (capped); -2 if too large, -1 if broken. */
static int java_read(struct archive *ar, struct archive_entry *ent, size_t cap,
		     struct buf *b)
{
	char chunk[16384];
	la_ssize_t n;

	buf_init(b, cap);
	if (archive_entry_size_is_set(ent) &&
	    (archive_entry_size(ent) < 0 ||
	     (uint64_t)archive_entry_size(ent) > cap))
		return archive_entry_size(ent) < 0 ? -1 : -2;
	while ((n = archive_read_data(ar, chunk, sizeof(chunk))) > 0)
		if (buf_add(b, chunk, (size_t)n))
			return -2;
	return n < 0 ? -1 : 0;
}

static void java_archive(struct java_ctx *c, const void *data, size_t len,
			 int depth);

static void java_entry(struct java_ctx *c, struct archive *ar,
		       struct archive_entry *ent, int depth)
{
	const char *name = archive_entry_pathname(ent);
	struct buf b = BUF_INIT;
	int r;

	if (!name || archive_entry_filetype(ent) != AE_IFREG)
		return;
	if (java_is_pom(name)) {
		if (java_read(ar, ent, JAVA_MAX_PROPS, &b))
			c->bad++;
		else
			java_pom(c, b.buf, b.len);
	} else if ((java_ends(name, ".jar") || java_ends(name, ".war") ||
		    java_ends(name, ".ear")) &&
		   depth < JAVA_MAX_DEPTH) {
		r = java_read(ar, ent, c->budget, &b);
		if (r) {
			inv_add_note(&c->out->inv,
				     "%s: nested archive %s not analysed: too "
				     "large or unreadable",
				     c->f->path, name);
			/* What the nested archives hold is unknown. */
			if (r == -2)
				meter_hit(c->f->meter, BUDGET_FILE_BYTES,
					  DET_MAX_JAR, c->f->layer,
					  "%s: nested archives over %u bytes",
					  c->f->path, DET_MAX_JAR);
		} else {
			c->budget -= b.len;
			java_archive(c, b.buf, b.len, depth + 1);
		}
	}
	buf_release(&b);
}

static void java_archive(struct java_ctx *c, const void *data, size_t len,
			 int depth)
{
	struct archive *ar = archive_read_new();
	struct archive_entry *ent;
	int r;

	archive_read_support_format_zip_seekable(ar);
	if (archive_read_open_memory(ar, data, len) != ARCHIVE_OK) {
		c->bad++;
		goto out;
	}
	while ((r = archive_read_next_header(ar, &ent)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN) {
		if (meter_expired(c->f->meter, c->f->layer))
			goto out;
		java_entry(c, ar, ent, depth);
	}
	if (r != ARCHIVE_EOF)
		c->bad++;
out:
	archive_read_free(ar);
}

void det_java(const struct det_file *f, struct det_out *out)
{
	struct java_ctx c = {f, out, DET_MAX_JAR, 0};

	java_archive(&c, f->data, f->len, 0);
	if (c.bad)
		inv_add_note(&out->inv, "%s: Java archive partly unreadable",
			     f->path);
}
