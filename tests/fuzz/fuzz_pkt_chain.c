// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: src/pkt.c and the inline edges of include/weir/pkt.h on
 * chains, driven by a program the fuzzer writes. Six slots hold packets
 * (chains) from a pool of 64 small buffers (256 bytes, 32 of headroom), so
 * chains grow long and allocation fails often; beside each slot a model
 * holds the bytes the packet must contain.
 *
 * Input: a sequence of operations, each an opcode byte (mod 12) and its
 * argument bytes (0 when the input runs out): alloc, free, push, pull,
 * put, trim, linearize, chain, copy_out, read, clone, copy. Slots are
 * chosen by a byte mod 6, lengths by one or two bytes.
 * Properties beyond "no crash, no leak, no out-of-bounds access": after
 * every operation, in every slot, pkt_len is the sum of the segments'
 * data_len, nb_segs the chain's length (at most WEIR_PKT_MAX_SEGS), and
 * the bytes are the model's; each operation succeeds exactly when its
 * contract says (push/pull/put/trim refuse only for lack of room or data,
 * copy_out/read only out of range) and a refusal changes nothing; at the
 * end, with every slot freed, the pool has every buffer back. Buffers
 * shared with a clone are written by no operation (the clone contract),
 * but linearize may still be asked to, and must refuse rather than change
 * what a clone sees (found here: a head trimmed after cloning had the
 * clone's bytes in its tailroom).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "weir/pkt.h"
#include "weir/pool.h"

#define SLOTS 6
#define NBUF 64
#define MODEL_MAX (NBUF * 256)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct slot {
	struct weir_pkt *p;
	uint32_t len;
	uint8_t m[MODEL_MAX];
};

struct prog {
	const uint8_t *d;
	size_t n;
};

static struct weir_pool *pool;
static struct slot slots[SLOTS];
static uint8_t scratch[MODEL_MAX];

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (weir_pool_create(&(struct weir_pool_conf){ .name = "fuzz-pkt", .n = NBUF,
						       .buf_size = 256, .headroom = 32,
						       .cache_size = UINT32_MAX, .huge = 2 },
			     &pool))
		abort();
	return 0;
}

static uint8_t get8(struct prog *g)
{
	if (!g->n)
		return 0;
	g->n--;
	return *g->d++;
}

static uint16_t get16(struct prog *g)
{
	uint16_t hi = get8(g);

	return (uint16_t)(hi << 8 | get8(g));
}

/* Written by no operation: its own or another's clone shares a buffer. */
static bool shared(const struct weir_pkt *p)
{
	for (const struct weir_pkt *s = p; s; s = s->next) {
		const struct weir_pkt *owner = (s->flags & WEIR_PKT_F_INDIRECT) ? s->direct : s;

		if ((s->flags & (WEIR_PKT_F_INDIRECT | WEIR_PKT_F_EXT)) || weir_pkt_refcnt(owner) > 1)
			return true;
	}
	return false;
}

static void check_slot(const struct slot *sl)
{
	const struct weir_pkt *p = sl->p;
	uint64_t sum = 0;
	uint32_t segs = 0;

	if (!p)
		return;
	for (const struct weir_pkt *s = p; s; s = s->next) {
		CHECK(++segs <= WEIR_PKT_MAX_SEGS);
		CHECK(s->data_off + s->data_len <= s->buf_len);
		sum += s->data_len;
	}
	CHECK(segs == p->nb_segs);
	CHECK(sum == p->pkt_len);
	CHECK(p->pkt_len == sl->len);
	CHECK(weir_pkt_copy_out(p, 0, sl->len, scratch) == 0);
	CHECK(memcmp(scratch, sl->m, sl->len) == 0);
}

static void fill(uint8_t *dst, uint8_t *model, uint32_t n, uint8_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		dst[i] = model[i] = (uint8_t)(seed + i * 7);
}

static void op_push(struct slot *sl, struct prog *g)
{
	uint16_t len = get8(g), room = sl->p->data_off;
	uint8_t seed = get8(g), *d;

	if (shared(sl->p))
		return;
	d = weir_pkt_push(sl->p, len);
	CHECK(!d == (len > room));
	if (!d || sl->len + len > MODEL_MAX)
		return (void)(d && weir_pkt_pull(sl->p, len));
	memmove(sl->m + len, sl->m, sl->len);
	fill(d, sl->m, len, seed);
	sl->len += len;
}

static void op_pull(struct slot *sl, struct prog *g)
{
	uint16_t len = get8(g), have = sl->p->data_len;

	CHECK(!weir_pkt_pull(sl->p, len) == (len > have));
	if (len <= have) {
		sl->len -= len;
		memmove(sl->m, sl->m + len, sl->len);
	}
}

static void op_put(struct slot *sl, struct prog *g)
{
	uint16_t len = get16(g) % 512;
	uint8_t seed = get8(g), *d;
	struct weir_pkt *last = weir_pkt_last_seg(sl->p);
	uint32_t room = weir_pkt_tailroom(last);

	if (shared(sl->p))
		return;
	d = weir_pkt_put(sl->p, len);
	CHECK(!d == (len > room));
	if (!d)
		return;
	fill(d, sl->m + sl->len, len, seed);
	sl->len += len;
}

static void op_trim(struct slot *sl, struct prog *g)
{
	uint16_t len = get8(g), have = weir_pkt_last_seg(sl->p)->data_len;
	int r = weir_pkt_trim(sl->p, len);

	CHECK(r == (len > have ? -EINVAL : 0));
	if (!r)
		sl->len -= len;
}

static void op_linearize(struct slot *sl)
{
	struct weir_pkt *p = sl->p;
	bool fits = p->pkt_len <= UINT16_MAX && p->pkt_len - p->data_len <= weir_pkt_tailroom(p);
	int r = weir_pkt_linearize(p);

	if (p->nb_segs == 1 && !p->next && r == 0)
		return;
	CHECK(r == 0 || r == -EINVAL || r == -ENOSPC);
	CHECK(r != -ENOSPC || !fits);
	CHECK(r != -EINVAL || p->flags || weir_pkt_refcnt(p) > 1);
	if (r == 0)
		CHECK(p->nb_segs == 1 && !p->next);
}

static void op_range(struct slot *sl, struct prog *g, bool read)
{
	uint32_t off = get16(g) % (MODEL_MAX + 1), len = get16(g) % 2048;
	bool in = (uint64_t)off + len <= sl->len;
	static uint8_t buf[2048];

	if (read) {
		const uint8_t *r = weir_pkt_read(sl->p, off, len, buf);

		CHECK(!r == !in);
		CHECK(!r || memcmp(r, sl->m + off, len) == 0);
		return;
	}
	CHECK(weir_pkt_copy_out(sl->p, off, len, buf) == (in ? 0 : -EINVAL));
	CHECK(!in || memcmp(buf, sl->m + off, len) == 0);
}

static void op_dup(struct slot *sl, struct slot *to, bool deep)
{
	struct weir_pkt *c = NULL;
	int r;

	if (to->p || to == sl)
		return;
	r = deep ? weir_pkt_copy(sl->p, pool, &c) : weir_pkt_clone(sl->p, pool, &c);
	CHECK(r == 0 || r == -ENOBUFS || (deep && r == -E2BIG));
	CHECK(!r == !!c);
	if (r)
		return;
	to->p = c;
	to->len = sl->len;
	memcpy(to->m, sl->m, sl->len);
}

static void op_chain(struct slot *sl, struct slot *tl)
{
	uint32_t segs = sl->p->nb_segs + tl->p->nb_segs;
	int r;

	if (sl == tl || sl->len + tl->len > MODEL_MAX)
		return;
	r = weir_pkt_chain(sl->p, tl->p);
	CHECK(r == (segs > WEIR_PKT_MAX_SEGS ? -E2BIG : 0));
	if (r)
		return;
	memcpy(sl->m + sl->len, tl->m, tl->len);
	sl->len += tl->len;
	tl->p = NULL;
	tl->len = 0;
}

static void step(uint8_t op, struct prog *g)
{
	struct slot *sl = &slots[get8(g) % SLOTS];

	if (op == 0) {
		if (!sl->p) {
			sl->p = weir_pkt_alloc(pool);
			sl->len = 0;
		}
		return;
	}
	if (!sl->p)
		return;
	switch (op) {
	case 1:
		weir_pkt_free(sl->p);
		sl->p = NULL;
		sl->len = 0;
		break;
	case 2: op_push(sl, g); break;
	case 3: op_pull(sl, g); break;
	case 4: op_put(sl, g); break;
	case 5: op_trim(sl, g); break;
	case 6: op_linearize(sl); break;
	case 7: {
		struct slot *tl = &slots[get8(g) % SLOTS];

		if (tl->p)
			op_chain(sl, tl);
		break;
	}
	case 8: op_range(sl, g, false); break;
	case 9: op_range(sl, g, true); break;
	case 10: op_dup(sl, &slots[get8(g) % SLOTS], false); break;
	default: op_dup(sl, &slots[get8(g) % SLOTS], true); break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prog g = { data, size };

	while (g.n) {
		step(get8(&g) % 12, &g);
		for (int i = 0; i < SLOTS; i++)
			check_slot(&slots[i]);
	}
	for (int i = 0; i < SLOTS; i++) {
		weir_pkt_free(slots[i].p);
		slots[i].p = NULL;
		slots[i].len = 0;
	}
	CHECK(weir_pool_in_use(pool) == 0);
	return 0;
}
