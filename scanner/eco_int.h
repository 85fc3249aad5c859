/* eco_int.h: the packaging ecosystems, one table row each.
 *
 * What the scanner knows of an ecosystem is its row, not a switch in each
 * file that meets one: the name reports spell, the version order, where
 * its advisories are in the DB (the OSV ecosystem, how an OSV release
 * names the image's OS, which package names are looked up) and how its
 * package URL is written.  Adding an ecosystem is adding an enum value, a
 * row in eco.c and its detector.
 */
#ifndef SCANNER_ECO_INT_H
#define SCANNER_ECO_INT_H

#include <stdbool.h>

enum scan_eco {
	ECO_UNKNOWN = 0,
	ECO_DEBIAN, /* dpkg on Debian */
	ECO_UBUNTU, /* dpkg on Ubuntu */
	ECO_ALPINE, /* apk */
	ECO_RPM,    /* rpm; the OSV ecosystem comes from the OS */
	ECO_PYPI,
	ECO_NPM,
	ECO_GO,
	ECO_MAVEN,
	ECO_CRATES,
	ECO_WOLFI,	/* apk on Wolfi (os-release ID wolfi) */
	ECO_CHAINGUARD, /* apk on Chainguard OS (ID chainguard) */
	ECO_RUNTIME,	/* a language runtime found by its files (node,
			 * python, java), matched against OSV's Bitnami
			 * records, which use upstream version numbers */
	ECO_COUNT
};

/* How the ecosystem of an OSV affected[] entry names an OS release:
 * "Debian:12", "Ubuntu:22.04:LTS", "Red Hat:enterprise_linux:9::appstream". */
enum eco_rel_rule {
	ECO_REL_NONE,	/* language ecosystems: no release suffix */
	ECO_REL_EXACT,	/* none, or exactly the release */
	ECO_REL_UBUNTU, /* none, the release, or the release + ":LTS" */
	ECO_REL_REDHAT, /* "enterprise_linux:<release>" [":..."] */
	ECO_REL_PREFIX, /* none, or the release followed by end or '-' */
};

/* The OSV ecosystem of a package, and the release of the image's OS its
 * entries name, taken from os-release. */
struct eco_osv {
	const char *eco; /* "Debian"; NULL: none (see ECO_OSV_BY_OS) */
	enum eco_rel_rule rule;
	int part;	    /* VERSION_ID's leading components (1: "12",
			     * 2: "3.18"); 0: all of it; -1: PRETTY_NAME */
	const char *prefix; /* before the release: "v" (Alpine), or NULL */
};

/* Which package names are looked up in the DB. */
enum eco_names {
	ECO_NAMES_BINARY, /* the name as installed */
	ECO_NAMES_SOURCE, /* the source package's (dpkg Source, apk
			   * origin), else the name */
	ECO_NAMES_SRPM,	  /* the name and the source rpm's name (or
			   * apk origin: Wolfi names subpackages too) */
	ECO_NAMES_PEP503, /* the name PEP 503 normalised, as stored */
};

/* How the name is written in a package URL. */
enum eco_purl_name {
	ECO_PURL_NAME,	/* as is */
	ECO_PURL_LOWER, /* the dist (source) name, lower case */
	ECO_PURL_GROUP, /* "group:artifact": group is the namespace */
	ECO_PURL_SCOPE, /* "@scope/name": @scope is the namespace */
	ECO_PURL_PATH,	/* a module path: its '/' stay */
};

enum eco_flags {
	/* Matched with the source package's version (dpkg). */
	ECO_SOURCE_VERSION = 1 << 0,
	/* Without VERSION_ID the release comes from VERSION_CODENAME. */
	ECO_CODENAME = 1 << 1,
	/* Alpine's secdb is searched too, for release "v<major.minor>". */
	ECO_SECDB = 1 << 2,
	/* The OSV ecosystem and release follow the os-release ID (rpm:
	 * Red Hat, Rocky Linux, openSUSE, ...; see vulndb_match.c). */
	ECO_OSV_BY_OS = 1 << 3,
	/* An OS package: its purl gets the distro and upstream qualifiers,
	 * and the os-release ID as namespace when purl_ns is NULL. */
	ECO_OS_PACKAGE = 1 << 4,
	/* The version's epoch goes to the purl's epoch qualifier (rpm). */
	ECO_PURL_EPOCH = 1 << 5,
	/* purl distro=<VERSION_ID>, without the ID in front (apk). */
	ECO_PURL_DISTRO_BARE = 1 << 6,
	/* An OSV "versions" list is compared in version order, not as
	 * strings: it holds raw upstream spellings (PyPI's "0.3.2.RC1"). */
	ECO_VERSIONS_BY_ORDER = 1 << 7,
	/* The Debian Security Tracker's data covers it too. */
	ECO_TRACKER = 1 << 8,
};

struct eco_info {
	const char *name; /* in reports: "Debian", "crates.io" */
	/* Version order, as version_int.h's comparators; NULL: byte order. */
	int (*cmp)(const char *a, const char *b);
	struct eco_osv osv;
	enum eco_names names;
	const char *purl_type; /* "deb", "cargo"; "generic" */
	const char *purl_ns;   /* fixed namespace ("debian"), or NULL */
	enum eco_purl_name purl_name;
	unsigned flags; /* enum eco_flags */
};

/* The row of eco; values out of range get ECO_UNKNOWN's.  Never NULL. */
const struct eco_info *eco_info(enum scan_eco eco);
/* "Debian", "PyPI", ...: the name reports use. */
const char *scan_eco_name(enum scan_eco eco);
/* The ecosystem a report names (scan_eco_name()); ECO_UNKNOWN if none. */
enum scan_eco eco_by_name(const char *name);
/* The row whose OSV ecosystem is osv ("PyPI"), or NULL. */
const struct eco_info *eco_by_osv(const char *osv);
struct scan_os;
/* The OSV ecosystem of rpm packages on os, by its os-release ID ("rhel":
 * "Red Hat"), or NULL when none publishes OSV records for it. */
const struct eco_osv *eco_rpm_osv(const struct scan_os *os);
/* Whether os rebuilds another distribution whose advisories its rpm
 * packages are matched against (CentOS Linux: Red Hat's). */
bool eco_rpm_rebuild(const struct scan_os *os);
/* Whether the OSV ecosystem osv ("Red Hat", "Debian", not "PyPI") is an
 * OS distribution's: its records rate for the distribution (vendor). */
bool eco_osv_is_os(const char *osv);

/* PEP 503: lower case, runs of "-", "_", "." become one "-".  Caller frees. */
char *eco_pep503(const char *name);

#endif
