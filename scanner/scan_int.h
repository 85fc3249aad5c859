/* scan_int.h: from an image to its report (scan.c), in this process or in
 * the sandbox's workers (sandbox.c).  Not for other modules: they use
 * scanner.h.
 */
#ifndef SCANNER_SCAN_INT_H
#define SCANNER_SCAN_INT_H

#include <jansson.h>

#include "common/digest.h"
#include "common/err.h"
#include "scanner/image_int.h"
#include "scanner/scanner.h"

/* scan_run_sandboxed() without the sandbox: the layers are read in this
 * process (the worker's side, and sb->unsafe_inprocess). */
int scan_run(const struct scan_source *src, const struct digest *dg,
	     const struct scan_opts *opts, json_t **report, struct err *e);

/* Scans every image of set; *report as for scan_run().  sb NULL: each
 * image is read in this process; else by a worker of sb. */
int scan_images(const struct scan_source *src, const struct image_set *set,
		const struct scan_opts *opts, const struct scan_sandbox *sb,
		json_t **report, struct err *e);
/* Reads one image in a worker of sb (scan_images() calls it per image). */
int scan_image_sandboxed(const struct scan_sandbox *sb,
			 const struct scan_source *src, const struct image *img,
			 const struct scan_opts *opts, json_t **report,
			 struct err *e);

/* The note of a layer that is non-distributable and absent. */
#define SCAN_NOTE_EXTERNAL                                                     \
	"layer %s: non-distributable and not present (clients fetch it "       \
	"from elsewhere); its files are not in this report"

struct report_meta;
/* The report's header fields of o. */
void scan_meta(const struct scan_opts *o, struct report_meta *m);
/* Whether layer i of img is read at its place: a digest listed again
 * later is read once, at its last place (w, if not NULL, notes that). */
struct layer_walk;
bool scan_layer_here(const struct image *img, size_t i, struct layer_walk *w);

/* Per-layer indexes (scan_layers.c): layer dg read alone, in this
 * process (the worker's side). */
int scan_layer_index(const struct scan_source *src, const struct digest *dg,
		     const struct scan_budget *b, json_t **index,
		     struct err *e);

#endif
