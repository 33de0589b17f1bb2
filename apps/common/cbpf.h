/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A faster evaluator of the classic BPF programs libpcap's pcap_compile()
 * makes, with exactly bpf_filter()'s answers (tests/fuzz/fuzz_cbpf.c checks
 * it against libpcap on random frames and filters). libpcap stays the
 * compiler; this only runs the program. cbpf_load() decodes it once into
 * ops with absolute jump targets, bounds folded into one compare, and a
 * load fused with the conditional jump that tests it (ldh [12]; jeq #0x800
 * is one dispatch); cbpf_select() then runs it over a whole burst in one
 * loop, with no call per frame. A program it cannot prove safe to run
 * (backward jumps: "protochain"; a jump or a fall-through out of the
 * program; scratch memory out of range; an unknown opcode; over 65535
 * instructions) is run by bpf_filter() itself.
 */
#ifndef WEIR_APP_CBPF_H
#define WEIR_APP_CBPF_H

#include <pcap/bpf.h>
#include <stdbool.h>
#include <stdint.h>

#include "weir/pkt.h"

struct cbpf;

/*
 * Decodes the n instructions at insns (copied: the caller may free them
 * after). *out, 0; -ENOMEM; -EINVAL for n == 0. Never fails for a program
 * it cannot decode: cbpf_decoded() then says false and bpf_filter runs it.
 */
int cbpf_load(struct cbpf **out, const struct bpf_insn *insns, unsigned n);
void cbpf_free(struct cbpf *f);

/* True when f runs on the decoded ops, false when on bpf_filter(). */
bool cbpf_decoded(const struct cbpf *f);

/* bpf_filter(insns, pkt, wirelen, buflen): the program's return value
 * (0: no match). Any thread; f is read only. */
uint32_t cbpf_run(const struct cbpf *f, const uint8_t *pkt, uint32_t wirelen, uint32_t buflen);

/*
 * The frames of pkts[0..n-1] that may match, as the program sees each
 * (wire length pkt_len, the first min(pkt_len, snaplen) bytes): their
 * indexes in idx (room for n), ascending; returns how many. A frame whose
 * first segment holds fewer than those bytes is not run but listed (the
 * caller linearises it and asks cbpf_run). Any thread.
 */
uint16_t cbpf_select(const struct cbpf *f, struct weir_pkt *const *pkts, uint16_t n,
		     uint32_t snaplen, uint16_t *idx);

#endif
