/* dirlru.c: least recently used files of a directory removed past a
 * budget (dirlru.h). */
#include "common/dirlru.h"
#include "common/xmalloc.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/banned.h"

struct dirlru_file {
	char *name;
	struct timespec used;
	uint64_t size;
};

static int dirlru_cmp(const void *a, const void *b)
{
	const struct dirlru_file *x = a, *y = b;

	if (x->used.tv_sec != y->used.tv_sec)
		return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
	if (x->used.tv_nsec != y->used.tv_nsec)
		return x->used.tv_nsec < y->used.tv_nsec ? -1 : 1;
	return 0;
}

static bool dirlru_over(const struct dirlru_budget *b, size_t files,
			uint64_t bytes)
{
	return files > b->max_files || bytes > b->max_bytes;
}

int dirlru_prune(const char *dir, const struct dirlru_budget *b)
{
	struct dirlru_file *v = NULL;
	size_t n = 0, cap = 0, files;
	uint64_t bytes = 0;
	struct dirent *de;
	struct stat sb;
	int removed = 0;
	DIR *d = opendir(dir);

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) <
			    0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		if (b->skip && b->skip(b->arg, dirfd(d), de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n].name = xstrdup(de->d_name);
		v[n].used = sb.st_mtim;
		v[n].size = (uint64_t)sb.st_size;
		bytes += v[n].size;
		n++;
	}
	files = n;
	if (dirlru_over(b, files, bytes)) {
		qsort(v, n, sizeof(*v), dirlru_cmp);
		for (size_t i = 0; i < n && dirlru_over(b, files, bytes); i++)
			if (unlinkat(dirfd(d), v[i].name, 0) == 0) {
				files--;
				bytes -= v[i].size;
				removed++;
			}
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	closedir(d);
	return removed;
}
