/* scan_layers.c: per-layer indexes, and an image's report merged from its
 * layers' indexes (see scanner.h, "Per-layer indexes"). */
#include "scanner/scan_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "scanner/layer_int.h"
#include "scanner/meter_int.h"
#include "scanner/report_int.h"
#include "scanner/vulndb_int.h"
#include "common/banned.h"

bool scan_layer_sniff(const void *head, size_t len)
{
	const unsigned char *p = head;

	if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return true; /* gzip */
	if (len >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f &&
	    p[3] == 0xfd)
		return true;				   /* zstd */
	return len >= 262 && !memcmp(p + 257, "ustar", 5); /* tar */
}

/* The per-layer limits an index was made under. */
static json_t *scan_layer_limits(const struct scan_budget *b)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "layer_bytes",
			 (json_int_t)b->layer_bytes, "ratio",
			 (json_int_t)b->ratio, "layer_entries",
			 (json_int_t)b->layer_entries, "file_bytes",
			 (json_int_t)b->file_bytes, "deadline_ms",
			 (json_int_t)b->deadline_ms);
}

bool scan_layer_index_current(const json_t *idx, const struct scan_budget *b)
{
	struct scan_budget d;
	json_t *want;
	bool same;

	if (!json_array_size(json_object_get(idx, "budgets")))
		return true;
	if (!b) {
		scan_budget_defaults(&d);
		b = &d;
	}
	want = scan_layer_limits(b);
	same = json_equal(want, json_object_get(idx, "limits"));
	json_decref(want);
	return same;
}

int scan_layer_index(const struct scan_source *src, const struct digest *dg,
		     const struct scan_budget *b, json_t **index, struct err *e)
{
	struct layer_walk *w = NULL;
	struct archive *a = NULL;
	struct err le = ERR_INIT;
	char ds[DIGEST_STR_MAX];
	struct scan_meter m;
	struct scan_blob blob;
	json_t *out;

	digest_str(dg, ds);
	scan_blob_init(&blob);
	meter_init(&m, b, 0);
	if (src->open_blob(src->ctx, dg, &blob, e)) {
		meter_release(&m);
		return -1;
	}
	w = layer_walk_new(&m);
	layer_walk_record(w);
	/* As scan.c: a blob that is no archive is a note, not a failure. */
	if (image_blob_archive(&blob, false, &a, &le))
		layer_walk_note(w, "layer %s: not analysed: %s", ds, le.msg);
	else
		layer_walk_archive(w, a, ds, &le);
	out = layer_walk_export(w);
	json_object_set_new(out, "v", json_string(SCAN_LAYER_INDEX_V));
	json_object_set_new(out, "layer", json_string(ds));
	json_object_set_new(out, "budgets", meter_budgets(&m));
	json_object_set_new(out, "limits", scan_layer_limits(&m.lim));
	json_object_set_new(out, "usage", meter_usage(&m));
	*index = out;
	archive_read_free(a);
	scan_blob_close(&blob);
	layer_walk_free(w);
	meter_release(&m);
	return 0;
}

/* The usage of the merged layers: the largest of each, image_bytes and
 * deadline_ms summed (what reading them took, one after the other). */
static void scan_usage_add(json_t *sum, const json_t *u)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)u, k, v) {
		json_int_t a = json_integer_value(json_object_get(sum, k));
		json_int_t b = json_integer_value(v);

		if (!json_is_integer(v))
			continue;
		if (!strcmp(k, "image_bytes") || !strcmp(k, "deadline_ms"))
			a += b;
		else if (b > a)
			a = b;
		json_object_set_new(sum, k, json_integer(a));
	}
}

/* The indexes of img's layers (each once, at its last place) replayed in
 * order into inv; 1 when one is missing (lk was asked for every layer). */
static int scan_merge(const struct image *img,
		      const struct scan_layer_lookup *lk,
		      const struct scan_budget *b, struct scan_inventory *inv,
		      json_t *budgets, json_t *usage, struct err *e)
{
	struct layer_walk *w = layer_walk_new(NULL);
	json_t **idx = xcalloc(img->nlayers + 1, sizeof(*idx));
	char ds[DIGEST_STR_MAX];
	int missing = 0, rc = -1;
	size_t i, k;

	for (i = 0; i < img->nlayers; i++) {
		int r;

		if (!scan_layer_here(img, i, NULL))
			continue;
		r = lk->get(lk->ctx, &img->layers[i].digest, &idx[i], e);
		if (r < 0)
			goto out;
		if (r == 0 && !img->layers[i].external)
			missing = 1;
	}
	if (missing) {
		rc = 1;
		goto out;
	}
	for (i = 0; i < img->nlayers; i++) {
		json_t *h;

		if (!scan_layer_here(img, i, w))
			continue;
		digest_str(&img->layers[i].digest, ds);
		if (!idx[i]) {
			layer_walk_note(w, SCAN_NOTE_EXTERNAL, ds);
			continue;
		}
		if (layer_walk_import(w, idx[i], ds, e))
			goto out;
		json_array_foreach(json_object_get(idx[i], "budgets"), k, h)
			json_array_append(budgets, h);
		scan_usage_add(usage, json_object_get(idx[i], "usage"));
	}
	layer_walk_finish(w, inv);
	/* The image-wide budgets, checked on the sums. */
	if (b->image_bytes && json_integer_value(json_object_get(
				      usage, "image_bytes")) > b->image_bytes)
		json_array_append_new(
			budgets,
			json_pack("{s:s, s:I, s:n, s:s}", "budget",
				  BUDGET_IMAGE_BYTES, "limit",
				  (json_int_t)b->image_bytes, "layer", "detail",
				  "the image's layers decompress to more"));
	if (b->packages && (int64_t)inv->npkgs > b->packages)
		json_array_append_new(
			budgets,
			json_pack("{s:s, s:I, s:n, s:s}", "budget",
				  BUDGET_PACKAGES, "limit",
				  (json_int_t)b->packages, "layer", "detail",
				  "the merged inventory lists more packages"));
	json_object_set_new(usage, "packages",
			    json_integer((json_int_t)inv->npkgs));
	rc = 0;
out:
	for (i = 0; i < img->nlayers; i++)
		json_decref(idx[i]);
	free(idx);
	layer_walk_free(w);
	return rc;
}

int scan_run_layers(const struct scan_source *src, const struct digest *dg,
		    const struct scan_opts *opts,
		    const struct scan_layer_lookup *lk, json_t **report,
		    struct err *e)
{
	struct scan_budget bud;
	struct scan_inventory inv;
	struct vuln_finding *f = NULL;
	struct report_meta meta;
	struct image_set set;
	struct err me = ERR_INIT;
	json_t *budgets = json_array(), *usage = json_object();
	size_t nf = 0;
	int rc;

	if (opts->budget)
		bud = *opts->budget;
	else
		scan_budget_defaults(&bud);
	scan_meta(opts, &meta);
	image_set_init(&set);
	inv_init(&inv);
	rc = image_resolve(src, dg, &set, e);
	if (rc == 0 && (set.is_index || set.nimages != 1))
		rc = 1; /* an index's platforms have jobs of their own */
	if (rc == 0)
		rc = image_read_config(src, &set.images[0], e);
	if (rc == 0)
		rc = scan_merge(&set.images[0], lk, &bud, &inv, budgets, usage,
				e);
	if (rc != 0)
		goto out;
	if (opts->db && vulndb_match(opts->db, &inv, &f, &nf, &me)) {
		inv_add_note(&inv, "matching failed: %s", me.msg);
		f = NULL;
		nf = 0;
	}
	*report = report_image(&set.images[0], &inv, f, nf, &meta);
	report_set_budgets(*report, json_incref(budgets));
	json_object_set_new(*report, "usage", json_incref(usage));
	json_object_set_new(*report, "layer_index", json_string("merged"));
out:
	vuln_findings_free(f, nf);
	inv_release(&inv);
	image_set_release(&set);
	json_decref(budgets);
	json_decref(usage);
	return rc;
}
