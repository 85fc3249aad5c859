/* pushfloor.c: the least a server can spend on a pushed blob, as a figure
 * for bench/run to set customs' CPU per GiB pushed against.
 *
 *   pushfloor [-d] DIR PORTFILE
 *
 * Listens on 127.0.0.1 (port written to PORTFILE) and takes uploads one
 * at a time: any request with a Content-Length body, which it reads with
 * read(2) in 256 KiB pieces (customs' largest read), hashes (OpenSSL
 * sha256, through EVP as customs does), writes to a file in DIR whose
 * blocks were allocated first (its name removed at once) and fsyncs;
 * then 201 and close.
 * No event loop, no threads, no parsing beyond Content-Length: what is
 * left is the kernel's receive and page-cache write and the hash, the
 * cost every registry pays.  bench/run reads its CPU from /proc.
 * With -d the file is written with O_DIRECT, in 1 MiB pieces from an
 * aligned buffer (the tail without it): no page-cache copy and no
 * writeback, the least a receiver that keeps the data can spend.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_MAX     (256 * 1024)
#define HEAD_MAX     (16 * 1024)
#define DIRECT_PIECE (1024 * 1024)
#define DIRECT_ALIGN 4096

static int direct; /* -d */

/* The request head, up to its blank line; the body bytes read with it
 * stay in buf after *head_len.  Returns the bytes read, -1 on error. */
static ssize_t read_head(int fd, char *buf, size_t cap, size_t *head_len)
{
	size_t got = 0;
	char *end;
	ssize_t n;

	while (got < cap) {
		n = read(fd, buf + got, cap - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
		end = memmem(buf, got, "\r\n\r\n", 4);
		if (end) {
			*head_len = (size_t)(end - buf) + 4;
			return (ssize_t)got;
		}
	}
	return -1;
}

/* Content-Length of the head, or -1. */
static long long content_length(const char *head, size_t len)
{
	const char *p = head, *end = head + len, *nl;
	static const char name[] = "content-length:";

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		if ((size_t)(nl - p) > sizeof(name) &&
		    !strncasecmp(p, name, sizeof(name) - 1))
			return strtoll(p + sizeof(name) - 1, NULL, 10);
		p = nl + 1;
	}
	return -1;
}

/* All of p to fd; 0, or -1 on an error other than EINTR. */
static int write_all(int fd, const char *p, size_t len)
{
	size_t done = 0;
	ssize_t n;

	for (; done<len; done += n> 0 ? (size_t)n : 0) {
		n = write(fd, p + done, len - done);
		if (n < 0 && errno != EINTR)
			return -1;
	}
	return 0;
}

/* With -d: n bytes of p into the aligned buffer ab (*fill bytes held),
 * written out in whole pieces.  Without: written at once. */
static int store(int fd, const char *p, size_t n, char *ab, size_t *fill)
{
	size_t w;

	if (!direct)
		return write_all(fd, p, n);
	memcpy(ab + *fill, p, n);
	*fill += n;
	if (*fill < DIRECT_PIECE)
		return 0;
	w = *fill - *fill % DIRECT_ALIGN;
	if (write_all(fd, ab, w) < 0)
		return -1;
	memmove(ab, ab + w, *fill - w);
	*fill -= w;
	return 0;
}

/* The tail O_DIRECT cannot write (not a whole block), without it. */
static int store_end(int fd, const char *ab, size_t fill)
{
	int fl;

	if (!direct || !fill)
		return 0;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_DIRECT) < 0)
		return -1;
	return write_all(fd, ab, fill);
}

/* One upload on connection c: 0 when stored and answered. */
static int take(int c, const char *dir, char *buf, char *ab)
{
	static const char ok[] = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n"
				 "Connection: close\r\n\r\n";
	unsigned char md[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	size_t head = 0, have, fill = 0;
	long long left;
	char path[4200];
	ssize_t n;
	int fd = -1, ret = -1;

	n = read_head(c, buf, HEAD_MAX, &head);
	if (n < 0 || !x)
		goto out;
	left = content_length(buf, head);
	if (left < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/upload.%d", dir, (int)getpid());
	fd = open(path,
		  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
			  (direct ? O_DIRECT : 0),
		  0600);
	if (fd < 0 || unlink(path) < 0 ||
	    EVP_DigestInit_ex(x, EVP_sha256(), NULL) != 1)
		goto out;
	if (left > 0)
		(void)fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, left);
	have = (size_t)n - head;
	if (have) {
		memmove(buf, buf + head, have);
		n = (ssize_t)have;
	}
	while (left > 0) {
		if (!have) {
			n = read(c, buf,
				 left < READ_MAX ? (size_t)left : READ_MAX);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				goto out;
		}
		have = 0;
		if ((long long)n > left)
			n = (ssize_t)left;
		EVP_DigestUpdate(x, buf, (size_t)n);
		if (store(fd, buf, (size_t)n, ab, &fill) < 0)
			goto out;
		left -= n;
	}
	if (store_end(fd, ab, fill) == 0 &&
	    EVP_DigestFinal_ex(x, md, NULL) == 1 && fsync(fd) == 0)
		ret = 0;
out:
	EVP_MD_CTX_free(x);
	if (fd >= 0)
		close(fd);
	return ret < 0 ? -1 : write_all(c, ok, sizeof(ok) - 1);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	char *buf, *ab = NULL;
	FILE *pf;
	int ls, c;

	if (argc == 4 && !strcmp(argv[1], "-d")) {
		direct = 1;
		argv++;
		argc--;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: pushfloor [-d] DIR PORTFILE\n");
		return 2;
	}
	if (direct && posix_memalign((void **)&ab, DIRECT_ALIGN,
				     DIRECT_PIECE + READ_MAX)) {
		fprintf(stderr, "pushfloor: out of memory\n");
		return 1;
	}
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	buf = malloc(READ_MAX > HEAD_MAX ? READ_MAX : HEAD_MAX);
	if (ls < 0 || !buf || bind(ls, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(ls, 8) || getsockname(ls, (struct sockaddr *)&a, &alen)) {
		perror("pushfloor: listen");
		return 1;
	}
	pf = fopen(argv[2], "w");
	if (!pf || fprintf(pf, "%d\n", ntohs(a.sin_port)) < 0 || fclose(pf)) {
		perror("pushfloor: port file");
		return 1;
	}
	for (;;) {
		c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0 && errno == EINTR)
			continue;
		if (c < 0) {
			perror("pushfloor: accept");
			return 1;
		}
		if (take(c, argv[1], buf, ab) < 0)
			fprintf(stderr, "pushfloor: an upload failed\n");
		close(c);
	}
}
