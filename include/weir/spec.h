/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The key=value tail of a spec string, shared by port specs
 * ("afxdp:veth0?queues=2&mode=native") and block device specs
 * ("uring:/f?qd=64&direct=1"): one parser, so both refuse the same typos
 * with the same words, and both read numbers the same way (decimal with
 * k/m/g suffixes; hex refused with its decimal spelling). Drivers use it
 * through weir_port_arg_* and weir_blk_arg_*; the types are named
 * weir_port_param / weir_blk_param there.
 */
#ifndef WEIR_SPEC_H
#define WEIR_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A key a driver accepts in its spec. */
struct weir_spec_param {
	const char *key;
	const char *help;    /* one line, shown in errors and --help */
	const char *choices; /* "a|b|c" when only these are valid, else NULL */
};

/* One key=value of a spec; key and value point into the spec's copy. */
struct weir_spec_kv {
	char *key;
	char *value;
	bool used;    /* read by the driver */
	bool foreign; /* not the driver's own key (kept for stacked devices' members) */
};

/* The param named key in params (NULL-key terminated, may be NULL). */
const struct weir_spec_param *weir_spec_param_find(const struct weir_spec_param *params,
						   const char *key);
/* "a, b, c": the keys of params, or "none". */
void weir_spec_keys(const struct weir_spec_param *params, char *buf, size_t len);

/*
 * Splits args ("k=v&k=v", modified in place) into kv[*nkv...max): every
 * field must be key=value, with a key of params (or any key when
 * keep_foreign, marked foreign), given once, values of keys with choices
 * among them. 0, or -EINVAL with the reason (naming the valid keys or
 * choices) in msg.
 */
int weir_spec_split(char *args, const struct weir_spec_param *params, bool keep_foreign,
		    struct weir_spec_kv *kv, int *nkv, int max, char *msg, size_t len);

/* The value of key (not a foreign one), marked used; NULL if not given. */
const char *weir_spec_get(struct weir_spec_kv *kv, int nkv, const char *key);

/*
 * Parses v, key's value, as a decimal count with an optional k/m/g suffix
 * (powers of 1024) into *out, within [min, max]. 0, or -EINVAL with the
 * reason in msg (a hex value is answered with its decimal spelling).
 */
int weir_spec_u64(const char *key, const char *v, uint64_t min, uint64_t max, uint64_t *out,
		  char *msg, size_t len);

/* The index of v among param's "a|b|c" choices, or -EINVAL with the
 * reason in msg. */
int weir_spec_choice(const struct weir_spec_param *param, const char *key, const char *v,
		     char *msg, size_t len);

#endif
