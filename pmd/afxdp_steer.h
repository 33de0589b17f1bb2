/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-3-Clause) */
/*
 * What the AF_XDP driver (afxdp*.c, user space) and its XDP steering
 * program (afxdp_kern.c, built with clang -target bpf) agree on: the one
 * entry of the `weir_steer` array map and the slots of the per-CPU
 * `weir_steer_stats` counters. Plain C with the kernel's fixed-width types
 * and no libc, so that both compilers read the same layout.
 */
#ifndef WEIR_PMD_AFXDP_STEER_H
#define WEIR_PMD_AFXDP_STEER_H

#include <linux/types.h>

/* The match, written by the driver at open, read by the program per frame. */
struct weir_steer_cfg {
	__u16 ethertype; /* host order, 0: no EtherType match */
	__u16 udp_port;  /* host order, 0: no UDP match */
	__u32 enabled;   /* 0: every frame goes to the socket */
	/* Frames longer than this (all buffers; 0: no limit) are passed to the
	 * kernel: in skb mode they are a Linux sender's GSO super-frames, which
	 * the port's packet socket takes with their metadata (gso_rx). */
	__u32 pass_over;
};

/* Keys of weir_steer_stats. */
enum { STEER_STAT_REDIRECT, STEER_STAT_PASS, STEER_STAT_PASS_BIG, STEER_STAT_PASS_FLOW, STEER_STAT_NR };

#endif
