/* meter_int.h: what a scan has spent of its budget (struct scan_budget), and
 * the budgets it hit.
 *
 * One meter per image: the layer walk, the detectors and the inventory
 * charge it as they go, and ask it before spending more.  The deadline is
 * shared by every image of one scan (an index's platforms).  A hit is
 * recorded once per budget and layer, with a detail, and ends up in the
 * report's "budgets" (the report is then "incomplete").
 *
 * A NULL meter means "no limits" wherever a function takes one.
 */
#ifndef SCANNER_METER_INT_H
#define SCANNER_METER_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "scanner/scanner.h"

/* The names of the budgets, as the report spells them. */
#define BUDGET_LAYER_BYTES   "layer_bytes"
#define BUDGET_IMAGE_BYTES   "image_bytes"
#define BUDGET_RATIO	     "ratio"
#define BUDGET_LAYER_ENTRIES "layer_entries"
#define BUDGET_FILE_BYTES    "file_bytes"
#define BUDGET_PACKAGES	     "packages"
#define BUDGET_DEADLINE	     "deadline"

/* Hits kept per image; more say nothing new. */
#define METER_MAX_HITS 32

struct meter_hit {
	const char *budget; /* one of the BUDGET_ names */
	int64_t limit;
	char *layer; /* digest, or NULL */
	char *detail;
};

/* What a scan used of each budget: the largest layer, file and so on
 * (the report's "usage", for tuning the budgets). */
struct scan_usage {
	int64_t layer_bytes, image_bytes, ratio, layer_entries, file_bytes;
	int64_t packages; /* peak inventory entries */
	int64_t ms;
};

struct scan_meter {
	struct scan_budget lim;
	struct scan_usage used;
	int64_t start;	     /* meter_now_ms() at init */
	int64_t deadline;    /* CLOCK_MONOTONIC ms; 0: none */
	int64_t image_bytes; /* decompressed bytes of the layers read */
	int64_t entries;     /* live inventory entries (see layer.c) */
	bool stop;	     /* deadline or image budget hit: read no more */
	struct meter_hit *hits;
	size_t nhits, hits_alloc;
};

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t meter_now_ms(void);
/* b NULL: scan_budget_defaults().  deadline: absolute meter_now_ms() time
 * the scan must end by, 0 for none (then b->deadline_ms counts from now). */
void meter_init(struct scan_meter *m, const struct scan_budget *b,
		int64_t deadline);
void meter_release(struct scan_meter *m);

/* Records a hit of budget (limit) in layer (may be NULL).  A budget hit
 * twice in one layer is recorded once.  The deadline and image_bytes set
 * m->stop.  Does nothing for m NULL. */
void meter_hit(struct scan_meter *m, const char *budget, int64_t limit,
	       const char *layer, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* True when the scan must end now: stop was set, or the deadline passed
 * (then recorded as a hit in layer).  False for m NULL. */
bool meter_expired(struct scan_meter *m, const char *layer);
/* Whether budget was hit. */
bool meter_was_hit(const struct scan_meter *m, const char *budget);

/* Records entries (the walk's live inventory entries) as a peak. */
void meter_peak(struct scan_meter *m);
/* The usage as the report's "usage" object (a new reference). */
json_t *meter_usage(struct scan_meter *m);

/* The hits as the report's "budgets" array (a new reference; empty when
 * nothing was hit). */
json_t *meter_budgets(const struct scan_meter *m);

#endif
