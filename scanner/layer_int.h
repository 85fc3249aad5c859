/* layer_int.h: walking an image's layers in order and keeping, for the files
 * the detectors want, what the final filesystem holds.
 *
 * Each layer is streamed once through libarchive; no file is written to
 * disk.  Wanted files are read into memory under their detector's cap and
 * parsed at once; only the parsed result is kept, tagged with its path and
 * layer.  Whiteouts (".wh.<name>": name and everything under it;
 * ".wh..wh..opq": the directory's lower contents) and entries that replace
 * a path (a file over a directory, a symlink over a file) remove what lower
 * layers put there, so a package database deleted later is gone.
 */
#ifndef SCANNER_LAYER_INT_H
#define SCANNER_LAYER_INT_H

#include <archive.h>
#include <jansson.h>
#include <stddef.h>

#include "common/err.h"
#include "scanner/inventory_int.h"

struct layer_walk;
struct scan_meter;

/* m: the budgets the walk spends and records its hits in (borrowed; NULL:
 * no limits).  A layer stops being read at the first byte, entry or
 * deadline budget it hits (what was read counts); a file over its
 * detector's cap, or beyond the packages budget, is not analysed.  A hard
 * link to a file, or a file identical to one (same detector, same
 * content), is analysed and listed once. */
struct layer_walk *layer_walk_new(struct scan_meter *m);
void layer_walk_free(struct layer_walk *w);

/* Reads the next layer from a (positioned before its first header); digest
 * names the layer in the records.  Returns 0, or -1 when the layer could
 * not be read to its end: what was read still counts, and a note says so
 * (e says why). */
int layer_walk_archive(struct layer_walk *w, struct archive *a,
		       const char *digest, struct err *e);
/* Records a note about the walk (e.g. a layer that could not be opened). */
void layer_walk_note(struct layer_walk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Moves the final state into inv: the OS (from etc/os-release through
 * symlinks, usr/lib/os-release, or etc/alpine-release), the packages of
 * every surviving file and all notes.  The walk is then empty. */
void layer_walk_finish(struct layer_walk *w, struct scan_inventory *inv);

/* Per-layer indexes: a walk told to record (before its one layer is
 * read) exports that layer as JSON: the wanted files with what their
 * detectors found, keyed by path, and what the layer removes below it
 * (whiteouts, opaque directories, links and executables over lower
 * paths).  Importing the indexes of an image's layers in order into a
 * fresh walk leaves it as reading the layers would, so an image's
 * inventory is a merge of its layers' results: per path the topmost
 * layer's file, whiteouts honoured.  (A plain file replacing a lower
 * directory is not kept, so what was under it would survive.) */
void layer_walk_record(struct layer_walk *w);
/* The index of the one layer read; a new reference. */
json_t *layer_walk_export(struct layer_walk *w);
/* Replays one layer's index (digest: the layer) over the walk. */
int layer_walk_import(struct layer_walk *w, const json_t *idx,
		      const char *digest, struct err *e);

/* In-image path of a tar entry name: no leading "/" or "./", no "." or
 * empty components.  NULL when a component is ".." (the entry is
 * refused) or nothing is left.  Caller frees. */
char *layer_path_norm(const char *name);
/* Where a symlink at linkpath pointing to target leads, inside the image
 * (".." stops at the root).  NULL if nowhere.  Caller frees. */
char *layer_link_resolve(const char *linkpath, const char *target);

#endif
