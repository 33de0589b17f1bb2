// SPDX-License-Identifier: BSD-3-Clause
/*
 * Block devices, the control part: the driver registry, spec parsing
 * (driver:name?key=value&..., stacked drivers' member lists), argument
 * helpers for drivers, open and close, information and the RAID control
 * calls. The fast path and request checks are in blk_req.c. Every open
 * error names the spec, the problem and what would be valid.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/blk_driver.h"
#include "weir/log.h"
#include "weir/spec.h"

static struct weir_blk_driver *drivers;

void weir_blk_driver_register(struct weir_blk_driver *drv)
{
	drv->next = drivers;
	drivers = drv;
}

const struct weir_blk_driver *weir_blk_driver_find(const char *name)
{
	for (struct weir_blk_driver *d = drivers; d; d = d->next)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

void weir_blk_driver_list(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (struct weir_blk_driver *d = drivers; d && off < len; d = d->next) {
		int n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", d->name);

		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (!off)
		snprintf(buf, len, "none (the block drivers were not linked in)");
}

int weir_blk_fail(struct weir_blk *dev, int err, const char *fmt, ...)
{
	char msg[WEIR_BLK_ERRSIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(dev->err, sizeof(dev->err), "%s: %s", dev->label ? dev->label : "blk", msg);
	return err;
}

void weir_blk_notef(struct weir_blk *dev, const char *fmt, ...)
{
	size_t off = strlen(dev->note);
	char msg[WEIR_BLK_ERRSIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	WEIR_WARN("%s: %s", dev->label, msg);
	snprintf(dev->note + off, sizeof(dev->note) - off, "%s%s", off ? "; " : "", msg);
}

void weir_blk_qp_errorf(struct weir_blk_qp *qp, const char *fmt, ...)
{
	char msg[WEIR_BLK_ERRSIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(qp->err, sizeof(qp->err), "%s: %s", qp->dev->label, msg);
}

/* --- spec parsing -------------------------------------------------------- */

/* Splits "k=v&k=v" in place into dev->kv; a stacked device keeps keys
 * that are not its own for its members. */
static int parse_args(struct weir_blk *dev, char *args)
{
	char msg[WEIR_BLK_ERRSIZE];

	if (dev->drv->stacked && strchr(args, ','))
		return weir_blk_fail(dev, -EINVAL,
				     "keys after the last '?' are the array's; a member with keys of "
				     "its own goes in brackets: %s:[uring:/a?direct=0],uring:/b",
				     dev->drv->name);
	if (weir_spec_split(args, dev->drv->params, dev->drv->stacked, dev->kv, &dev->nkv,
			    WEIR_BLK_MAX_KV, msg, sizeof(msg)) < 0)
		return weir_blk_fail(dev, -EINVAL, "%s", msg);
	return 0;
}

/* The '?' that starts dev's own keys: the last one outside brackets. */
static char *find_args(char *s)
{
	char *q = NULL;
	int depth = 0;

	for (; *s; s++) {
		if (*s == '[')
			depth++;
		else if (*s == ']')
			depth--;
		else if (*s == '?' && depth == 0)
			q = s;
	}
	return q;
}

static int parse_spec(struct weir_blk *dev, const char *spec)
{
	char list[256];
	char *colon, *q;

	dev->spec = strdup(spec);
	dev->label = strdup(spec);
	if (!dev->spec || !dev->label)
		return -ENOMEM;
	colon = strchr(dev->label, ':');
	if (!colon || colon == dev->label) {
		weir_blk_driver_list(list, sizeof(list));
		snprintf(dev->err, sizeof(dev->err),
			 "'%s': a block device spec is driver:name[?key=value&...] (drivers: %s)",
			 spec, list);
		return -EINVAL;
	}
	*colon = '\0';
	dev->drv = weir_blk_driver_find(dev->label);
	if (!dev->drv) {
		weir_blk_driver_list(list, sizeof(list));
		snprintf(dev->err, sizeof(dev->err), "'%s': unknown block driver '%s' (drivers: %s)",
			 spec, dev->label, list);
		return -ENOENT;
	}
	*colon = ':';
	q = dev->drv->stacked ? find_args(colon + 1) : strchr(colon + 1, '?');
	if (q)
		*q = '\0';
	dev->name = colon + 1;
	if (!*dev->name)
		return weir_blk_fail(dev, -EINVAL, "no name after '%s:' (%s)", dev->drv->name,
				     dev->drv->help);
	for (const char *c = dev->name; *c; c++)
		if (!isgraph((unsigned char)*c) || (!dev->drv->stacked && (*c == '&' || *c == '=')))
			return weir_blk_fail(dev, -EINVAL, "bad character '%c' in the name", *c);
	if (!q)
		return 0;
	if (!q[1])
		return weir_blk_fail(dev, -EINVAL, "'?' with no key=value after it");
	/* Split the label's tail (cut off at the '?'), so dev->spec stays as
	 * given; kv points into it. */
	return parse_args(dev, q + 1);
}

/* --- arguments ----------------------------------------------------------- */

const char *weir_blk_arg(struct weir_blk *dev, const char *key)
{
	return weir_spec_get(dev->kv, dev->nkv, key);
}

bool weir_blk_arg_given(const struct weir_blk *dev, const char *key)
{
	for (int i = 0; i < dev->nkv; i++)
		if (!strcmp(dev->kv[i].key, key))
			return true;
	return false;
}

int weir_blk_arg_u64(struct weir_blk *dev, const char *key, uint64_t def, uint64_t min,
		     uint64_t max, uint64_t *out)
{
	const char *v = weir_blk_arg(dev, key);
	char msg[WEIR_BLK_ERRSIZE];

	*out = def;
	if (v && weir_spec_u64(key, v, min, max, out, msg, sizeof(msg)) < 0)
		return weir_blk_fail(dev, -EINVAL, "%s", msg);
	return 0;
}

int weir_blk_arg_choice(struct weir_blk *dev, const char *key, int def)
{
	const char *v = weir_blk_arg(dev, key);
	char msg[WEIR_BLK_ERRSIZE];
	int idx;

	if (!v)
		return def;
	idx = weir_spec_choice(weir_spec_param_find(dev->drv->params, key), key, v, msg,
			       sizeof(msg));
	return idx < 0 ? weir_blk_fail(dev, -EINVAL, "%s", msg) : idx;
}

/* Appends dev's foreign keys the member does not set itself. */
static char *member_spec(struct weir_blk *dev, const char *m, size_t len)
{
	size_t cap = len + 2;
	bool has_keys;
	char *s, *q;
	size_t off;

	for (int i = 0; i < dev->nkv; i++)
		if (dev->kv[i].foreign)
			cap += strlen(dev->kv[i].key) + strlen(dev->kv[i].value) + 2;
	s = malloc(cap);
	if (!s)
		return NULL;
	memcpy(s, m, len);
	s[len] = '\0';
	q = find_args(s);
	has_keys = q != NULL;
	off = len;
	for (int i = 0; i < dev->nkv; i++) {
		const struct weir_blk_kv *kv = &dev->kv[i];
		size_t kl = strlen(kv->key);
		bool own = false;

		if (!kv->foreign)
			continue;
		for (const char *p = q; p && (p = strstr(p, kv->key)); p++)
			if ((p[-1] == '?' || p[-1] == '&') && p[kl] == '=')
				own = true;
		if (own)
			continue;
		off += (size_t)snprintf(s + off, cap - off, "%c%s=%s", has_keys ? '&' : '?',
					kv->key, kv->value);
		has_keys = true;
	}
	return s;
}

int weir_blk_members(struct weir_blk *dev, char **specs, int max)
{
	const char *s = dev->name;
	int n = 0;

	while (*s) {
		const char *start = s, *end;
		int depth = 0;

		for (; *s && (depth || *s != ','); s++)
			depth += (*s == '[') - (*s == ']');
		if (depth)
			goto unbalanced;
		end = s;
		if (*s == ',')
			s++;
		if (start < end && *start == '[') {
			if (end[-1] != ']')
				goto unbalanced;
			start++;
			end--;
		}
		if (start == end) {
			weir_blk_members_free(specs, n);
			return weir_blk_fail(dev, -EINVAL, "member %d is empty (a stray ',')", n);
		}
		if (n == max) {
			weir_blk_members_free(specs, n);
			return weir_blk_fail(dev, -E2BIG, "more than %d members", max);
		}
		specs[n] = member_spec(dev, start, (size_t)(end - start));
		if (!specs[n]) {
			weir_blk_members_free(specs, n);
			return weir_blk_fail(dev, -ENOMEM, "out of memory");
		}
		n++;
	}
	return n;
unbalanced:
	weir_blk_members_free(specs, n);
	return weir_blk_fail(dev, -EINVAL, "unbalanced brackets in the member list");
}

void weir_blk_members_free(char **specs, int n)
{
	for (int i = 0; i < n; i++)
		free(specs[i]);
}

/* --- open and close ------------------------------------------------------ */

int weir_blk_alloc_qps(struct weir_blk *dev, uint16_t n, uint16_t qd)
{
	size_t qs = dev->drv->qp_size ? dev->drv->qp_size : sizeof(struct weir_blk_qp);
	uint32_t ring = (uint32_t)weir_align_pow2(qd);

	if (dev->qp || !n || n > WEIR_BLK_MAX_QP || !qd)
		return -EINVAL;
	dev->qp = calloc(n, sizeof(*dev->qp));
	if (!dev->qp)
		return -ENOMEM;
	qs = (qs + WEIR_CACHE_LINE - 1) & ~(size_t)(WEIR_CACHE_LINE - 1);
	for (uint16_t i = 0; i < n; i++) {
		struct weir_blk_qp *qp = aligned_alloc(WEIR_CACHE_LINE, qs);

		if (!qp)
			return -ENOMEM;
		memset(qp, 0, qs);
		dev->qp[i] = qp;
		dev->nb_qp = i + 1;
		qp->dev = dev;
		qp->id = i;
		qp->qd = qd;
		qp->done_mask = ring - 1;
		qp->done = calloc(ring, sizeof(*qp->done));
		if (!qp->done)
			return -ENOMEM;
	}
	dev->info.nb_qp = n;
	dev->info.qd = qd;
	return 0;
}

static void dev_free(struct weir_blk *dev)
{
	for (uint16_t i = 0; dev->qp && i < dev->nb_qp; i++) {
		free(dev->qp[i]->done);
		free(dev->qp[i]);
	}
	free(dev->qp);
	free(dev->priv);
	free(dev->spec);
	free(dev->label);
	free(dev);
}

static int check_opened(struct weir_blk *dev)
{
	const struct weir_blk_info *in = &dev->info;

	if (!dev->nb_qp)
		return weir_blk_fail(dev, -EINVAL, "driver opened no queue pairs");
	if (!in->nblocks || !weir_is_pow2(in->lbs) || !in->max_blocks ||
	    !weir_is_pow2(in->mem_align ? in->mem_align : 1))
		return weir_blk_fail(dev, -EINVAL, "driver left its geometry unset");
	return 0;
}

int weir_blk_open(const char *spec, const struct weir_blk_conf *conf, struct weir_blk **out,
		  char *why, size_t whylen)
{
	static const struct weir_blk_conf no_conf;
	struct weir_blk *dev;
	int err;

	if (!conf)
		conf = &no_conf;
	dev = calloc(1, sizeof(*dev));
	if (!dev) {
		snprintf(why, whylen, "%s: out of memory", spec ? spec : "(null)");
		return -ENOMEM;
	}
	err = spec ? parse_spec(dev, spec) : -EINVAL;
	if (err)
		goto fail;
	dev->ops = dev->drv->ops;
	if (conf->nb_qp > WEIR_BLK_MAX_QP) {
		err = weir_blk_fail(dev, -EINVAL, "%u queue pairs asked, at most %d",
				    conf->nb_qp, WEIR_BLK_MAX_QP);
		goto fail;
	}
	if (dev->drv->priv_size) {
		dev->priv = calloc(1, dev->drv->priv_size);
		if (!dev->priv) {
			err = weir_blk_fail(dev, -ENOMEM, "out of memory");
			goto fail;
		}
	}
	err = dev->ops->open(dev, conf);
	if (err)
		goto fail;
	err = check_opened(dev);
	if (err) {
		dev->ops->close(dev);
		goto fail;
	}
	if (why && whylen)
		why[0] = '\0';
	*out = dev;
	return 0;
fail:
	if (!dev->err[0])
		snprintf(dev->err, sizeof(dev->err), "%s: %s", spec ? spec : "(null)",
			 strerror(-err));
	if (why && whylen)
		snprintf(why, whylen, "%s", dev->err);
	dev_free(dev);
	return err;
}

void weir_blk_close(struct weir_blk *dev)
{
	if (!dev)
		return;
	dev->ops->close(dev);
	dev_free(dev);
}

/* --- information, statistics ---------------------------------------------- */

void weir_blk_info_get(const struct weir_blk *dev, struct weir_blk_info *info)
{
	*info = dev->info;
}

const char *weir_blk_label(const struct weir_blk *dev)
{
	return dev->label;
}

const char *weir_blk_note(const struct weir_blk *dev)
{
	return dev->note;
}

void weir_blk_stats_get(const struct weir_blk *dev, struct weir_blk_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (uint16_t i = 0; i < dev->nb_qp; i++) {
		const struct weir_blk_stats *s = &dev->qp[i]->stats;

		st->reads += s->reads;
		st->writes += s->writes;
		st->flushes += s->flushes;
		st->zeroes += s->zeroes;
		st->discards += s->discards;
		st->read_bytes += s->read_bytes;
		st->write_bytes += s->write_bytes;
		st->errors += s->errors;
		st->refused += s->refused;
		st->merged += s->merged;
		st->ios += s->ios;
	}
}

int weir_blk_xstats_get(struct weir_blk *dev, struct weir_blk_xstat *xs, int n)
{
	return dev->ops->xstats ? dev->ops->xstats(dev, xs, n) : 0;
}

/* --- RAID control -------------------------------------------------------- */

int weir_blk_raid_status(struct weir_blk *dev, struct weir_blk_raid_status *st)
{
	if (!dev->ops->raid_status)
		return -EOPNOTSUPP;
	memset(st, 0, sizeof(*st));
	return dev->ops->raid_status(dev, st);
}

static int raid_result(struct weir_blk *dev, int err, char *why, size_t whylen)
{
	if (why && whylen)
		snprintf(why, whylen, "%s", err ? dev->err : "");
	return err;
}

int weir_blk_raid_fail(struct weir_blk *dev, unsigned slot, char *why, size_t whylen)
{
	if (!dev->ops->raid_fail)
		return raid_result(dev, weir_blk_fail(dev, -EOPNOTSUPP, "not a RAID array"), why,
				   whylen);
	return raid_result(dev, dev->ops->raid_fail(dev, slot), why, whylen);
}

int weir_blk_raid_replace(struct weir_blk *dev, unsigned slot, const char *spec, char *why,
			  size_t whylen)
{
	if (!dev->ops->raid_replace)
		return raid_result(dev, weir_blk_fail(dev, -EOPNOTSUPP, "not a RAID array"), why,
				   whylen);
	return raid_result(dev, dev->ops->raid_replace(dev, slot, spec), why, whylen);
}

int weir_blk_raid_set_rate(struct weir_blk *dev, uint64_t bytes_per_s)
{
	if (!dev->ops->raid_set_rate)
		return -EOPNOTSUPP;
	return dev->ops->raid_set_rate(dev, bytes_per_s);
}
