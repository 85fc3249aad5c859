/* report_table.c: the report as a table for people, worst first. */
#include "scanner/report_int.h"

#include <string.h>

#include "common/banned.h"

static const char *tstr(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

/* "Status:" and the budgets hit, when the scan is incomplete. */
static void table_status(FILE *out, const json_t *r)
{
	const json_t *b;
	size_t i;

	if (report_is_complete(r))
		return;
	fprintf(out, "Status:   INCOMPLETE: a scan budget was hit; what the "
		     "image holds beyond it was not analysed\n");
	json_array_foreach(json_object_get(r, "budgets"), i, b)
		fprintf(out, "  - budget %s (limit %lld): %s\n",
			tstr(b, "budget", "?"),
			json_integer_value(json_object_get(b, "limit")),
			tstr(b, "detail", ""));
}

static void table_image(FILE *out, const json_t *r)
{
	const json_t *img = json_object_get(r, "image");
	const json_t *os = json_object_get(r, "os");
	const json_t *plat = json_object_get(img, "platform");
	const json_t *vulns = json_object_get(r, "vulnerabilities");
	const json_t *notes = json_object_get(r, "notes"), *v, *c;
	size_t i;

	fprintf(out, "Image:    %s",
		tstr(img, "digest", "(no manifest digest)"));
	if (json_object_size(plat))
		fprintf(out, " (%s/%s%s%s)", tstr(plat, "os", "?"),
			tstr(plat, "architecture", "?"),
			json_object_get(plat, "variant") ? "/" : "",
			tstr(plat, "variant", ""));
	fprintf(out, "\nOS:       %s\n",
		os && json_is_object(os)
			? tstr(os, "pretty_name", tstr(os, "id", "unknown"))
			: "unknown");
	fprintf(out, "Packages: %zu\n",
		json_array_size(json_object_get(r, "packages")));
	table_status(out, r);
	c = json_object_get(r, "counts");
	if (!json_is_object(c))
		fprintf(out, "Findings: unknown, %s\n\n",
			json_string_value(c) ? json_string_value(c)
					     : "no data");
	else
		fprintf(out,
			"Findings: %zu (critical %lld, high %lld, medium %lld, "
			"low "
			"%lld, unknown %lld)\n\n",
			json_array_size(vulns),
			json_integer_value(json_object_get(c, "critical")),
			json_integer_value(json_object_get(c, "high")),
			json_integer_value(json_object_get(c, "medium")),
			json_integer_value(json_object_get(c, "low")),
			json_integer_value(json_object_get(c, "unknown")));
	if (json_array_size(vulns)) {
		fprintf(out, "%-9s %-9s %-22s %-28s %-24s %-24s %-13s %s\n",
			"SEVERITY", "BY", "ID", "PACKAGE", "INSTALLED", "FIXED",
			"STATUS", "SUMMARY");
		json_array_foreach(vulns, i, v) {
			const json_t *p = json_object_get(v, "package");
			const char *sum = tstr(v, "summary", "");

			fprintf(out,
				"%-9s %-9s %-22s %-28s %-24s %-24s %-13s "
				"%.60s\n",
				tstr(v, "severity", "unknown"),
				tstr(v, "severity_source", "unknown"),
				tstr(v, "id", "?"), tstr(p, "name", "?"),
				tstr(v, "installed", "?"),
				tstr(v, "fixed", "(none)"),
				tstr(v, "status", "?"), sum);
		}
	}
	if (json_array_size(notes)) {
		fprintf(out, "\nNotes:\n");
		json_array_foreach(notes, i, v)
			fprintf(out, "  - %s\n", json_string_value(v));
	}
}

int report_write_table(FILE *out, const json_t *report)
{
	const json_t *mans = json_object_get(report, "manifests"), *m;
	const json_t *db = json_object_get(report, "db");
	size_t i;

	fprintf(out, "customs %s scan, %s, vulnerability DB: %s\n",
		SCAN_VERSION, tstr(report, "created", "?"),
		json_is_object(db) ? tstr(db, "version", "?") : "none");
	if (!json_is_array(mans)) {
		fputc('\n', out);
		table_image(out, report);
	} else {
		const json_t *notes = json_object_get(report, "notes"), *n;

		fprintf(out, "Index:    %s (%zu platforms)\n",
			tstr(json_object_get(report, "image"), "digest", "?"),
			json_array_size(mans));
		if (!report_is_complete(report))
			fprintf(out, "Status:   INCOMPLETE (see the platforms "
				     "below)\n");
		json_array_foreach(notes, i, n)
			fprintf(out, "  - %s\n", json_string_value(n));
		json_array_foreach(mans, i, m) {
			fputc('\n', out);
			table_image(out, m);
		}
	}
	return ferror(out) ? -1 : 0;
}
