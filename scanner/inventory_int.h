/* inventory_int.h: what an image contains, as the detectors find it and the
 * matcher reads it.  Shared by the image reader/detectors and vulndb.
 *
 * Ownership: an inventory owns every string in it; inv_release() releases all.
 */
#ifndef SCANNER_INVENTORY_INT_H
#define SCANNER_INVENTORY_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "scanner/eco_int.h"

struct scan_os {
	char *id;	   /* os-release ID: "debian", "alpine", ... or NULL */
	char *version_id;  /* VERSION_ID: "12", "3.18.0" ... or NULL */
	char *pretty_name; /* PRETTY_NAME or NULL */
	char *codename;	   /* VERSION_CODENAME or NULL */
};

/* How sure the scan is of a package's name and version: a package
 * database or pom.properties says so (SCAN_CONF_HIGH, the default); a
 * runtime's own version string or release file names the version of a
 * known file (MEDIUM); a jar manifest's attributes give coordinates that
 * are a guess (LOW). */
enum scan_conf { SCAN_CONF_HIGH = 0, SCAN_CONF_MEDIUM, SCAN_CONF_LOW };

struct scan_pkg {
	enum scan_eco eco;
	char *name; /* as installed (binary package, dist name) */
	char *version;
	char *src_name;	   /* dpkg Source / apk origin / srpm; or NULL */
	char *src_version; /* source version when it differs; or NULL */
	char *layer;	   /* digest of the layer that introduced it */
	char *path;	   /* the file it was read from, in-image path */
	enum scan_conf conf;
	char *evidence; /* how it was identified, when conf is not HIGH:
			 * "MANIFEST.MF Bundle-SymbolicName, Bundle-Version";
			 * or NULL */
};

struct scan_inventory {
	struct scan_os os;
	struct scan_pkg *pkgs;
	size_t npkgs, alloc;
	char **notes; /* "not analysed" and similar remarks */
	size_t nnotes, notes_alloc;
	size_t fs_layers; /* layers read as filesystems (decoded as tar) */
	/* Red Hat content sets: the repositories the image's packages came
	 * from ("rhel-8-for-x86_64-baseos-eus-rpms__8_DOT_8"), as its
	 * root/buildinfo/content_manifests say; they choose the Red Hat
	 * streams matched (vulndb_match.c). */
	char **content_sets;
	size_t ncontent_sets;
};

void inv_init(struct scan_inventory *inv);
void inv_release(struct scan_inventory *inv);
/* Appends a copy of p (strings duplicated; NULLs stay NULL). */
void inv_add_pkg(struct scan_inventory *inv, const struct scan_pkg *p);
void inv_add_note(struct scan_inventory *inv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Adds a copy of content set cs unless it is there already.  False (and
 * nothing added) when cs is no repository label (1 to
 * INV_MAX_CONTENT_SET bytes of [A-Za-z0-9._-]) or INV_MAX_CONTENT_SETS
 * are there. */
#define INV_MAX_CONTENT_SET  128
#define INV_MAX_CONTENT_SETS 64
bool inv_add_content_set(struct scan_inventory *inv, const char *cs);

#endif
