/* CVSS v2 and v3.x base scores, from the specifications' formulas. */
#include "scanner/cvss_int.h"

#include <math.h>
#include <string.h>

#include "common/banned.h"

static int cvss_value_index(const char *values, const char *v, size_t vlen)
{
	const char *p = values;
	int i = 0;

	for (;;) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		if (n == vlen && !memcmp(p, v, n))
			return i;
		if (!bar)
			return -1;
		p = bar + 1;
		i++;
	}
}

int cvss_parse_metrics(const char *s, const struct cvss_metric *defs, size_t n,
		       int *idx, struct err *e)
{
	for (size_t i = 0; i < n; i++)
		idx[i] = -1;
	while (*s) {
		const char *slash = strchr(s, '/');
		const char *end = slash ? slash : s + strlen(s);
		const char *colon = memchr(s, ':', (size_t)(end - s));
		size_t i, klen;

		if (!colon)
			return err_set(e, ERR_INVALID,
				       "CVSS metric '%.*s' has no value",
				       (int)(end - s), s);
		klen = (size_t)(colon - s);
		for (i = 0; i < n; i++)
			if (strlen(defs[i].name) == klen &&
			    !memcmp(defs[i].name, s, klen))
				break;
		if (i == n)
			return err_set(e, ERR_INVALID,
				       "unknown CVSS metric '%.*s'", (int)klen,
				       s);
		if (idx[i] >= 0)
			return err_set(e, ERR_INVALID,
				       "CVSS metric %s repeated", defs[i].name);
		idx[i] = cvss_value_index(defs[i].values, colon + 1,
					  (size_t)(end - colon - 1));
		if (idx[i] < 0)
			return err_set(e, ERR_INVALID,
				       "bad value for CVSS metric %s",
				       defs[i].name);
		s = slash ? slash + 1 : end;
	}
	for (size_t i = 0; i < n; i++)
		if (defs[i].required && idx[i] < 0)
			return err_set(e, ERR_INVALID, "CVSS metric %s missing",
				       defs[i].name);
	return 0;
}

/* --- v3.x --------------------------------------------------------------- */

enum { V3_AV, V3_AC, V3_PR, V3_UI, V3_S, V3_C, V3_I, V3_A, V3_NMETRICS = 22 };

static const struct cvss_metric cvss3_metrics[V3_NMETRICS] = {
	{"AV", "N|A|L|P", 1},
	{"AC", "L|H", 1},
	{"PR", "N|L|H", 1},
	{"UI", "N|R", 1},
	{"S", "U|C", 1},
	{"C", "H|L|N", 1},
	{"I", "H|L|N", 1},
	{"A", "H|L|N", 1},
	/* Temporal and environmental: checked, not scored. */
	{"E", "X|H|F|P|U", 0},
	{"RL", "X|U|W|T|O", 0},
	{"RC", "X|C|R|U", 0},
	{"CR", "X|H|M|L", 0},
	{"IR", "X|H|M|L", 0},
	{"AR", "X|H|M|L", 0},
	{"MAV", "X|N|A|L|P", 0},
	{"MAC", "X|L|H", 0},
	{"MPR", "X|N|L|H", 0},
	{"MUI", "X|N|R", 0},
	{"MS", "X|U|C", 0},
	{"MC", "X|H|L|N", 0},
	{"MI", "X|H|L|N", 0},
	{"MA", "X|H|L|N", 0},
};

/* CVSS v3.1's Roundup: the smallest one-decimal number >= x, computed on
 * integers so that 4.000000001 does not become 4.1. */
static double cvss31_roundup(double x)
{
	long i = lround(x * 100000.0);

	if (i % 10000 == 0)
		return (double)i / 100000.0;
	return (floor((double)i / 10000.0) + 1.0) / 10.0;
}

static double cvss30_roundup(double x)
{
	return ceil(x * 10.0) / 10.0;
}

static double cvss3_base(const int *m, int minor)
{
	static const double av[] = {0.85, 0.62, 0.55, 0.2};
	static const double ac[] = {0.77, 0.44};
	static const double pr_u[] = {0.85, 0.62, 0.27};
	static const double pr_c[] = {0.85, 0.68, 0.5};
	static const double ui[] = {0.85, 0.62};
	static const double cia[] = {0.56, 0.22, 0.0};
	bool changed = m[V3_S] == 1;
	double iss, impact, expl, sum;

	iss = 1.0 - (1.0 - cia[m[V3_C]]) * (1.0 - cia[m[V3_I]]) *
			    (1.0 - cia[m[V3_A]]);
	if (changed)
		impact = 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15);
	else
		impact = 6.42 * iss;
	expl = 8.22 * av[m[V3_AV]] * ac[m[V3_AC]] *
	       (changed ? pr_c : pr_u)[m[V3_PR]] * ui[m[V3_UI]];
	if (impact <= 0)
		return 0.0;
	sum = changed ? 1.08 * (impact + expl) : impact + expl;
	if (sum > 10.0)
		sum = 10.0;
	return minor == 1 ? cvss31_roundup(sum) : cvss30_roundup(sum);
}

/* --- v2 ----------------------------------------------------------------- */

enum { V2_AV, V2_AC, V2_AU, V2_C, V2_I, V2_A, V2_NMETRICS = 14 };

static const struct cvss_metric cvss2_metrics[V2_NMETRICS] = {
	{"AV", "L|A|N", 1},	  {"AC", "H|M|L", 1},
	{"Au", "M|S|N", 1},	  {"C", "N|P|C", 1},
	{"I", "N|P|C", 1},	  {"A", "N|P|C", 1},
	{"E", "U|POC|F|H|ND", 0}, {"RL", "OF|TF|W|U|ND", 0},
	{"RC", "UC|UR|C|ND", 0},  {"CDP", "N|L|LM|MH|H|ND", 0},
	{"TD", "N|L|M|H|ND", 0},  {"CR", "L|M|H|ND", 0},
	{"IR", "L|M|H|ND", 0},	  {"AR", "L|M|H|ND", 0},
};

static double cvss2_base(const int *m)
{
	static const double av[] = {0.395, 0.646, 1.0};
	static const double ac[] = {0.35, 0.61, 0.71};
	static const double au[] = {0.45, 0.56, 0.704};
	static const double cia[] = {0.0, 0.275, 0.660};
	double impact, expl, base;

	impact = 10.41 * (1.0 - (1.0 - cia[m[V2_C]]) * (1.0 - cia[m[V2_I]]) *
					(1.0 - cia[m[V2_A]]));
	expl = 20.0 * av[m[V2_AV]] * ac[m[V2_AC]] * au[m[V2_AU]];
	base = (0.6 * impact + 0.4 * expl - 1.5) *
	       (impact == 0.0 ? 0.0 : 1.176);
	if (base < 0)
		base = 0;
	return floor(base * 10.0 + 0.5 + 1e-9) / 10.0;
}

/* ------------------------------------------------------------------------ */

int cvss_compute(const char *vector, struct cvss_score *out, struct err *e)
{
	int m[V3_NMETRICS];
	size_t n;

	if (!strncmp(vector, "CVSS:4.0/", 9))
		return cvss4_compute(vector, out, e);
	if (!strncmp(vector, "CVSS:3.0/", 9) ||
	    !strncmp(vector, "CVSS:3.1/", 9)) {
		if (cvss_parse_metrics(vector + 9, cvss3_metrics, V3_NMETRICS,
				       m, e) < 0)
			return -1;
		out->major = 3;
		out->minor = vector[7] - '0';
		out->score = cvss3_base(m, out->minor);
		return 0;
	}
	if (!strncmp(vector, "CVSS:", 5))
		return err_set(e, ERR_INVALID, "unsupported CVSS version");
	/* v2 vectors have no prefix; NVD writes some in parentheses. */
	n = strlen(vector);
	if (n > 2 && vector[0] == '(' && vector[n - 1] == ')') {
		char copy[128];

		if (n - 2 >= sizeof(copy))
			return err_set(e, ERR_INVALID, "CVSS vector too long");
		memcpy(copy, vector + 1, n - 2);
		copy[n - 2] = '\0';
		return cvss_compute(copy, out, e);
	}
	if (cvss_parse_metrics(vector, cvss2_metrics, V2_NMETRICS, m, e) < 0)
		return -1;
	out->major = 2;
	out->minor = 0;
	out->score = cvss2_base(m);
	return 0;
}

enum vuln_severity cvss_severity(const struct cvss_score *s)
{
	if (s->major == 2)
		return s->score >= 7.0	 ? SEV_HIGH
		       : s->score >= 4.0 ? SEV_MEDIUM
					 : SEV_LOW;
	if (s->score >= 9.0)
		return SEV_CRITICAL;
	if (s->score >= 7.0)
		return SEV_HIGH;
	if (s->score >= 4.0)
		return SEV_MEDIUM;
	return SEV_LOW;
}
