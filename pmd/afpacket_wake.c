// SPDX-License-Identifier: BSD-3-Clause
/*
 * afpacket's wake ring: how a queue forwards the first frame after idle
 * within microseconds although its TPACKET_V3 block ring hands frames over
 * only when a block fills or its retire timer fires (every 1 ms at best:
 * the kernel counts tp_retire_blk_tov in milliseconds, and a sleeper on the
 * socket is woken only when a block retires).
 *
 * The queue of a one-queue port (wake=1, the default) has a second socket,
 * a TPACKET_V2 ring whose every frame is handed over (and wakes a sleeper)
 * at once. The two sockets form a PACKET_FANOUT group whose eBPF program
 * sends every frame to exactly one of them: to the one the driver wrote
 * into the program's map, a word of memory shared with the kernel (an
 * mmapped BPF_F_MMAPABLE array), so switching costs one store and no system
 * call. The driver "arms" the wake ring after AFP_WAKE_ARM_EMPTY empty polls
 * and goes back to the blocks when a poll finds AFP_WAKE_BUSY frames
 * waiting in the wake ring, or it took more than AFP_WAKE_LIGHT frames
 * within a millisecond: light traffic and the first frames after idle
 * take the per-frame ring (copied into pool buffers), anything more the
 * zero-copy blocks. (A wake-ring frame costs the sending CPU of a veth
 * ~0.4 us more than a block frame: a slot of its own, a wake-up callback;
 * when weir kept up with a 300-470 kpps sender, a fifth of its frames went
 * through the wake ring.) The program itself sends frames back to the blocks
 * (the "spill") when the wake ring is nearly full, and for frames its 4 KiB
 * slots do not hold: GSO super-frames, frames of an MTU raised since.
 *
 * Order. A switch is one store, but a frame the kernel steered just before
 * it may still be on its way (on another CPU, or a vCPU the host stalled)
 * while newer ones land in the other ring; and a frame in the block ring's
 * open block is not seen before the block retires. So the fanout program
 * counts the frames it sends each socket (ctl->blk, ctl->sent; what it
 * sends lands or is dropped and counted in the socket's PACKET_STATISTICS,
 * but for looped-back frames, which the kernel drops uncounted first and
 * the program does not count either), and the driver reads a ring only
 * when the other one holds nothing older:
 *  - blocks -> wake ring: a wake-ring frame is read only once every frame
 *    counted on the block socket has been read from the blocks or dropped
 *    (the block socket's PACKET_STATISTICS, whose tp_packets counts both,
 *    equals ctl->blk and no block is open or ready), checked when the
 *    block count has moved since it last held; until then the wake ring
 *    waits ("holds", xstat rx_wake_slips) and the older frames come first,
 *    the open block at its retire timer. The program does not spill while
 *    the block count has moved past what the driver last found read
 *    (ctl->blk_ok): the spilled frames would be younger than the wake
 *    ring's and land behind the older ones in the same blocks.
 *  - wake ring -> blocks: a block is opened only once every frame counted
 *    on the wake socket has been read (ctl->done) or dropped (its
 *    PACKET_STATISTICS), unless the wake ring is holding for that block.
 * The counts are exact only if nothing lands that the program did not
 * count: frames reaching a socket before it joined the group, so both
 * drop everything until the group is made (afp_wake_join). One program
 * per frame (the fanout program and the two counting filters it replaced
 * were ~5% of a veth sender's CPU in a profile). The checks cost a load or
 * two per burst and per block, and a getsockopt only while a count has
 * moved (at each arm, and for frames that raced a switch).
 *
 * The queue's wait_fd is an epoll set of both sockets. Ports with more
 * than one queue (their fanout spreads by flow) or kernels without eBPF
 * fanout, mmapable maps, BPF atomics or the privilege to load the programs
 * go without (said at debug level), and wait for the retire timer as
 * before. Frames the kernel drops from a full wake ring are counted
 * (rx_wake_drops); a ring that keeps dropping with nothing read is stuck
 * and not armed again.
 *
 * After a netdev down/up the kernel links the group's members again in the
 * order the sockets were made (the block socket first; kernels that
 * append new packet sockets to their list, as current ones do), and the
 * counts carry on: a down/up in the middle of test_afpacket_order reordered
 * nothing.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "weir/clock.h"
#include "weir/log.h"
#include "weir/pkt.h"

#include "afpacket_internal.h"

#define AFP_FANOUT_EBPF 7 /* PACKET_FANOUT_EBPF */
#define AFP_FANOUT_IGNORE_OUT 0x4000
#define AFP_FANOUT_UNIQUE 0x2000

enum { PROG_FANOUT, PROG_DROP };

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

#define I(c, d, s_, o, im)                                                                         \
	((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s_), .off = (o), .imm = (im)})
#define MAP_VALUE(fd) I(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_VALUE, 0, fd), I(0, 0, 0, 0, 0)
#define CTL(f) ((short)offsetof(struct afp_wake_ctl, f))

static int prog_load(const struct bpf_insn *insn, uint32_t n)
{
	static const char license[] = "BSD";
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insn_cnt = n;
	a.insns = (uint64_t)(uintptr_t)insn;
	a.license = (uint64_t)(uintptr_t)license;
	return sys_bpf(BPF_PROG_LOAD, &a);
}

/*
 * The fanout program (r6: the skb, r1: the map value), the only program a
 * frame runs once the group is made:
 *
 *     if (!c->ready) return 1;              (setup: the wake socket drops it)
 *     if (skb->pkt_type == PACKET_LOOPBACK) return 0;   (counted nowhere)
 *     if (c->sel) {
 *             if (skb->gso_size || skb->len > max_len)
 *                     goto must_spill;
 *             if (c->sent - c->done < limit || c->blk != c->blk_ok)
 *                     { atomic c->sent += 1; return 1; }
 *     must_spill:
 *             xchg(&c->sel, 0);             (the spill)
 *     }
 *     atomic c->blk += 1; return 0;
 *
 * A frame no slot holds always goes to the blocks: in a slot it would be
 * cut, i.e. dropped (rx_truncated), and a 64 KiB TCP super-frame is 45
 * segments the sender must send again (bench/tcp_fwd.sh, hosts' defaults:
 * 26 super-frames cut in 3 s, 1220 retransmits). While the block count
 * has moved (c->blk != c->blk_ok) it may then be read before wake-ring
 * frames older than it: a reordering, which TCP rides out, where the cut
 * was a certain loss.
 *
 * and a filter that drops everything, on each socket only while the group
 * is made (afp_wake_join). The fetching atomics are full barriers (BPF's
 * memory model): a count seen by the driver implies the program's spill
 * store before it.
 */
static int progs_load(struct afp_wake *w)
{
	/* A slot holds the kernel's headers (80 bytes with the vnet header)
	 * and the room weir needs to put a VLAN tag back. */
	int limit = (int)w->slots - 16, m = w->map_fd, max_len = (int)w->frame_size - 128;
	const struct bpf_insn fanout[] = {
		I(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0),
		MAP_VALUE(m),
		I(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_0, BPF_REG_1, CTL(ready), 0),
		I(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 25, 0), /* -> setup */
		I(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_6,
		  (short)offsetof(struct __sk_buff, pkt_type), 0),
		I(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_2, 0, 21, PACKET_LOOPBACK), /* -> uncounted */
		I(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_0, BPF_REG_1, CTL(sel), 0),
		I(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 17, 0), /* -> blocks */
		I(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_6,
		  (short)offsetof(struct __sk_buff, gso_size), 0),
		I(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 13, 0), /* -> must spill */
		I(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_6,
		  (short)offsetof(struct __sk_buff, len), 0),
		I(BPF_JMP | BPF_JGT | BPF_K, BPF_REG_2, 0, 11, max_len), /* -> must spill */
		I(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, CTL(sent), 0),
		I(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, CTL(done), 0),
		I(BPF_ALU | BPF_SUB | BPF_X, BPF_REG_2, BPF_REG_3, 0, 0),
		I(BPF_JMP32 | BPF_JGE | BPF_K, BPF_REG_2, 0, 4, limit), /* -> spill */
		I(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, 1), /* wake: */
		I(BPF_STX | BPF_ATOMIC | BPF_W, BPF_REG_1, BPF_REG_2, CTL(sent), BPF_ADD | BPF_FETCH),
		I(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1),
		I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
		I(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, CTL(blk), 0), /* spill: */
		I(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, CTL(blk_ok), 0),
		I(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_2, BPF_REG_3, -7, 0), /* -> wake */
		I(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, 0), /* must spill: */
		I(BPF_STX | BPF_ATOMIC | BPF_W, BPF_REG_1, BPF_REG_2, CTL(sel), BPF_XCHG),
		I(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, 1), /* blocks: */
		I(BPF_STX | BPF_ATOMIC | BPF_W, BPF_REG_1, BPF_REG_2, CTL(blk), BPF_ADD | BPF_FETCH),
		I(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0), /* uncounted: */
		I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
		I(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1), /* setup: */
		I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	const struct bpf_insn drop[] = {
		I(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0),
		I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};

	static_assert(WEIR_ARRAY_SIZE(fanout) == 32, "the jumps above count on it");
	w->prog_fd[PROG_FANOUT] = prog_load(fanout, WEIR_ARRAY_SIZE(fanout));
	w->prog_fd[PROG_DROP] = prog_load(drop, WEIR_ARRAY_SIZE(drop));
	for (int i = 0; i < AFP_WAKE_PROGS; i++)
		if (w->prog_fd[i] < 0)
			return -errno;
	return 0;
}
#undef I
#undef MAP_VALUE
#undef CTL

static int map_make(struct afp_wake *w)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = sizeof(struct afp_wake_ctl);
	a.max_entries = 1;
	a.map_flags = BPF_F_MMAPABLE;
	w->map_fd = sys_bpf(BPF_MAP_CREATE, &a);
	if (w->map_fd < 0)
		return -errno;
	w->ctl_map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, w->map_fd, 0);
	if (w->ctl_map == MAP_FAILED) {
		w->ctl_map = NULL;
		return -errno;
	}
	w->ctl = w->ctl_map;
	return 0;
}

static int filter_attach(int fd, int prog_fd)
{
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_BPF, &prog_fd, sizeof(prog_fd)) ? -errno : 0;
}

/* The wake socket: a TPACKET_V2 ring of w->slots frames, dropping all
 * until the group is made (afp_wake_join). */
static int ring_make(struct afp_wake *w, int ifindex, bool vnet, uint32_t frame_size)
{
	struct tpacket_req req = {
		.tp_block_size = frame_size,
		.tp_block_nr = w->slots,
		.tp_frame_size = frame_size,
		.tp_frame_nr = w->slots,
	};
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = ifindex,
	};
	int v2 = TPACKET_V2, one = 1, err;
	void *m;

	w->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (w->fd < 0)
		return -errno;
	if (setsockopt(w->fd, SOL_PACKET, PACKET_VERSION, &v2, sizeof(v2)) ||
	    (vnet && setsockopt(w->fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one))) ||
	    setsockopt(w->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)))
		return -errno;
	if ((err = filter_attach(w->fd, w->prog_fd[PROG_DROP])))
		return err;
	w->map_len = (size_t)frame_size * w->slots;
	m = mmap(NULL, w->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, w->fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	w->map = m;
	w->frame_size = frame_size;
	if (bind(w->fd, (struct sockaddr *)&sll, sizeof(sll)))
		return -errno;
	return 0;
}

/* Both sockets into one eBPF fanout group: the block ring is member 0,
 * the wake ring member 1 (join order). */
static int group_make(struct afp_wake *w, int ring_fd)
{
	int mode = AFP_FANOUT_EBPF | AFP_FANOUT_IGNORE_OUT;
	int arg = (mode | AFP_FANOUT_UNIQUE) << 16;
	socklen_t len = sizeof(arg);

	if (setsockopt(ring_fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) ||
	    getsockopt(ring_fd, SOL_PACKET, PACKET_FANOUT, &arg, &len))
		return -errno;
	arg = (arg & 0xffff) | (mode << 16);
	if (setsockopt(w->fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) ||
	    setsockopt(ring_fd, SOL_PACKET, PACKET_FANOUT_DATA, &w->prog_fd[PROG_FANOUT],
		       sizeof(int)))
		return -errno;
	return 0;
}

static int epoll_make(struct afp_wake *w, int ring_fd)
{
	struct epoll_event ev = {.events = EPOLLIN};

	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		return -errno;
	ev.data.fd = ring_fd;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, ring_fd, &ev))
		return -errno;
	ev.data.fd = w->fd;
	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->fd, &ev) ? -errno : 0;
}

static void wake_free(struct afp_wake *w)
{
	if (w->map)
		munmap(w->map, w->map_len);
	if (w->ctl_map)
		munmap(w->ctl_map, 4096);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->fd >= 0)
		close(w->fd);
	for (int i = 0; i < AFP_WAKE_PROGS; i++)
		if (w->prog_fd[i] >= 0)
			close(w->prog_fd[i]);
	if (w->map_fd >= 0)
		close(w->map_fd);
	free(w);
}

/* Without a wake ring the block socket keeps no filter. */
static void wake_drop(struct afp_rxq *q, int err)
{
	WEIR_DEBUG("%s: no wake ring (%s): the first frame after idle waits for the "
		   "block retire timer", q->q.port->label, strerror(-err));
	if (q->ring)
		setsockopt(q->ring->fd, SOL_SOCKET, SO_DETACH_BPF, &err, sizeof(err));
	wake_free(q->wake);
	q->wake = NULL;
}

void afp_wake_setup(struct afp_rxq *q, int ifindex, bool vnet, uint32_t frame_size)
{
	struct afp_wake *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return;
	w->fd = w->epfd = w->map_fd = -1;
	for (int i = 0; i < AFP_WAKE_PROGS; i++)
		w->prog_fd[i] = -1;
	w->slots = AFP_WAKE_RING_BYTES / frame_size;
	w->frame_size = frame_size;
	q->wake = w;
	if ((err = map_make(w)) || (err = progs_load(w)) ||
	    (err = filter_attach(q->ring->fd, w->prog_fd[PROG_DROP])) ||
	    (err = ring_make(w, ifindex, vnet, frame_size)))
		wake_drop(q, err);
}

/* Waits until every frame the kernel is delivering has landed or been
 * dropped: setting the fanout program again waits for an RCU grace period
 * (synchronize_net() in __fanout_set_data_bpf) before it frees the old one. */
static int group_settle(struct afp_wake *w, int ring_fd)
{
	return setsockopt(ring_fd, SOL_PACKET, PACKET_FANOUT_DATA, &w->prog_fd[PROG_FANOUT],
			  sizeof(int)) ? -errno : 0;
}

static int filter_detach(int fd)
{
	int unused = 0;

	return setsockopt(fd, SOL_SOCKET, SO_DETACH_BPF, &unused, sizeof(unused)) ? -errno : 0;
}

/*
 * Until the group is made both sockets drop everything, so no frame lands
 * that the program did not count: once both joined and the group settled,
 * nothing reaches the block socket but through the program, which sends
 * every frame to the wake socket until ready is set; the block socket's
 * filter goes, ready is set (the program counts from here on), and once
 * the frames sent to the wake socket before that are gone, its filter goes
 * too. Two grace periods at open; then one program per frame.
 */
void afp_wake_join(struct afp_rxq *q)
{
	struct afp_wake *w = q->wake;
	int err;

	if (!w)
		return;
	if ((err = group_make(w, q->ring->fd)) || (err = epoll_make(w, q->ring->fd)) ||
	    (err = group_settle(w, q->ring->fd)) || (err = filter_detach(q->ring->fd)))
		goto fail;
	__atomic_store_n(&w->ctl->ready, 1, __ATOMIC_SEQ_CST);
	if ((err = group_settle(w, q->ring->fd)) || (err = filter_detach(w->fd)))
		goto fail;
	return;
fail:
	/* The block socket's frames are not all counted: no wake ring. */
	wake_drop(q, err);
}

void afp_wake_release(struct afp_rxq *q)
{
	if (q->wake)
		wake_free(q->wake);
	q->wake = NULL;
}

int afp_wake_fd(const struct afp_rxq *q)
{
	return q->wake ? q->wake->epfd : -1;
}

static void select_ring(struct afp_wake *w, uint32_t member)
{
	/* Seq_cst: blk_ok, written before arming, is seen by the program
	 * before any frame goes to the wake ring; the counts read after a
	 * switch are read after it. */
	__atomic_store_n(&w->ctl->sel, member, __ATOMIC_SEQ_CST);
	if (member == 1) {
		w->light_t0 = 0; /* a new window at the first frame */
		weir_port_ctr_add(&w->arms, 1);
	}
}

/* Frames in the block ring not read yet: in the block open in the driver,
 * in a retired block, or landed in the kernel's open block. */
static bool blocks_pending(const struct afp_rxq *q)
{
	const struct afp_ring *r = q->ring;
	const struct tpacket_block_desc *bd =
		(const struct tpacket_block_desc *)(const void *)(r->map +
								  (size_t)q->cur * r->block_size);

	if (q->left)
		return true;
	/* Still held from its previous lap: the kernel waits for it (and
	 * drops, counted), nothing lands. */
	if (atomic_load_explicit(&r->blk[q->cur].held, memory_order_acquire))
		return false;
	if (__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)
		return true;
	/* A block given back but not opened again keeps its last lap's count;
	 * the kernel numbers the blocks it opens. */
	return __atomic_load_n(&bd->hdr.bh1.seq_num, __ATOMIC_ACQUIRE) == q->seq + 1 &&
	       __atomic_load_n(&bd->hdr.bh1.num_pkts, __ATOMIC_ACQUIRE);
}

/*
 * True when every frame counted on the block socket so far has been read
 * from the blocks or dropped by the kernel, which is then recorded (and
 * told the program: it may spill again). The kernel's tp_packets counts
 * both; it is read under the socket's queue lock, the lock the kernel
 * holds while it puts a frame in a block, so those frames' blocks are
 * seen as they are after it.
 */
static bool blocks_read(struct afp_rxq *q)
{
	struct afp_wake *w = q->wake;
	uint32_t c = __atomic_load_n(&w->ctl->blk, __ATOMIC_ACQUIRE);
	struct afp_kstats k;

	if (c == w->blk_ok)
		return true;
	afp_kstats_pull(q, &k);
	if ((uint32_t)k.packets != c || blocks_pending(q))
		return false;
	w->blk_ok = c;
	__atomic_store_n(&w->ctl->blk_ok, c, __ATOMIC_RELEASE);
	return true;
}

static bool head_ready(const struct afp_wake *w)
{
	const struct tpacket2_hdr *h =
		(const struct tpacket2_hdr *)(const void *)(w->map + (size_t)w->head * w->frame_size);

	/* Acquire pairs with the kernel's barrier before it sets
	 * TP_STATUS_USER: the frame is complete once we see it. */
	return __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER;
}

/*
 * The kernel dropped frames counted on the wake socket: they are done (for
 * the program's room count and the checks). A full ring does that (a burst
 * while the wake ring held for older frames, when it may not spill); a ring
 * that drops again with nothing read in between is stuck (the kernel leaves
 * a TPACKET_V2 slot claimed when it cannot write a frame's vnet header), so
 * it is given up.
 */
static void wake_dropped(struct afp_rxq *q, uint32_t n)
{
	struct afp_wake *w = q->wake;
	uint32_t done = w->ctl->done;

	__atomic_store_n(&w->ctl->done, done + n, __ATOMIC_RELEASE);
	weir_port_ctr_add(&w->drops, n);
	if (w->dropped_at == done + 1) {
		WEIR_WARN("%s: the wake ring drops every frame (rx_wake_drops); it is not used "
			  "again: the first frame after idle waits for the block retire timer "
			  "(reopen the port, or wake=0)", q->q.port->label);
		w->broken = true;
		select_ring(w, 0);
	}
	w->dropped_at = done + n + 1; /* + 1: 0 is never */
}

/* True when every frame counted on the wake socket has been read or
 * dropped; with none waiting, a count still ahead is asked of the kernel
 * (frames on their way, or dropped). */
static bool wake_drained(struct afp_rxq *q)
{
	struct afp_wake *w = q->wake;
	uint32_t sent = __atomic_load_n(&w->ctl->sent, __ATOMIC_ACQUIRE);
	struct tpacket_stats st;
	socklen_t len = sizeof(st);

	if (sent == w->ctl->done)
		return true;
	if (head_ready(w))
		return false;
	if (getsockopt(w->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) || !st.tp_drops)
		return false;
	wake_dropped(q, st.tp_drops);
	return sent == w->ctl->done;
}

bool afp_wake_blocks_ok(struct afp_rxq *q)
{
	/* Holding: the blocks' frames are the older ones. */
	return !q->wake || q->wake->holding || wake_drained(q);
}

void afp_wake_idle(struct afp_rxq *q)
{
	struct afp_wake *w = q->wake;

	if (!w || w->broken || q->empty < AFP_WAKE_ARM_EMPTY || q->empty % AFP_WAKE_ARM_EMPTY)
		return;
	if (__atomic_load_n(&w->ctl->sel, __ATOMIC_RELAXED)) {
		/* Armed and nothing comes: has the kernel dropped some? */
		if (q->empty % AFP_CHECK_EVERY == 0)
			wake_drained(q);
		return;
	}
	/* Nothing older may wait anywhere; then the block count is where the
	 * first wake-ring frame will find it, and that frame is read at once. */
	if (wake_drained(q) && blocks_read(q))
		select_ring(w, 1);
}
/* One wake-ring frame into a packet (copied); NULL when dropped. The
 * header's offsets are checked against the slot first. */
static struct weir_pkt *wake_frame(struct afp_rxq *q, struct tpacket2_hdr *h, weir_ns_t now)
{
	struct afp_wake *w = q->wake;
	uint32_t mac = h->tp_mac, len = h->tp_snaplen, tag = 0;
	struct virtio_net_hdr vh = {0};
	bool vlan = h->tp_status & TP_STATUS_VLAN_VALID;
	struct weir_pkt *p;
	uint8_t *data;

	/* VLAN reinsertion moves the two MAC addresses: a frame shorter than
	 * them would have the next slot's header written over (fuzz_afpacket_wake). */
	if (weir_unlikely(mac < sizeof(*h) + sizeof(vh) + AFP_VLAN_HLEN ||
			  (uint64_t)mac + len > w->frame_size || len < h->tp_len ||
			  (vlan && len < 2 * ETH_ALEN))) {
		weir_port_ctr_add(&q->truncated, 1);
		weir_port_ctr_add(&q->q.stats.errors, 1);
		return NULL;
	}
	data = (uint8_t *)h + mac;
	if (q->vnet)
		memcpy(&vh, data - sizeof(vh), sizeof(vh));
	if (vlan) {
		uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) ? h->tp_vlan_tpid
									   : ETH_P_8021Q;

		afp_vlan_put(data - AFP_VLAN_HLEN, tpid, h->tp_vlan_tci);
		data -= AFP_VLAN_HLEN;
		len += AFP_VLAN_HLEN;
		tag = AFP_VLAN_HLEN;
		weir_port_ctr_add(&q->vlan_reinserted, 1);
	}
	p = weir_pkt_alloc(q->pool);
	if (weir_unlikely(!p)) {
		weir_port_ctr_add(&q->q.stats.nombuf, 1);
		return NULL;
	}
	if (weir_unlikely(afp_rx_copy(q->pool, p, data, len))) {
		weir_pkt_free(p);
		weir_port_ctr_add(&q->q.stats.nombuf, 1);
		return NULL;
	}
	weir_port_ctr_add(&w->pkts, 1);
	afp_rx_meta(q, p, h->tp_status, q->vnet ? &vh : NULL, tag, 0, now);
	return p;
}

uint16_t afp_wake_rx(struct afp_rxq *q, struct weir_pkt **pkts, uint16_t n, uint64_t *bytes)
{
	struct afp_wake *w = q->wake;
	weir_ns_t now = 0;
	uint16_t got = 0, seen = 0;
	uint32_t sel;

	if (!head_ready(w)) {
		w->holding = false;
		return 0;
	}
	/* After the acquire: a frame the kernel counted on the block socket
	 * before this one was steered here is counted by now. While the
	 * wake ring is selected the blocks can only hold older frames (the
	 * program spills only once they are all read); after a switch back,
	 * only newer ones. */
	sel = __atomic_load_n(&w->ctl->sel, __ATOMIC_ACQUIRE);
	if (sel && !blocks_read(q)) {
		if (!w->holding)
			weir_port_ctr_add(&w->slips, 1);
		w->holding = true;
		return 0;
	}
	w->holding = false;
	while (got < n && head_ready(w)) {
		struct tpacket2_hdr *h =
			(struct tpacket2_hdr *)(void *)(w->map + (size_t)w->head * w->frame_size);
		struct weir_pkt *p;

		if (!now)
			now = weir_clock_now();
		p = wake_frame(q, h, now);
		__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		w->head = w->head + 1 == w->slots ? 0 : w->head + 1;
		seen++;
		__atomic_store_n(&w->ctl->done, w->ctl->done + 1, __ATOMIC_RELEASE);
		if (p) {
			*bytes += p->pkt_len;
			pkts[got++] = p;
		}
	}
	/* Sustained load, or more than light traffic: back to the zero-copy
	 * blocks. A wake-ring frame costs the kernel a slot of its own and a
	 * wake-up callback (~0.4 us of the sender's CPU on a veth), a block
	 * frame a few bytes in a shared block; above AFP_WAKE_LIGHT frames a
	 * millisecond that is no longer worth it, and frames wait for a block
	 * to fill or retire as on any busy TPACKET_V3 ring. */
	if (sel && seen) {
		if (now - w->light_t0 > AFP_WAKE_WINDOW_NS) {
			w->light_t0 = now;
			w->light_n = 0;
		}
		w->light_n += seen;
		if (seen >= AFP_WAKE_BUSY || w->light_n > AFP_WAKE_LIGHT)
			select_ring(w, 0);
	}
	return got;
}
