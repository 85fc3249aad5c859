/* fdio.c: whole reads and writes, retried on EINTR (fdio.h). */
#include "common/fdio.h"

#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "common/banned.h"

ssize_t fdio_read(int fd, void *p, size_t len)
{
	ssize_t n;

	do
		n = read(fd, p, len);
	while (n < 0 && errno == EINTR);
	return n;
}

/* The one loop of the four: off < 0 uses (and moves) the file position. */
static ssize_t fdio_all(int fd, char *p, size_t len, off_t off, bool wr)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (off < 0)
			n = wr ? write(fd, p + done, len - done)
			       : read(fd, p + done, len - done);
		else
			n = wr ? pwrite(fd, p + done, len - done,
					off + (off_t)done)
			       : pread(fd, p + done, len - done,
				       off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			if (!wr)
				break;
			errno = EIO;
			return -1;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t fdio_read_all(int fd, void *p, size_t len)
{
	return fdio_all(fd, p, len, -1, false);
}

ssize_t fdio_pread_all(int fd, void *p, size_t len, off_t off)
{
	return fdio_all(fd, p, len, off, false);
}

int fdio_write_all(int fd, const void *p, size_t len)
{
	return fdio_all(fd, (char *)p, len, -1, true) < 0 ? -1 : 0;
}

int fdio_pwrite_all(int fd, const void *p, size_t len, off_t off)
{
	return fdio_all(fd, (char *)p, len, off, true) < 0 ? -1 : 0;
}
