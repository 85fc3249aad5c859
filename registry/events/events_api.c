/* events_api.c: GET /v2/_customs/events/dead, the deliveries given up on
 * (an admin action; loopback callers only with --auth none, as authz.c
 * rules for admin routes). */
#include "registry/api_int.h"

#include <stdlib.h>

#include "registry/events/events.h"
#include "registry/reply_int.h"
#include "common/banned.h"

/* Most dead deliveries one listing shows (newest first). */
#define EV_DEAD_LIST_MAX 1000

enum reg_status api_events_dead(struct reg_call *c)
{
	struct err e = ERR_INIT;
	json_t *j;

	if (!c->ctx->events) {
		reg_reply_json(c->req, 200, json_pack("{s:[]}", "dead"));
		return REG_DONE;
	}
	j = reg_events_dead_json(c->ctx->st, EV_DEAD_LIST_MAX, &e);
	if (!j)
		reg_reply_error(c->req, &e);
	else
		reg_reply_json(c->req, 200, j);
	return REG_DONE;
}
