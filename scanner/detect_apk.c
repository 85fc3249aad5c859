/* detect_apk.c: lib/apk/db/installed.
 *
 * Records of "K:value" lines separated by blank lines; P is the package,
 * V its version, o its origin (the source package advisories name).
 */
#include "scanner/detect_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "common/banned.h"

struct apk_rec {
	const char *p, *v, *o;
	size_t pn, vn, on;
	bool any;
};

static bool apk_ok(const char *s, size_t n)
{
	if (!s || !n || n > DET_MAX_FIELD)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ' ' || s[i] == '\t')
			return false;
	return true;
}

static bool apk_emit(const struct det_file *f, const struct apk_rec *r,
		     struct det_out *out)
{
	struct scan_pkg p = {.eco = ECO_ALPINE};

	if (!apk_ok(r->p, r->pn) || !apk_ok(r->v, r->vn) ||
	    (r->o && !apk_ok(r->o, r->on)))
		return false;
	p.name = xstrndup(r->p, r->pn);
	p.version = xstrndup(r->v, r->vn);
	p.src_name = r->o ? xstrndup(r->o, r->on) : NULL;
	det_out_found(out, f, &p, NULL);
	free(p.name);
	free(p.version);
	free(p.src_name);
	return true;
}

void det_apk(const struct det_file *f, struct det_out *out)
{
	struct det_lines it = {f->data, f->data + f->len};
	struct apk_rec r = {0};
	const char *line;
	size_t bad = 0, n;
	bool more;

	do {
		more = det_next_line(&it, &line, &n);
		if (!more || n == 0) {
			if (r.any && !apk_emit(f, &r, out))
				bad++;
			memset(&r, 0, sizeof(r));
			continue;
		}
		r.any = true;
		if (n < 2 || line[1] != ':')
			continue;
		if (line[0] == 'P') {
			r.p = line + 2;
			r.pn = n - 2;
		} else if (line[0] == 'V') {
			r.v = line + 2;
			r.vn = n - 2;
		} else if (line[0] == 'o') {
			r.o = line + 2;
			r.on = n - 2;
		}
	} while (more);
	if (bad)
		inv_add_note(&out->inv, "%s: %zu malformed apk entries skipped",
			     f->path, bad);
}
