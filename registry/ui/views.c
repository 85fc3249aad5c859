/* views.c: texts the UI's API made from reports, kept by key (ui.h). */
#include "registry/ui/ui.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/digest.h"
#include "common/dirlru.h"
#include "common/fdio.h"
#include "common/xmalloc.h"
#include "common/banned.h"

/* In memory: bounded in entries and bytes; the least recently used goes
 * first. */
#define UI_VIEW_N	 32
#define UI_VIEW_BYTES	 (64u << 20)
#define UI_VIEW_ITEM_MAX (16u << 20)
/* On disk: bounded in files and bytes, the least recently read (by
 * mtime, which a read renews) going first. */
#define UI_VIEW_FILES	   1024
#define UI_VIEW_DISK_BYTES (512ull << 20)
/* A file's first line: magic, key length, text length. */
#define UI_VIEW_MAGIC "customs-ui-view 1"

struct ui_view {
	char *key; /* NULL: a free slot */
	char *text;
	size_t len;
	uint64_t used;
};

static struct {
	pthread_mutex_t mu;
	struct ui_view e[UI_VIEW_N];
	size_t bytes;
	uint64_t tick;
} ui_views = {.mu = PTHREAD_MUTEX_INITIALIZER};

static bool ui_mem_get(const char *key, struct buf *out)
{
	bool hit = false;

	pthread_mutex_lock(&ui_views.mu);
	for (size_t i = 0; i < UI_VIEW_N; i++) {
		struct ui_view *k = &ui_views.e[i];

		if (!k->key || strcmp(k->key, key))
			continue;
		k->used = ++ui_views.tick;
		hit = buf_add(out, k->text, k->len) == 0;
		break;
	}
	pthread_mutex_unlock(&ui_views.mu);
	return hit;
}

static void ui_mem_put(const char *key, const char *text, size_t len)
{
	struct ui_view *slot, *old;

	if (len > UI_VIEW_ITEM_MAX)
		return;
	pthread_mutex_lock(&ui_views.mu);
	for (;;) {
		slot = old = NULL;
		for (size_t i = 0; i < UI_VIEW_N; i++) {
			struct ui_view *k = &ui_views.e[i];

			if (k->key && !strcmp(k->key, key))
				goto out; /* built meanwhile by another */
			if (!k->key && !slot)
				slot = k;
			else if (k->key && (!old || k->used < old->used))
				old = k;
		}
		if (slot && ui_views.bytes + len <= UI_VIEW_BYTES)
			break;
		/* Full (in slots or bytes, so old is set): make room. */
		ui_views.bytes -= old->len;
		free(old->key);
		free(old->text);
		memset(old, 0, sizeof(*old));
	}
	slot->key = xstrdup(key);
	slot->text = xmalloc(len);
	memcpy(slot->text, text, len);
	slot->len = len;
	slot->used = ++ui_views.tick;
	ui_views.bytes += len;
out:
	pthread_mutex_unlock(&ui_views.mu);
}

/* DIR/<sha256 of key>: no repository name shows in a file name. */
static char *ui_disk_path(const char *dir, const char *key)
{
	struct digest dg;

	digest_of(DIGEST_SHA256, key, strlen(key), &dg);
	return xasprintf("%s/%s", dir, dg.hex);
}

/* The text of key's file, checked against its header (a file cut short
 * or of another key is a miss), into out and memory. */
static bool ui_disk_get(const char *dir, const char *key, struct buf *out)
{
	char *path = ui_disk_path(dir, key), *buf = NULL, *nl, *end;
	size_t klen = strlen(key), hlen;
	unsigned long long kl, tl;
	bool hit = false;
	struct stat sb;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > (off_t)(UI_VIEW_ITEM_MAX + klen + 64))
		goto out;
	buf = xmalloc((size_t)sb.st_size + 1);
	if (fdio_read_all(fd, buf, (size_t)sb.st_size) != sb.st_size)
		goto out;
	buf[sb.st_size] = '\0';
	nl = memchr(buf, '\n', (size_t)sb.st_size);
	if (!nl || strncmp(buf, UI_VIEW_MAGIC " ", sizeof(UI_VIEW_MAGIC)))
		goto out;
	hlen = (size_t)(nl - buf) + 1;
	kl = strtoull(buf + sizeof(UI_VIEW_MAGIC), &end, 10);
	if (*end != ' ')
		goto out;
	tl = strtoull(end + 1, &end, 10);
	if (end != nl || kl != klen || tl > (unsigned long long)sb.st_size ||
	    hlen + kl + tl != (size_t)sb.st_size ||
	    memcmp(buf + hlen, key, klen))
		goto out;
	if (buf_add(out, buf + hlen + klen, (size_t)tl) < 0)
		goto out;
	hit = true;
	ui_mem_put(key, buf + hlen + klen, (size_t)tl);
	/* Read now: the last the pruning takes. */
	futimens(fd, NULL);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(path);
	return hit;
}

/* On disk, past the bounds, the least recently read files go. */
static const struct dirlru_budget ui_disk_budget = {
	UI_VIEW_FILES, UI_VIEW_DISK_BYTES, NULL, NULL};
/* A prune reads the whole directory: it runs once this many files or
 * bytes were written since the last, which the bounds may exceed by. */
#define UI_PRUNE_FILES 64
#define UI_PRUNE_BYTES (UI_VIEW_DISK_BYTES / 16)

static atomic_uint_fast64_t ui_unpruned_files, ui_unpruned_bytes;

/* Prunes dir once enough was written since the last prune. */
static void ui_disk_prune(const char *dir, size_t len)
{
	uint_fast64_t f = atomic_fetch_add(&ui_unpruned_files, 1) + 1;
	uint_fast64_t b = atomic_fetch_add(&ui_unpruned_bytes, len) + len;

	if (f < UI_PRUNE_FILES && b < UI_PRUNE_BYTES)
		return;
	atomic_store(&ui_unpruned_files, 0);
	atomic_store(&ui_unpruned_bytes, 0);
	dirlru_prune(dir, &ui_disk_budget);
}

/* Writes key's file whole under a temporary name, then renames it: a
 * reader sees the old file, none, or the new one complete. */
static void ui_disk_put(const char *dir, const char *key, const char *text,
			size_t len)
{
	char *path = ui_disk_path(dir, key), *tmp = NULL, *head = NULL;
	bool bad;
	int fd;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		goto out;
	tmp = xasprintf("%s/.tmp-XXXXXX", dir);
	fd = mkstemp(tmp);
	if (fd < 0)
		goto out;
	head = xasprintf(UI_VIEW_MAGIC " %zu %zu\n", strlen(key), len);
	bad = fdio_write_all(fd, head, strlen(head)) < 0 ||
	      fdio_write_all(fd, key, strlen(key)) < 0 ||
	      fdio_write_all(fd, text, len) < 0;
	if (close(fd) < 0 || bad || rename(tmp, path) < 0) {
		unlink(tmp);
		goto out;
	}
	ui_disk_prune(dir, len);
out:
	free(head);
	free(tmp);
	free(path);
}

bool ui_view_has(const char *dir, const char *key)
{
	char *path;
	struct stat sb;
	bool has = false;

	pthread_mutex_lock(&ui_views.mu);
	for (size_t i = 0; i < UI_VIEW_N && !has; i++)
		has = ui_views.e[i].key && !strcmp(ui_views.e[i].key, key);
	pthread_mutex_unlock(&ui_views.mu);
	if (has || !dir)
		return has;
	path = ui_disk_path(dir, key);
	has = stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
	free(path);
	return has;
}

bool ui_view_get(const char *dir, const char *key, struct buf *out)
{
	return ui_mem_get(key, out) || (dir && ui_disk_get(dir, key, out));
}

void ui_view_put(const char *dir, const char *key, const char *text, size_t len)
{
	if (len > UI_VIEW_ITEM_MAX)
		return;
	ui_mem_put(key, text, len);
	if (dir)
		ui_disk_put(dir, key, text, len);
}

void ui_view_put_file(const char *dir, const char *key, const char *text,
		      size_t len)
{
	if (len > UI_VIEW_ITEM_MAX)
		return;
	if (dir)
		ui_disk_put(dir, key, text, len);
	else
		ui_mem_put(key, text, len);
}
