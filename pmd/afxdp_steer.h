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
};

/* Keys of weir_steer_stats. */
enum { STEER_STAT_REDIRECT, STEER_STAT_PASS, STEER_STAT_NR };

#endif
