/* backup_int.h: backup and restore of a store (backup.c), for its
 * command and its tests.  Nothing outside storage/ and the tests includes
 * this.
 *
 * A backup is itself a data directory that serve can open: meta.db (an
 * sqlite online-backup snapshot, without upload sessions), every blob
 * that snapshot refers to (hard links when on the same filesystem, else
 * copies), vulndb.db (snapshot too), htpasswd and token.key, and last a
 * marker file, BACKUP_MARKER, whose absence means the backup is
 * incomplete.  A store on S3 and PostgreSQL backs up into the same
 * format, and any backup restores onto either.
 */
#ifndef STORAGE_BACKUP_INT_H
#define STORAGE_BACKUP_INT_H

#include "storage/storage_int.h"

#define BACKUP_MARKER "customs-backup"

struct stor_backup_opts {
	bool copy;   /* never hard-link a blob: independent copies */
	bool verify; /* re-hash every blob against its digest */
	bool force;  /* restore: into a directory that is not empty */
	/* The store's backends (NULL: fs); with stor_meta_shared(), the
	 * metadata is PostgreSQL's.  Then a backup copies the rows into a
	 * fresh meta.db and streams the blobs from S3, and a restore fills
	 * an empty database and bucket prefix. */
	const struct stor_opts *backend;
	/* Each blob the snapshot names that the source lacks, or that
	 * fails verification (kind "missing" or "corrupt").  May be NULL. */
	stor_note_fn on_problem;
	void *arg;
};

struct stor_backup_stats {
	size_t blobs;		 /* placed */
	size_t linked, copied;	 /* of those */
	size_t missing, corrupt; /* named by the snapshot, not placed */
	int64_t bytes;
	size_t files;	/* vulndb.db, htpasswd, token.key */
	int64_t schema; /* meta.db's user_version */
};

/* Copies the store in data into dest (absent or empty) while a server may
 * run: meta.db snapshotted, then its blobs placed under the shared gc pin
 * (gc waits to delete; pushes go on).  Missing or corrupt blobs are
 * reported and counted, not fatal: the copy then mirrors the source's
 * damage, which fsck names. */
int stor_backup(const char *data, const char *dest,
		const struct stor_backup_opts *o, struct stor_backup_stats *out,
		struct err *e);
/* Puts a backup from src into data (absent or empty unless o->force),
 * holding data's serve lock (ERR_BUSY while a server runs there).
 * meta.db goes in last, so an interrupted restore leaves no store. */
int stor_restore(const char *src, const char *data,
		 const struct stor_backup_opts *o,
		 struct stor_backup_stats *out, struct err *e);

#endif
