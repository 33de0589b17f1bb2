// SPDX-License-Identifier: BSD-3-Clause
/*
 * RAID member states and control: superblock rounds (every member in use
 * gets the array's state with a new generation, through the control queue
 * pairs, under the array lock), member failure (recorded in the others'
 * superblocks before the lcores see it), rebuild checkpoints and their
 * end, and the calls behind weir_blk_raid_status/fail/replace/set_rate.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "raid_engine.h"
#include "weir/log.h"

static const char *const state_names[] = {"active", "failed", "rebuilding", "missing"};

const char *raid_state_name(unsigned st)
{
	return st < WEIR_ARRAY_SIZE(state_names) ? state_names[st] : "unknown";
}

/*
 * Bumps the generation and writes rp->sb to every member its states say
 * is in use, through the control queue pairs. A member that cannot take
 * it is marked failed and the others are written again. Under rp->lock.
 */
void raid_sb_write_all(struct weir_blk *dev)
{
	struct raid_priv *rp = dev->priv;
	bool again = true;

	if (dev->info.features & WEIR_BLK_F_READONLY)
		return;
	for (uint32_t round = 0; again && round <= rp->g.n; round++) {
		again = false;
		rp->sb.generation++;
		for (uint32_t m = 0; m < rp->g.n; m++) {
			int err;

			if (!rp->m[m].dev || (rp->sb.states[m] != WEIR_BLK_MEMBER_ACTIVE &&
					      rp->sb.states[m] != WEIR_BLK_MEMBER_REBUILDING))
				continue;
			rp->sb.role = m;
			raid_sb_encode(&rp->sb, rp->sbbuf);
			err = raid_sb_io(rp->m[m].dev, rp->nb_qp, WEIR_BLK_WRITE, rp->sbbuf);
			if (!err)
				continue;
			WEIR_ERR("%s: member %u (%s): superblock write failed: %s; marking it failed",
				 dev->label, m, rp->m[m].spec, strerror(-err));
			snprintf(rp->m[m].why, sizeof(rp->m[m].why), "superblock write: %s",
				 strerror(-err));
			rp->sb.states[m] = WEIR_BLK_MEMBER_FAILED;
			atomic_store(&rp->m[m].state, WEIR_BLK_MEMBER_FAILED);
			again = true;
		}
	}
}

/* Whether the array still has every block with the members in states. */
bool raid_survives(const struct raid_priv *rp, const uint8_t *states, char *why, size_t len)
{
	uint32_t out = 0;

	for (uint32_t m = 0; m < rp->g.n; m++)
		out += states[m] != WEIR_BLK_MEMBER_ACTIVE;
	if (rp->g.level == 0 && out)
		snprintf(why, len, "raid0 has no redundancy: every member must be there");
	else if (rp->g.level == 1 && out == rp->g.n)
		snprintf(why, len, "raid1 needs one active mirror; none is");
	else if (rp->g.level == 5 && out > 1)
		snprintf(why, len, "raid5 survives one member out, %u are", out);
	else
		return true;
	return false;
}

void raid_member_fail(struct weir_blk *dev, uint32_t slot, int err, const char *what)
{
	struct raid_priv *rp = dev->priv;
	char why[96];

	pthread_mutex_lock(&rp->lock);
	if (rp->sb.states[slot] == WEIR_BLK_MEMBER_FAILED ||
	    rp->sb.states[slot] == WEIR_BLK_MEMBER_MISSING) {
		pthread_mutex_unlock(&rp->lock);
		return;
	}
	atomic_fetch_add(&rp->m[slot].errors, 1);
	snprintf(rp->m[slot].why, sizeof(rp->m[slot].why), "%s%s%s", what, err ? ": " : "",
		 err ? strerror(-err) : "");
	if ((int)slot == rp->sb.rebuild_slot) {
		rp->sb.rebuild_slot = -1;
		rp->sb.rebuild_rows = 0;
		atomic_store(&rp->rebuild_slot, -1);
	}
	/* The others' superblocks say it first; then the lcores see it. */
	rp->sb.states[slot] = WEIR_BLK_MEMBER_FAILED;
	raid_sb_write_all(dev);
	atomic_store_explicit(&rp->m[slot].state, WEIR_BLK_MEMBER_FAILED, memory_order_release);
	if (!raid_survives(rp, rp->sb.states, why, sizeof(why))) {
		atomic_store(&rp->lost, true);
		WEIR_ERR("%s: member %u (%s) failed (%s): %s; the array is lost", dev->label, slot,
			 rp->m[slot].spec, rp->m[slot].why, why);
	} else {
		WEIR_ERR("%s: member %u (%s) failed (%s); the array runs degraded (replace it: "
			 "weir_blk_raid_replace)", dev->label, slot, rp->m[slot].spec,
			 rp->m[slot].why);
	}
	pthread_mutex_unlock(&rp->lock);
}

void raid_rebuild_checkpoint(struct weir_blk *dev, uint64_t rows)
{
	struct raid_priv *rp = dev->priv;
	int slot;

	pthread_mutex_lock(&rp->lock);
	slot = rp->sb.rebuild_slot;
	if (slot < 0) {
		pthread_mutex_unlock(&rp->lock);
		return;
	}
	rp->sb.rebuild_rows = rows;
	if (rows >= raid_rows(&rp->g)) {
		rp->sb.states[slot] = WEIR_BLK_MEMBER_ACTIVE;
		rp->sb.rebuild_slot = -1;
		rp->sb.rebuild_rows = 0;
	}
	raid_sb_write_all(dev);
	if (rp->sb.rebuild_slot < 0 && rp->sb.states[slot] == WEIR_BLK_MEMBER_ACTIVE) {
		atomic_store_explicit(&rp->m[slot].state, WEIR_BLK_MEMBER_ACTIVE,
				      memory_order_release);
		atomic_store(&rp->rebuild_slot, -1);
		WEIR_INFO("%s: member %u (%s) rebuilt", dev->label, slot, rp->m[slot].spec);
	}
	pthread_mutex_unlock(&rp->lock);
}

/* --- control ------------------------------------------------------------- */

int raid_status(struct weir_blk *dev, struct weir_blk_raid_status *st)
{
	struct raid_priv *rp = dev->priv;
	uint64_t row_bytes = (uint64_t)rp->g.chunk * rp->lbs;

	pthread_mutex_lock(&rp->lock);
	st->level = rp->g.level;
	st->nb_members = (uint16_t)rp->g.n;
	st->chunk_bytes = rp->g.chunk * rp->lbs;
	st->generation = rp->sb.generation;
	memcpy(st->uuid, rp->sb.uuid, 16);
	st->failed = atomic_load(&rp->lost);
	st->rebuild_slot = atomic_load(&rp->rebuild_slot);
	st->rebuild_done = st->rebuild_slot >= 0 ? atomic_load(&rp->rebuild_rows) * row_bytes : 0;
	st->rebuild_total = rp->g.member_blocks * rp->lbs;
	st->rebuild_rate = atomic_load(&rp->rate);
	for (uint32_t s = 0; s < rp->g.n; s++) {
		struct weir_blk_raid_member *m = &st->m[s];

		snprintf(m->spec, sizeof(m->spec), "%s", rp->m[s].dev ? rp->m[s].spec : "");
		m->state = atomic_load(&rp->m[s].state);
		m->errors = atomic_load(&rp->m[s].errors);
		snprintf(m->why, sizeof(m->why), "%s", m->state ? rp->m[s].why : "");
		st->degraded |= m->state != WEIR_BLK_MEMBER_ACTIVE;
	}
	pthread_mutex_unlock(&rp->lock);
	return 0;
}

int raid_fail(struct weir_blk *dev, unsigned slot)
{
	struct raid_priv *rp = dev->priv;
	uint8_t states[RAID_MAX_MEMBERS];
	char why[96];

	if (slot >= rp->g.n)
		return weir_blk_fail(dev, -EINVAL, "no member %u (the array has %u)", slot, rp->g.n);
	pthread_mutex_lock(&rp->lock);
	memcpy(states, rp->sb.states, sizeof(states));
	pthread_mutex_unlock(&rp->lock);
	if (states[slot] != WEIR_BLK_MEMBER_ACTIVE && states[slot] != WEIR_BLK_MEMBER_REBUILDING)
		return weir_blk_fail(dev, -EINVAL, "member %u is already %s", slot,
				     state_names[states[slot]]);
	states[slot] = WEIR_BLK_MEMBER_FAILED;
	if (!raid_survives(rp, states, why, sizeof(why)))
		return weir_blk_fail(dev, -EINVAL, "failing member %u would lose data: %s", slot,
				     why);
	raid_member_fail(dev, slot, 0, "failed by hand");
	return 0;
}

/* Waits until no queue pair has I/O queued for slot (the lcores keep
 * polling): 0, or -EBUSY after 5 s. */
static int wait_member_idle(struct weir_blk *dev, unsigned slot)
{
	for (int t = 0; t < 5000; t++) {
		uint32_t n = 0;

		for (uint16_t i = 0; i < dev->nb_qp; i++)
			n += atomic_load(&((struct raid_qp *)dev->qp[i])->m_inflight[slot]);
		if (!n)
			return 0;
		usleep(1000);
	}
	return weir_blk_fail(dev, -EBUSY, "I/O queued for member %u has not completed in 5 s "
			     "(are the queue pairs polled?)", slot);
}

static int check_replacement(struct weir_blk *dev, struct weir_blk *nm, unsigned slot)
{
	struct raid_priv *rp = dev->priv;
	struct weir_blk_info in;

	weir_blk_info_get(nm, &in);
	if (in.lbs != rp->lbs || in.nblocks < rp->data_lba + rp->g.member_blocks ||
	    (in.features & WEIR_BLK_F_READONLY))
		return weir_blk_fail(dev, -EINVAL, "replacement for member %u must be writable, "
				     "have %u-byte blocks and at least %llu bytes", slot, rp->lbs,
				     (unsigned long long)((rp->data_lba + rp->g.member_blocks) *
							  rp->lbs));
	for (uint32_t s = 0; s < rp->g.n; s++)
		if (s != slot && rp->m[s].dev && in.ident[0] && in.ident[0] == rp->m[s].ident[0] &&
		    in.ident[1] == rp->m[s].ident[1])
			return weir_blk_fail(dev, -EINVAL, "the replacement is member %u's device", s);
	memcpy(rp->m[slot].ident, in.ident, sizeof(in.ident));
	return 0;
}

static int replace_locked(struct weir_blk *dev, unsigned slot, const char *spec)
{
	struct raid_priv *rp = dev->priv;
	struct weir_blk_conf mc = {.pool = rp->app_pool, .pool2 = rp->tmp, .nb_qp = rp->nb_qp + 1};
	char why[WEIR_BLK_ERRSIZE];
	struct weir_blk *nm;
	int err;

	if (rp->sb.states[slot] != WEIR_BLK_MEMBER_FAILED &&
	    rp->sb.states[slot] != WEIR_BLK_MEMBER_MISSING)
		return weir_blk_fail(dev, -EBUSY, "member %u is %s: fail it first "
				     "(weir_blk_raid_fail)", slot, state_names[rp->sb.states[slot]]);
	if (rp->sb.rebuild_slot >= 0)
		return weir_blk_fail(dev, -EBUSY, "member %d is being rebuilt (one at a time)",
				     rp->sb.rebuild_slot);
	if (atomic_load(&rp->lost) || rp->nretired == (int)WEIR_ARRAY_SIZE(rp->retired))
		return weir_blk_fail(dev, -EIO, "the array is lost: nothing to rebuild from");
	if ((err = weir_blk_open(spec, &mc, &nm, why, sizeof(why))))
		return weir_blk_fail(dev, err, "replacement: %s", why);
	if ((err = check_replacement(dev, nm, slot)) || (err = wait_member_idle(dev, slot))) {
		weir_blk_close(nm);
		return err;
	}
	if (rp->m[slot].dev)
		rp->retired[rp->nretired++] = rp->m[slot].dev;
	rp->m[slot].dev = nm;
	snprintf(rp->m[slot].spec, sizeof(rp->m[slot].spec), "%s", spec);
	rp->m[slot].why[0] = '\0';
	atomic_store(&rp->m[slot].errors, 0);
	rp->sb.states[slot] = WEIR_BLK_MEMBER_REBUILDING;
	rp->sb.rebuild_slot = (int32_t)slot;
	rp->sb.rebuild_rows = 0;
	raid_sb_write_all(dev);
	if (rp->sb.states[slot] != WEIR_BLK_MEMBER_REBUILDING)
		return weir_blk_fail(dev, -EIO, "the replacement failed at once: %s",
				     rp->m[slot].why);
	/* Release: the lcores see the new device before they see the state. */
	atomic_store_explicit(&rp->rebuild_rows, 0, memory_order_release);
	atomic_store_explicit(&rp->m[slot].state, WEIR_BLK_MEMBER_REBUILDING, memory_order_release);
	atomic_store_explicit(&rp->rebuild_slot, (int)slot, memory_order_release);
	WEIR_INFO("%s: rebuilding member %u onto %s", dev->label, slot, spec);
	return 0;
}

int raid_replace(struct weir_blk *dev, unsigned slot, const char *spec)
{
	struct raid_priv *rp = dev->priv;
	int err;

	if (rp->g.level == 0)
		return weir_blk_fail(dev, -EINVAL, "raid0 has no redundancy to rebuild a member from");
	if (slot >= rp->g.n)
		return weir_blk_fail(dev, -EINVAL, "no member %u (the array has %u)", slot, rp->g.n);
	pthread_mutex_lock(&rp->lock);
	err = replace_locked(dev, slot, spec);
	pthread_mutex_unlock(&rp->lock);
	return err;
}

int raid_set_rate(struct weir_blk *dev, uint64_t bytes_per_s)
{
	atomic_store(&((struct raid_priv *)dev->priv)->rate, bytes_per_s);
	return 0;
}

