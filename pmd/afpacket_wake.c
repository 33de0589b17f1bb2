// SPDX-License-Identifier: BSD-3-Clause
/*
 * afpacket's wake ring: how a queue forwards the first frame after idle
 * within microseconds although its TPACKET_V3 block ring hands frames over
 * only when a block fills or its retire timer fires (every 1 ms at best:
 * the kernel counts tp_retire_blk_tov in milliseconds, and a sleeper on the
 * socket is woken only when a block retires).
 *
 * With wake=1, the queue of a one-queue port has a second socket, a TPACKET_V2
 * ring whose every frame is handed over (and wakes a sleeper) at once. The
 * two sockets form a PACKET_FANOUT group whose eBPF program sends every
 * frame to exactly one of them: to the slot the driver wrote into the
 * program's map, a word of memory shared with the kernel (an mmapped
 * BPF_F_MMAPABLE array), so switching costs one store and no system call,
 * and no frame is seen twice or lost in the switch. The driver "arms" the
 * wake ring after AFP_WAKE_ARM_EMPTY empty polls, once the block ring's
 * open block is empty (so nothing older waits there), and goes back to the
 * block ring when a poll finds AFP_WAKE_BUSY frames waiting in the wake
 * ring: light traffic and the first frames after idle take the per-frame
 * ring (copied into pool buffers), sustained load the zero-copy blocks.
 * No PACKET_FANOUT_FLAG_ROLLOVER: the kernel rolls a "huge" flow over to
 * the other member as soon as its ring is a quarter full, which put frames
 * in the wake ring ahead of older ones still in unread blocks (measured:
 * hundreds of reordered frames in 20000 through weir-fwd). The wake ring
 * is sized instead to ride out a sleeper's wake-up at line rate: 256 slots
 * of 4 KiB, or 64 of 128 KiB when the vnet header brings GSO super-frames.
 *
 * Off by default: switching sockets leaves a window in which a frame the
 * kernel sent to the block ring before the switch is still on its way (on
 * another CPU) while newer ones arrive in the wake ring. Frames within
 * AFP_WAKE_GRACE_NS of the switch wait, and a frame seen in the open block
 * holds the wake ring back until that block is read, yet on a heavily
 * overloaded 2-vCPU host (a vCPU stalled mid-delivery for longer than the
 * grace) fwd_gen still saw a frame in 20000 reordered in about one run of
 * three. Closing it needs the program to count what it sends to the blocks.
 *
 * The queue's wait_fd is an epoll set of both sockets. Ports with more
 * than one queue (their fanout spreads by flow) or kernels without eBPF
 * fanout, mmapable maps or the privilege to load the program go without
 * (said at debug level), and wait for the retire timer as before.
 *
 * After a netdev down/up the kernel may relink the group's members in the
 * other order; frames are still all read (the wake ring is checked on
 * every poll), only the zero-copy path is lost until the port is reopened.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
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

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/*
 * The map (struct afp_wake_ctl) and the program, which also spills into the
 * block ring what the wake ring has no slot for (sent - done >= limit), and
 * then sends everything there, as the wake ring's frames are older:
 *
 *     if (!c->sel) return 0;
 *     if (c->sent - c->done >= limit) { c->sel = 0; return 0; }
 *     atomic c->sent += 1; return 1;
 */
static int prog_make(struct afp_wake *w)
{
	union bpf_attr a;
	struct bpf_insn insn[15];
	static const char license[] = "BSD";
	int limit = (int)w->slots - 16;

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
	memset(insn, 0, sizeof(insn));
#define I(i, c, d, s_, o, im) insn[i] = (struct bpf_insn){.code = (c), .dst_reg = (d), \
	.src_reg = (s_), .off = (o), .imm = (im)}
	I(0, BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_VALUE, 0, w->map_fd);
	I(2, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_0, BPF_REG_1, 0, 0);
	I(3, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 10, 0);
	I(4, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 4, 0);
	I(5, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, 8, 0);
	I(6, BPF_ALU | BPF_SUB | BPF_X, BPF_REG_2, BPF_REG_3, 0, 0);
	I(7, BPF_JMP32 | BPF_JGE | BPF_K, BPF_REG_2, 0, 4, limit);
	I(8, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, 1);
	I(9, BPF_STX | BPF_ATOMIC | BPF_W, BPF_REG_1, BPF_REG_2, 4, BPF_ADD);
	I(10, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
	I(11, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	I(12, BPF_ST | BPF_MEM | BPF_W, BPF_REG_1, 0, 0, 0);
	I(13, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	I(14, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
#undef I
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insn_cnt = (uint32_t)WEIR_ARRAY_SIZE(insn);
	a.insns = (uint64_t)(uintptr_t)insn;
	a.license = (uint64_t)(uintptr_t)license;
	w->prog_fd = sys_bpf(BPF_PROG_LOAD, &a);
	return w->prog_fd < 0 ? -errno : 0;
}

/* The wake socket: a TPACKET_V2 ring of w->slots frames. */
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
	int v2 = TPACKET_V2, one = 1;
	void *m;

	w->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (w->fd < 0)
		return -errno;
	if (setsockopt(w->fd, SOL_PACKET, PACKET_VERSION, &v2, sizeof(v2)) ||
	    (vnet && setsockopt(w->fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one))) ||
	    setsockopt(w->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)))
		return -errno;
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
	    setsockopt(ring_fd, SOL_PACKET, PACKET_FANOUT_DATA, &w->prog_fd, sizeof(w->prog_fd)))
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
	if (w->prog_fd >= 0)
		close(w->prog_fd);
	if (w->map_fd >= 0)
		close(w->map_fd);
	free(w);
}

void afp_wake_setup(struct afp_rxq *q, int ifindex, bool vnet, uint32_t frame_size)
{
	struct afp_wake *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return;
	w->fd = w->epfd = w->map_fd = w->prog_fd = -1;
	w->slots = frame_size > 4096 ? 64 : 256;
	if ((err = prog_make(w)) || (err = ring_make(w, ifindex, vnet, frame_size)) ||
	    (err = group_make(w, q->ring->fd)) || (err = epoll_make(w, q->ring->fd))) {
		WEIR_DEBUG("%s: no wake ring (%s): the first frame after idle waits for the "
			   "block retire timer", q->q.port->label, strerror(-err));
		wake_free(w);
		return;
	}
	q->wake = w;
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
	/* Relaxed is enough: the kernel reads it per frame, and which
	 * socket a frame racing the store lands in does not matter. */
	__atomic_store_n(&w->ctl->sel, member, __ATOMIC_RELAXED);
	if (member == 1) {
		w->armed_at = weir_clock_now();
		weir_port_ctr_add(&w->arms, 1);
	}
}

static uint32_t open_block_pkts(const struct afp_rxq *q)
{
	const struct tpacket_block_desc *bd = (const struct tpacket_block_desc *)(const void *)(
		q->ring->map + (size_t)q->cur * q->ring->block_size);

	return __atomic_load_n(&bd->hdr.bh1.num_pkts, __ATOMIC_ACQUIRE);
}

void afp_wake_idle(struct afp_rxq *q)
{
	/* Frames in the kernel's open block would come out behind newer
	 * ones from the wake ring: let the timer retire it first. */
	if (!q->wake || q->empty < AFP_WAKE_ARM_EMPTY || q->left || open_block_pkts(q) ||
	    __atomic_load_n(&q->wake->ctl->sel, __ATOMIC_RELAXED))
		return;
	select_ring(q->wake, 1);
}

/*
 * A frame the kernel had already sent to the block ring when the switch was
 * made lands in the open block after it; the wake ring's frames are newer.
 * Until that block is retired and read (the timer: at most one period),
 * the wake ring waits; nothing else reaches the blocks while it is armed.
 * Such a frame may still be on its way on another CPU: wake-ring frames
 * that come within AFP_WAKE_GRACE_NS of the switch wait out that time
 * first (the first frame after idle comes long after it).
 */
static bool slipped(struct afp_rxq *q)
{
	struct afp_wake *w = q->wake;

	if (!__atomic_load_n(&w->ctl->sel, __ATOMIC_RELAXED))
		return w->holding = false;
	if (weir_clock_now() - w->armed_at < AFP_WAKE_GRACE_NS)
		return true;
	if (!q->left && !open_block_pkts(q)) {
		w->holding = false;
		return false;
	}
	if (!w->holding)
		weir_port_ctr_add(&w->slips, 1);
	w->holding = true;
	return true;
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

	while (got < n) {
		struct tpacket2_hdr *h =
			(struct tpacket2_hdr *)(void *)(w->map + (size_t)w->head * w->frame_size);
		struct weir_pkt *p;

		/* Acquire pairs with the kernel's barrier before it sets
		 * TP_STATUS_USER: the frame is complete once we see it. */
		if (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
			break;
		/* After the acquire: a frame the kernel put in the open block
		 * before this one is counted there by now. */
		if (!seen && weir_unlikely(slipped(q)))
			break;
		if (!now)
			now = weir_clock_now();
		p = wake_frame(q, h, now);
		__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		w->head = w->head + 1 == w->slots ? 0 : w->head + 1;
		seen++;
		__atomic_store_n(&w->ctl->done, w->ctl->done + 1, __ATOMIC_RELAXED);
		if (p) {
			*bytes += p->pkt_len;
			pkts[got++] = p;
		}
	}
	/* Sustained load: back to the zero-copy blocks. */
	if (seen >= AFP_WAKE_BUSY && __atomic_load_n(&w->ctl->sel, __ATOMIC_RELAXED))
		select_ring(w, 0);
	return got;
}
