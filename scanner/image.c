/* image.c: manifests, indexes and configs into a list of images. */
#include "scanner/image_int.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "common/banned.h"

#define IMAGE_MAX_NESTING 3

void image_set_init(struct image_set *s)
{
	memset(s, 0, sizeof(*s));
}

static void image_release(struct image *img)
{
	for (size_t i = 0; i < img->nlayers; i++)
		free(img->layers[i].media_type);
	free(img->layers);
	for (size_t i = 0; i < img->nhistory; i++)
		free(img->history[i]);
	free(img->history);
	free(img->media_type);
	free(img->os);
	free(img->arch);
	free(img->variant);
}

void image_set_release(struct image_set *s)
{
	for (size_t i = 0; i < s->nimages; i++)
		image_release(&s->images[i]);
	free(s->images);
	for (size_t i = 0; i < s->nnotes; i++)
		free(s->notes[i]);
	free(s->notes);
	free(s->index_media_type);
	free(s->ref);
	image_set_init(s);
}

void image_set_take(struct image_set *s, struct image *img)
{
	s->images = xrealloc(s->images, (s->nimages + 1) * sizeof(*s->images));
	s->images[s->nimages++] = *img;
	memset(img, 0, sizeof(*img));
}

static void image_set_note(struct image_set *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void image_set_note(struct image_set *s, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	s->notes = xrealloc(s->notes, (s->nnotes + 1) * sizeof(*s->notes));
	s->notes[s->nnotes++] = buf_detach(&b, NULL);
}

static char *image_strdup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static int image_desc_digest(json_t *desc, struct digest *dg, struct err *e)
{
	const char *s = json_string_value(json_object_get(desc, "digest"));

	if (!s)
		return err_set(e, ERR_MANIFEST_INVALID,
			       "descriptor without a digest");
	return digest_parse(s, strlen(s), dg, e);
}

/* Reads blob dg, a manifest, index or config, capped at IMAGE_MAX_JSON. */
static int image_read_json_blob(const struct scan_source *src,
				const struct digest *dg, struct buf *out,
				struct err *e)
{
	struct scan_blob b;
	char ds[DIGEST_STR_MAX];
	int r;

	scan_blob_init(&b);
	if (src->open_blob(src->ctx, dg, &b, e)) {
		scan_blob_close(&b);
		return err_set(e, ERR_BLOB_UNKNOWN, "blob %s not found",
			       digest_str(dg, ds));
	}
	r = image_blob_read_all(&b, IMAGE_MAX_JSON, out, e);
	scan_blob_close(&b);
	return r;
}

/* Adds the image of one manifest body (already read) to set. */
static int image_add_manifest(struct image_set *set, const struct digest *dg,
			      const char *body, size_t len, struct err *e)
{
	json_t *doc, *config, *layers, *l;
	struct image img = {0};
	json_error_t jerr;
	const char *cmt;
	size_t i;
	int r = -1;

	doc = json_loadb(body, len, 0, &jerr);
	if (!json_is_object(doc)) {
		err_set(e, ERR_MANIFEST_INVALID,
			"manifest is not a JSON object: %s",
			doc ? "wrong type" : jerr.text);
		goto out;
	}
	config = json_object_get(doc, "config");
	layers = json_object_get(doc, "layers");
	if (!json_is_object(config) || !json_is_array(layers)) {
		err_set(e, ERR_MANIFEST_INVALID,
			"manifest without config or layers");
		goto out;
	}
	cmt = json_string_value(json_object_get(config, "mediaType"));
	if (cmt && !oci_is_image_config(cmt)) {
		err_set(e, ERR_UNSUPPORTED,
			"not a container image (config media type %s)", cmt);
		goto out;
	}
	if (json_array_size(layers) > IMAGE_MAX_LAYERS) {
		err_set(e, ERR_MANIFEST_INVALID,
			"manifest has %zu layers (limit %d)",
			json_array_size(layers), IMAGE_MAX_LAYERS);
		goto out;
	}
	if (image_desc_digest(config, &img.config, e))
		goto out;
	if (dg) {
		img.has_digest = true;
		img.digest = *dg;
	}
	img.media_type = image_strdup_or_null(
		json_string_value(json_object_get(doc, "mediaType")));
	if (!img.media_type)
		img.media_type = xstrdup(OCI_MT_MANIFEST);
	img.layers = xcalloc(json_array_size(layers) + 1, sizeof(*img.layers));
	json_array_foreach(layers, i, l) {
		struct image_layer *il = &img.layers[img.nlayers];
		const char *mt =
			json_string_value(json_object_get(l, "mediaType"));

		if (image_desc_digest(l, &il->digest, e))
			goto out;
		if (mt && !oci_is_layer(mt)) {
			err_set(e, ERR_UNSUPPORTED,
				"layer media type %s is not a filesystem layer",
				mt);
			goto out;
		}
		il->media_type = image_strdup_or_null(mt);
		il->external = oci_is_external_layer(
			mt, json_array_size(json_object_get(l, "urls")) > 0);
		img.nlayers++;
	}
	image_set_take(set, &img);
	r = 0;
out:
	image_release(&img);
	json_decref(doc);
	return r;
}

static int image_resolve_depth(const struct scan_source *src,
			       const struct digest *dg, struct image_set *set,
			       json_t *platform, int depth, struct err *e);

static void image_platform_str(json_t *p, char *out, size_t n)
{
	const char *os = json_string_value(json_object_get(p, "os"));
	const char *arch =
		json_string_value(json_object_get(p, "architecture"));
	const char *var = json_string_value(json_object_get(p, "variant"));

	snprintf(out, n, "%s/%s%s%s", os ? os : "?", arch ? arch : "?",
		 var ? "/" : "", var ? var : "");
}

static int image_index(const struct scan_source *src, json_t *doc,
		       struct image_set *set, int depth, struct err *e)
{
	json_t *mans = json_object_get(doc, "manifests"), *m;
	size_t i, before = set->nimages;

	if (!json_is_array(mans))
		return err_set(e, ERR_MANIFEST_INVALID,
			       "index without manifests");
	json_array_foreach(mans, i, m) {
		struct err sub = ERR_INIT;
		char plat[128], ds[DIGEST_STR_MAX];
		struct digest d;

		if (set->nimages >= IMAGE_MAX_PLATFORMS)
			break;
		if (oci_desc_is_attestation(m))
			continue;
		image_platform_str(json_object_get(m, "platform"), plat,
				   sizeof(plat));
		if (image_desc_digest(m, &d, &sub) == 0 &&
		    image_resolve_depth(src, &d, set,
					json_object_get(m, "platform"),
					depth + 1, &sub) == 0)
			continue;
		/* A sparse index (a copy of some platforms only): the
		 * others are scanned, this one is noted. */
		if (sub.code == ERR_BLOB_UNKNOWN)
			image_set_note(set,
				       "platform %s (%s) is not present (a "
				       "sparse index): not scanned",
				       plat, digest_str(&d, ds));
		else
			image_set_note(set, "platform %s (%s) not scanned: %s",
				       plat,
				       image_desc_digest(m, &d, NULL)
					       ? "?"
					       : digest_str(&d, ds),
				       sub.msg);
	}
	if (set->nimages == before)
		return err_set(
			e, ERR_MANIFEST_UNKNOWN,
			"index lists no container image that could be read%s%s",
			set->nnotes ? ": " : "",
			set->nnotes ? set->notes[set->nnotes - 1] : "");
	return 0;
}

static int image_resolve_depth(const struct scan_source *src,
			       const struct digest *dg, struct image_set *set,
			       json_t *platform, int depth, struct err *e)
{
	struct buf body = BUF_INIT;
	json_error_t jerr;
	json_t *doc = NULL;
	const char *mt;
	int r = -1;

	if (depth > IMAGE_MAX_NESTING)
		return err_set(e, ERR_MANIFEST_INVALID,
			       "indexes nested too deep");
	if (image_read_json_blob(src, dg, &body, e))
		goto out;
	doc = json_loadb(body.buf, body.len, 0, &jerr);
	if (!json_is_object(doc)) {
		err_set(e, ERR_MANIFEST_INVALID,
			"manifest is not a JSON object: %s",
			doc ? "wrong type" : jerr.text);
		goto out;
	}
	mt = json_string_value(json_object_get(doc, "mediaType"));
	if (oci_manifest_kind(doc) == OCI_KIND_INDEX) {
		if (depth == 0) {
			set->is_index = true;
			set->index_digest = *dg;
			set->index_media_type = xstrdup(mt ? mt : OCI_MT_INDEX);
		}
		r = image_index(src, doc, set, depth, e);
		goto out;
	}
	r = image_add_manifest(set, dg, body.buf, body.len, e);
	if (!r && platform) {
		struct image *img = &set->images[set->nimages - 1];
		const char *s;

		if ((s = json_string_value(json_object_get(platform, "os"))))
			img->os = xstrdup(s);
		if ((s = json_string_value(
			     json_object_get(platform, "architecture"))))
			img->arch = xstrdup(s);
		if ((s = json_string_value(
			     json_object_get(platform, "variant"))))
			img->variant = xstrdup(s);
	}
out:
	json_decref(doc);
	buf_release(&body);
	return r;
}

int image_resolve(const struct scan_source *src, const struct digest *dg,
		  struct image_set *set, struct err *e)
{
	return image_resolve_depth(src, dg, set, NULL, 0, e);
}

/* The history lines that made layers (empty_layer ones made none). */
static void image_history(struct image *img, const json_t *hist)
{
	const json_t *h;
	size_t i;

	if (img->history || !json_is_array(hist))
		return;
	img->history =
		xcalloc(json_array_size(hist) + 1, sizeof(*img->history));
	json_array_foreach(hist, i, h) {
		const char *by =
			json_string_value(json_object_get(h, "created_by"));

		if (json_is_true(json_object_get(h, "empty_layer")))
			continue;
		img->history[img->nhistory++] = xstrdup(by ? by : "");
	}
}

int image_read_config(const struct scan_source *src, struct image *img,
		      struct err *e)
{
	struct buf body = BUF_INIT;
	json_error_t jerr;
	json_t *doc = NULL;
	const char *s;
	int r = -1;

	if (image_read_json_blob(src, &img->config, &body, e))
		goto out;
	doc = json_loadb(body.buf, body.len, 0, &jerr);
	if (!json_is_object(doc)) {
		err_set(e, ERR_MANIFEST_INVALID,
			"image config is not a JSON object");
		goto out;
	}
	if (!img->os && (s = json_string_value(json_object_get(doc, "os"))))
		img->os = xstrdup(s);
	if (!img->arch &&
	    (s = json_string_value(json_object_get(doc, "architecture"))))
		img->arch = xstrdup(s);
	if (!img->variant &&
	    (s = json_string_value(json_object_get(doc, "variant"))))
		img->variant = xstrdup(s);
	image_history(img, json_object_get(doc, "history"));
	r = 0;
out:
	json_decref(doc);
	buf_release(&body);
	return r;
}

/* Does descriptor m carry tag?  OCI layouts name it in ref.name; docker
 * 25+ and containerd also write io.containerd.image.name (a full name). */
static bool image_desc_has_tag(json_t *m, const char *tag)
{
	json_t *ann = json_object_get(m, "annotations");
	const char *ref = json_string_value(
		json_object_get(ann, "org.opencontainers.image.ref.name"));
	const char *full = json_string_value(
		json_object_get(ann, "io.containerd.image.name"));
	size_t n = strlen(tag), fn;

	if (ref && !strcmp(ref, tag))
		return true;
	if (!full)
		return false;
	fn = strlen(full);
	return !strcmp(full, tag) ||
	       (fn > n &&
		(full[fn - n - 1] == ':' || full[fn - n - 1] == '/') &&
		!strcmp(full + fn - n, tag));
}

static void image_list_tags(json_t *mans, struct buf *b)
{
	json_t *m;
	size_t i;

	json_array_foreach(mans, i, m) {
		const char *ref = json_string_value(
			json_object_get(json_object_get(m, "annotations"),
					"org.opencontainers.image.ref.name"));

		buf_addf(b, "%s%s", b->len ? ", " : "",
			 ref ? ref : "(untagged)");
		if (b->len > 200) {
			buf_adds(b, ", ...");
			break;
		}
	}
}

int image_layout_select(const struct scan_source *src, const char *index_json,
			size_t len, const char *tag, struct image_set *set,
			struct err *e)
{
	json_t *doc, *mans, *m, *pick = NULL;
	struct buf tags = BUF_INIT;
	json_error_t jerr;
	struct digest d;
	size_t i, nplat = 0;
	int r = -1;

	doc = json_loadb(index_json, len, 0, &jerr);
	mans = json_object_get(doc, "manifests");
	if (!json_is_array(mans)) {
		err_set(e, ERR_MANIFEST_INVALID, "index.json: %s",
			doc ? "no manifests array" : jerr.text);
		goto out;
	}
	json_array_foreach(mans, i, m) {
		if (json_object_get(m, "platform"))
			nplat++;
		if (tag && image_desc_has_tag(m, tag) && !pick)
			pick = m;
	}
	image_list_tags(mans, &tags);
	if (tag && !pick) {
		err_set(e, ERR_MANIFEST_UNKNOWN,
			"no image tagged '%s' (tags: %s)", tag,
			tags.len ? tags.buf : "none");
		goto out;
	}
	if (!pick && json_array_size(mans) == 1)
		pick = json_array_get(mans, 0);
	if (!pick && nplat && nplat == json_array_size(mans)) {
		/* index.json itself lists the platforms of one image. */
		set->is_index = true;
		digest_of(DIGEST_SHA256, index_json, len, &set->index_digest);
		set->index_media_type = xstrdup(OCI_MT_INDEX);
		r = image_index(src, doc, set, 0, e);
		goto out;
	}
	if (!pick) {
		err_set(e, ERR_MANIFEST_UNKNOWN,
			json_array_size(mans) ? "several images; name one as "
						"IMAGE:TAG (tags: %s)"
					      : "no image in index.json%s",
			tags.buf);
		goto out;
	}
	if (image_desc_digest(pick, &d, e))
		goto out;
	if (!tag)
		tag = json_string_value(
			json_object_get(json_object_get(pick, "annotations"),
					"org.opencontainers.image.ref.name"));
	set->ref = tag ? xstrdup(tag) : NULL;
	r = image_resolve_depth(src, &d, set, json_object_get(pick, "platform"),
				0, e);
out:
	buf_release(&tags);
	json_decref(doc);
	return r;
}
