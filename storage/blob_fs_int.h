/* blob_fs_int.h: what the filesystem blob backend shares between its
 * files: blob_fs.c (blob bytes and uploads) and blob_fs_maint.c (the
 * maintenance vtable: walks, removal, quarantine).  Nothing outside
 * storage/ includes this.
 */
#ifndef STORAGE_BLOB_FS_INT_H
#define STORAGE_BLOB_FS_INT_H

#include "storage/storage_int.h"

int stor_fs_dirfd(struct stor_blobs *b);
const char *stor_fs_dir(struct stor_blobs *b);
extern const struct stor_blob_maint_ops stor_fs_maint_ops;

#endif
