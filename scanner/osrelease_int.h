/* osrelease_int.h: the operating system of an image, from os-release(5) or
 * etc/alpine-release. */
#ifndef SCANNER_OSRELEASE_INT_H
#define SCANNER_OSRELEASE_INT_H

#include <stddef.h>

#include "scanner/inventory_int.h"

/* Parses os-release text (KEY=value lines, values optionally quoted with
 * shell escapes) into os, replacing what it held.  Unknown keys are
 * ignored; a malformed line is skipped. */
void osrel_parse(const char *data, size_t len, struct scan_os *os);
/* etc/alpine-release holds just "3.18.0". */
void osrel_parse_alpine(const char *data, size_t len, struct scan_os *os);
/* The ecosystem dpkg packages get on this OS (Ubuntu or Debian). */
enum scan_eco osrel_dpkg_eco(const struct scan_os *os);
/* The ecosystem apk packages get: Wolfi, Chainguard or Alpine. */
enum scan_eco osrel_apk_eco(const struct scan_os *os);

#endif
