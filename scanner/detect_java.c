/* detect_java.c: Java archives (.jar, .war, .ear), read as zip from
 * memory.  Each META-INF/maven/<group>/<artifact>/pom.properties names a
 * Maven artifact; archives inside archives (WEB-INF/lib/x.jar, fat jars)
 * are opened in turn, to a bounded depth and size.
 *
 * An archive without any pom.properties (Gradle builds, shaded jars that
 * dropped them) is named from its META-INF/MANIFEST.MF instead, as syft
 * does: the version from Implementation-Version (or Bundle-Version), the
 * artifact from the file name less "-<version>" (or the last part of
 * Bundle-SymbolicName / Automatic-Module-Name, or a one-word
 * Implementation-Title), the group from Implementation-Vendor-Id (or the
 * symbolic name less the artifact).  Such coordinates are a guess: the
 * package is SCAN_CONF_LOW and says which attributes it came from.
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
#define JAVA_MAX_MF    (256u << 10) /* of a manifest: its main section */

struct java_ctx {
	const struct det_file *f;
	struct det_out *out;
	size_t budget; /* bytes nested archives may still take */
	size_t bad;
};

/* One archive being walked: its name (the file's path, or the entry's
 * name inside its parent) and what decides the manifest fallback. */
struct java_arch {
	const char *name;
	bool saw_pom;
	struct buf mf; /* META-INF/MANIFEST.MF, when read */
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

/* Adds p unless the same coordinates came from the same file already. */
static void java_add(struct java_ctx *c, const struct scan_pkg *p)
{
	for (size_t i = 0; i < c->out->inv.npkgs; i++) {
		const struct scan_pkg *q = &c->out->inv.pkgs[i];

		if (q->eco == ECO_MAVEN && !strcmp(q->name, p->name) &&
		    !strcmp(q->version, p->version) &&
		    !strcmp(q->path, c->f->path))
			return;
	}
	det_out_found(c->out, c->f, p, NULL);
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
	java_add(c, &p);
out:
	free(p.name);
	free(g);
	free(a);
	free(v);
}

/* The value of attribute key in the manifest's main section (up to the
 * first blank line), continuation lines (" ...") joined; NULL if absent,
 * empty or longer than DET_MAX_FIELD. */
static char *mf_get(const char *data, size_t len, const char *key)
{
	struct det_lines it = {data, data + len};
	struct buf v = BUF_INIT;
	const char *line, *val;
	size_t n, vn;
	bool in = false;

	buf_init(&v, DET_MAX_FIELD + 1);
	while (det_next_line(&it, &line, &n) && n) {
		if (*line == ' ') {
			if (in && buf_add(&v, line + 1, n - 1))
				break;
			continue;
		}
		if (in)
			break;
		if (det_field(line, n, key, true, &val, &vn)) {
			in = true;
			if (buf_add(&v, val, vn))
				break;
		}
	}
	while (v.len && (v.buf[v.len - 1] == ' ' || v.buf[v.len - 1] == '\t'))
		v.buf[--v.len] = '\0';
	if (!in || !v.len || v.len > DET_MAX_FIELD) {
		buf_release(&v);
		return NULL;
	}
	return buf_detach(&v, NULL);
}

/* A Maven groupId or artifactId: no blanks, nothing a coordinate or a
 * purl cannot hold. */
static bool mf_token(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' ||
		      *s == '_'))
			return false;
	return true;
}

/* The artifact in the archive's file name "<artifact>-<version>.jar". */
static char *mf_file_artifact(const char *name, const char *version)
{
	const char *base = strrchr(name, '/');
	size_t n, vn = strlen(version);

	base = base ? base + 1 : name;
	n = strlen(base);
	if (n < 4 || base[n - 4] != '.')
		return NULL;
	n -= 4;
	if (n <= vn + 1 || strncmp(base + n - vn, version, vn) ||
	    base[n - vn - 1] != '-')
		return NULL;
	return xstrndup(base, n - vn - 1);
}

/* The coordinates a manifest suggests for archive a; evidence says which
 * attributes gave them. */
static void java_manifest(struct java_ctx *c, const struct java_arch *a)
{
	const char *d = a->mf.buf, *vkey = "Implementation-Version";
	const char *gkey = "Implementation-Vendor-Id", *akey = "file name";
	size_t len = a->mf.len;
	char *v = mf_get(d, len, vkey), *g = mf_get(d, len, gkey);
	char *sym = mf_get(d, len, "Bundle-SymbolicName");
	const char *symkey = "Bundle-SymbolicName";
	char *art = NULL, *title = NULL;
	struct scan_pkg p = {.eco = ECO_MAVEN, .conf = SCAN_CONF_LOW};
	bool nested;

	if (!v) {
		vkey = "Bundle-Version";
		v = mf_get(d, len, vkey);
	}
	if (sym)
		sym[strcspn(sym, "; ")] = '\0'; /* ";singleton:=true" */
	if (!sym || !*sym) {
		free(sym);
		symkey = "Automatic-Module-Name";
		sym = mf_get(d, len, symkey);
	}
	if (!v || !mf_token(v))
		goto out;
	art = mf_file_artifact(a->name, v);
	if (g && !mf_token(g)) {
		free(g);
		g = NULL;
	}
	/* "org.apache.logging.log4j" + ".core": the group is what the
	 * vendor id says; otherwise the symbolic name less its last part. */
	if (!art && sym && mf_token(sym)) {
		size_t gn = g ? strlen(g) : 0;

		if (g && !strncmp(sym, g, gn) && sym[gn] == '.' && sym[gn + 1])
			art = xstrdup(sym + gn + 1);
		else if (strrchr(sym, '.') && strrchr(sym, '.')[1])
			art = xstrdup(strrchr(sym, '.') + 1);
		akey = symkey;
	}
	if (!art) {
		title = mf_get(d, len, "Implementation-Title");
		if (mf_token(title)) {
			art = title;
			title = NULL;
			akey = "Implementation-Title";
		}
	}
	if (!g && sym && mf_token(sym) && strrchr(sym, '.')) {
		g = xstrndup(sym, (size_t)(strrchr(sym, '.') - sym));
		gkey = symkey;
	}
	if (!g || !art || !mf_token(art))
		goto out;
	p.name = xasprintf("%s:%s", g, art);
	p.version = v;
	/* A nested archive is named when its name is plain text. */
	nested = a->name != c->f->path && det_printable(a->name);
	p.evidence = xasprintf("%s%sMANIFEST.MF: group from %s, artifact "
			       "from %s, version from %s",
			       nested ? a->name : "", nested ? ": " : "", gkey,
			       akey, vkey);
	java_add(c, &p);
out:
	free(p.name);
	free(p.evidence);
	free(v);
	free(g);
	free(sym);
	free(art);
	free(title);
}

/* Reads the current entry into b (capped); -2 if too large, -1 if broken.
 * prefix: the first cap bytes are enough, the rest is skipped. */
static int java_read(struct archive *ar, struct archive_entry *ent, size_t cap,
		     bool prefix, struct buf *b)
{
	char chunk[16384];
	la_ssize_t n = 0;

	buf_init(b, cap);
	if (!prefix && archive_entry_size_is_set(ent) &&
	    (archive_entry_size(ent) < 0 ||
	     (uint64_t)archive_entry_size(ent) > cap))
		return archive_entry_size(ent) < 0 ? -1 : -2;
	while ((!prefix || b->len < cap) &&
	       (n = archive_read_data(ar, chunk, sizeof(chunk))) > 0) {
		if (prefix && (size_t)n > cap - b->len)
			n = (la_ssize_t)(cap - b->len);
		if (buf_add(b, chunk, (size_t)n))
			return -2;
	}
	return n < 0 ? -1 : 0;
}

static void java_archive(struct java_ctx *c, const char *aname,
			 const void *data, size_t len, int depth);

static void java_entry(struct java_ctx *c, struct java_arch *a,
		       struct archive *ar, struct archive_entry *ent, int depth)
{
	const char *name = archive_entry_pathname(ent);
	struct buf b = BUF_INIT;
	int r;

	if (!name || archive_entry_filetype(ent) != AE_IFREG)
		return;
	if (java_is_pom(name)) {
		a->saw_pom = true;
		if (java_read(ar, ent, JAVA_MAX_PROPS, false, &b))
			c->bad++;
		else
			java_pom(c, b.buf, b.len);
	} else if (!strcasecmp(name, "META-INF/MANIFEST.MF") && !a->mf.len) {
		/* The main section comes first: a signed jar's list of
		 * digests past the cap is not needed. */
		if (java_read(ar, ent, JAVA_MAX_MF, true, &a->mf)) {
			buf_release(&a->mf);
			c->bad++;
		}
	} else if ((java_ends(name, ".jar") || java_ends(name, ".war") ||
		    java_ends(name, ".ear")) &&
		   depth < JAVA_MAX_DEPTH) {
		r = java_read(ar, ent, c->budget, false, &b);
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
			java_archive(c, name, b.buf, b.len, depth + 1);
		}
	}
	buf_release(&b);
}

static void java_archive(struct java_ctx *c, const char *aname,
			 const void *data, size_t len, int depth)
{
	struct archive *ar = archive_read_new();
	struct java_arch a = {aname, false, BUF_INIT};
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
		java_entry(c, &a, ar, ent, depth);
	}
	if (r != ARCHIVE_EOF)
		c->bad++;
	if (!a.saw_pom && a.mf.len)
		java_manifest(c, &a);
out:
	buf_release(&a.mf);
	archive_read_free(ar);
}

void det_java(const struct det_file *f, struct det_out *out)
{
	struct java_ctx c = {f, out, DET_MAX_JAR, 0};

	java_archive(&c, f->path, f->data, f->len, 0);
	if (c.bad)
		inv_add_note(&out->inv, "%s: Java archive partly unreadable",
			     f->path);
}
