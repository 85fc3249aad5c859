/* fdio.h: whole reads and writes on a file descriptor.
 *
 * read(2) and write(2) may move fewer bytes than asked, and fail with
 * EINTR when a signal arrives; these retry both.  Every function returns
 * -1 with errno set on failure, as the system call did; the caller turns
 * that into a struct err with the path it knows.
 */
#ifndef COMMON_FDIO_H
#define COMMON_FDIO_H

#include <stddef.h>
#include <sys/types.h>

/* One read(2) of up to len bytes, retried on EINTR: the bytes read, 0 at
 * the end of the file, -1 on failure. */
ssize_t fdio_read(int fd, void *p, size_t len);

/* Reads until len bytes are in p or the file ends: the bytes read (fewer
 * than len only at the end of the file), -1 on failure. */
ssize_t fdio_read_all(int fd, void *p, size_t len);
/* The same at offset off (pread(2)): the file position does not move. */
ssize_t fdio_pread_all(int fd, void *p, size_t len, off_t off);

/* Writes all len bytes of p: 0, or -1 on failure (a write(2) that moves
 * nothing fails with EIO rather than loop). */
int fdio_write_all(int fd, const void *p, size_t len);
/* The same at offset off (pwrite(2)). */
int fdio_pwrite_all(int fd, const void *p, size_t len, off_t off);

#endif
