/* dirlru.h: a directory of cache files kept within a budget, the least
 * recently used going first.
 *
 * "Used" is a file's mtime: a cache that wants reads to count renews it
 * on each read (futimens(fd, NULL)).  The caller serialises prunes of one
 * directory if it needs to; files written meanwhile by others are merely
 * counted or not.
 */
#ifndef COMMON_DIRLRU_H
#define COMMON_DIRLRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether the regular file name (of the directory open as dirfd) is left
 * out: neither counted nor removed.  It may remove the file itself. */
typedef bool (*dirlru_skip_fn)(void *arg, int dirfd, const char *name);

struct dirlru_budget {
	size_t max_files;    /* SIZE_MAX: any number */
	uint64_t max_bytes;  /* UINT64_MAX: any size */
	dirlru_skip_fn skip; /* NULL: every regular file counts */
	void *arg;
};

/* Lists dir's regular files (symlinks, directories and "."/".." are never
 * touched) and removes the least recently used until at most max_files
 * remain, holding at most max_bytes.  Returns how many it removed, or -1
 * (errno set) if dir cannot be read. */
int dirlru_prune(const char *dir, const struct dirlru_budget *b);

#endif
