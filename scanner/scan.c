/* scan.c: from an image to its report: layers -> inventory -> findings. */
#include "scanner/scan_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "scanner/detect_int.h"
#include "scanner/image_int.h"
#include "scanner/layer_int.h"
#include "scanner/meter_int.h"
#include "scanner/report_int.h"
#include "scanner/vulndb_int.h"
#include "common/banned.h"

void scan_meta(const struct scan_opts *o, struct report_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->db_version = o->db ? vulndb_version(o->db) : NULL;
	m->db_note = o->db_note;
	m->repository = o->repository;
	m->tag = o->tag;
	m->now = o->now ? o->now : time(NULL);
	m->db = o->db;
}

static void scan_layer(const struct scan_source *src, struct layer_walk *w,
		       const struct image_layer *l)
{
	char ds[DIGEST_STR_MAX];
	struct archive *a = NULL;
	struct err e = ERR_INIT;
	struct scan_blob b;

	digest_str(&l->digest, ds);
	scan_blob_init(&b);
	if (src->open_blob(src->ctx, &l->digest, &b, &e)) {
		/* Sparse content, not a failed read: the scan is not
		 * incomplete for it (cmd.c looks for "not analysed"). */
		if (l->external)
			layer_walk_note(w, SCAN_NOTE_EXTERNAL, ds);
		else
			layer_walk_note(w, "layer %s: not analysed: %s", ds,
					e.msg);
		goto out;
	}
	if (image_blob_archive(&b, false, &a, &e)) {
		layer_walk_note(w, "layer %s: not analysed: %s", ds, e.msg);
		goto out;
	}
	if (layer_walk_archive(w, a, ds, &e))
		log_msg(LL_WARN, "scan: %s", e.msg);
out:
	archive_read_free(a);
	scan_blob_close(&b);
}

/* How often layer i's digest is listed, and whether a later listing
 * follows.  Applying a layer again over the layers between gives what its
 * last application alone gives (each entry replaces or removes its own
 * path), so a digest is read once, at its last place. */
static size_t scan_layer_repeats(const struct image *img, size_t i, bool *later)
{
	size_t n = 1;

	*later = false;
	for (size_t j = 0; j < img->nlayers; j++) {
		if (j == i ||
		    !digest_eq(&img->layers[j].digest, &img->layers[i].digest))
			continue;
		n++;
		if (j > i)
			*later = true;
	}
	return n;
}

bool scan_layer_here(const struct image *img, size_t i, struct layer_walk *w)
{
	char ds[DIGEST_STR_MAX];
	bool later;
	size_t n = scan_layer_repeats(img, i, &later);

	if (later)
		return false;
	if (n > 1 && w)
		layer_walk_note(w,
				"layer %s: listed %zu times; read "
				"once, at its last place",
				digest_str(&img->layers[i].digest, ds), n);
	return true;
}

/* Reads the layers of img into inv, within m's budgets. */
static void scan_inventory(const struct scan_source *src,
			   const struct image *img, struct scan_meter *m,
			   struct scan_inventory *inv)
{
	struct layer_walk *w = layer_walk_new(m);

	for (size_t i = 0; i < img->nlayers; i++)
		if (scan_layer_here(img, i, w))
			scan_layer(src, w, &img->layers[i]);
	layer_walk_finish(w, inv);
	layer_walk_free(w);
}

/* Each image (each platform of an index) gets the whole deadline: with
 * the sandbox, each is read by a worker of its own. */
static int scan_image(const struct scan_source *src, struct image *img,
		      const struct scan_opts *o, const struct report_meta *m,
		      json_t **out, struct err *e)
{
	struct scan_inventory inv;
	struct vuln_finding *f = NULL;
	struct scan_meter meter;
	struct err me = ERR_INIT;
	size_t nf = 0;

	if (image_read_config(src, img, e))
		return -1;
	inv_init(&inv);
	meter_init(&meter, o->budget, 0);
	scan_inventory(src, img, &meter, &inv);
	if (o->db && vulndb_match(o->db, &inv, &f, &nf, &me)) {
		inv_add_note(&inv, "matching failed: %s", me.msg);
		f = NULL;
		nf = 0;
	}
	*out = report_image(img, &inv, f, nf, m);
	report_set_budgets(*out, meter_budgets(&meter));
	json_object_set_new(*out, "usage", meter_usage(&meter));
	vuln_findings_free(f, nf);
	inv_release(&inv);
	meter_release(&meter);
	return 0;
}

static int scan_image_one(const struct scan_source *src, struct image *img,
			  const struct scan_opts *o,
			  const struct scan_sandbox *sb,
			  const struct report_meta *m, json_t **out,
			  struct err *e)
{
	if (sb)
		return scan_image_sandboxed(sb, src, img, o, out, e);
	return scan_image(src, img, o, m, out, e);
}

int scan_images(const struct scan_source *src, const struct image_set *set,
		const struct scan_opts *opts, const struct scan_sandbox *sb,
		json_t **report, struct err *e)
{
	struct err none = ERR_INIT;
	struct report_meta m;
	json_t *reps, *failed;

	if (!e)
		e = &none;
	scan_meta(opts, &m);
	if (!set->nimages)
		return err_set(e, ERR_MANIFEST_UNKNOWN, "no image to scan");
	if (!set->is_index)
		return scan_image_one(src, &set->images[0], opts, sb, &m,
				      report, e);
	/* One platform that cannot be read (say, a config a pull-through
	 * store never fetched) does not hide the others. */
	reps = json_array();
	failed = json_array();
	for (size_t i = 0; i < set->nimages; i++) {
		struct image *img = &set->images[i];
		struct err pe = ERR_INIT;
		char ds[DIGEST_STR_MAX];
		json_t *r;

		if (scan_image_one(src, img, opts, sb, &m, &r, &pe)) {
			char *n =
				xasprintf("platform image %s not scanned: %s",
					  digest_str(&img->digest, ds), pe.msg);

			json_array_append_new(failed, json_string(n));
			free(n);
			if (!e->msg[0])
				*e = pe;
			continue;
		}
		json_array_append_new(reps, r);
	}
	if (!json_array_size(reps)) {
		json_decref(reps);
		json_decref(failed);
		return -1;
	}
	err_clear(e);
	*report = report_index(set, reps, &m);
	json_array_extend(json_object_get(*report, "notes"), failed);
	json_decref(failed);
	return 0;
}

int scan_run(const struct scan_source *src, const struct digest *dg,
	     const struct scan_opts *opts, json_t **report, struct err *e)
{
	struct image_set set;
	int r;

	image_set_init(&set);
	r = image_resolve(src, dg, &set, e);
	if (!r)
		r = scan_images(src, &set, opts, NULL, report, e);
	image_set_release(&set);
	return r;
}

static int scan_rematch_one(json_t *r, struct vulndb *db,
			    const struct report_meta *m, struct err *e)
{
	struct scan_inventory inv;
	struct vuln_finding *f = NULL;
	size_t nf = 0;
	int rc = -1;

	inv_init(&inv);
	if (report_inventory(r, &inv, e))
		goto out;
	if (db && vulndb_match(db, &inv, &f, &nf, e))
		goto out;
	report_set_findings(r, &inv, f, nf, db);
	report_restamp(r, m);
	rc = 0;
out:
	vuln_findings_free(f, nf);
	inv_release(&inv);
	return rc;
}

int scan_rematch(const json_t *report, struct vulndb *db, time_t now,
		 json_t **out, struct err *e)
{
	struct scan_opts o = {.db = db, .now = now};
	json_t *r = json_deep_copy(report), *mans, *m;
	struct report_meta meta;
	size_t i;

	scan_meta(&o, &meta);
	if (!json_is_object(r)) {
		json_decref(r);
		return err_set(e, ERR_INVALID, "report is not a JSON object");
	}
	mans = json_object_get(r, "manifests");
	if (json_is_array(mans)) {
		json_array_foreach(mans, i, m)
			if (scan_rematch_one(m, db, &meta, e))
				goto fail;
		report_restamp(r, &meta);
		report_sum_counts(r);
	} else if (scan_rematch_one(r, db, &meta, e)) {
		goto fail;
	}
	*out = r;
	return 0;
fail:
	json_decref(r);
	return -1;
}

/* Defaults leave about 10x headroom over what common images use (a Debian
 * or Node image: < 1 GiB out, < 40k entries a layer, < 3k packages, < 5 s).
 * file_bytes is the largest per-format cap (Go binaries): the formats'
 * own caps (detect_int.h) are lower still. */
void scan_budget_defaults(struct scan_budget *b)
{
	b->layer_bytes = (int64_t)8 << 30;
	b->image_bytes = (int64_t)16 << 30;
	b->ratio = 100;
	b->layer_entries = 500000;
	b->file_bytes = (int64_t)DET_MAX_GO;
	b->packages = 20000;
	b->deadline_ms = 120000;
}
