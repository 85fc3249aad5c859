/* scanner.h: the scanner's public face (used by registry/ and main).
 *
 * Command-line entry points; each parses its own argv (argv[0] is the
 * subcommand name) and returns the process exit status.
 */
#ifndef SCANNER_SCANNER_H
#define SCANNER_SCANNER_H

/* customs scan [--db F] [--format json|table|cyclonedx] [--fail-on LEVEL]
 *              IMAGE */
int scan_cmd_main(int argc, char **argv);
/* customs db import [--db F] PATH... | customs db status [--db F] */
int scan_db_cmd_main(int argc, char **argv);

#endif
