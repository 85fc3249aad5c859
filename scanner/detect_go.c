/* detect_go.c: the build information the Go linker embeds in binaries.
 *
 * A 32-byte header, 16-byte aligned, starts with "\xff Go buildinf:",
 * then the pointer size and a flags byte.  With flag 2 (Go >= 1.18) the
 * Go version and the module info follow as two varint-prefixed strings;
 * before that the header holds two pointers to Go string headers, which
 * are virtual addresses resolved through the ELF program headers.  The
 * module info is text between 16-byte sentinels:
 *   path <tab> cmd/x
 *   mod  <tab> example.com/x <tab> v1.0.0 <tab> h1:...
 *   dep  <tab> golang.org/x/text <tab> v0.3.7 <tab> h1:...
 *   =>   <tab> replacement <tab> version <tab> sum   (replaces the line before)
 */
#include "scanner/detect_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "common/banned.h"

#define GO_MAGIC     "\xff Go buildinf:"
#define GO_MAGIC_LEN 14
#define GO_HDR	     32
#define GO_MAX_STR   (16u << 20)

struct go_elf {
	const unsigned char *d;
	size_t n;
	bool is64, big;
};

static uint64_t go_uint(const unsigned char *p, size_t size, bool big)
{
	uint64_t v = 0;

	for (size_t i = 0; i < size; i++)
		v |= (uint64_t)p[big ? i : size - 1 - i]
		     << (8 * (size - 1 - i));
	return v;
}

/* Reads size bytes at off as an integer; false when out of bounds. */
static bool go_read(const struct go_elf *e, uint64_t off, size_t size,
		    uint64_t *v)
{
	if (off > e->n || e->n - off < size)
		return false;
	*v = go_uint(e->d + off, size, e->big);
	return true;
}

/* Virtual address -> file offset, through the PT_LOAD segments. */
static bool go_vaddr(const struct go_elf *e, uint64_t va, uint64_t len,
		     uint64_t *off)
{
	uint64_t phoff, phent, phnum, type, poff, pva, psz;
	size_t w = e->is64 ? 8 : 4;

	if (!go_read(e, e->is64 ? 0x20 : 0x1c, w, &phoff) ||
	    !go_read(e, e->is64 ? 0x36 : 0x2a, 2, &phent) ||
	    !go_read(e, e->is64 ? 0x38 : 0x2c, 2, &phnum))
		return false;
	for (uint64_t i = 0; i < phnum; i++) {
		uint64_t ph = phoff + i * phent;

		if (phoff > e->n || i * phent > e->n ||
		    !go_read(e, ph, 4, &type))
			return false;
		if (type != 1) /* PT_LOAD */
			continue;
		if (e->is64 ? !go_read(e, ph + 8, 8, &poff) ||
				      !go_read(e, ph + 16, 8, &pva) ||
				      !go_read(e, ph + 32, 8, &psz)
			    : !go_read(e, ph + 4, 4, &poff) ||
				      !go_read(e, ph + 8, 4, &pva) ||
				      !go_read(e, ph + 16, 4, &psz))
			return false;
		if (va >= pva && va - pva <= psz && psz - (va - pva) >= len) {
			*off = poff + (va - pva);
			return *off <= e->n && e->n - *off >= len;
		}
	}
	return false;
}

/* A Go string header {ptr, len} at virtual address va. */
static char *go_string_at(const struct go_elf *e, uint64_t va, size_t ptr)
{
	uint64_t off, data, len, doff;

	if (!go_vaddr(e, va, 2 * ptr, &off) || !go_read(e, off, ptr, &data) ||
	    !go_read(e, off + ptr, ptr, &len) || len > GO_MAX_STR ||
	    !go_vaddr(e, data, len, &doff))
		return NULL;
	return xstrndup((const char *)e->d + doff, len);
}

static bool go_varint(const unsigned char **p, const unsigned char *end,
		      uint64_t *v)
{
	unsigned shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		unsigned char c = *(*p)++;

		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return true;
		shift += 7;
	}
	return false;
}

static char *go_inline_string(const unsigned char **p, const unsigned char *end)
{
	uint64_t len;
	char *s;

	if (!go_varint(p, end, &len) || len > GO_MAX_STR ||
	    len > (uint64_t)(end - *p))
		return NULL;
	s = xstrndup((const char *)*p, len);
	*p += len;
	return s;
}

/* The header is 16-byte aligned; the magic's first byte (0xff) is rare
 * enough that stepping by 16 and comparing is as fast as a search. */
static const unsigned char *go_find(const unsigned char *d, size_t n)
{
	for (size_t off = 0; n >= GO_HDR && off <= n - GO_HDR; off += 16)
		if (d[off] == 0xff && !memcmp(d + off, GO_MAGIC, GO_MAGIC_LEN))
			return d + off;
	return NULL;
}

static void go_add(const struct det_file *f, const char *name, const char *ver,
		   struct det_out *out)
{
	struct scan_pkg p = {.eco = ECO_GO};

	/* "(devel)": built from a working tree, no release to match. */
	if (!*name || !*ver || !strcmp(ver, "(devel)") ||
	    strlen(name) > DET_MAX_FIELD || strlen(ver) > DET_MAX_FIELD)
		return;
	p.name = (char *)name;
	p.version = (char *)ver;
	det_out_found(out, f, &p, NULL);
}

/* Splits a "key\tpath\tversion[\tsum]" line in place. */
static int go_fields(char *line, char **f, int max)
{
	int n = 0;

	while (n < max) {
		f[n++] = line;
		line = strchr(line, '\t');
		if (!line)
			break;
		*line++ = '\0';
	}
	return n;
}

static void go_modinfo(const struct det_file *f, char *mod, size_t len,
		       struct det_out *out)
{
	char *line, *next, *pend[2] = {NULL, NULL}, *fl[4];
	bool pending = false;

	/* Strip the 16-byte sentinels around the text. */
	if (len >= 33 && mod[len - 17] == '\n') {
		mod[len - 16] = '\0';
		mod += 16;
	}
	for (line = mod; line && *line; line = next) {
		int n;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		n = go_fields(line, fl, 4);
		if (n >= 2 && !strcmp(fl[0], "=>")) {
			/* A replacement module is what is built in; a local
			 * directory ("../x", version "(devel)") keeps the
			 * original's name and version. */
			if (pending && n >= 3 && *fl[2] && fl[1][0] != '.' &&
			    fl[1][0] != '/') {
				pend[0] = fl[1];
				pend[1] = fl[2];
			}
			continue;
		}
		if (pending)
			go_add(f, pend[0], pend[1], out);
		pending = false;
		if (n >= 3 &&
		    (!strcmp(fl[0], "mod") || !strcmp(fl[0], "dep"))) {
			pend[0] = fl[1];
			pend[1] = fl[2];
			pending = true;
		}
	}
	if (pending)
		go_add(f, pend[0], pend[1], out);
}

static void go_stdlib(const struct det_file *f, const char *gover,
		      struct det_out *out)
{
	char *v;

	if (strncmp(gover, "go1", 3))
		return; /* "devel +abc": no release to match */
	v = xstrdup(gover + 2);
	v[strcspn(v, " \t")] = '\0';
	go_add(f, "stdlib", v, out);
	free(v);
}

void det_go(const struct det_file *f, struct det_out *out)
{
	const unsigned char *d = (const unsigned char *)f->data, *h, *p;
	struct go_elf e = {d, f->len, false, false};
	char *ver = NULL, *mod = NULL;
	unsigned ptr, flags;
	uint64_t va;

	if (f->len < 64 || !det_is_elf(d, f->len))
		return;
	e.is64 = d[4] == 2;
	e.big = d[5] == 2;
	h = go_find(d, f->len);
	if (!h || (size_t)(d + f->len - h) < GO_HDR)
		return; /* an ELF file, not a Go binary */
	ptr = h[14];
	flags = h[15];
	if (flags & 2) {
		p = h + GO_HDR;
		ver = go_inline_string(&p, d + f->len);
		mod = ver ? go_inline_string(&p, d + f->len) : NULL;
	} else if (ptr == 4 || ptr == 8) {
		e.big = flags & 1;
		va = go_uint(h + 16, ptr, e.big);
		ver = go_string_at(&e, va, ptr);
		va = go_uint(h + 16 + ptr, ptr, e.big);
		mod = ver ? go_string_at(&e, va, ptr) : NULL;
	}
	if (!ver || !mod) {
		inv_add_note(&out->inv, "%s: Go build info unreadable",
			     f->path);
		goto out;
	}
	go_stdlib(f, ver, out);
	go_modinfo(f, mod, strlen(mod), out);
out:
	free(ver);
	free(mod);
}
