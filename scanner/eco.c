/* eco.c: the ecosystem table (see eco_int.h). */
#include "scanner/eco_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "scanner/inventory_int.h"
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
			ECO_SOURCE_VERSION | ECO_CODENAME | ECO_OS_PACKAGE |
				ECO_TRACKER},
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

/* rpm distributions with an OSV ecosystem, by os-release ID.  Fedora,
 * Amazon Linux, CBL-Mariner/Azure Linux and Oracle Linux publish none
 * (their data is OVAL or ALAS): their rpm packages are not matched, and
 * the report says so (vulndb_match_gap()).  CentOS Linux rebuilds RHEL
 * from its sources, its versions track RHEL's: its packages are matched
 * against Red Hat's main stream, as Trivy and Clair do, and the report
 * says so.  CentOS Stream is upstream of RHEL, ahead of any RHEL release:
 * RHEL's fixed versions say nothing of its builds, so it is not matched
 * (Trivy does not support it either). */
/* clang-format off */
static const struct {
	const char *id;
	struct eco_osv osv;
	bool rebuild; /* of another distribution, whose records these are */
} rpm_os[] = {
	{"rhel", {"Red Hat", ECO_REL_REDHAT, 1, NULL}, false},
	{"centos", {"Red Hat", ECO_REL_REDHAT, 1, NULL}, true},
	{"rocky", {"Rocky Linux", ECO_REL_EXACT, 1, NULL}, false},
	{"almalinux", {"AlmaLinux", ECO_REL_EXACT, 1, NULL}, false},
	{"opensuse-leap", {"openSUSE", ECO_REL_EXACT, -1, NULL}, false},
	{"opensuse-tumbleweed", {"openSUSE", ECO_REL_EXACT, -1, NULL}, false},
	{"opensuse", {"openSUSE", ECO_REL_EXACT, -1, NULL}, false},
	{"sles", {"SUSE", ECO_REL_EXACT, -1, NULL}, false},
	{"sled", {"SUSE", ECO_REL_EXACT, -1, NULL}, false},
	{"photon", {"Photon OS", ECO_REL_EXACT, 0, NULL}, false},
	{"mageia", {"Mageia", ECO_REL_EXACT, 0, NULL}, false},
	{"openEuler", {"openEuler", ECO_REL_PREFIX, 0, NULL}, false},
};
/* clang-format on */

/* CentOS Stream: PRETTY_NAME "CentOS Stream 8", and every CentOS from 9
 * (there is no CentOS Linux 9). */
static bool eco_centos_stream(const struct scan_os *os)
{
	return !strcmp(os->id, "centos") &&
	       ((os->pretty_name && strstr(os->pretty_name, "Stream")) ||
		(os->version_id && strtol(os->version_id, NULL, 10) >= 9));
}

static int eco_rpm_row(const struct scan_os *os)
{
	for (size_t i = 0; os && os->id && i < sizeof(rpm_os) / sizeof(*rpm_os);
	     i++)
		if (!strcmp(os->id, rpm_os[i].id))
			return eco_centos_stream(os) ? -1 : (int)i;
	return -1;
}

const struct eco_osv *eco_rpm_osv(const struct scan_os *os)
{
	int i = eco_rpm_row(os);

	return i < 0 ? NULL : &rpm_os[i].osv;
}

bool eco_rpm_rebuild(const struct scan_os *os)
{
	int i = eco_rpm_row(os);

	return i >= 0 && rpm_os[i].rebuild;
}

bool eco_osv_is_os(const char *osv)
{
	const struct eco_info *ei = eco_by_osv(osv);

	if (ei)
		return (ei->flags & ECO_OS_PACKAGE) != 0;
	for (size_t i = 0; osv && i < sizeof(rpm_os) / sizeof(*rpm_os); i++)
		if (!strcmp(osv, rpm_os[i].osv.eco))
			return true;
	return false;
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
