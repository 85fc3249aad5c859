/* CVSS v4.0 scores, as FIRST's reference calculator computes them: the
 * vector's macrovector (EQ1..EQ6) selects a score from the specification's
 * lookup table, and the vector's distance from the most severe vectors of
 * its macrovector moves the score towards the next lower macrovector.
 *
 * The arithmetic follows the calculator step by step in doubles, so that
 * results round the same way.
 *
 * The tables below are the data of FIRST's reference calculator
 * (cvss_lookup.js, max_composed.js and max_severity.js of
 * https://github.com/RedHatProductSecurity/cvss-v4-calculator), under its
 * licence:
 *
 * Copyright (c) 2023 FIRST, Red Hat, and contributors
 *
 * Redistribution and use in source and binary forms, with or without
 * modification, are permitted provided that the following conditions are
 * met:
 * 1. Redistributions of source code must retain the above copyright
 *    notice, this list of conditions and the following disclaimer.
 * 2. Redistributions in binary form must reproduce the above copyright
 *    notice, this list of conditions and the following disclaimer in the
 *    documentation and/or other materials provided with the distribution.
 *
 * THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS
 * IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO,
 * THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR
 * PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR
 * CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL,
 * EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO,
 * PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR
 * PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF
 * LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING
 * NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS
 * SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE. */
#include "scanner/cvss_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/banned.h"

enum {
	C4_AV,
	C4_AC,
	C4_AT,
	C4_PR,
	C4_UI,
	C4_VC,
	C4_VI,
	C4_VA,
	C4_SC,
	C4_SI,
	C4_SA,
	C4_E,
	C4_CR,
	C4_IR,
	C4_AR,
	C4_MAV,
	C4_MAC,
	C4_MAT,
	C4_MPR,
	C4_MUI,
	C4_MVC,
	C4_MVI,
	C4_MVA,
	C4_MSC,
	C4_MSI,
	C4_MSA,
	C4_S,
	C4_AU,
	C4_R,
	C4_V,
	C4_RE,
	C4_U,
	C4_COUNT
};

static const struct cvss_metric cvss4_metrics[C4_COUNT] = {
	{"AV", "N|A|L|P", 1},	 {"AC", "L|H", 1},
	{"AT", "N|P", 1},	 {"PR", "N|L|H", 1},
	{"UI", "N|P|A", 1},	 {"VC", "H|L|N", 1},
	{"VI", "H|L|N", 1},	 {"VA", "H|L|N", 1},
	{"SC", "H|L|N", 1},	 {"SI", "H|L|N", 1},
	{"SA", "H|L|N", 1},	 {"E", "X|A|P|U", 0},
	{"CR", "X|H|M|L", 0},	 {"IR", "X|H|M|L", 0},
	{"AR", "X|H|M|L", 0},	 {"MAV", "X|N|A|L|P", 0},
	{"MAC", "X|L|H", 0},	 {"MAT", "X|N|P", 0},
	{"MPR", "X|N|L|H", 0},	 {"MUI", "X|N|P|A", 0},
	{"MVC", "X|H|L|N", 0},	 {"MVI", "X|H|L|N", 0},
	{"MVA", "X|H|L|N", 0},	 {"MSC", "X|H|L|N", 0},
	{"MSI", "X|S|H|L|N", 0}, {"MSA", "X|S|H|L|N", 0},
	{"S", "X|N|P", 0},	 {"AU", "X|N|Y", 0},
	{"R", "X|A|U|I", 0},	 {"V", "X|D|C", 0},
	{"RE", "X|L|M|H", 0},	 {"U", "X|Clear|Green|Amber|Red", 0},
};

/* The macrovector scores times ten, [eq1][eq2][eq3][eq4][eq5][eq6];
 * 0 where the macrovector does not exist (eq3 = 2 with eq6 = 0). */
static const unsigned char cvss4_lookup[3][2][3][3][3][2] = {
	{
		{
			{
				{{100, 99}, {98, 95}, {95, 92}},
				{{100, 96}, {93, 87}, {91, 81}},
				{{93, 90}, {89, 80}, {81, 68}},
			},
			{
				{{98, 95}, {95, 92}, {90, 84}},
				{{93, 92}, {89, 81}, {81, 65}},
				{{88, 80}, {78, 70}, {69, 48}},
			},
			{
				{{0, 92}, {0, 82}, {0, 72}},
				{{0, 79}, {0, 69}, {0, 50}},
				{{0, 69}, {0, 55}, {0, 27}},
			},
		},
		{
			{
				{{99, 97}, {95, 92}, {92, 85}},
				{{95, 91}, {90, 83}, {84, 71}},
				{{92, 81}, {82, 71}, {72, 53}},
			},
			{
				{{95, 93}, {92, 85}, {85, 73}},
				{{92, 82}, {80, 72}, {70, 59}},
				{{84, 70}, {71, 52}, {50, 30}},
			},
			{
				{{0, 86}, {0, 75}, {0, 52}},
				{{0, 71}, {0, 52}, {0, 29}},
				{{0, 63}, {0, 29}, {0, 17}},
			},
		},
	},
	{
		{
			{
				{{98, 95}, {94, 87}, {91, 81}},
				{{94, 89}, {86, 74}, {77, 64}},
				{{87, 75}, {74, 63}, {63, 49}},
			},
			{
				{{94, 89}, {88, 77}, {76, 67}},
				{{86, 76}, {74, 58}, {59, 50}},
				{{72, 57}, {57, 52}, {52, 25}},
			},
			{
				{{0, 83}, {0, 70}, {0, 54}},
				{{0, 65}, {0, 58}, {0, 26}},
				{{0, 53}, {0, 21}, {0, 13}},
			},
		},
		{
			{
				{{95, 90}, {88, 76}, {76, 70}},
				{{90, 77}, {75, 62}, {61, 53}},
				{{77, 66}, {68, 59}, {52, 30}},
			},
			{
				{{89, 78}, {76, 67}, {62, 58}},
				{{74, 59}, {57, 57}, {47, 23}},
				{{61, 52}, {57, 29}, {24, 16}},
			},
			{
				{{0, 71}, {0, 59}, {0, 30}},
				{{0, 58}, {0, 26}, {0, 15}},
				{{0, 23}, {0, 13}, {0, 6}},
			},
		},
	},
	{
		{
			{
				{{93, 87}, {86, 72}, {75, 58}},
				{{86, 74}, {74, 61}, {56, 34}},
				{{70, 54}, {52, 40}, {40, 22}},
			},
			{
				{{85, 75}, {74, 55}, {62, 51}},
				{{72, 57}, {55, 41}, {46, 19}},
				{{53, 36}, {34, 19}, {19, 8}},
			},
			{
				{{0, 64}, {0, 51}, {0, 20}},
				{{0, 47}, {0, 21}, {0, 11}},
				{{0, 24}, {0, 9}, {0, 4}},
			},
		},
		{
			{
				{{88, 75}, {73, 53}, {60, 50}},
				{{73, 55}, {59, 40}, {41, 20}},
				{{54, 43}, {45, 22}, {20, 11}},
			},
			{
				{{75, 55}, {58, 45}, {40, 21}},
				{{61, 51}, {48, 18}, {20, 9}},
				{{46, 18}, {17, 7}, {8, 2}},
			},
			{
				{{0, 53}, {0, 24}, {0, 14}},
				{{0, 24}, {0, 12}, {0, 5}},
				{{0, 10}, {0, 3}, {0, 1}},
			},
		},
	},
};

/* The most severe vectors of each EQ level (max_composed.js). */
static const char *const cvss4_max_eq1[3][3] = {
	{"AV:N/PR:N/UI:N/"},
	{"AV:A/PR:N/UI:N/", "AV:N/PR:L/UI:N/", "AV:N/PR:N/UI:P/"},
	{"AV:P/PR:N/UI:N/", "AV:A/PR:L/UI:P/"},
};
static const char *const cvss4_max_eq2[2][2] = {
	{"AC:L/AT:N/"},
	{"AC:H/AT:N/", "AC:L/AT:P/"},
};
static const char *const cvss4_max_eq3eq6[3][2][5] = {
	{{"VC:H/VI:H/VA:H/CR:H/IR:H/AR:H/"},
	 {"VC:H/VI:H/VA:L/CR:M/IR:M/AR:H/", "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M/"}},
	{{"VC:L/VI:H/VA:H/CR:H/IR:H/AR:H/", "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H/"},
	 {"VC:L/VI:H/VA:L/CR:H/IR:M/AR:H/", "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M/",
	  "VC:H/VI:L/VA:H/CR:M/IR:H/AR:M/", "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H/",
	  "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M/"}},
	{{NULL}, {"VC:L/VI:L/VA:L/CR:H/IR:H/AR:H/"}},
};
static const char *const cvss4_max_eq4[3] = {
	"SC:H/SI:S/SA:S/",
	"SC:H/SI:H/SA:H/",
	"SC:L/SI:L/SA:L/",
};
static const char *const cvss4_max_eq5[3] = {"E:A/", "E:P/", "E:U/"};

/* Depth of each EQ level, in steps (max_severity.js). */
static const int cvss4_depth_eq1[3] = {1, 4, 5};
static const int cvss4_depth_eq2[2] = {1, 2};
static const int cvss4_depth_eq3eq6[3][2] = {{7, 6}, {8, 8}, {0, 10}};
static const int cvss4_depth_eq4[3] = {6, 5, 4};

/* The metrics whose distance is measured, and their levels. */
static const struct {
	const char *name;
	const char *values;
	double levels[4];
} cvss4_levels[] = {
	{"AV", "NALP", {0.0, 0.1, 0.2, 0.3}},
	{"PR", "NLH", {0.0, 0.1, 0.2}},
	{"UI", "NPA", {0.0, 0.1, 0.2}},
	{"AC", "LH", {0.0, 0.1}},
	{"AT", "NP", {0.0, 0.1}},
	{"VC", "HLN", {0.0, 0.1, 0.2}},
	{"VI", "HLN", {0.0, 0.1, 0.2}},
	{"VA", "HLN", {0.0, 0.1, 0.2}},
	{"SC", "HLN", {0.1, 0.2, 0.3}},
	{"SI", "SHLN", {0.0, 0.1, 0.2, 0.3}},
	{"SA", "SHLN", {0.0, 0.1, 0.2, 0.3}},
	{"CR", "HML", {0.0, 0.1, 0.2}},
	{"IR", "HML", {0.0, 0.1, 0.2}},
	{"AR", "HML", {0.0, 0.1, 0.2}},
	{"E", "APU", {0.0, 0.1, 0.2}},
};
enum {
	L_AV,
	L_PR,
	L_UI,
	L_AC,
	L_AT,
	L_VC,
	L_VI,
	L_VA,
	L_SC,
	L_SI,
	L_SA,
	L_CR,
	L_IR,
	L_AR,
	L_E,
	L_COUNT
};

struct cvss4_vec {
	int idx[C4_COUNT];
};

/* The one-letter value of metric m ('X' when unset); not for U. */
static char cvss4_letter(const struct cvss4_vec *v, int m)
{
	return v->idx[m] < 0 ? 'X' : cvss4_metrics[m].values[2 * v->idx[m]];
}

/* The value that counts: a set modified metric wins over the base one;
 * unset E means A (attacked), unset CR/IR/AR mean H. */
static char cvss4_eff(const struct cvss4_vec *v, const char *name)
{
	char buf[8];
	int m = -1, mm = -1;
	char c;

	for (int i = 0; i < C4_COUNT; i++)
		if (!strcmp(cvss4_metrics[i].name, name))
			m = i;
	snprintf(buf, sizeof(buf), "M%s", name);
	for (int i = 0; i < C4_COUNT; i++)
		if (!strcmp(cvss4_metrics[i].name, buf))
			mm = i;
	c = cvss4_letter(v, m);
	if (c == 'X' && !strcmp(name, "E"))
		return 'A';
	if (c == 'X' &&
	    (!strcmp(name, "CR") || !strcmp(name, "IR") || !strcmp(name, "AR")))
		return 'H';
	if (mm >= 0 && cvss4_letter(v, mm) != 'X')
		return cvss4_letter(v, mm);
	return c;
}

static void cvss4_eqs(const struct cvss4_vec *v, int eq[6])
{
	char av = cvss4_eff(v, "AV"), pr = cvss4_eff(v, "PR");
	char ui = cvss4_eff(v, "UI"), ac = cvss4_eff(v, "AC");
	char at = cvss4_eff(v, "AT"), vc = cvss4_eff(v, "VC");
	char vi = cvss4_eff(v, "VI"), va = cvss4_eff(v, "VA");
	char sc = cvss4_eff(v, "SC"), si = cvss4_eff(v, "SI");
	char sa = cvss4_eff(v, "SA"), e = cvss4_eff(v, "E");
	char cr = cvss4_eff(v, "CR"), ir = cvss4_eff(v, "IR");
	char ar = cvss4_eff(v, "AR");
	char msi = cvss4_letter(v, C4_MSI), msa = cvss4_letter(v, C4_MSA);

	if (av == 'N' && pr == 'N' && ui == 'N')
		eq[0] = 0;
	else if ((av == 'N' || pr == 'N' || ui == 'N') && av != 'P')
		eq[0] = 1;
	else
		eq[0] = 2;
	eq[1] = ac == 'L' && at == 'N' ? 0 : 1;
	if (vc == 'H' && vi == 'H')
		eq[2] = 0;
	else if (vc == 'H' || vi == 'H' || va == 'H')
		eq[2] = 1;
	else
		eq[2] = 2;
	if (msi == 'S' || msa == 'S')
		eq[3] = 0;
	else if (sc == 'H' || si == 'H' || sa == 'H')
		eq[3] = 1;
	else
		eq[3] = 2;
	eq[4] = e == 'A' ? 0 : e == 'P' ? 1 : 2;
	eq[5] = (cr == 'H' && vc == 'H') || (ir == 'H' && vi == 'H') ||
				(ar == 'H' && va == 'H')
			? 0
			: 1;
}

/* The score of a macrovector, or NAN where there is none. */
static double cvss4_macro(int e1, int e2, int e3, int e4, int e5, int e6)
{
	if (e1 > 2 || e2 > 1 || e3 > 2 || e4 > 2 || e5 > 2 || e6 > 1)
		return NAN;
	if (!cvss4_lookup[e1][e2][e3][e4][e5][e6])
		return NAN;
	return cvss4_lookup[e1][e2][e3][e4][e5][e6] / 10.0;
}

static double cvss4_level(int l, char c)
{
	const char *p = strchr(cvss4_levels[l].values, c);

	return p ? cvss4_levels[l].levels[p - cvss4_levels[l].values] : NAN;
}

/* A metric's value in a composed "K:V/K:V/" string. */
static char cvss4_extract(const char *s, const char *name)
{
	size_t n = strlen(name);

	while (*s) {
		const char *slash = strchr(s, '/');

		if (!strncmp(s, name, n) && s[n] == ':')
			return s[n + 1];
		if (!slash)
			break;
		s = slash + 1;
	}
	return 'X';
}

/* Distances of v from the first max vector it does not exceed. */
static void cvss4_distances(const struct cvss4_vec *v, const int eq[6],
			    double d[L_COUNT])
{
	const char *const *m3 = cvss4_max_eq3eq6[eq[2]][eq[5]];
	char composed[160];

	for (int a = 0; a < 3 && cvss4_max_eq1[eq[0]][a]; a++)
		for (int b = 0; b < 2 && cvss4_max_eq2[eq[1]][b]; b++)
			for (int c = 0; c < 5 && m3[c]; c++) {
				bool ok = true;

				snprintf(composed, sizeof(composed),
					 "%s%s%s%s%s", cvss4_max_eq1[eq[0]][a],
					 cvss4_max_eq2[eq[1]][b], m3[c],
					 cvss4_max_eq4[eq[3]],
					 cvss4_max_eq5[eq[4]]);
				for (int l = 0; l < L_COUNT; l++) {
					const char *name = cvss4_levels[l].name;

					d[l] = cvss4_level(l,
							   cvss4_eff(v, name)) -
					       cvss4_level(l, cvss4_extract(
								      composed,
								      name));
					if (d[l] < 0)
						ok = false;
				}
				if (ok)
					return;
			}
}

static double cvss4_score(const struct cvss4_vec *v)
{
	static const char *const impact[] = {"VC", "VI", "VA",
					     "SC", "SI", "SA"};
	const double step = 0.1;
	double value, lower[5], dist[5], depth[5], d[L_COUNT], sum = 0;
	int eq[6], n = 0, i;

	for (i = 0; i < 6; i++)
		if (cvss4_eff(v, impact[i]) != 'N')
			break;
	if (i == 6)
		return 0.0;
	cvss4_eqs(v, eq);
	value = cvss4_macro(eq[0], eq[1], eq[2], eq[3], eq[4], eq[5]);
	lower[0] = cvss4_macro(eq[0] + 1, eq[1], eq[2], eq[3], eq[4], eq[5]);
	lower[1] = cvss4_macro(eq[0], eq[1] + 1, eq[2], eq[3], eq[4], eq[5]);
	if (eq[2] == 0 && eq[5] == 0) {
		double l = cvss4_macro(eq[0], eq[1], eq[2], eq[3], eq[4], 1);
		double r = cvss4_macro(eq[0], eq[1], 1, eq[3], eq[4], eq[5]);

		/* The calculator's "l > r ? l : r". */
		lower[2] = l > r ? l : r;
	} else if (eq[2] == 1 && eq[5] == 0) {
		lower[2] = cvss4_macro(eq[0], eq[1], 1, eq[3], eq[4], 1);
	} else if (eq[5] == 1 && eq[2] < 2) {
		lower[2] =
			cvss4_macro(eq[0], eq[1], eq[2] + 1, eq[3], eq[4], 1);
	} else {
		lower[2] = NAN; /* 21 has nothing below it */
	}
	lower[3] = cvss4_macro(eq[0], eq[1], eq[2], eq[3] + 1, eq[4], eq[5]);
	lower[4] = cvss4_macro(eq[0], eq[1], eq[2], eq[3], eq[4] + 1, eq[5]);

	cvss4_distances(v, eq, d);
	dist[0] = d[L_AV] + d[L_PR] + d[L_UI];
	dist[1] = d[L_AC] + d[L_AT];
	dist[2] = d[L_VC] + d[L_VI] + d[L_VA] + d[L_CR] + d[L_IR] + d[L_AR];
	dist[3] = d[L_SC] + d[L_SI] + d[L_SA];
	dist[4] = 0;
	depth[0] = cvss4_depth_eq1[eq[0]] * step;
	depth[1] = cvss4_depth_eq2[eq[1]] * step;
	depth[2] = cvss4_depth_eq3eq6[eq[2]][eq[5]] * step;
	depth[3] = cvss4_depth_eq4[eq[3]] * step;
	depth[4] = 1 * step;
	for (i = 0; i < 5; i++) {
		double available = value - lower[i];

		if (isnan(available))
			continue;
		n++;
		sum += i == 4 ? available * 0
			      : available * (dist[i] / depth[i]);
	}
	if (n)
		value -= sum / n;
	if (value < 0)
		value = 0;
	if (value > 10)
		value = 10;
	/* JavaScript's Math.round(value * 10) / 10. */
	return floor(value * 10 + 0.5) / 10;
}

int cvss4_compute(const char *vector, struct cvss_score *out, struct err *e)
{
	struct cvss4_vec v;

	if (strncmp(vector, "CVSS:4.0/", 9))
		return err_set(e, ERR_INVALID, "not a CVSS v4.0 vector");
	if (cvss_parse_metrics(vector + 9, cvss4_metrics, C4_COUNT, v.idx, e) <
	    0)
		return -1;
	out->major = 4;
	out->minor = 0;
	out->score = cvss4_score(&v);
	return 0;
}
