/* access.c: who may do what, from the access-rules file (auth.h has the
 * format).  The file is checked strictly when loaded (unknown keys, unknown
 * actions, undefined groups are errors) so that a typo cannot silently
 * grant or deny; evaluation is then a plain walk over the rules. */
#include "auth/auth_int.h"
#include "common/xmalloc.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "common/banned.h"

struct group {
	char *name;
	char **members;
	size_t n;
};

/* One entry of a rule's "users". */
enum who { WHO_ANYONE, WHO_SIGNED_IN, WHO_GROUP, WHO_USER };

struct who_ent {
	enum who kind;
	const char *name; /* WHO_USER: borrowed from the rule's strings */
	const struct group *group;
};

struct rule {
	struct who_ent *who;
	size_t nwho;
	char **repos;
	size_t nrepos;
	bool all_repos; /* lists "*": grants on the registry as a whole */
	unsigned actions;
	char **strings; /* owned copies the entries point into */
	size_t nstrings;
};

struct rules {
	struct auth_snap snap;
	struct group *groups;
	size_t ngroups;
	struct rule *v;
	size_t n;
	bool anon_pulls; /* some rule lets anonymous users pull */
};

static const char *const action_names[] = {"pull", "push", "delete", "admin"};

unsigned auth_action_parse(const char *s, size_t len)
{
	if (len == 1 && s[0] == '*')
		return AUTH_ALL;
	for (size_t i = 0; i < sizeof(action_names) / sizeof(*action_names);
	     i++)
		if (strlen(action_names[i]) == len &&
		    !memcmp(s, action_names[i], len))
			return 1u << i;
	return 0;
}

int auth_actions_str(struct buf *b, unsigned actions)
{
	bool first = true;

	for (size_t i = 0; i < sizeof(action_names) / sizeof(*action_names);
	     i++) {
		if (!(actions & (1u << i)))
			continue;
		if (buf_addf(b, "%s%s", first ? "" : ",", action_names[i]) < 0)
			return -1;
		first = false;
	}
	return 0;
}

static void rules_destroy(struct auth_snap *s)
{
	struct rules *r = (struct rules *)s;

	for (size_t i = 0; i < r->ngroups; i++) {
		for (size_t j = 0; j < r->groups[i].n; j++)
			free(r->groups[i].members[j]);
		free(r->groups[i].members);
		free(r->groups[i].name);
	}
	free(r->groups);
	for (size_t i = 0; i < r->n; i++) {
		for (size_t j = 0; j < r->v[i].nstrings; j++)
			free(r->v[i].strings[j]);
		free(r->v[i].strings);
		free(r->v[i].who);
		free(r->v[i].repos);
	}
	free(r->v);
	free(r);
}

static char *keep(struct rule *rl, const char *s)
{
	rl->strings = xrealloc(rl->strings,
			       (rl->nstrings + 1) * sizeof(*rl->strings));
	return rl->strings[rl->nstrings++] = xstrdup(s);
}

/* A non-empty array of non-empty strings. */
static int string_array(json_t *v, const char *what, size_t idx, struct err *e)
{
	size_t i;
	json_t *x;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return err_set(e, ERR_INVALID,
			       "rule %zu: \"%s\" must be a non-empty array of "
			       "strings",
			       idx, what);
	json_array_foreach(v, i, x)
		if (!json_is_string(x) || json_string_length(x) == 0)
			return err_set(e, ERR_INVALID,
				       "rule %zu: \"%s\" must hold non-empty "
				       "strings",
				       idx, what);
	return 0;
}

static const struct group *group_find(const struct rules *r, const char *name)
{
	for (size_t i = 0; i < r->ngroups; i++)
		if (!strcmp(r->groups[i].name, name))
			return &r->groups[i];
	return NULL;
}

static int parse_groups(struct rules *r, json_t *groups, struct err *e)
{
	const char *name;
	json_t *members, *m;
	size_t i;

	if (!groups)
		return 0;
	if (!json_is_object(groups))
		return err_set(e, ERR_INVALID, "\"groups\" must be an object");
	r->groups = xcalloc(json_object_size(groups) + 1, sizeof(*r->groups));
	json_object_foreach(groups, name, members) {
		struct group *g = &r->groups[r->ngroups++];

		g->name = xstrdup(name);
		if (!json_is_array(members))
			return err_set(e, ERR_INVALID,
				       "group %s: members must be an array",
				       name);
		g->members = xcalloc(json_array_size(members) + 1,
				     sizeof(*g->members));
		json_array_foreach(members, i, m) {
			if (!json_is_string(m) ||
			    !auth_user_name_ok(json_string_value(m)))
				return err_set(e, ERR_INVALID,
					       "group %s: member %zu is not a "
					       "valid user name",
					       name, i);
			g->members[g->n++] = xstrdup(json_string_value(m));
		}
	}
	return 0;
}

static int parse_who(struct rules *r, struct rule *rl, json_t *users,
		     size_t idx, struct err *e)
{
	json_t *x;
	size_t i;

	if (string_array(users, "users", idx, e) < 0)
		return -1;
	rl->who = xcalloc(json_array_size(users), sizeof(*rl->who));
	json_array_foreach(users, i, x) {
		const char *s = json_string_value(x);
		struct who_ent *w = &rl->who[rl->nwho++];

		if (!strcmp(s, "anonymous")) {
			w->kind = WHO_ANYONE;
		} else if (!strcmp(s, "*")) {
			w->kind = WHO_SIGNED_IN;
		} else if (!strncmp(s, "group:", 6)) {
			w->kind = WHO_GROUP;
			w->group = group_find(r, s + 6);
			if (!w->group)
				return err_set(e, ERR_INVALID,
					       "rule %zu: no group \"%s\"", idx,
					       s + 6);
		} else if (auth_user_name_ok(s)) {
			w->kind = WHO_USER;
			w->name = keep(rl, s);
		} else {
			return err_set(e, ERR_INVALID,
				       "rule %zu: bad user \"%s\"", idx, s);
		}
	}
	return 0;
}

static int parse_rule(struct rules *r, json_t *o, size_t idx, struct err *e)
{
	struct rule *rl = &r->v[r->n++];
	json_t *users, *repos, *actions, *x;
	const char *key;
	size_t i;

	if (!json_is_object(o))
		return err_set(e, ERR_INVALID, "rule %zu: not an object", idx);
	json_object_foreach(o, key, x)
		if (strcmp(key, "users") && strcmp(key, "repositories") &&
		    strcmp(key, "actions"))
			return err_set(e, ERR_INVALID,
				       "rule %zu: unknown key \"%s\"", idx,
				       key);
	users = json_object_get(o, "users");
	repos = json_object_get(o, "repositories");
	actions = json_object_get(o, "actions");
	if (parse_who(r, rl, users, idx, e) < 0 ||
	    string_array(repos, "repositories", idx, e) < 0 ||
	    string_array(actions, "actions", idx, e) < 0)
		return -1;
	rl->repos = xcalloc(json_array_size(repos), sizeof(*rl->repos));
	json_array_foreach(repos, i, x) {
		const char *s = json_string_value(x);

		if (strlen(s) > AUTH_NAME_MAX)
			return err_set(e, ERR_INVALID,
				       "rule %zu: repository pattern too long",
				       idx);
		rl->repos[rl->nrepos++] = keep(rl, s);
		if (!strcmp(s, "*"))
			rl->all_repos = true;
	}
	json_array_foreach(actions, i, x) {
		const char *s = json_string_value(x);
		unsigned bit = auth_action_parse(s, strlen(s));

		if (!bit)
			return err_set(e, ERR_INVALID,
				       "rule %zu: unknown action \"%s\" (pull, "
				       "push, delete, admin, *)",
				       idx, s);
		rl->actions |= bit;
	}
	for (i = 0; i < rl->nwho; i++)
		if (rl->who[i].kind == WHO_ANYONE && (rl->actions & AUTH_PULL))
			r->anon_pulls = true;
	return 0;
}

int auth_rules_parse(const char *data, size_t len, struct auth_snap **out,
		     struct err *e)
{
	struct rules *r = xcalloc(1, sizeof(*r));
	json_t *root, *rules, *x;
	json_error_t je;
	const char *key;
	size_t i;

	r->snap.refs = 1;
	r->snap.destroy = rules_destroy;
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		err_set(e, ERR_INVALID, "line %d: %s", je.line, je.text);
		goto fail;
	}
	if (!json_is_object(root)) {
		err_set(e, ERR_INVALID, "not a JSON object");
		goto fail;
	}
	json_object_foreach(root, key, x)
		if (strcmp(key, "groups") && strcmp(key, "rules")) {
			err_set(e, ERR_INVALID, "unknown key \"%s\"", key);
			goto fail;
		}
	if (parse_groups(r, json_object_get(root, "groups"), e) < 0)
		goto fail;
	rules = json_object_get(root, "rules");
	if (!json_is_array(rules)) {
		err_set(e, ERR_INVALID, "\"rules\" must be an array");
		goto fail;
	}
	r->v = xcalloc(json_array_size(rules) + 1, sizeof(*r->v));
	json_array_foreach(rules, i, x)
		if (parse_rule(r, x, i, e) < 0)
			goto fail;
	json_decref(root);
	*out = &r->snap;
	return 0;
fail:
	json_decref(root);
	rules_destroy(&r->snap);
	return -1;
}

static bool in_group(const struct group *g, const char *user)
{
	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->members[i], user))
			return true;
	return false;
}

static bool who_matches(const struct rule *rl, const char *user)
{
	for (size_t i = 0; i < rl->nwho; i++) {
		const struct who_ent *w = &rl->who[i];

		switch (w->kind) {
		case WHO_ANYONE:
			return true;
		case WHO_SIGNED_IN:
			if (user)
				return true;
			break;
		case WHO_GROUP:
			if (user && in_group(w->group, user))
				return true;
			break;
		case WHO_USER:
			if (user && !strcmp(w->name, user))
				return true;
			break;
		}
	}
	return false;
}

static bool repo_matches(const struct rule *rl, const char *repo)
{
	if (!repo)
		return rl->all_repos;
	for (size_t i = 0; i < rl->nrepos; i++)
		if (fnmatch(rl->repos[i], repo, 0) == 0)
			return true;
	return false;
}

unsigned auth_rules_granted(const struct auth_snap *snap, const char *user,
			    const char *repo)
{
	const struct rules *r = (const struct rules *)snap;
	unsigned g = 0;

	if (!r)
		return user ? AUTH_ALL : 0;
	for (size_t i = 0; i < r->n; i++)
		if (who_matches(&r->v[i], user) && repo_matches(&r->v[i], repo))
			g |= r->v[i].actions;
	return g;
}

/* The catalog is open to whoever may pull something: every signed-in
 * user (the list is filtered anyway) and anonymous users if some rule
 * lets them pull. */
static unsigned catalog_granted(const struct auth_snap *snap, const char *user)
{
	const struct rules *r = (const struct rules *)snap;

	if (user || (r && r->anon_pulls))
		return AUTH_PULL;
	return 0;
}

unsigned auth_granted(struct auth *a, const char *user,
		      enum auth_scope_type type, const char *name)
{
	struct auth_snap *snap;
	unsigned g;

	if (a->mode == AUTH_MODE_NONE)
		return AUTH_ALL;
	snap = auth_watch_get(a, &a->rules);
	if (type == AUTH_SCOPE_REPOSITORY)
		g = auth_rules_granted(snap, user, name);
	else if (!strcmp(name, AUTH_REGISTRY_CATALOG))
		g = catalog_granted(snap, user);
	else
		g = auth_rules_granted(snap, user, NULL);
	auth_snap_put(a, snap);
	return g;
}

bool auth_may(struct auth *a, const char *user, const char *repo,
	      unsigned actions)
{
	struct auth_snap *snap;
	unsigned g;

	if (a->mode == AUTH_MODE_NONE)
		return true;
	snap = auth_watch_get(a, &a->rules);
	g = auth_rules_granted(snap, user, repo);
	auth_snap_put(a, snap);
	return (g & actions) == actions;
}

size_t auth_catalog_filter(struct auth *a, const struct auth_result *who,
			   const char **names, size_t n)
{
	struct auth_snap *snap;
	const char **hidden;
	size_t k = 0, h = 0;

	if (a->mode == AUTH_MODE_NONE || n == 0)
		return n;
	hidden = xmalloc(n * sizeof(*hidden));
	snap = auth_watch_get(a, &a->rules);
	/* Stable partition: visible names to the front, hidden after. */
	for (size_t i = 0; i < n; i++) {
		if (auth_rules_granted(snap, who->user, names[i]) & AUTH_PULL)
			names[k++] = names[i];
		else
			hidden[h++] = names[i];
	}
	auth_snap_put(a, snap);
	memcpy(&names[k], hidden, h * sizeof(*hidden));
	free(hidden);
	return k;
}
