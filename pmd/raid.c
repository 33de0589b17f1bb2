// SPDX-License-Identifier: BSD-3-Clause
/*
 * raid0, raid1, raid5: arrays over any block devices.
 *
 *     raid5:uring:/a,uring:/b,uring:/c?chunk=64k&create=1
 *     raid1:[uring:/dev/loop3?direct=1],uring:/x?rebuild_rate=50m
 *
 * Keys the array does not know go to every member (direct=0 above applies
 * to each); a member in brackets carries keys of its own. Every member
 * holds a superblock (raid_sb.c) at 4 KiB and its data from 1 MiB on.
 *
 * Opening: each member's superblock is read first. create=1 writes new
 * ones (refused over a member of an existing array unless force=1) after
 * zeroing the data areas, so parity starts consistent without a resync.
 * Otherwise the array is assembled from what the superblocks say, in any
 * member order: a member without one, with a damaged one, of another
 * array (uuid), or disagreeing on the layout is refused with the reason;
 * a member with an older generation than the rest missed changes while it
 * was out (stale): it is left out and the array runs degraded, as md does;
 * an interrupted rebuild resumes at its checkpoint.
 *
 * Running: a member that returns an I/O error, or is failed by hand, is
 * marked failed in every other member's superblock before anything relies
 * on it being out; reads of its data are rebuilt from the others, writes
 * go on. weir_blk_raid_replace() puts a new device in its place and the
 * rebuild starts (raid_io.c). The array can wait for completions
 * (WEIR_BLK_F_WAIT) when every member can: it sleeps on the members'
 * completion fds (raid_wait).
 *
 * The write hole, as md documents it for arrays without a journal or PPL:
 * a RAID5 row whose data and parity writes were cut by a crash or power
 * loss can hold parity that matches neither the old nor the new data. The
 * data itself reads back as the last completed writes left it; only if a
 * member is lost before that row is written again could its rebuilt chunk
 * be wrong. weir records an unclean shutdown (the clean flag is cleared
 * while the array is open) and says so at the next open; a full parity
 * resync is not done. RAID1 mirrors can likewise differ in rows whose
 * writes were in flight; either copy is one the application never saw
 * completed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "raid_engine.h"
#include "weir/log.h"

struct probe {
	int rc; /* 0: a valid superblock, -ENODATA: none, < 0: refused */
	struct raid_sb sb;
	struct weir_blk_info info;
	char why[160];
};

struct open_args {
	char *specs[RAID_MAX_MEMBERS];
	int nspec;
	struct probe pr[RAID_MAX_MEMBERS];
	int slot_of[RAID_MAX_MEMBERS]; /* spec index -> slot, -1: not used */
	bool create, force;
	uint64_t chunk_bytes;
	const struct weir_blk_conf *conf;
};

static void uuid_str(const uint8_t *u, char *buf)
{
	for (int i = 0; i < 16; i++)
		sprintf(buf + 2 * i, "%02x", u[i]);
}

/* --- superblock I/O ----------------------------------------------------- */

int raid_sb_io(struct weir_blk *m, uint16_t qp, uint8_t op, uint8_t *buf)
{
	struct weir_blk_info in;
	struct iovec v = {buf, RAID_SB_SIZE};
	struct weir_blk_req r = {.op = op, .iov = &v, .nb_iov = 1};

	weir_blk_info_get(m, &in);
	if (in.lbs > RAID_SB_SIZE)
		return -EINVAL;
	r.lba = RAID_SB_OFFSET / in.lbs;
	r.nblocks = RAID_SB_SIZE / in.lbs;
	r.flags = op == WEIR_BLK_WRITE ? WEIR_BLK_REQ_FUA : 0;
	return weir_blk_sync(m, qp, &r);
}

/* --- opening: probing the members ----------------------------------------- */

static int probe_member(struct weir_blk *dev, struct open_args *a, int i)
{
	struct raid_priv *rp = dev->priv;
	struct probe *p = &a->pr[i];
	struct weir_blk *m;
	char why[WEIR_BLK_ERRSIZE];
	int err;

	err = weir_blk_open(a->specs[i], &(struct weir_blk_conf){.nb_qp = 1}, &m, why, sizeof(why));
	if (err == -EINVAL && strstr(why, "unknown key"))
		return weir_blk_fail(dev, err, "member %d: %s; %s itself takes chunk, create, force, "
				     "rebuild_rate and hands other keys to every member", i, why,
				     dev->drv->name);
	if (err)
		return weir_blk_fail(dev, err, "member %d: %s", i, why);
	weir_blk_info_get(m, &p->info);
	if (p->info.lbs > RAID_SB_SIZE ||
	    p->info.nblocks * p->info.lbs < RAID_DATA_OFFSET + 4096) {
		weir_blk_close(m);
		return weir_blk_fail(dev, -EINVAL, "member %d (%s) is too small (%llu bytes; the "
				     "superblock and data start at 1 MiB)", i, a->specs[i],
				     (unsigned long long)(p->info.nblocks * p->info.lbs));
	}
	err = raid_sb_io(m, 0, WEIR_BLK_READ, rp->sbbuf);
	weir_blk_close(m);
	if (err)
		return weir_blk_fail(dev, err, "member %d (%s): cannot read its superblock: %s", i,
				     a->specs[i], strerror(-err));
	p->rc = raid_sb_decode(rp->sbbuf, RAID_SB_SIZE, &p->sb, p->why, sizeof(p->why));
	for (int k = 0; k < i; k++)
		if (p->info.ident[0] && p->info.ident[0] == a->pr[k].info.ident[0] &&
		    p->info.ident[1] == a->pr[k].info.ident[1])
			return weir_blk_fail(dev, -EINVAL, "members %d and %d are the same device "
					     "(%s)", k, i, a->specs[i]);
	return 0;
}

static int create_layout(struct weir_blk *dev, struct open_args *a)
{
	struct raid_priv *rp = dev->priv;
	uint64_t mb = UINT64_MAX;

	for (int i = 0; i < a->nspec; i++) {
		if (a->pr[i].rc == 0 && !a->force)
			return weir_blk_fail(dev, -EEXIST, "member %d (%s) already belongs to a "
					     "raid%u array (generation %llu): add force=1 to "
					     "overwrite it", i, a->specs[i], a->pr[i].sb.level,
					     (unsigned long long)a->pr[i].sb.generation);
		if (a->pr[i].info.lbs != a->pr[0].info.lbs)
			return weir_blk_fail(dev, -EINVAL, "member %d has %u-byte blocks, member 0 "
					     "%u: give them the same lbs=", i, a->pr[i].info.lbs,
					     a->pr[0].info.lbs);
		if (a->pr[i].info.features & WEIR_BLK_F_READONLY)
			return weir_blk_fail(dev, -EROFS, "create=1: member %d is read-only", i);
		mb = WEIR_MIN(mb, a->pr[i].info.nblocks);
		a->slot_of[i] = i;
	}
	rp->lbs = a->pr[0].info.lbs;
	if (a->chunk_bytes < rp->lbs)
		return weir_blk_fail(dev, -EINVAL, "chunk=%llu is smaller than a block (%u)",
				     (unsigned long long)a->chunk_bytes, rp->lbs);
	rp->data_lba = RAID_DATA_OFFSET / rp->lbs;
	rp->g = (struct raid_geom){.level = rp->g.level, .n = (uint32_t)a->nspec,
				   .chunk = (uint32_t)(a->chunk_bytes / rp->lbs)};
	rp->g.member_blocks = (mb - rp->data_lba) / rp->g.chunk * rp->g.chunk;
	if (!rp->g.member_blocks)
		return weir_blk_fail(dev, -EINVAL, "the smallest member holds less than one chunk "
				     "past the 1 MiB superblock area");
	memset(&rp->sb, 0, sizeof(rp->sb));
	if (getrandom(rp->sb.uuid, sizeof(rp->sb.uuid), 0) != sizeof(rp->sb.uuid))
		return weir_blk_fail(dev, -EIO, "getrandom: %s", strerror(errno));
	rp->sb.level = (uint32_t)rp->g.level;
	rp->sb.nb_members = rp->g.n;
	rp->sb.chunk_bytes = (uint32_t)a->chunk_bytes;
	rp->sb.lbs = rp->lbs;
	rp->sb.data_offset = RAID_DATA_OFFSET;
	rp->sb.member_blocks = rp->g.member_blocks;
	rp->sb.ctime = weir_clock_realtime();
	rp->sb.rebuild_slot = -1;
	return 0;
}

/* The superblock of the array most members belong to (most members, then
 * newest): the index of its newest copy, or -1. */
static int pick_array(const struct open_args *a)
{
	int best = -1, best_count = 0;

	for (int i = 0; i < a->nspec; i++) {
		int count = 0;

		if (a->pr[i].rc)
			continue;
		for (int k = 0; k < a->nspec; k++)
			count += !a->pr[k].rc && !memcmp(a->pr[k].sb.uuid, a->pr[i].sb.uuid, 16);
		if (count > best_count ||
		    (count == best_count && a->pr[i].sb.generation > a->pr[best].sb.generation)) {
			best = i;
			best_count = count;
		}
	}
	return best;
}

static int check_member(struct weir_blk *dev, const struct open_args *a, int i,
			const struct raid_sb *auth)
{
	const struct probe *p = &a->pr[i];
	const struct raid_sb *sb = &p->sb;
	char u1[33], u2[33];

	if (p->rc == -ENODATA)
		return weir_blk_fail(dev, -EINVAL, "member %d (%s) has no weir RAID superblock: it "
				     "is not part of this array (take it out of the spec, then "
				     "weir_blk_raid_replace it in to rebuild onto it)", i, a->specs[i]);
	if (p->rc)
		return weir_blk_fail(dev, p->rc, "member %d (%s): %s: take it out of the spec (the "
				     "array runs degraded without it) and replace it", i, a->specs[i],
				     p->why);
	if (memcmp(sb->uuid, auth->uuid, 16)) {
		uuid_str(sb->uuid, u1);
		uuid_str(auth->uuid, u2);
		return weir_blk_fail(dev, -EINVAL, "member %d (%s) belongs to another array (uuid "
				     "%.8s..., the others' is %.8s...): take it out of the spec", i,
				     a->specs[i], u1, u2);
	}
	if (sb->level != auth->level || sb->nb_members != auth->nb_members ||
	    sb->chunk_bytes != auth->chunk_bytes || sb->lbs != auth->lbs ||
	    sb->data_offset != auth->data_offset || sb->member_blocks != auth->member_blocks)
		return weir_blk_fail(dev, -EINVAL, "member %d (%s): its superblock disagrees with "
				     "the others' on the layout", i, a->specs[i]);
	if (p->info.lbs != sb->lbs)
		return weir_blk_fail(dev, -EINVAL, "member %d (%s) has %u-byte blocks, the array "
				     "%u: open it with lbs=%u", i, a->specs[i], p->info.lbs, sb->lbs,
				     sb->lbs);
	if (p->info.nblocks < sb->data_offset / sb->lbs + sb->member_blocks)
		return weir_blk_fail(dev, -EINVAL, "member %d (%s) is smaller than the array needs: "
				     "was it truncated?", i, a->specs[i]);
	return 0;
}

/* Which member holds which slot, and what the states are now. */
static int assign_slots(struct weir_blk *dev, struct open_args *a)
{
	struct raid_priv *rp = dev->priv;
	int holder[RAID_MAX_MEMBERS];
	char why[96];

	for (uint32_t s = 0; s < RAID_MAX_MEMBERS; s++)
		holder[s] = -1;
	for (int i = 0; i < a->nspec; i++) {
		const struct raid_sb *sb = &a->pr[i].sb;

		a->slot_of[i] = -1;
		if (sb->generation < rp->sb.generation) {
			snprintf(rp->m[sb->role].why, sizeof(rp->m[sb->role].why),
				 "%s is stale (generation %llu < the array's %llu: it missed "
				 "changes while out); replace it", a->specs[i],
				 (unsigned long long)sb->generation,
				 (unsigned long long)rp->sb.generation);
			weir_blk_notef(dev, "member %d: %s", i, rp->m[sb->role].why);
			continue;
		}
		if (holder[sb->role] >= 0)
			return weir_blk_fail(dev, -EINVAL, "members %d and %d both claim slot %u",
					     holder[sb->role], i, sb->role);
		if (rp->sb.states[sb->role] == WEIR_BLK_MEMBER_FAILED ||
		    rp->sb.states[sb->role] == WEIR_BLK_MEMBER_MISSING) {
			snprintf(rp->m[sb->role].why, sizeof(rp->m[sb->role].why),
				 "%s is marked %s in the array: replace it", a->specs[i],
				 raid_state_name(rp->sb.states[sb->role]));
			continue;
		}
		holder[sb->role] = i;
		a->slot_of[i] = (int)sb->role;
	}
	for (uint32_t s = 0; s < rp->g.n; s++) {
		if (holder[s] >= 0)
			continue;
		if (rp->sb.states[s] != WEIR_BLK_MEMBER_FAILED)
			rp->sb.states[s] = WEIR_BLK_MEMBER_MISSING;
		if (!rp->m[s].why[0])
			snprintf(rp->m[s].why, sizeof(rp->m[s].why), "not in the spec");
		if (rp->sb.rebuild_slot == (int32_t)s) {
			rp->sb.rebuild_slot = -1;
			rp->sb.rebuild_rows = 0;
		}
	}
	if (!raid_survives(rp, rp->sb.states, why, sizeof(why)))
		return weir_blk_fail(dev, -ENODEV, "cannot run: %s (see weir_blk_raid_status, or "
				     "the members' messages above)", why);
	return 0;
}

static int assemble_layout(struct weir_blk *dev, struct open_args *a)
{
	struct raid_priv *rp = dev->priv;
	int best = pick_array(a), err;

	if (best < 0) {
		for (int i = 0; i < a->nspec; i++)
			if (a->pr[i].rc != -ENODATA)
				return check_member(dev, a, i, &a->pr[i].sb);
		return weir_blk_fail(dev, -ENODATA, "no member has a weir RAID superblock: to make "
				     "a new array add create=1 (its contents start as zeroes)");
	}
	rp->sb = a->pr[best].sb;
	if ((int)rp->sb.level != rp->g.level)
		return weir_blk_fail(dev, -EINVAL, "the members hold a raid%u array, not raid%d: "
				     "open it as raid%u:", rp->sb.level, rp->g.level, rp->sb.level);
	if (a->nspec > (int)rp->sb.nb_members)
		return weir_blk_fail(dev, -EINVAL, "%d members given; the array has %u", a->nspec,
				     rp->sb.nb_members);
	if (a->chunk_bytes && a->chunk_bytes != rp->sb.chunk_bytes)
		return weir_blk_fail(dev, -EINVAL, "chunk=%llu, but the array's chunk is %u bytes "
				     "(drop the key when assembling)",
				     (unsigned long long)a->chunk_bytes, rp->sb.chunk_bytes);
	for (int i = 0; i < a->nspec; i++)
		if ((err = check_member(dev, a, i, &rp->sb)))
			return err;
	rp->lbs = rp->sb.lbs;
	rp->data_lba = rp->sb.data_offset / rp->lbs;
	rp->g = (struct raid_geom){.level = rp->g.level, .n = rp->sb.nb_members,
				   .chunk = rp->sb.chunk_bytes / rp->lbs,
				   .member_blocks = rp->sb.member_blocks};
	rp->unclean = !(rp->sb.flags & RAID_SB_CLEAN);
	if (rp->unclean)
		weir_blk_notef(dev, "the array was not closed cleanly: a RAID5 row whose writes a "
			       "crash cut may hold stale parity until rewritten (the write hole, as "
			       "md without a journal)");
	return assign_slots(dev, a);
}

/* --- opening: the members, for real -------------------------------------- */

static int open_members(struct weir_blk *dev, struct open_args *a)
{
	struct raid_priv *rp = dev->priv;
	struct weir_blk_conf mc = {.pool = a->conf->pool, .pool2 = rp->tmp, .nb_qp = rp->nb_qp + 1,
				   .fd_wait = true};
	char why[WEIR_BLK_ERRSIZE];
	int err;

	for (int i = 0; i < a->nspec; i++) {
		struct raid_member *m;

		if (a->slot_of[i] < 0)
			continue;
		m = &rp->m[a->slot_of[i]];
		err = weir_blk_open(a->specs[i], &mc, &m->dev, why, sizeof(why));
		if (err)
			return weir_blk_fail(dev, err, "member %d: %s", i, why);
		snprintf(m->spec, sizeof(m->spec), "%s", a->specs[i]);
		memcpy(m->ident, a->pr[i].info.ident, sizeof(m->ident));
	}
	for (uint32_t s = 0; s < rp->g.n; s++)
		atomic_store(&rp->m[s].state, rp->sb.states[s]);
	atomic_store(&rp->rebuild_slot, rp->sb.rebuild_slot);
	atomic_store(&rp->rebuild_rows, rp->sb.rebuild_rows);
	return 0;
}

/* create=1: zeroes every member's data area (so parity starts right). */
static int zero_members(struct weir_blk *dev)
{
	struct raid_priv *rp = dev->priv;

	for (uint32_t s = 0; s < rp->g.n; s++) {
		uint64_t lba = rp->data_lba, end = rp->data_lba + rp->g.member_blocks;
		int err = 0;

		while (!err && lba < end) {
			uint32_t nb = (uint32_t)WEIR_MIN(end - lba, 1u << 30);
			struct weir_blk_req r = {.op = WEIR_BLK_WRITE_ZEROES, .lba = lba, .nblocks = nb};

			err = weir_blk_sync(rp->m[s].dev, rp->nb_qp, &r);
			lba += nb;
		}
		if (!err)
			err = weir_blk_sync(rp->m[s].dev, rp->nb_qp,
					    &(struct weir_blk_req){.op = WEIR_BLK_FLUSH});
		if (err)
			return weir_blk_fail(dev, err, "create=1: cannot zero member %u (%s): %s", s,
					     rp->m[s].spec, weir_blk_qp_error(rp->m[s].dev, rp->nb_qp));
	}
	return 0;
}

static int setup(struct weir_blk *dev, struct open_args *a)
{
	struct raid_priv *rp = dev->priv;
	uint32_t chunk_bytes = rp->g.chunk * rp->lbs;
	uint32_t per_set = (chunk_bytes + RAID_TMP_BUF - 1) / RAID_TMP_BUF;
	int err;

	/* Slices per queue pair: as many as 8 MiB of buffers allow, 4..32. */
	rp->slices = WEIR_MAX(4u, WEIR_MIN(32u, (8u << 20) / (rp->g.n * chunk_bytes)));
	err = weir_pool_create(&(struct weir_pool_conf){
					   .name = "raid", .buf_size = RAID_TMP_BUF,
					   .n = rp->nb_qp * rp->slices * (rp->g.n + 1) * per_set,
					   .huge = -1}, &rp->tmp);
	rp->zero = aligned_alloc(4096, RAID_ZERO_SIZE);
	if (err || !rp->tmp || !rp->zero)
		return weir_blk_fail(dev, -ENOMEM, "out of memory for parity buffers");
	memset(rp->zero, 0, RAID_ZERO_SIZE);
	rp->ckpt_rows = WEIR_MAX(1, raid_rows(&rp->g) / 64);
	if ((err = open_members(dev, a)))
		return err;
	if (a->create && (err = zero_members(dev)))
		return err;
	return 0;
}

static void fill_info(struct weir_blk *dev)
{
	struct raid_priv *rp = dev->priv;
	struct weir_blk_info *in = &dev->info;
	bool direct = true, ro = false, wait = true;

	in->nblocks = raid_array_blocks(&rp->g);
	in->lbs = rp->lbs;
	in->dev_lbs = in->mem_align = 1;
	in->qd = UINT16_MAX;
	for (uint32_t s = 0; s < rp->g.n; s++) {
		struct weir_blk_info mi;

		if (!rp->m[s].dev)
			continue;
		weir_blk_info_get(rp->m[s].dev, &mi);
		in->dev_lbs = WEIR_MAX(in->dev_lbs, mi.dev_lbs);
		in->mem_align = WEIR_MAX(in->mem_align, mi.mem_align);
		in->qd = WEIR_MIN(in->qd, mi.qd);
		direct &= !!(mi.features & WEIR_BLK_F_DIRECT);
		ro |= !!(mi.features & WEIR_BLK_F_READONLY);
		wait &= !!(mi.features & WEIR_BLK_F_WAIT);
	}
	in->max_blocks = (1u << 20) / rp->lbs;
	in->features = WEIR_BLK_F_STACKED | (direct ? WEIR_BLK_F_DIRECT : 0) |
		       (ro ? WEIR_BLK_F_READONLY : 0) | (wait ? WEIR_BLK_F_WAIT : 0);
}

static void raid_close(struct weir_blk *dev);

static int parse_keys(struct weir_blk *dev, struct open_args *a)
{
	struct raid_priv *rp = dev->priv;
	uint64_t rate;
	int create, force, err;

	if ((err = weir_blk_arg_u64(dev, "chunk", 0, 4096, 1u << 20, &a->chunk_bytes)) ||
	    (err = weir_blk_arg_u64(dev, "rebuild_rate", 0, 0, UINT64_MAX >> 8, &rate)))
		return err;
	if (a->chunk_bytes && !weir_is_pow2(a->chunk_bytes))
		return weir_blk_fail(dev, -EINVAL, "chunk=%llu is not a power of two",
				     (unsigned long long)a->chunk_bytes);
	if ((create = weir_blk_arg_choice(dev, "create", 0)) < 0 ||
	    (force = weir_blk_arg_choice(dev, "force", 0)) < 0)
		return -EINVAL;
	if (force && !create)
		return weir_blk_fail(dev, -EINVAL, "force=1 only goes with create=1");
	a->create = create;
	a->force = force;
	if (create && !a->chunk_bytes)
		a->chunk_bytes = 64 << 10;
	atomic_store(&rp->rate, rate);
	return 0;
}

static int raid_open_args(struct weir_blk *dev, struct open_args *a)
{
	struct raid_priv *rp = dev->priv;
	int err;

	if ((err = parse_keys(dev, a)))
		return err;
	a->nspec = weir_blk_members(dev, a->specs, RAID_MAX_MEMBERS);
	if (a->nspec < 0)
		return a->nspec;
	if (a->create && a->nspec < (rp->g.level == 5 ? 3 : 2))
		return weir_blk_fail(dev, -EINVAL, "raid%d needs at least %d members, %d given",
				     rp->g.level, rp->g.level == 5 ? 3 : 2, a->nspec);
	rp->sbbuf = aligned_alloc(4096, RAID_SB_SIZE);
	if (!rp->sbbuf)
		return weir_blk_fail(dev, -ENOMEM, "out of memory");
	for (int i = 0; i < a->nspec; i++)
		if ((err = probe_member(dev, a, i)))
			return err;
	err = a->create ? create_layout(dev, a) : assemble_layout(dev, a);
	if (err || (err = setup(dev, a)))
		return err;
	fill_info(dev);
	rp->sb.flags &= ~(uint32_t)RAID_SB_CLEAN; /* dirty while open */
	pthread_mutex_lock(&rp->lock);
	raid_sb_write_all(dev);
	pthread_mutex_unlock(&rp->lock);
	if ((err = weir_blk_alloc_qps(dev, rp->nb_qp, dev->info.qd)))
		return weir_blk_fail(dev, err, "out of memory");
	for (uint16_t i = 0; i < dev->nb_qp; i++)
		if ((err = raid_qp_init(rp, (struct raid_qp *)dev->qp[i])))
			return weir_blk_fail(dev, err, "out of memory");
	return 0;
}

static int raid_open(struct weir_blk *dev, const struct weir_blk_conf *conf)
{
	struct raid_priv *rp = dev->priv;
	struct open_args *a = calloc(1, sizeof(*a));
	int err;

	if (!a)
		return weir_blk_fail(dev, -ENOMEM, "out of memory");
	pthread_mutex_init(&rp->lock, NULL);
	atomic_store(&rp->rebuild_slot, -1);
	rp->g.level = dev->drv->name[4] - '0';
	rp->nb_qp = conf->nb_qp ? conf->nb_qp : 1;
	rp->app_pool = conf->pool;
	a->conf = conf;
	err = raid_open_args(dev, a);
	weir_blk_members_free(a->specs, a->nspec > 0 ? a->nspec : 0);
	free(a);
	if (err)
		raid_close(dev);
	return err;
}

static bool idle(const struct weir_blk *dev)
{
	for (uint16_t i = 0; dev->qp && i < dev->nb_qp; i++)
		if (dev->qp[i]->inflight)
			return false;
	return dev->qp != NULL;
}

static void raid_close(struct weir_blk *dev)
{
	struct raid_priv *rp = dev->priv;

	if (idle(dev)) {
		/* Nothing in flight: the next open need not suspect a hole. */
		pthread_mutex_lock(&rp->lock);
		if (rp->sb.rebuild_slot >= 0)
			rp->sb.rebuild_rows = atomic_load(&rp->rebuild_rows);
		rp->sb.flags |= RAID_SB_CLEAN;
		raid_sb_write_all(dev);
		pthread_mutex_unlock(&rp->lock);
	}
	for (uint32_t s = 0; s < RAID_MAX_MEMBERS; s++) {
		weir_blk_close(rp->m[s].dev);
		rp->m[s].dev = NULL;
	}
	for (int i = 0; i < rp->nretired; i++)
		weir_blk_close(rp->retired[i]);
	rp->nretired = 0;
	for (uint16_t i = 0; dev->qp && i < dev->nb_qp; i++)
		raid_qp_fini((struct raid_qp *)dev->qp[i]);
	weir_pool_destroy(rp->tmp);
	free(rp->zero);
	free(rp->sbbuf);
	rp->tmp = NULL;
	rp->zero = rp->sbbuf = NULL;
	pthread_mutex_destroy(&rp->lock);
}

static const struct weir_blk_param raid_params[] = {
	{"chunk", "bytes per chunk, a power of two 4k..1m (create; default 64k)", NULL},
	{"create", "write new superblocks and zero the members (default 0)", "0|1"},
	{"force", "with create=1: overwrite members of another array", "0|1"},
	{"rebuild_rate", "rebuild bytes/s, k/m/g suffixes (default 0: unlimited)", NULL},
	{NULL, NULL, NULL},
};

static const struct weir_blk_ops raid_ops = {
	.open = raid_open,
	.submit = raid_submit,
	.poll = raid_poll,
	.wait = raid_wait,
	.xstats = raid_xstats,
	.close = raid_close,
	.raid_status = raid_status,
	.raid_fail = raid_fail,
	.raid_replace = raid_replace,
	.raid_set_rate = raid_set_rate,
};

#define RAID_DRIVER(lvl, text)                                                    \
	static struct weir_blk_driver raid##lvl##_driver = {                      \
		.name = "raid" #lvl,                                              \
		.help = "raid" #lvl ":SPEC,SPEC,... — " text,                     \
		.ops = &raid_ops,                                                 \
		.params = raid_params,                                            \
		.priv_size = sizeof(struct raid_priv),                            \
		.qp_size = sizeof(struct raid_qp),                                \
		.stacked = true,                                                  \
	};                                                                        \
	WEIR_BLK_DRIVER_REGISTER(raid##lvl##_driver)

RAID_DRIVER(0, "striping over block devices")
RAID_DRIVER(1, "mirroring over block devices")
RAID_DRIVER(5, "striping with rotating parity over block devices")
