/* inventory.c: the package list the detectors fill and the matcher reads. */
#include "scanner/inventory_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "common/banned.h"

/* A hostile image can provoke a note per file; a few hundred say enough. */
#define INV_MAX_NOTES 256

void inv_init(struct scan_inventory *inv)
{
	memset(inv, 0, sizeof(*inv));
}

static void inv_os_release(struct scan_os *os)
{
	free(os->id);
	free(os->version_id);
	free(os->pretty_name);
	free(os->codename);
	memset(os, 0, sizeof(*os));
}

void inv_release(struct scan_inventory *inv)
{
	for (size_t i = 0; i < inv->npkgs; i++) {
		struct scan_pkg *p = &inv->pkgs[i];

		free(p->name);
		free(p->version);
		free(p->src_name);
		free(p->src_version);
		free(p->layer);
		free(p->path);
		free(p->evidence);
	}
	free(inv->pkgs);
	for (size_t i = 0; i < inv->nnotes; i++)
		free(inv->notes[i]);
	free(inv->notes);
	for (size_t i = 0; i < inv->ncontent_sets; i++)
		free(inv->content_sets[i]);
	free(inv->content_sets);
	inv_os_release(&inv->os);
	inv_init(inv);
}

static char *inv_dup(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void inv_add_pkg(struct scan_inventory *inv, const struct scan_pkg *p)
{
	struct scan_pkg *d;

	if (inv->npkgs == inv->alloc) {
		inv->alloc = inv->alloc ? inv->alloc * 2 : 16;
		inv->pkgs =
			xrealloc(inv->pkgs, inv->alloc * sizeof(*inv->pkgs));
	}
	d = &inv->pkgs[inv->npkgs++];
	d->eco = p->eco;
	d->name = inv_dup(p->name);
	d->version = inv_dup(p->version);
	d->src_name = inv_dup(p->src_name);
	d->src_version = inv_dup(p->src_version);
	d->layer = inv_dup(p->layer);
	d->path = inv_dup(p->path);
	d->conf = p->conf;
	d->evidence = inv_dup(p->evidence);
}

void inv_add_note(struct scan_inventory *inv, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	char *s;

	if (inv->nnotes > INV_MAX_NOTES)
		return;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	s = buf_detach(&b, NULL);
	if (inv->nnotes == INV_MAX_NOTES) {
		free(s);
		s = xstrdup("further notes omitted");
	}
	/* The same remark from many files says nothing new. */
	for (size_t i = 0; i < inv->nnotes; i++) {
		if (!strcmp(inv->notes[i], s)) {
			free(s);
			return;
		}
	}
	if (inv->nnotes == inv->notes_alloc) {
		inv->notes_alloc = inv->notes_alloc ? inv->notes_alloc * 2 : 8;
		inv->notes = xrealloc(inv->notes,
				      inv->notes_alloc * sizeof(*inv->notes));
	}
	inv->notes[inv->nnotes++] = s;
}

bool inv_add_content_set(struct scan_inventory *inv, const char *cs)
{
	size_t n = cs ? strspn(cs, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "abcdefghijklmnopqrstuvwxyz0123456789._-")
		      : 0;

	if (!n || cs[n] || n > INV_MAX_CONTENT_SET ||
	    inv->ncontent_sets >= INV_MAX_CONTENT_SETS)
		return false;
	for (size_t i = 0; i < inv->ncontent_sets; i++)
		if (!strcmp(inv->content_sets[i], cs))
			return true;
	if (!(inv->ncontent_sets & (inv->ncontent_sets - 1)))
		inv->content_sets = xrealloc(
			inv->content_sets,
			(inv->ncontent_sets ? 2 * inv->ncontent_sets : 1) *
				sizeof(*inv->content_sets));
	inv->content_sets[inv->ncontent_sets++] = xstrdup(cs);
	return true;
}
