/* meter.c: budget accounting for one scan (see meter.h). */
#include "scanner/meter_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "common/banned.h"

int64_t meter_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void meter_init(struct scan_meter *m, const struct scan_budget *b,
		int64_t deadline)
{
	memset(m, 0, sizeof(*m));
	if (b)
		m->lim = *b;
	else
		scan_budget_defaults(&m->lim);
	m->deadline = deadline;
	m->start = meter_now_ms();
	if (!deadline && m->lim.deadline_ms > 0)
		m->deadline = meter_now_ms() + m->lim.deadline_ms;
}

void meter_release(struct scan_meter *m)
{
	for (size_t i = 0; i < m->nhits; i++) {
		free(m->hits[i].layer);
		free(m->hits[i].detail);
	}
	free(m->hits);
	memset(m, 0, sizeof(*m));
}

static bool meter_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

void meter_hit(struct scan_meter *m, const char *budget, int64_t limit,
	       const char *layer, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	struct meter_hit *h;
	va_list ap;

	if (!m)
		return;
	if (!strcmp(budget, BUDGET_DEADLINE) ||
	    !strcmp(budget, BUDGET_IMAGE_BYTES))
		m->stop = true;
	for (size_t i = 0; i < m->nhits; i++)
		if (!strcmp(m->hits[i].budget, budget) &&
		    meter_same(m->hits[i].layer, layer))
			return;
	if (m->nhits == METER_MAX_HITS)
		return;
	if (m->nhits == m->hits_alloc) {
		m->hits_alloc = m->hits_alloc ? m->hits_alloc * 2 : 4;
		m->hits = xrealloc(m->hits, m->hits_alloc * sizeof(*m->hits));
	}
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	h = &m->hits[m->nhits++];
	h->budget = budget;
	h->limit = limit;
	h->layer = layer ? xstrdup(layer) : NULL;
	h->detail = buf_detach(&b, NULL);
	/* Paths come from tar headers: keep the report valid UTF-8. */
	for (char *c = h->detail; *c; c++)
		if ((unsigned char)*c >= 0x80 || (unsigned char)*c < 0x20)
			*c = '?';
}

bool meter_expired(struct scan_meter *m, const char *layer)
{
	if (!m)
		return false;
	if (m->stop)
		return true;
	if (m->deadline && meter_now_ms() >= m->deadline) {
		meter_hit(m, BUDGET_DEADLINE, m->lim.deadline_ms, layer,
			  "the scan ran out of time; what was read until then "
			  "is reported");
		return true;
	}
	return false;
}

bool meter_was_hit(const struct scan_meter *m, const char *budget)
{
	for (size_t i = 0; m && i < m->nhits; i++)
		if (!strcmp(m->hits[i].budget, budget))
			return true;
	return false;
}

void meter_peak(struct scan_meter *m)
{
	if (m->entries > m->used.packages)
		m->used.packages = m->entries;
}

json_t *meter_usage(struct scan_meter *m)
{
	const struct scan_usage *u = &m->used;

	m->used.image_bytes = m->image_bytes;
	m->used.ms = meter_now_ms() - m->start;
	return json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "layer_bytes",
		(json_int_t)u->layer_bytes, "image_bytes",
		(json_int_t)u->image_bytes, "ratio", (json_int_t)u->ratio,
		"layer_entries", (json_int_t)u->layer_entries, "file_bytes",
		(json_int_t)u->file_bytes, "packages", (json_int_t)u->packages,
		"deadline_ms", (json_int_t)u->ms);
}

json_t *meter_budgets(const struct scan_meter *m)
{
	json_t *a = json_array();

	for (size_t i = 0; m && i < m->nhits; i++) {
		const struct meter_hit *h = &m->hits[i];

		json_array_append_new(a,
				      json_pack("{s:s, s:I, s:o, s:s}",
						"budget", h->budget, "limit",
						(json_int_t)h->limit, "layer",
						h->layer ? json_string(h->layer)
							 : json_null(),
						"detail", h->detail));
	}
	return a;
}
