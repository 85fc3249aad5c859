/* detect_int.h: package detectors.  Each one reads one file of an image (from
 * memory, already bounded by the layer walker) and reports the packages it
 * names.  Detectors never fail: a file they cannot read becomes a note, so
 * a scan always says what it could not see; one too costly to read whole
 * (sqlite limits, the deadline, a lockfile jansson would spend too much
 * on) is also a budget hit on det_file.meter, making the scan incomplete.
 *
 * Which files are read is decided by path alone (det_want_file()), except
 * Go binaries: regular files with an exec bit whose first bytes are the ELF
 * magic (det_is_elf()).
 */
#ifndef SCANNER_DETECT_INT_H
#define SCANNER_DETECT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "scanner/inventory_int.h"

enum det_kind {
	DET_NONE = 0,
	DET_OSRELEASE,	    /* etc/os-release, usr/lib/os-release */
	DET_ALPINE_RELEASE, /* etc/alpine-release */
	DET_DPKG,	    /* var/lib/dpkg/status */
	DET_DPKG_D,	    /* var/lib/dpkg/status.d/<pkg> (distroless) */
	DET_APK,	    /* lib/apk/db/installed */
	DET_RPM_SQLITE,	    /* rpmdb.sqlite */
	DET_RPM_BDB,	    /* Packages (BerkeleyDB hash) */
	DET_RPM_NDB,	    /* Packages.db (NDB, SUSE) */
	DET_PYTHON,	    /* *.dist-info/METADATA, *.egg-info[/PKG-INFO] */
	DET_NPM_LOCK,  /* package-lock.json, node_modules/.package-lock.json */
	DET_NPM_PKG,   /* node_modules/<name>/package.json */
	DET_JAVA,      /* *.jar, *.war, *.ear */
	DET_GO,	       /* ELF executables carrying Go build info */
	DET_NODE,      /* usr/local/bin/node (official images) */
	DET_PYTHON_RT, /* usr/local/bin/python3.N, libpython3.N.so */
	DET_JAVA_RELEASE,     /* opt/java/openjdk/release (eclipse-temurin) */
	DET_CONTENT_MANIFEST, /* root/buildinfo/content_manifests/<x>.json
			       * (Red Hat's content sets) */
};

/* Caps on what one file may cost, per format; the scan's file_bytes
 * budget may lower them.  A file over its cap is a budget hit, not read. */
#define DET_MAX_FILE	 (64u << 20)
#define DET_MAX_RPMDB	 (128u << 20)
#define DET_MAX_GO	 (256u << 20)
#define DET_MAX_JAR	 (256u << 20) /* fat jars of 100 MB+ are common */
#define DET_MAX_HEADERS	 (1u << 20)   /* METADATA: the headers come first */
#define DET_MAX_RUNTIME	 (256u << 20) /* node is a 100 MB+ static binary */
#define DET_MAX_MANIFEST (4u << 20)   /* an ICM lists image contents too */

struct det_want {
	enum det_kind kind;
	size_t max;  /* read at most this many bytes */
	bool prefix; /* a prefix of max bytes is enough: no note if larger */
	bool read;   /* false: the file's presence is all that matters */
};

/* Which detector wants the regular file at path (normalised: no leading
 * "/" or "./", no "." or ".." components).  mode is the tar entry's mode. */
bool det_want_file(const char *path, unsigned mode, struct det_want *w);
/* Whether a symlink at path matters (the os-release files). */
bool det_want_link(const char *path);
/* Whether a file of this mode may be a Go binary (exec bit set). */
bool det_maybe_exec(unsigned mode);
bool det_is_elf(const void *data, size_t len);

/* What one file yields.  inv.os is filled by the os-release detectors only.
 * loc[i] is the npm install location ("app/node_modules/x") of inv.pkgs[i],
 * NULL for other ecosystems; it lets lockfiles and installed package.json
 * files be de-duplicated. */
struct det_out {
	struct scan_inventory inv;
	char **loc;
	size_t loc_alloc;
	size_t max_pkgs; /* the packages budget left; 0: no limit */
	bool full;	 /* det_out_add() dropped one for max_pkgs */
};

void det_out_init(struct det_out *o);
void det_out_release(struct det_out *o);
/* Appends a copy of p with install location loc (may be NULL), unless
 * max_pkgs are there already: then sets full and drops it. */
void det_out_add(struct det_out *o, const struct scan_pkg *p, const char *loc);

struct scan_meter;

/* The file a detector looks at.  data is NUL-terminated (len excludes it).
 * meter (NULL: no limits) is where a detector records a budget it hit
 * (the deadline, or a file too costly to parse) and asks whether the scan
 * must stop. */
struct det_file {
	const char *path;
	const char *layer;
	const char *data;
	size_t len;
	struct scan_meter *meter;
};

/* det_out_add() of p as read from f: the copy names f's layer and path
 * (p's own are ignored). */
void det_out_found(struct det_out *o, const struct det_file *f,
		   const struct scan_pkg *p, const char *loc);

/* Runs the detector for kind on f, appending to out. */
void det_run(enum det_kind kind, const struct det_file *f, struct det_out *out);

/* The detectors, one per file format (detect_<name>.c). */
void det_dpkg(const struct det_file *f, bool status_d, struct det_out *out);
void det_apk(const struct det_file *f, struct det_out *out);
void det_rpm_sqlite(const struct det_file *f, struct det_out *out);
void det_rpm_bdb(const struct det_file *f, struct det_out *out);
void det_rpm_ndb(const struct det_file *f, struct det_out *out);

/* An rpm header blob (the same in all three databases), the tags we use.
 * rpm_hdr_parse() returns 0, or -1 when the blob is malformed; either
 * way h is then released with rpm_hdr_release(). */
struct rpm_hdr {
	char *name, *version, *release, *arch, *srpm;
	long epoch; /* -1: none */
};
int rpm_hdr_parse(const void *blob, size_t len, struct rpm_hdr *h);
void rpm_hdr_release(struct rpm_hdr *h);

/* One header blob: adds its package to out unless it is malformed or an
 * imported gpg-pubkey. */
enum rpm_blob_kind { RPM_BLOB_PKG, RPM_BLOB_KEY, RPM_BLOB_BAD };
enum rpm_blob_kind det_rpm_blob(const struct det_file *f, const void *blob,
				size_t len, struct det_out *out);
/* Largest header blob any rpm database reader accepts. */
#define DET_MAX_RPM_BLOB (64u << 20)

/* The header blobs of a BerkeleyDB or NDB rpm database f, in file order:
 * fn gets each one (return false to stop).  Returns 0; or -1 with why
 * set to "not analysed: ..." (not such a database) or "read stopped
 * early: ..." (malformed past some point, the deadline of f->meter) and
 * *stopped true in the second case.  bad counts values that were not
 * header blobs at all. */
typedef bool (*rpmdb_blob_fn)(void *arg, const void *blob, size_t len);
struct rpmdb_walk {
	rpmdb_blob_fn fn;
	void *arg;
	size_t bad;
	bool stopped;
	char why[192];
};
int rpmdb_bdb_walk(const struct det_file *f, struct rpmdb_walk *w);
int rpmdb_ndb_walk(const struct det_file *f, struct rpmdb_walk *w);
void det_python(const struct det_file *f, struct det_out *out);
void det_npm_lock(const struct det_file *f, struct det_out *out);
void det_npm_pkg(const struct det_file *f, struct det_out *out);
void det_java(const struct det_file *f, struct det_out *out);
void det_go(const struct det_file *f, struct det_out *out);
/* Runtimes in their official images' layouts (detect_runtime.c). */
void det_node(const struct det_file *f, struct det_out *out);
void det_python_rt(const struct det_file *f, struct det_out *out);
void det_java_release(const struct det_file *f, struct det_out *out);
/* Red Hat's content manifests (detect_content.c): content sets only. */
void det_content_manifest(const struct det_file *f, struct det_out *out);

/* Counts the values and the nesting of the JSON text f before jansson
 * builds it; false (a budget hit on f->meter and a note in out) when it
 * has more than max_values values or nests deeper than max_depth. */
bool det_json_affordable(const struct det_file *f, struct det_out *out,
			 size_t max_values, size_t max_depth);
/* The JSON object f holds (duplicate keys refused), if affordable as
 * above; else NULL and a note in out.  The caller json_decref()s it. */
json_t *det_json_object(const struct det_file *f, struct det_out *out,
			size_t max_values, size_t max_depth);

/* A "Key: value" line (RFC 822 style headers, dpkg stanzas): if line
 * (n bytes) is field key (any case when nocase), sets *v and *vn to the
 * value without surrounding blanks. */
bool det_field(const char *line, size_t n, const char *key, bool nocase,
	       const char **v, size_t *vn);

/* Line iteration over a memory block: sets *line and *len to the next line
 * (without "\n" or "\r\n"); returns false at the end. */
struct det_lines {
	const char *p, *end;
};
bool det_next_line(struct det_lines *it, const char **line, size_t *len);

/* True when s is printable ASCII, safe to quote in a report as it is. */
bool det_printable(const char *s);

/* Longest name or version we accept; longer values mark a record malformed. */
#define DET_MAX_FIELD 1024

#endif
