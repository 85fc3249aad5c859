/* detect_content.c: Red Hat's content manifests.
 *
 * An image built by Red Hat (OSBS, Konflux) carries one JSON file per
 * layer in root/buildinfo/content_manifests/ ("ICM"):
 *
 *	{"metadata": {"icm_version": 1, ...},
 *	 "content_sets": ["rhel-8-for-x86_64-baseos-eus-rpms__8_DOT_8", ...],
 *	 "image_contents": [...]}
 *
 * The content sets name the repositories its packages were installed
 * from: whether the image follows RHEL's main stream or an extended-
 * support one (EUS, AUS, E4S, TUS), which os-release does not say.  Only
 * they are kept (inv.content_sets); the rest of the file is not read.
 * The file is untrusted: its JSON is sized up before jansson builds it,
 * and a content set that is no repository label is skipped and counted.
 */
#include "scanner/detect_int.h"

#include "common/banned.h"

/* A manifest holds a few content sets and, at most, a list of image
 * contents with their dependencies: generous caps, far below what would
 * cost the worker. */
#define ICM_MAX_JSON_VALUES 200000
#define ICM_MAX_JSON_DEPTH  64

void det_content_manifest(const struct det_file *f, struct det_out *out)
{
	json_t *doc, *sets, *v;
	size_t i, bad = 0;

	doc = det_json_object(f, out, ICM_MAX_JSON_VALUES, ICM_MAX_JSON_DEPTH);
	if (!doc)
		return;
	sets = json_object_get(doc, "content_sets");
	if (sets && !json_is_array(sets))
		inv_add_note(&out->inv,
			     "%s: not analysed: content_sets is not an array",
			     f->path);
	json_array_foreach(sets, i, v)
		if (!inv_add_content_set(&out->inv, json_string_value(v)))
			bad++;
	if (bad)
		inv_add_note(&out->inv,
			     "%s: %zu content sets skipped (not a repository "
			     "label, or over %d)",
			     f->path, bad, INV_MAX_CONTENT_SETS);
	json_decref(doc);
}
