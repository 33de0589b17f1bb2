// SPDX-License-Identifier: BSD-3-Clause
/*
 * Scheduler trees from a config file, with inih: section [qdisc NAME],
 * key `tree` holding the same spec string as the command line (one place
 * defines the grammar). Errors carry file:line, and the spec's own message
 * for a bad token.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qdisc_internal.h"

#ifdef WEIR_HAVE_INIH
#include <ini.h>

struct cfg {
	const char *want;      /* "qdisc NAME" */
	char *tree;
	size_t len;
	int tree_line;
	bool found;
	int bad_line;
	char sections[256];
	char err[256];
};

static int on_kv(void *user, const char *section, const char *key, const char *value)
{
	struct cfg *c = user;

	if (!key) /* a new section (INI_CALL_HANDLER_ON_NEW_SECTION) */
		return 1;
	if (strlen(c->sections) + strlen(section) + 4 < sizeof(c->sections) &&
	    !strstr(c->sections, section)) {
		if (c->sections[0])
			strcat(c->sections, ", ");
		strcat(c->sections, section);
	}
	if (strcmp(section, c->want))
		return 1;
	c->found = true;
	if (strcmp(key, "tree")) {
		snprintf(c->err, sizeof(c->err), "unknown key '%s' in [%s] (expected: tree = SPEC)", key,
			 section);
		return 0;
	}
	{
		size_t vl = strlen(value);
		char *n = realloc(c->tree, c->len + vl + 2);

		if (!n) {
			snprintf(c->err, sizeof(c->err), "out of memory");
			return 0;
		}
		c->tree = n;
		if (c->len)
			c->tree[c->len++] = ' ';
		memcpy(c->tree + c->len, value, vl + 1);
		c->len += vl;
	}
	return 1;
}

int weir_qdisc_create_from_config(const char *path, const char *name, struct weir_qdisc **out,
				  char *why, size_t whylen)
{
	char want[128], msg[512];
	struct cfg c = { .want = want };
	int r;

	if (!why || !whylen) {
		why = msg;
		whylen = sizeof(msg);
	}
	snprintf(want, sizeof(want), "qdisc %s", name);
	r = ini_parse(path, on_kv, &c);
	if (r == -1) {
		free(c.tree);
		snprintf(why, whylen, "qdisc: %s: cannot open (%s)", path, strerror(errno));
		return -ENOENT;
	}
	if (r == -2) {
		free(c.tree);
		snprintf(why, whylen, "qdisc: %s: out of memory", path);
		return -ENOMEM;
	}
	if (r > 0) {
		free(c.tree);
		snprintf(why, whylen, "qdisc: %s:%d: %s", path, r,
			 c.err[0] ? c.err : "not INI syntax (expected [section] or key = value)");
		return -EINVAL;
	}
	if (!c.found || !c.tree) {
		free(c.tree);
		if (!c.found)
			snprintf(why, whylen, "qdisc: %s: no section [%s] (sections: %s)", path, want,
				 c.sections[0] ? c.sections : "none");
		else
			snprintf(why, whylen, "qdisc: %s: [%s] has no 'tree = SPEC' key", path, want);
		return c.found ? -EINVAL : -ENOENT;
	}
	r = weir_qdisc_create(c.tree, out, msg, sizeof(msg));
	if (r < 0) {
		if (why != msg)
			snprintf(why, whylen, "%s: [%s] tree: %s", path, want, msg);
	}
	free(c.tree);
	return r;
}
#else
int weir_qdisc_create_from_config(const char *path, const char *name, struct weir_qdisc **out,
				  char *why, size_t whylen)
{
	(void)name;
	(void)out;
	if (why && whylen)
		snprintf(why, whylen, "qdisc: %s: weir was built without inih (install libinih-dev)",
			 path);
	return -ENOTSUP;
}
#endif
