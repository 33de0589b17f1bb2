// SPDX-License-Identifier: BSD-3-Clause
/*
 * The classic BPF evaluator (common/cbpf.h). Semantics are libpcap's
 * bpf_filter() (1.10), case by case: a load past buflen returns 0, so does
 * a division by 0; shifts by 32 or more give 0; scratch memory starts
 * zeroed (libpcap's is not, but pcap_compile never reads a word before it
 * stores it). What is faster: the switch is on a dense op number (no range
 * check), jump targets are absolute indexes, a bounds check is one 64-bit
 * compare (k + size <= buflen is the exact meaning of libpcap's two or three
 * unsigned tests), a load and the K jump after it are one op, and a burst
 * is one loop around the program (cbpf_select) instead of a call a frame.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "common/cbpf.h"

enum {
	OP_RET_K, OP_RET_A,
	OP_LD_W_ABS, OP_LD_H_ABS, OP_LD_B_ABS, OP_LD_W_IND, OP_LD_H_IND, OP_LD_B_IND,
	OP_LD_LEN, OP_LDX_LEN, OP_LDX_MSH, OP_LD_IMM, OP_LDX_IMM,
	OP_LD_MEM, OP_LDX_MEM, OP_ST, OP_STX,
	OP_JA, OP_JGT_K, OP_JGE_K, OP_JEQ_K, OP_JSET_K, OP_JGT_X, OP_JGE_X, OP_JEQ_X, OP_JSET_X,
	OP_ADD_K, OP_SUB_K, OP_MUL_K, OP_DIV_K, OP_MOD_K, OP_AND_K, OP_OR_K, OP_XOR_K,
	OP_LSH_K, OP_RSH_K,
	OP_ADD_X, OP_SUB_X, OP_MUL_X, OP_DIV_X, OP_MOD_X, OP_AND_X, OP_OR_X, OP_XOR_X,
	OP_LSH_X, OP_RSH_X,
	OP_NEG, OP_TAX, OP_TXA,
	/* fused: a load (k, the size in the name) and the K jump after it (c) */
	OP_LDH_JEQ, OP_LDH_JSET, OP_LDH_JGT, OP_LDH_JGE,
	OP_LDB_JEQ, OP_LDB_JSET, OP_LDB_JGT, OP_LDB_JGE,
	OP_LDW_JEQ, OP_LDW_JSET, OP_LDW_JGT, OP_LDW_JGE,
	OP_LDHX_JEQ, OP_LDHX_JSET, OP_LDHX_JGT, OP_LDHX_JGE,
	OP_LDBX_JEQ, OP_LDBX_JSET, OP_LDBX_JGT, OP_LDBX_JGE,
	OP_COUNT
};

struct cbpf_op {
	uint8_t code;
	uint16_t jt, jf; /* absolute op indexes */
	uint32_t k;
	uint32_t c;      /* fused ops: the jump's constant */
};

static_assert(sizeof(struct cbpf_op) == 16, "an op is 16 bytes");

struct cbpf {
	struct bpf_insn *insns; /* for bpf_filter when not decoded */
	struct cbpf_op *ops;    /* NULL: not decoded */
	unsigned n;
	bool mem;               /* the program uses scratch memory */
};

/* BPF opcode -> op, 0xff where not one this evaluator (or libpcap) knows. */
static uint8_t op_of(uint16_t code)
{
	static const struct { uint16_t code; uint8_t op; } map[] = {
		{BPF_RET | BPF_K, OP_RET_K}, {BPF_RET | BPF_A, OP_RET_A},
		{BPF_LD | BPF_W | BPF_ABS, OP_LD_W_ABS}, {BPF_LD | BPF_H | BPF_ABS, OP_LD_H_ABS},
		{BPF_LD | BPF_B | BPF_ABS, OP_LD_B_ABS}, {BPF_LD | BPF_W | BPF_IND, OP_LD_W_IND},
		{BPF_LD | BPF_H | BPF_IND, OP_LD_H_IND}, {BPF_LD | BPF_B | BPF_IND, OP_LD_B_IND},
		{BPF_LD | BPF_W | BPF_LEN, OP_LD_LEN}, {BPF_LDX | BPF_W | BPF_LEN, OP_LDX_LEN},
		{BPF_LDX | BPF_MSH | BPF_B, OP_LDX_MSH}, {BPF_LD | BPF_IMM, OP_LD_IMM},
		{BPF_LDX | BPF_IMM, OP_LDX_IMM}, {BPF_LD | BPF_MEM, OP_LD_MEM},
		{BPF_LDX | BPF_MEM, OP_LDX_MEM}, {BPF_ST, OP_ST}, {BPF_STX, OP_STX},
		{BPF_JMP | BPF_JA, OP_JA}, {BPF_JMP | BPF_JGT | BPF_K, OP_JGT_K},
		{BPF_JMP | BPF_JGE | BPF_K, OP_JGE_K}, {BPF_JMP | BPF_JEQ | BPF_K, OP_JEQ_K},
		{BPF_JMP | BPF_JSET | BPF_K, OP_JSET_K}, {BPF_JMP | BPF_JGT | BPF_X, OP_JGT_X},
		{BPF_JMP | BPF_JGE | BPF_X, OP_JGE_X}, {BPF_JMP | BPF_JEQ | BPF_X, OP_JEQ_X},
		{BPF_JMP | BPF_JSET | BPF_X, OP_JSET_X},
		{BPF_ALU | BPF_ADD | BPF_K, OP_ADD_K}, {BPF_ALU | BPF_SUB | BPF_K, OP_SUB_K},
		{BPF_ALU | BPF_MUL | BPF_K, OP_MUL_K}, {BPF_ALU | BPF_DIV | BPF_K, OP_DIV_K},
		{BPF_ALU | BPF_MOD | BPF_K, OP_MOD_K}, {BPF_ALU | BPF_AND | BPF_K, OP_AND_K},
		{BPF_ALU | BPF_OR | BPF_K, OP_OR_K}, {BPF_ALU | BPF_XOR | BPF_K, OP_XOR_K},
		{BPF_ALU | BPF_LSH | BPF_K, OP_LSH_K}, {BPF_ALU | BPF_RSH | BPF_K, OP_RSH_K},
		{BPF_ALU | BPF_ADD | BPF_X, OP_ADD_X}, {BPF_ALU | BPF_SUB | BPF_X, OP_SUB_X},
		{BPF_ALU | BPF_MUL | BPF_X, OP_MUL_X}, {BPF_ALU | BPF_DIV | BPF_X, OP_DIV_X},
		{BPF_ALU | BPF_MOD | BPF_X, OP_MOD_X}, {BPF_ALU | BPF_AND | BPF_X, OP_AND_X},
		{BPF_ALU | BPF_OR | BPF_X, OP_OR_X}, {BPF_ALU | BPF_XOR | BPF_X, OP_XOR_X},
		{BPF_ALU | BPF_LSH | BPF_X, OP_LSH_X}, {BPF_ALU | BPF_RSH | BPF_X, OP_RSH_X},
		{BPF_ALU | BPF_NEG, OP_NEG}, {BPF_MISC | BPF_TAX, OP_TAX},
		{BPF_MISC | BPF_TXA, OP_TXA},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].code == code)
			return map[i].op;
	return 0xff;
}

/* The fused op for load op ld followed by K jump op j, or 0xff. */
static uint8_t fuse(uint8_t ld, uint8_t j)
{
	int col = j == OP_JEQ_K ? 0 : j == OP_JSET_K ? 1 : j == OP_JGT_K ? 2 : j == OP_JGE_K ? 3 : -1;
	int row = ld == OP_LD_H_ABS ? 0 : ld == OP_LD_B_ABS ? 1 : ld == OP_LD_W_ABS ? 2 :
		  ld == OP_LD_H_IND ? 3 : ld == OP_LD_B_IND ? 4 : -1;

	return col < 0 || row < 0 ? 0xff : (uint8_t)(OP_LDH_JEQ + row * 4 + col);
}

/* Decodes f->insns into f->ops; false (nothing kept) for a program that
 * must go to bpf_filter (see cbpf.h). */
static bool decode(struct cbpf *f)
{
	unsigned n = f->n;
	struct cbpf_op *ops;

	if (n > UINT16_MAX || !(ops = calloc(n, sizeof(*ops))))
		return false;
	for (unsigned i = 0; i < n; i++) {
		const struct bpf_insn *in = &f->insns[i];
		uint8_t op = op_of(in->code);
		uint64_t jt = (uint64_t)i + 1 + in->jt, jf = (uint64_t)i + 1 + in->jf;

		if (op == 0xff)
			goto refuse;
		if (op == OP_JA)
			jt = jf = (uint64_t)i + 1 + in->k; /* k >= 2^31 (backward) is out of range */
		else if (BPF_CLASS(in->code) != BPF_JMP && op != OP_RET_K && op != OP_RET_A)
			jt = jf = (uint64_t)i + 1; /* falls through: must stay inside */
		if (op != OP_RET_K && op != OP_RET_A && (jt >= n || jf >= n))
			goto refuse;
		if ((op == OP_LD_MEM || op == OP_LDX_MEM || op == OP_ST || op == OP_STX) &&
		    in->k >= BPF_MEMWORDS)
			goto refuse;
		f->mem |= op == OP_LD_MEM || op == OP_LDX_MEM || op == OP_ST || op == OP_STX;
		ops[i] = (struct cbpf_op){.code = op, .jt = (uint16_t)jt, .jf = (uint16_t)jf,
					  .k = in->k};
	}
	/* Fusing keeps every op where it was: a jump into the second half of
	 * a pair still lands on its own op. */
	for (unsigned i = 0; i + 1 < n; i++) {
		uint8_t fu = fuse(ops[i].code, ops[i + 1].code);

		if (fu != 0xff)
			ops[i] = (struct cbpf_op){.code = fu, .jt = ops[i + 1].jt,
						  .jf = ops[i + 1].jf, .k = ops[i].k,
						  .c = ops[i + 1].k};
	}
	f->ops = ops;
	return true;
refuse:
	free(ops);
	return false;
}

int cbpf_load(struct cbpf **out, const struct bpf_insn *insns, unsigned n)
{
	struct cbpf *f;

	if (!n)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f || !(f->insns = malloc(n * sizeof(*insns)))) {
		free(f);
		return -ENOMEM;
	}
	memcpy(f->insns, insns, n * sizeof(*insns));
	f->n = n;
	decode(f);
	*out = f;
	return 0;
}

void cbpf_free(struct cbpf *f)
{
	if (!f)
		return;
	free(f->ops);
	free(f->insns);
	free(f);
}

bool cbpf_decoded(const struct cbpf *f)
{
	return f->ops != NULL;
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint32_t be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

/* A load of SIZE bytes at offset OFF (64-bit) into DST, or return 0. */
#define LOAD(dst, off, size, get)                                                           \
	do {                                                                               \
		uint64_t o_ = (off);                                                       \
		if (o_ + (size) > buflen)                                                  \
			return 0;                                                          \
		dst = get(p + o_);                                                         \
	} while (0)
#define BYTE(q) (*(q))
#define JUMP(cond) (op = ops + ((cond) ? op->jt : op->jf))
/* A fused load and jump: the load sets A as the plain load would. */
#define FUSED(base, off, size, get)                                                         \
	case base:                                                                         \
		LOAD(A, off, size, get);                                                   \
		JUMP(A == op->c);                                                          \
		continue;                                                                  \
	case base + 1:                                                                     \
		LOAD(A, off, size, get);                                                   \
		JUMP(A & op->c);                                                           \
		continue;                                                                  \
	case base + 2:                                                                     \
		LOAD(A, off, size, get);                                                   \
		JUMP(A > op->c);                                                           \
		continue;                                                                  \
	case base + 3:                                                                     \
		LOAD(A, off, size, get);                                                   \
		JUMP(A >= op->c);                                                          \
		continue;

/* Runs decoded ops on one frame. Inlined into both entry points: in
 * cbpf_select the loop over the burst is around it. */
static inline __attribute__((always_inline)) uint32_t
exec(const struct cbpf_op *ops, bool use_mem, const uint8_t *p, uint32_t wirelen, uint32_t buflen)
{
	const struct cbpf_op *op = ops;
	uint32_t A = 0, X = 0, mem[BPF_MEMWORDS];

	if (use_mem)
		memset(mem, 0, sizeof(mem));
	for (;;) {
		switch (op->code) {
		case OP_RET_K: return op->k;
		case OP_RET_A: return A;
		case OP_LD_W_ABS: LOAD(A, op->k, 4, be32); op++; continue;
		case OP_LD_H_ABS: LOAD(A, op->k, 2, be16); op++; continue;
		case OP_LD_B_ABS: LOAD(A, op->k, 1, BYTE); op++; continue;
		case OP_LD_W_IND: LOAD(A, (uint64_t)X + op->k, 4, be32); op++; continue;
		case OP_LD_H_IND: LOAD(A, (uint64_t)X + op->k, 2, be16); op++; continue;
		case OP_LD_B_IND: LOAD(A, (uint64_t)X + op->k, 1, BYTE); op++; continue;
		case OP_LD_LEN: A = wirelen; op++; continue;
		case OP_LDX_LEN: X = wirelen; op++; continue;
		case OP_LDX_MSH: LOAD(X, op->k, 1, BYTE); X = (X & 0xf) << 2; op++; continue;
		case OP_LD_IMM: A = op->k; op++; continue;
		case OP_LDX_IMM: X = op->k; op++; continue;
		case OP_LD_MEM: A = mem[op->k]; op++; continue;
		case OP_LDX_MEM: X = mem[op->k]; op++; continue;
		case OP_ST: mem[op->k] = A; op++; continue;
		case OP_STX: mem[op->k] = X; op++; continue;
		case OP_JA: op = ops + op->jt; continue;
		case OP_JGT_K: JUMP(A > op->k); continue;
		case OP_JGE_K: JUMP(A >= op->k); continue;
		case OP_JEQ_K: JUMP(A == op->k); continue;
		case OP_JSET_K: JUMP(A & op->k); continue;
		case OP_JGT_X: JUMP(A > X); continue;
		case OP_JGE_X: JUMP(A >= X); continue;
		case OP_JEQ_X: JUMP(A == X); continue;
		case OP_JSET_X: JUMP(A & X); continue;
		case OP_ADD_K: A += op->k; op++; continue;
		case OP_SUB_K: A -= op->k; op++; continue;
		case OP_MUL_K: A *= op->k; op++; continue;
		case OP_DIV_K: if (!op->k) return 0; A /= op->k; op++; continue;
		case OP_MOD_K: if (!op->k) return 0; A %= op->k; op++; continue;
		case OP_AND_K: A &= op->k; op++; continue;
		case OP_OR_K: A |= op->k; op++; continue;
		case OP_XOR_K: A ^= op->k; op++; continue;
		case OP_LSH_K: A = op->k < 32 ? A << op->k : 0; op++; continue;
		case OP_RSH_K: A = op->k < 32 ? A >> op->k : 0; op++; continue;
		case OP_ADD_X: A += X; op++; continue;
		case OP_SUB_X: A -= X; op++; continue;
		case OP_MUL_X: A *= X; op++; continue;
		case OP_DIV_X: if (!X) return 0; A /= X; op++; continue;
		case OP_MOD_X: if (!X) return 0; A %= X; op++; continue;
		case OP_AND_X: A &= X; op++; continue;
		case OP_OR_X: A |= X; op++; continue;
		case OP_XOR_X: A ^= X; op++; continue;
		case OP_LSH_X: A = X < 32 ? A << X : 0; op++; continue;
		case OP_RSH_X: A = X < 32 ? A >> X : 0; op++; continue;
		case OP_NEG: A = 0u - A; op++; continue;
		case OP_TAX: X = A; op++; continue;
		case OP_TXA: A = X; op++; continue;
		FUSED(OP_LDH_JEQ, op->k, 2, be16)
		FUSED(OP_LDB_JEQ, op->k, 1, BYTE)
		FUSED(OP_LDW_JEQ, op->k, 4, be32)
		FUSED(OP_LDHX_JEQ, (uint64_t)X + op->k, 2, be16)
		FUSED(OP_LDBX_JEQ, (uint64_t)X + op->k, 1, BYTE)
		default: __builtin_unreachable(); /* decode() made every op */
		}
	}
}

uint32_t cbpf_run(const struct cbpf *f, const uint8_t *pkt, uint32_t wirelen, uint32_t buflen)
{
	if (!f->ops)
		return bpf_filter(f->insns, pkt, wirelen, buflen);
	return exec(f->ops, f->mem, pkt, wirelen, buflen);
}

uint16_t cbpf_select(const struct cbpf *f, struct weir_pkt *const *pkts, uint16_t n,
		     uint32_t snaplen, uint16_t *idx)
{
	uint16_t m = 0;

	for (uint16_t i = 0; i < n; i++) {
		const struct weir_pkt *p = pkts[i];
		uint32_t caplen = p->pkt_len < snaplen ? p->pkt_len : snaplen;
		const uint8_t *data = weir_pkt_data(p);

		idx[m] = i;
		if (p->data_len < caplen)
			m++;
		else if (f->ops)
			m += exec(f->ops, f->mem, data, p->pkt_len, caplen) != 0;
		else
			m += bpf_filter(f->insns, data, p->pkt_len, caplen) != 0;
	}
	return m;
}
