/* detect_dpkg.c: var/lib/dpkg/status and distroless status.d/ files.
 *
 * A stanza is "Field: value" lines, continuation lines starting with a
 * space or tab, stanzas separated by blank lines.  Only Package, Status,
 * Version and Source matter.  "Source: name (version)" gives the source
 * package and, for binNMUs and epoch differences, its own version.
 */
#include "scanner/detect_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "common/banned.h"

struct dpkg_stanza {
	const char *pkg, *ver, *status, *src;
	size_t pkg_len, ver_len, status_len, src_len;
	bool any;
};

/* A name or version: non-empty, bounded, no blanks or parentheses. */
static bool dpkg_token_ok(const char *s, size_t n)
{
	if (!s || !n || n > DET_MAX_FIELD)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '(' || s[i] == ')')
			return false;
	return true;
}

/* "install ok installed", "hold ok installed": the last word decides. */
static bool dpkg_installed(const struct dpkg_stanza *st, bool status_d)
{
	const char *last;

	if (!st->status)
		return status_d; /* status.d files carry no Status field */
	for (last = st->status + st->status_len;
	     last > st->status && last[-1] != ' '; last--)
		;
	return (size_t)(st->status + st->status_len - last) == 9 &&
	       !memcmp(last, "installed", 9);
}

/* Emits the stanza; returns false when it is malformed. */
static bool dpkg_emit(const struct det_file *f, const struct dpkg_stanza *st,
		      bool status_d, struct det_out *out)
{
	struct scan_pkg p = {.eco = ECO_DEBIAN};
	const char *sv = NULL, *sp;
	size_t sn = 0, svn = 0;
	bool ok = false;

	if (!dpkg_token_ok(st->pkg, st->pkg_len) ||
	    !dpkg_token_ok(st->ver, st->ver_len))
		return false;
	if (!dpkg_installed(st, status_d))
		return true;
	if (st->src) {
		sp = memchr(st->src, ' ', st->src_len);
		sn = sp ? (size_t)(sp - st->src) : st->src_len;
		if (sp) {
			const char *open = memchr(sp, '(', st->src_len - sn);
			const char *close =
				open ? memchr(open, ')',
					      (size_t)(st->src + st->src_len -
						       open))
				     : NULL;

			if (!open || !close)
				return false;
			sv = open + 1;
			svn = (size_t)(close - sv);
			if (!dpkg_token_ok(sv, svn))
				return false;
		}
		if (!dpkg_token_ok(st->src, sn))
			return false;
	}
	p.name = xstrndup(st->pkg, st->pkg_len);
	p.version = xstrndup(st->ver, st->ver_len);
	p.src_name = st->src ? xstrndup(st->src, sn) : NULL;
	if (sv && (svn != st->ver_len || memcmp(sv, st->ver, svn)))
		p.src_version = xstrndup(sv, svn);
	det_out_found(out, f, &p, NULL);
	ok = true;
	free(p.name);
	free(p.version);
	free(p.src_name);
	free(p.src_version);
	return ok;
}

void det_dpkg(const struct det_file *f, bool status_d, struct det_out *out)
{
	struct det_lines it = {f->data, f->data + f->len};
	struct dpkg_stanza st = {0};
	size_t bad = 0, n;
	const char *line;
	bool more;

	do {
		more = det_next_line(&it, &line, &n);
		if (!more || n == 0) {
			if (st.any && !dpkg_emit(f, &st, status_d, out))
				bad++;
			memset(&st, 0, sizeof(st));
			continue;
		}
		st.any = true;
		if (line[0] == ' ' || line[0] == '\t')
			continue;
		if (det_field(line, n, "Package", false, &st.pkg,
			      &st.pkg_len) ||
		    det_field(line, n, "Version", false, &st.ver,
			      &st.ver_len) ||
		    det_field(line, n, "Status", false, &st.status,
			      &st.status_len) ||
		    det_field(line, n, "Source", false, &st.src, &st.src_len))
			continue;
	} while (more);
	if (bad)
		inv_add_note(&out->inv,
			     "%s: %zu malformed dpkg entries skipped", f->path,
			     bad);
}
