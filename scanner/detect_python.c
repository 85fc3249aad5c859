/* detect_python.c: *.dist-info/METADATA and *.egg-info/PKG-INFO (core
 * metadata: RFC 822 headers, then a blank line and the description).
 *
 * The name is kept as written ("GitPython"); when its PEP 503 form
 * ("gitpython") differs, that form goes in src_name, which is what
 * advisories are matched against.
 */
#include "scanner/detect_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "scanner/eco_int.h"
#include "common/banned.h"

void det_python(const struct det_file *f, struct det_out *out)
{
	struct det_lines it = {f->data, f->data + f->len};
	const char *line, *name = NULL, *ver = NULL, *v;
	size_t n, name_n = 0, ver_n = 0, vn;
	struct scan_pkg p = {.eco = ECO_PYPI};
	char *norm;

	while (det_next_line(&it, &line, &n) && n) {
		if (!name && det_field(line, n, "Name", true, &v, &vn)) {
			name = v;
			name_n = vn;
		} else if (!ver &&
			   det_field(line, n, "Version", true, &v, &vn)) {
			ver = v;
			ver_n = vn;
		}
	}
	if (!name || !ver || !name_n || !ver_n || name_n > DET_MAX_FIELD ||
	    ver_n > DET_MAX_FIELD || memchr(name, ' ', name_n) ||
	    memchr(ver, ' ', ver_n)) {
		inv_add_note(&out->inv, "%s: no valid Name and Version",
			     f->path);
		return;
	}
	p.name = xstrndup(name, name_n);
	p.version = xstrndup(ver, ver_n);
	norm = eco_pep503(p.name);
	if (strcmp(norm, p.name))
		p.src_name = norm;
	det_out_found(out, f, &p, NULL);
	free(p.name);
	free(p.version);
	free(norm);
}
