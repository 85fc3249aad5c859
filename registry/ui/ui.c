/* ui.c: the embedded assets of the web UI and their handler. */
#include "registry/ui/ui.h"

#include <string.h>

#include "registry/reply_int.h"
#include "common/banned.h"

/* Each asset's bytes, included by the assembler at build time (the
 * Makefile makes ui.o depend on the files). */
#define UI_ASSET(sym, file)                                                    \
	__asm__(".section .rodata\n"                                           \
		".global " #sym "\n"                                           \
		".balign 16\n" #sym ":\n"                                      \
		".incbin \"" file "\"\n"                                       \
		".global " #sym "_end\n" #sym "_end:\n"                        \
		".byte 0\n"                                                    \
		".previous\n");                                                \
	extern const char sym[], sym##_end[]

UI_ASSET(ui_index_html, "registry/ui/assets/index.html");
UI_ASSET(ui_app_js, "registry/ui/assets/app.js");
UI_ASSET(ui_app_css, "registry/ui/assets/app.css");
UI_ASSET(ui_favicon_svg, "registry/ui/assets/favicon.svg");

struct ui_asset {
	const char *path;
	const char *ctype;
	const char *start, *end;
};

static const char ui_csp[] =
	"default-src 'none'; script-src 'self'; style-src 'self'; "
	"img-src 'self'; connect-src 'self'; base-uri 'none'; "
	"form-action 'self'; frame-ancestors 'none'";

enum reg_status ui_serve(struct reg_call *c)
{
	const struct ui_asset assets[] = {
		{"/ui", "text/html; charset=utf-8", ui_index_html,
		 ui_index_html_end},
		{"/ui/", "text/html; charset=utf-8", ui_index_html,
		 ui_index_html_end},
		{"/ui/index.html", "text/html; charset=utf-8", ui_index_html,
		 ui_index_html_end},
		{"/ui/app.js", "text/javascript; charset=utf-8", ui_app_js,
		 ui_app_js_end},
		{"/ui/app.css", "text/css; charset=utf-8", ui_app_css,
		 ui_app_css_end},
		{"/ui/favicon.svg", "image/svg+xml", ui_favicon_svg,
		 ui_favicon_svg_end},
	};
	const char *path = http_req_path(c->req);

	for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++) {
		if (strcmp(path, assets[i].path))
			continue;
		http_reply_header(c->req, "Content-Security-Policy", ui_csp);
		http_reply_header(c->req, "X-Content-Type-Options", "nosniff");
		http_reply_header(c->req, "X-Frame-Options", "DENY");
		http_reply_header(c->req, "Referrer-Policy", "no-referrer");
		http_reply_header(c->req, "Cache-Control", "no-cache");
		reg_reply_mem(c->req, 200, assets[i].ctype, assets[i].start,
			      (size_t)(assets[i].end - assets[i].start));
		return REG_DONE;
	}
	reg_reply_errorf(c->req, ERR_NOT_FOUND, "no page at this path");
	return REG_DONE;
}
