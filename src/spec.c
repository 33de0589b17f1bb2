// SPDX-License-Identifier: BSD-3-Clause
/*
 * One parser for the key=value tail of port and block device specs
 * (weir/spec.h). Fields are split by hand: strtok_r would skip the empty
 * fields ("a=1&&b=2", "a=1&") that are typos a person wants to hear of.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/spec.h"

const struct weir_spec_param *weir_spec_param_find(const struct weir_spec_param *params,
						   const char *key)
{
	for (const struct weir_spec_param *p = params; p && p->key; p++)
		if (!strcmp(p->key, key))
			return p;
	return NULL;
}

void weir_spec_keys(const struct weir_spec_param *params, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (const struct weir_spec_param *p = params; p && p->key && off < len; p++) {
		int n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", p->key);

		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (!off)
		snprintf(buf, len, "none");
}

/* One "key=value" field (tok, NUL-terminated) into kv[*nkv]. */
static int add(char *tok, const struct weir_spec_param *params, bool keep_foreign,
	       struct weir_spec_kv *kv, int *nkv, int max, char *msg, size_t len)
{
	const struct weir_spec_param *param;
	char valid[200];
	char *eq = strchr(tok, '=');

	weir_spec_keys(params, valid, sizeof(valid));
	if (!*tok) {
		snprintf(msg, len, "empty key=value field (a stray '&'; valid keys: %s)", valid);
		return -EINVAL;
	}
	if (!eq || eq == tok) {
		snprintf(msg, len, "'%s' is not key=value (valid keys: %s)", tok, valid);
		return -EINVAL;
	}
	*eq = '\0';
	param = weir_spec_param_find(params, tok);
	if (!param && !keep_foreign) {
		snprintf(msg, len, "unknown key '%s' (valid keys: %s)", tok, valid);
		return -EINVAL;
	}
	for (int i = 0; i < *nkv; i++) {
		if (!strcmp(kv[i].key, tok)) {
			snprintf(msg, len, "key '%s' given twice", tok);
			return -EINVAL;
		}
	}
	if (*nkv == max) {
		snprintf(msg, len, "too many keys (at most %d)", max);
		return -EINVAL;
	}
	kv[(*nkv)++] = (struct weir_spec_kv){.key = tok, .value = eq + 1, .foreign = !param};
	if (param && param->choices && weir_spec_choice(param, tok, eq + 1, msg, len) < 0)
		return -EINVAL;
	return 0;
}

int weir_spec_split(char *args, const struct weir_spec_param *params, bool keep_foreign,
		    struct weir_spec_kv *kv, int *nkv, int max, char *msg, size_t len)
{
	char *next;

	for (char *tok = args; tok; tok = next) {
		char *amp = strchr(tok, '&');
		int err;

		next = NULL;
		if (amp) {
			*amp = '\0';
			next = amp + 1;
		}
		err = add(tok, params, keep_foreign, kv, nkv, max, msg, len);
		if (err)
			return err;
	}
	return 0;
}

const char *weir_spec_get(struct weir_spec_kv *kv, int nkv, const char *key)
{
	for (int i = 0; i < nkv; i++) {
		if (!kv[i].foreign && !strcmp(kv[i].key, key)) {
			kv[i].used = true;
			return kv[i].value;
		}
	}
	return NULL;
}

/*
 * Spec integers are decimal: base 0 made queues=010 mean 8 and 0x10 mean
 * 16, which nobody typing a queue count means. A leading zero is just a
 * zero (010 is 10); a hex value is refused with its decimal spelling, so
 * ethertype=0x88b5 is answered with 35061.
 */
int weir_spec_u64(const char *key, const char *v, uint64_t min, uint64_t max, uint64_t *out,
		  char *msg, size_t len)
{
	unsigned long long x;
	unsigned shift = 0;
	char *end;

	if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X') && isxdigit((unsigned char)v[2])) {
		errno = 0;
		x = strtoull(v + 2, &end, 16);
		if (!*end && !errno) {
			snprintf(msg, len, "%s=%s: numbers in a spec are decimal (write %s=%llu; "
				 "valid: %llu..%llu)", key, v, key, x, (unsigned long long)min,
				 (unsigned long long)max);
			return -EINVAL;
		}
		goto bad;
	}
	/* strtoull alone would take " 5", "+5" and wrap "-5" around. */
	if (!isdigit((unsigned char)*v))
		goto bad;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (end == v || errno)
		goto bad;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end)
		goto bad;
	if (x > (ULLONG_MAX >> shift) || (x << shift) < min || (x << shift) > max) {
		snprintf(msg, len, "%s=%s is out of range (valid: %llu..%llu)", key, v,
			 (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	*out = x << shift;
	return 0;
bad:
	snprintf(msg, len, "%s=%s is not a number (valid: %llu..%llu)", key, v,
		 (unsigned long long)min, (unsigned long long)max);
	return -EINVAL;
}

int weir_spec_choice(const struct weir_spec_param *param, const char *key, const char *v,
		     char *msg, size_t len)
{
	size_t vlen = strlen(v);
	int idx = 0;

	if (!param || !param->choices) {
		snprintf(msg, len, "%s has no fixed choices", key);
		return -EINVAL;
	}
	for (const char *c = param->choices; *c; idx++) {
		size_t n = strcspn(c, "|");

		if (n == vlen && !strncmp(c, v, n))
			return idx;
		c += n;
		if (*c == '|')
			c++;
	}
	snprintf(msg, len, "%s=%s is not valid (valid: %s)", key, v, param->choices);
	return -EINVAL;
}
