/* cvss_int.h: scores computed from CVSS vector strings.
 *
 * v2 ("AV:N/AC:L/Au:N/C:P/I:P/A:P") and v3.0/v3.1 ("CVSS:3.1/AV:N/...")
 * give the base score of the specification's formulas.  v4.0
 * ("CVSS:4.0/AV:N/...") gives the score of FIRST's reference calculator:
 * the macrovector lookup table plus its interpolation, with the threat and
 * environmental metrics of the vector applied if it has any (a vector with
 * base metrics only, as advisories carry, gives the CVSS-B base score).
 */
#ifndef SCANNER_CVSS_INT_H
#define SCANNER_CVSS_INT_H

#include <stddef.h>

#include "common/err.h"
#include "scanner/scanner.h"

struct cvss_score {
	int major;    /* 2, 3 or 4 */
	int minor;    /* 0 or 1 */
	double score; /* 0.0 .. 10.0, one decimal */
};

/* Parses vector and computes its score into *out.  A malformed vector
 * (unknown prefix, metric or value, a base metric missing or repeated)
 * fails with ERR_INVALID. */
int cvss_compute(const char *vector, struct cvss_score *out, struct err *e);
int cvss4_compute(const char *vector, struct cvss_score *out, struct err *e);

/* For cvss*.c: one metric of a vector, its values '|'-separated. */
struct cvss_metric {
	const char *name;
	const char *values;
	int required;
};
/* Parses "K:V/K:V/..." against defs (n of them): idx[i] becomes the index
 * of the value of defs[i] in its list, or -1 when the vector lacks it.
 * Unknown or repeated metrics, bad values and missing required metrics
 * fail with ERR_INVALID. */
int cvss_parse_metrics(const char *s, const struct cvss_metric *defs, size_t n,
		       int *idx, struct err *e);

/* The qualitative rating: v3/v4 bands (0.1-3.9 low, 4.0-6.9 medium,
 * 7.0-8.9 high, 9.0-10.0 critical; 0.0 "none" gives SEV_LOW); v2 has no
 * critical band (7.0-10.0 high). */
enum vuln_severity cvss_severity(const struct cvss_score *s);

#endif
