/* eco.c: the ecosystem table (see eco_int.h). */
#include "scanner/eco_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "scanner/version_int.h"
#include "common/banned.h"

/* Each row: name, version order, OSV ecosystem {name, release rule,
 * VERSION_ID part, prefix}, names looked up, purl type, namespace and
 * name, flags. */
/* clang-format off */
static const struct eco_info ecos[ECO_COUNT] = {
	[ECO_UNKNOWN] = {"unknown", NULL, {NULL, ECO_REL_NONE, 0, NULL},
			 ECO_NAMES_BINARY, "generic", NULL, ECO_PURL_NAME, 0},
	[ECO_DEBIAN] = {"Debian", ver_cmp_dpkg,
			{"Debian", ECO_REL_EXACT, 1, NULL}, ECO_NAMES_SOURCE,
			"deb", "debian", ECO_PURL_NAME,
			ECO_SOURCE_VERSION | ECO_CODENAME | ECO_OS_PACKAGE},
	[ECO_UBUNTU] = {"Ubuntu", ver_cmp_dpkg,
			{"Ubuntu", ECO_REL_UBUNTU, 0, NULL}, ECO_NAMES_SOURCE,
			"deb", "ubuntu", ECO_PURL_NAME,
			ECO_SOURCE_VERSION | ECO_OS_PACKAGE},
	[ECO_ALPINE] = {"Alpine", ver_cmp_apk,
			{"Alpine", ECO_REL_EXACT, 2, "v"}, ECO_NAMES_SOURCE,
			"apk", "alpine", ECO_PURL_NAME,
			ECO_SECDB | ECO_OS_PACKAGE | ECO_PURL_DISTRO_BARE},
	[ECO_RPM] = {"RPM", ver_cmp_rpm, {NULL, ECO_REL_NONE, 0, NULL},
		     ECO_NAMES_SRPM, "rpm", NULL, ECO_PURL_NAME,
		     ECO_OSV_BY_OS | ECO_OS_PACKAGE | ECO_PURL_EPOCH},
	[ECO_PYPI] = {"PyPI", ver_cmp_pep440, {"PyPI", ECO_REL_NONE, 0, NULL},
		      ECO_NAMES_PEP503, "pypi", NULL, ECO_PURL_LOWER,
		      ECO_VERSIONS_BY_ORDER},
	[ECO_NPM] = {"npm", ver_cmp_semver, {"npm", ECO_REL_NONE, 0, NULL},
		     ECO_NAMES_BINARY, "npm", NULL, ECO_PURL_SCOPE, 0},
	[ECO_GO] = {"Go", ver_cmp_semver, {"Go", ECO_REL_NONE, 0, NULL},
		    ECO_NAMES_BINARY, "golang", NULL, ECO_PURL_PATH, 0},
	[ECO_MAVEN] = {"Maven", ver_cmp_maven,
		       {"Maven", ECO_REL_NONE, 0, NULL}, ECO_NAMES_BINARY,
		       "maven", NULL, ECO_PURL_GROUP, 0},
	[ECO_CRATES] = {"crates.io", ver_cmp_semver,
			{"crates.io", ECO_REL_NONE, 0, NULL}, ECO_NAMES_BINARY,
			"cargo", NULL, ECO_PURL_NAME, 0},
	/* Wolfi and Chainguard OSV records have no release suffix and name
	 * binary packages as often as origins. */
	[ECO_WOLFI] = {"Wolfi", ver_cmp_apk, {"Wolfi", ECO_REL_NONE, 0, NULL},
		       ECO_NAMES_SRPM, "apk", "wolfi", ECO_PURL_NAME,
		       ECO_OS_PACKAGE},
	[ECO_CHAINGUARD] = {"Chainguard", ver_cmp_apk,
			    {"Chainguard", ECO_REL_NONE, 0, NULL},
			    ECO_NAMES_SRPM, "apk", "chainguard", ECO_PURL_NAME,
			    ECO_OS_PACKAGE},
	/* Runtimes by Bitnami's package names ("node", "python", "java");
	 * purls as syft writes them: pkg:generic/node@20.11.0. */
	[ECO_RUNTIME] = {"Runtime", ver_cmp_semver,
			 {"Bitnami", ECO_REL_NONE, 0, NULL}, ECO_NAMES_BINARY,
			 "generic", NULL, ECO_PURL_NAME, 0},
};
/* clang-format on */

const struct eco_info *eco_info(enum scan_eco eco)
{
	if ((int)eco < 0 || eco >= ECO_COUNT)
		eco = ECO_UNKNOWN;
	return &ecos[eco];
}

const char *scan_eco_name(enum scan_eco eco)
{
	return eco_info(eco)->name;
}

enum scan_eco eco_by_name(const char *name)
{
	for (int e = 0; name && e < ECO_COUNT; e++)
		if (!strcmp(ecos[e].name, name))
			return (enum scan_eco)e;
	return ECO_UNKNOWN;
}

const struct eco_info *eco_by_osv(const char *osv)
{
	for (int e = 0; osv && e < ECO_COUNT; e++)
		if (ecos[e].osv.eco && !strcmp(ecos[e].osv.eco, osv))
			return &ecos[e];
	return NULL;
}

char *eco_pep503(const char *name)
{
	char *out = xmalloc(strlen(name) + 1), *o = out;

	for (const char *p = name; *p; p++) {
		if (*p == '-' || *p == '_' || *p == '.') {
			if (o == out || o[-1] != '-')
				*o++ = '-';
		} else if (*p >= 'A' && *p <= 'Z') {
			*o++ = (char)(*p - 'A' + 'a');
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}
