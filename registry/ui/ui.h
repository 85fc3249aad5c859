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

#include "registry/api_int.h"

/* GET /ui, /ui/ and /ui/<asset>. */
enum reg_status ui_serve(struct reg_call *c);

#endif
