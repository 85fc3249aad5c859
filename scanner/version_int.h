/* version_int.h: version ordering, one comparator per packaging ecosystem.
 *
 * Every comparator returns <0, 0 or >0 (always -1, 0 or +1) like strcmp.
 * They take any NUL-terminated string: a version the ecosystem would reject
 * is still ordered deterministically (the rules below say how), never an
 * error and never a crash.  Numbers are compared as digit strings, so they
 * may be arbitrarily long.
 */
#ifndef SCANNER_VERSION_INT_H
#define SCANNER_VERSION_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "scanner/eco_int.h"

/* The comparator of an ecosystem (its eco_info row: dpkg for Debian and
 * Ubuntu, apk, rpm, PEP 440 for PyPI, SemVer for npm, Go and crates.io,
 * Maven); ECO_UNKNOWN falls back to strcmp. */
int ver_cmp(enum scan_eco eco, const char *a, const char *b);

/* dpkg: [epoch:]upstream[-revision]; `~` sorts before everything, even the
 * end of the string.  A non-numeric "epoch" is taken as part of upstream. */
int ver_cmp_dpkg(const char *a, const char *b);
/* apk-tools: digits{.digits}[letter]{_suffix[N]}[-rN]; suffixes order
 * _alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p.
 * Comparison stops at the first token apk would call invalid, as apk does. */
int ver_cmp_apk(const char *a, const char *b);
/* rpm: [epoch:]version[-release] with rpmvercmp() on each part (tilde sorts
 * first, caret after the end of a string but before anything else). */
int ver_cmp_rpm(const char *a, const char *b);
/* SemVer 2.0 precedence, leniently: an optional leading "v", any number of
 * numeric components (missing ones are 0; a fourth and later one is build
 * data), pre-release after '-', build metadata after '+' ignored (so Go's
 * "+incompatible" is too). */
int ver_cmp_semver(const char *a, const char *b);
/* PEP 440 (epoch, release, pre/post/dev, local; spellings normalised as
 * packaging does).  Strings that are not PEP 440 are "legacy" versions:
 * they sort before every valid version and among themselves by setuptools'
 * legacy key, as packaging < 22 did. */
int ver_cmp_pep440(const char *a, const char *b);
/* Maven's ComparableVersion (items, sub-lists at '-' and at digit/letter
 * transitions, qualifier order alpha < beta < milestone < rc = cr <
 * snapshot < "" = ga = final = release < sp < other qualifiers). */
int ver_cmp_maven(const char *a, const char *b);

/* Compares two runs of decimal digits by value (leading zeros ignored). */
int ver_numcmp(const char *a, size_t alen, const char *b, size_t blen);

#endif
