// SPDX-License-Identifier: BSD-3-Clause
/*
 * afxdp's XDP program handling and its talk with libbpf and libxdp:
 * mounting bpffs where libxdp's dispatcher needs it, loading weir's
 * embedded steering program (afxdp_kern.c, staged through a memfd) or a
 * user's object, attaching it in the mode asked for, configuring its
 * steering map, and explaining a verifier rejection from the log's tail.
 *
 * The libraries' print callbacks are process-wide, and the application may
 * have set its own (or rely on the libraries' default, stderr). weir's are
 * installed only while open and close call into libbpf and libxdp, and
 * whatever was there before is put back after, so nothing outlives the
 * call. Open and close run on the control thread; pairs nest (open's
 * failure path closes). What the libraries warn of during an open is kept
 * and shown if the open fails.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "weir/log.h"

#include "afxdp_internal.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

/* The embedded steering program (generated from afxdp_kern.c at build). */
extern const unsigned char weir_afxdp_kern_obj[];
extern const size_t weir_afxdp_kern_obj_len;

/* --- libbpf/libxdp messages -------------------------------------------- */

/* Library warnings during an open are kept and shown when the open fails;
 * otherwise they are only debug noise (libxdp probes and retries a lot). */
static __thread char *lib_msgs;
static __thread size_t lib_msgs_len;

void afxdp_lib_msgs_keep(char *buf)
{
	lib_msgs = buf;
	lib_msgs_len = 0;
	if (buf)
		buf[0] = '\0';
}

const char *afxdp_lib_said(void)
{
	return lib_msgs && lib_msgs[0] ? lib_msgs : NULL;
}

/* fmt comes from libbpf/libxdp, which pass their own literals. */
__attribute__((format(printf, 1, 0))) static void keep_lib_msg(const char *fmt, va_list ap)
{
	char line[512];
	int n = vsnprintf(line, sizeof(line), fmt, ap);

	if (n <= 0)
		return;
	WEIR_DEBUG("afxdp: lib: %s", line);
	if (lib_msgs && lib_msgs_len + strlen(line) + 1 < AFXDP_LIB_MSGS_SIZE) {
		memcpy(lib_msgs + lib_msgs_len, line, strlen(line) + 1);
		lib_msgs_len += strlen(line);
	}
}

__attribute__((format(printf, 2, 0))) static int libbpf_msg(enum libbpf_print_level level,
							     const char *fmt, va_list ap)
{
	if (level != LIBBPF_DEBUG)
		keep_lib_msg(fmt, ap);
	return 0;
}

__attribute__((format(printf, 2, 0))) static int libxdp_msg(enum libxdp_print_level level,
							     const char *fmt, va_list ap)
{
	if (level != LIBXDP_DEBUG)
		keep_lib_msg(fmt, ap);
	return 0;
}

struct afxdp_lib_print afxdp_lib_print_take(void)
{
	struct afxdp_lib_print prev;

	prev.bpf = libbpf_set_print(libbpf_msg);
	prev.xdp = libxdp_set_print(libxdp_msg);
	return prev;
}

void afxdp_lib_print_give_back(struct afxdp_lib_print prev)
{
	libbpf_set_print(prev.bpf);
	libxdp_set_print(prev.xdp);
}

/* --- the XDP program ---------------------------------------------------- */

/* libxdp's dispatcher pins programs in bpffs: mount it if it is missing
 * (ip netns exec gives each namespace its own /sys). */
int afxdp_ensure_bpffs(struct weir_port *port)
{
	const char *dir = getenv("LIBXDP_BPFFS");
	struct statfs fs;

	if (!dir || !*dir)
		dir = "/sys/fs/bpf";
	if (!statfs(dir, &fs) && (uint64_t)fs.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", dir, "bpf", 0, "mode=0700")) {
		int e = -errno;

		return weir_port_fail(port, e,
				      "bpffs is not mounted at %s and mounting it failed (%s); "
				      "mount it first (mount -t bpf bpf %s), or point "
				      "LIBXDP_BPFFS at a mounted bpffs",
				      dir, strerror(-e), dir);
	}
	WEIR_INFO("%s: mounted bpffs at %s (libxdp's dispatcher needs it)", port->label, dir);
	return 0;
}

const char *afxdp_mode_name(enum xdp_attach_mode m)
{
	switch (m) {
	case XDP_MODE_NATIVE: return "native";
	case XDP_MODE_SKB: return "skb";
	case XDP_MODE_HW: return "hw";
	default: return "unknown";
	}
}

enum xdp_attach_mode afxdp_attached_mode(int ifindex)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	enum xdp_attach_mode m;

	if (libxdp_get_error(mp) || !mp)
		return XDP_MODE_UNSPEC;
	m = xdp_multiprog__attach_mode(mp);
	xdp_multiprog__close(mp);
	return m;
}

/* Opens weir's embedded program (path NULL) or the file at path and
 * attaches it in mode. The embedded bytes go through a memfd so libxdp owns
 * the object exactly as if it had opened a file. On an attach failure the
 * error is returned with no message: the caller explains or falls back. */
static int load_prog(struct weir_port *port, const char *path, enum xdp_attach_mode mode)
{
	struct afxdp_priv *priv = port->priv;
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	char memfd_path[64];
	/* Messages name the program; path is NULL for weir's own. */
	const char *name = path ? path : "(weir's, embedded)";
	struct bpf_object *obj;
	struct bpf_map *map;
	int e;

	priv->verifier_log[0] = '\0';
	oo.kernel_log_buf = priv->verifier_log;
	oo.kernel_log_size = 1 << 20;
	if (!path) {
		if (priv->memfd < 0) {
			priv->memfd = memfd_create("weir_afxdp_kern", MFD_CLOEXEC);
			if (priv->memfd < 0)
				return weir_port_fail(port, -errno, "memfd_create: %s",
						      strerror(errno));
			if (write(priv->memfd, weir_afxdp_kern_obj, weir_afxdp_kern_obj_len) !=
			    (ssize_t)weir_afxdp_kern_obj_len)
				return weir_port_fail(port, -EIO, "cannot stage the XDP program");
		}
		snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", priv->memfd);
	}
	priv->prog = xdp_program__open_file(path ? path : memfd_path, NULL, &oo);
	e = (int)libxdp_get_error(priv->prog);
	if (e || !priv->prog) {
		priv->prog = NULL;
		e = e ? e : -EINVAL;
		return weir_port_fail(port, e, "cannot open XDP program %s: %s", name,
				      strerror(-e));
	}
	e = xdp_program__attach(priv->prog, priv->ifindex, mode, 0);
	if (e) {
		xdp_program__close(priv->prog);
		priv->prog = NULL;
		return e;
	}
	priv->got_mode = mode;
	obj = xdp_program__bpf_obj(priv->prog);
	map = bpf_object__find_map_by_name(obj, "xsks_map");
	if (!map || bpf_map__type(map) != BPF_MAP_TYPE_XSKMAP)
		return weir_port_fail(port, -EINVAL,
				      "XDP program %s has no XSKMAP named xsks_map to redirect into",
				      name);
	if (bpf_map__max_entries(map) < (uint32_t)(priv->start_queue + priv->nq))
		return weir_port_fail(port, -EINVAL,
				      "the program's xsks_map holds %u queues, queue %u asked",
				      bpf_map__max_entries(map), priv->start_queue + priv->nq - 1);
	priv->xsks_map_fd = bpf_map__fd(map);
	map = bpf_object__find_map_by_name(obj, "weir_steer");
	if (map) {
		uint32_t zero = 0;

		e = bpf_map_update_elem(bpf_map__fd(map), &zero, &priv->steer, 0);
		if (e)
			return weir_port_fail(port, e, "cannot configure steering: %s",
					      strerror(-e));
	} else if (priv->steer.enabled) {
		return weir_port_fail(port, -EINVAL,
				      "udp_port=/ethertype= need weir's program (prog=weir)");
	}
	map = bpf_object__find_map_by_name(obj, "weir_steer_stats");
	priv->stats_map_fd = map ? bpf_map__fd(map) : -1;
	return 0;
}

/* Last lines of the verifier's log: where it stopped and why. */
static const char *log_tail(const char *log, size_t max)
{
	size_t len = strlen(log);
	const char *t;

	if (len <= max)
		return log;
	t = log + len - max;
	while (*t && *t != '\n')
		t++;
	return *t ? t + 1 : log + len - max;
}

/* The verifier's reason: the last log line before its "processed N insns"
 * summary. Cuts the log in place. */
static const char *verifier_reason(char *log)
{
	char *end = log + strlen(log), *start;

	for (;;) {
		while (end > log && (end[-1] == '\n' || end[-1] == ' '))
			*--end = '\0';
		start = end;
		while (start > log && start[-1] != '\n')
			start--;
		if (start == log || strncmp(start, "processed ", 10))
			return start;
		end = start;
	}
}

int afxdp_attach_prog(struct weir_port *port, const char *path, char *notes, size_t nlen)
{
	struct afxdp_priv *priv = port->priv;
	enum xdp_attach_mode mode = priv->mode_req == MODE_SKB ? XDP_MODE_SKB : XDP_MODE_NATIVE;
	int e;

	priv->verifier_log = calloc(1, 1 << 20);
	if (!priv->verifier_log)
		return weir_port_fail(port, -ENOMEM, "out of memory");
	e = load_prog(port, path, mode);
	if (e && !port->err[0] && !priv->verifier_log[0] && priv->mode_req == MODE_AUTO) {
		snprintf(notes, nlen, "native mode: %s", strerror(-e));
		mode = XDP_MODE_SKB;
		e = load_prog(port, path, mode);
	}
	if (!e || port->err[0])
		return e;
	if (priv->verifier_log[0]) {
		WEIR_ERR("%s: the kernel rejected the XDP program; verifier log:\n%s", port->label,
			 log_tail(priv->verifier_log, 3000));
		return weir_port_fail(port, e, "XDP program load failed (verifier log above): %s",
				      verifier_reason(priv->verifier_log));
	}
	return weir_port_fail(port, e, "cannot attach the XDP program in %s mode: %s%s%s%s",
			      afxdp_mode_name(mode), strerror(-e),
			      mode == XDP_MODE_NATIVE
				      ? " (the driver may lack native XDP: try mode=skb)"
				      : "",
			      afxdp_lib_said() ? "; libxdp said: " : "",
			      afxdp_lib_said() ? afxdp_lib_said() : "");
}
