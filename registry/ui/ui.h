/* registry/ui/ui.h: the web UI's pages, served at /ui/.
 *
 * The HTML, CSS and JavaScript of registry/ui/assets/ are built into the
 * binary (ui.c, by .incbin), so the UI needs no file at run time and no
 * request leaves the registry's origin.  Each goes out with a strict
 * Content-Security-Policy (only this origin's scripts, styles and API;
 * no inline script or style; no framing).  The routes are the registry's
 * own (route.c): the same listener and sign-in as the API, whose
 * /v2/_customs/ calls (api_ui.c) the pages read.
 */
#ifndef REGISTRY_UI_H
#define REGISTRY_UI_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "registry/api_int.h"

/* GET /ui, /ui/ and /ui/<asset>. */
enum reg_status ui_serve(struct reg_call *c);

/* Views: texts the UI's API made from a scan report (an image's detail,
 * its findings, a diff), kept by a key that names the report's blob (and
 * the repository, so a key is asked for only once the caller may pull
 * it).  A report is content-addressed: a new one is a new key, nothing is
 * invalidated by hand, and old keys age out.  Kept in memory (bounded,
 * least recently used first) and, with dir, in a file under dir too, so
 * that a restart does not read every report again; the files are bounded
 * in count and bytes, the least recently read going first.  Thread-safe;
 * dir is made when missing.  A file cut short or of another key is a
 * miss. */
/* Appends key's text to out: from memory or, with dir (NULL: memory
 * only), its file; false when neither has it. */
bool ui_view_get(const char *dir, const char *key, struct buf *out);
/* Whether key's text is kept, in memory or (with dir) in its file; its
 * file is not read. */
bool ui_view_has(const char *dir, const char *key);
/* Keeps a copy of text under key (a text over 16 MiB is not kept). */
void ui_view_put(const char *dir, const char *key, const char *text,
		 size_t len);
/* Keeps it in its file under dir only (without dir, in memory): a view
 * made before anyone asks (memory learns it when it is first read). */
void ui_view_put_file(const char *dir, const char *key, const char *text,
		      size_t len);

#endif
