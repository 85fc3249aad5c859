/* image_int.h: the input formats' shared state (image_layout.c,
 * image_tar.c).  Not for use outside those files. */
#ifndef SCANNER_IMAGE_INT_H
#define SCANNER_IMAGE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/digest.h"

struct tar_member {
	char *name;		/* normalised: no "./" or leading "/" */
	int64_t size;
	int64_t offset;		/* of the data in the file; -1 if unknown */
	char *cached;		/* small JSON members of compressed tarballs */
};

struct tar_alias {
	struct digest dg;	/* docker save: a layer's diff_id, the config */
	size_t member;
};

struct image_input {
	char *dir;		/* layout directory */
	char *file;		/* tarball */
	int fd;
	bool seekable;		/* members can be read with pread */
	struct tar_member *m;
	size_t nm;
	struct tar_alias *alias;
	size_t nalias;
};

#endif
