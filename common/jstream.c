/* jstream.c: yajl events -> jansson values at one depth (see jstream.h).
 *
 * A stack holds one frame per open container.  Frames above the wanted
 * depth are skeletons (no jansson value, just the key of the current
 * child); from the wanted depth down, values are built and attached to
 * their parent, and the value at the wanted depth is handed over when it
 * closes.
 */
#include "common/jstream.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "common/xmalloc.h"
#include "common/banned.h"

struct js_frame {
	json_t *j; /* the container being built, or NULL (skeleton) */
	char *key; /* key of the current child (maps), else NULL */
};

struct jstream {
	yajl_handle h;
	jstream_fn fn;
	void *ctx;
	size_t depth, max_value;
	struct js_frame st[JSTREAM_MAX_DEPTH];
	size_t n;      /* open containers: the next value's depth */
	size_t fed;    /* bytes fed before the current chunk */
	size_t start;  /* offset where the value being built began */
	struct err *e; /* the current feed's */
	bool failed;   /* e holds why yajl was cancelled */
	const char *keys[JSTREAM_MAX_DEPTH];
};

static size_t js_offset(const struct jstream *js)
{
	return js->fed + yajl_get_bytes_consumed(js->h);
}

static int js_fail(struct jstream *js, enum err_code code, const char *what)
{
	err_set(js->e, code, "JSON at byte %zu: %s", js_offset(js), what);
	js->failed = true;
	return 0;
}

static int js_emit(struct jstream *js, json_t *v)
{
	size_t d = js->n;

	for (size_t i = 0; i < d; i++)
		js->keys[i] = js->st[i].key;
	if (js->fn(js->ctx, js->keys, d, v, js->e) < 0) {
		js->failed = true;
		return 0;
	}
	return 1;
}

/* A new value at depth js->n: attach it, emit it, or (containers) open a
 * frame for it.  Takes v's reference; v NULL opens a skeleton frame. */
static int js_value(struct jstream *js, json_t *v, bool container)
{
	struct js_frame *parent = js->n ? &js->st[js->n - 1] : NULL;
	int ok = 1;

	if (js->n == js->depth)
		js->start = js_offset(js);
	if (js->n > js->depth || (js->n == js->depth && !container)) {
		if (js->max_value && js_offset(js) - js->start > js->max_value)
			ok = js_fail(js, ERR_TOO_LARGE, "value over budget");
	}
	if (ok && parent && parent->j) {
		if (json_is_array(parent->j))
			json_array_append(parent->j, v);
		else
			json_object_set(parent->j, parent->key, v);
	} else if (ok && !container) {
		ok = js_emit(js, v);
	}
	if (ok && container) {
		if (js->n == JSTREAM_MAX_DEPTH)
			ok = js_fail(js, ERR_TOO_LARGE, "nested too deep");
		else
			js->st[js->n++] = (struct js_frame){
				js->n >= js->depth ? json_incref(v) : NULL,
				NULL};
	}
	json_decref(v);
	return ok;
}

static int js_close(void *ctx)
{
	struct jstream *js = ctx;
	struct js_frame f = js->st[--js->n];
	int ok = 1;

	free(f.key);
	if (f.j && js->n == js->depth) {
		if (js->max_value && js_offset(js) - js->start > js->max_value)
			ok = js_fail(js, ERR_TOO_LARGE, "value over budget");
		else
			ok = js_emit(js, f.j);
	}
	json_decref(f.j);
	return ok;
}

static int js_container(struct jstream *js, json_t *(*make)(void))
{
	return js_value(js, js->n >= js->depth ? make() : NULL, true);
}

static int js_null(void *ctx)
{
	return js_value(ctx, json_null(), false);
}

static int js_bool(void *ctx, int b)
{
	return js_value(ctx, json_boolean(b), false);
}

static int js_number(void *ctx, const char *s, size_t len)
{
	struct jstream *js = ctx;
	char tmp[64];
	json_t *v;

	if (len >= sizeof(tmp))
		return js_fail(js, ERR_INVALID, "number too long");
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	errno = 0;
	if (!strpbrk(tmp, ".eE")) {
		long long ll = strtoll(tmp, NULL, 10);

		v = errno ? json_real(strtod(tmp, NULL)) : json_integer(ll);
	} else {
		v = json_real(strtod(tmp, NULL));
	}
	return js_value(js, v, false);
}

static int js_string(void *ctx, const unsigned char *s, size_t len)
{
	return js_value(ctx, json_stringn((const char *)s, len), false);
}

static int js_start_map(void *ctx)
{
	return js_container(ctx, json_object);
}

static int js_start_array(void *ctx)
{
	return js_container(ctx, json_array);
}

static int js_key(void *ctx, const unsigned char *k, size_t len)
{
	struct jstream *js = ctx;
	struct js_frame *f = &js->st[js->n - 1];

	if (memchr(k, '\0', len))
		return js_fail(js, ERR_INVALID, "NUL in a key");
	free(f->key);
	f->key = xstrndup((const char *)k, len);
	return 1;
}

static const yajl_callbacks js_callbacks = {
	.yajl_null = js_null,
	.yajl_boolean = js_bool,
	.yajl_number = js_number,
	.yajl_string = js_string,
	.yajl_start_map = js_start_map,
	.yajl_map_key = js_key,
	.yajl_end_map = js_close,
	.yajl_start_array = js_start_array,
	.yajl_end_array = js_close,
};

struct jstream *jstream_new(size_t depth, size_t max_value, jstream_fn fn,
			    void *ctx)
{
	struct jstream *js = xcalloc(1, sizeof(*js));

	js->h = yajl_alloc(&js_callbacks, NULL, js);
	if (!js->h)
		abort(); /* yajl_alloc fails only without memory */
	js->depth = depth;
	js->max_value = max_value;
	js->fn = fn;
	js->ctx = ctx;
	return js;
}

void jstream_free(struct jstream *js)
{
	if (!js)
		return;
	while (js->n) {
		struct js_frame *f = &js->st[--js->n];

		free(f->key);
		json_decref(f->j);
	}
	yajl_free(js->h);
	free(js);
}

static int js_status(struct jstream *js, yajl_status st, const void *buf,
		     size_t len)
{
	unsigned char *msg;
	char *nl;

	if (st == yajl_status_ok)
		return 0;
	if (js->failed)
		return -1;
	msg = yajl_get_error(js->h, 0, buf, len);
	nl = strchr((char *)msg, '\n');
	if (nl)
		*nl = '\0';
	err_set(js->e, ERR_INVALID, "JSON at byte %zu: %s", js_offset(js),
		(char *)msg);
	yajl_free_error(js->h, msg);
	js->failed = true;
	return -1;
}

int jstream_feed(struct jstream *js, const void *buf, size_t len, struct err *e)
{
	yajl_status st;

	if (js->failed)
		return err_set(e, ERR_INVALID, "JSON stream already failed");
	js->e = e;
	st = yajl_parse(js->h, buf, len);
	if (js_status(js, st, buf, len) < 0)
		return -1;
	js->fed += len;
	return 0;
}

int jstream_end(struct jstream *js, struct err *e)
{
	if (js->failed)
		return err_set(e, ERR_INVALID, "JSON stream already failed");
	js->e = e;
	return js_status(js, yajl_complete_parse(js->h), NULL, 0);
}
