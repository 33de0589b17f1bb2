// SPDX-License-Identifier: BSD-3-Clause
/*
 * Starting DPDK's EAL inside weir, once per process, and the preflight
 * that runs before it. EAL's own failure messages ("Cannot get hugepage
 * information", "VFIO group is not viable") name a symptom; the preflight
 * names what is missing and the command that fixes it. EAL is quiet
 * (log level CRIT: weir says what failed, and how to fix it) unless weir logs at debug level, and never pins the
 * caller's thread: the affinity weir's lcores inherit is put back.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_version.h>

#include "weir/log.h"
#include "dpdk_internal.h"

#define EAL_MAX_ARGS 64

static pthread_mutex_t eal_lock = PTHREAD_MUTEX_INITIALIZER;
static int eal_state;           /* 0: not tried, 1: running, < 0: failed with that */
static char eal_why[WEIR_PORT_ERRSIZE];
static __thread bool thread_register_tried;

bool dpdk_is_pci(const char *devargs)
{
	unsigned a, b, c, d;
	char tail;

	/* DDDD:BB:DD.F or BB:DD.F, then the end or a ',' and arguments. */
	if (sscanf(devargs, "%x:%x:%x.%x%c", &a, &b, &c, &d, &tail) >= 4)
		return true;
	return sscanf(devargs, "%x:%x.%x%c", &a, &b, &c, &tail) >= 3 &&
	       isxdigit((unsigned char)devargs[0]) && strchr(devargs, '.') != NULL &&
	       strchr(devargs, ':') == strrchr(devargs, ':');
}

/* Huge pages reserved and free, from /proc/meminfo (0 when unreadable). */
static long huge_pages_free(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

static bool path_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* The kernel driver sysfs says addr is bound to, into buf ("" if none). */
static void pci_driver(const char *addr, char *buf, size_t len)
{
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t n;
	char *slash;

	buf[0] = '\0';
	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/driver", addr);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = '\0';
	slash = strrchr(target, '/');
	snprintf(buf, len, "%s", slash ? slash + 1 : target);
}

int dpdk_preflight_pci(struct weir_port *port, const char *addr)
{
	char path[PATH_MAX], drv[64];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", addr);
	if (!path_exists(path))
		return weir_port_fail(port, -ENOENT,
				      "no PCI device %s (lspci -D lists them; write the full "
				      "address, e.g. 0000:01:00.0)",
				      addr);
	if (huge_pages_free() <= 0)
		return weir_port_fail(port, -ENOMEM,
				      "a PCI NIC needs huge pages and none are free: echo 1024 > "
				      "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages");
	pci_driver(addr, drv, sizeof(drv));
	/* mlx4/mlx5 are bifurcated: DPDK drives them beside the kernel driver. */
	if (!strncmp(drv, "mlx", 3))
		return 0;
	if (strcmp(drv, "vfio-pci") && strcmp(drv, "uio_pci_generic") && strcmp(drv, "igb_uio")) {
		if (!path_exists("/sys/module/vfio_pci"))
			return weir_port_fail(port, -ENODEV,
					      "%s is bound to %s, and vfio-pci is not loaded: "
					      "modprobe vfio-pci && dpdk-devbind.py -b vfio-pci %s",
					      addr, drv[0] ? drv : "no driver", addr);
		return weir_port_fail(port, -ENODEV,
				      "%s is bound to %s, not to vfio-pci: dpdk-devbind.py -b "
				      "vfio-pci %s (ip link set <its interface> down first)",
				      addr, drv[0] ? drv : "no driver", addr);
	}
	if (!strcmp(drv, "vfio-pci")) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", addr);
		if (!path_exists(path))
			return weir_port_fail(port, -ENODEV,
					      "%s has no IOMMU group: boot with intel_iommu=on "
					      "iommu=pt (or amd_iommu=on), or, without an IOMMU, "
					      "echo 1 > /sys/module/vfio/parameters/"
					      "enable_unsafe_noiommu_mode and bind again",
					      addr);
	}
	return 0;
}

/* Splits WEIR_EAL_ARGS on blanks into argv (pointers into buf). */
static int env_args(char *buf, char **argv, int max, int *argc)
{
	for (char *tok = strtok(buf, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
		if (*argc >= max)
			return -E2BIG;
		argv[(*argc)++] = tok;
	}
	return 0;
}

static bool args_have(char **argv, int argc, const char *opt)
{
	size_t len = strlen(opt);

	for (int i = 0; i < argc; i++)
		if (!strncmp(argv[i], opt, len))
			return true;
	return false;
}

/* The EAL command line: weir's defaults, then WEIR_EAL_ARGS. */
static int build_args(const char *devargs, char *env, char **argv, char *lcore, size_t lcore_len,
		      char *pci_a, size_t pci_len)
{
	int argc = 0, nenv = 0;
	char *envv[EAL_MAX_ARGS];
	bool pci = dpdk_is_pci(devargs), nohuge = false;
	cpu_set_t set;
	int cpu = 0;

	if (env && env_args(env, envv, EAL_MAX_ARGS - 16, &nenv) < 0)
		return -E2BIG;
	/* One lcore, the first CPU this thread may run on; the affinity
	 * itself is restored after rte_eal_init (dpdk_eal_start). */
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		while (cpu < CPU_SETSIZE - 1 && !CPU_ISSET(cpu, &set))
			cpu++;
	snprintf(lcore, lcore_len, "%d", cpu);
	argv[argc++] = "weir";
	if (!args_have(envv, nenv, "-l") && !args_have(envv, nenv, "--lcores")) {
		argv[argc++] = "-l";
		argv[argc++] = lcore;
	}
	argv[argc++] = "--no-telemetry";
	if (weir_log_get_level() < WEIR_LOG_DEBUG && !args_have(envv, nenv, "--log-level"))
		argv[argc++] = "--log-level=3"; /* RTE_LOG_CRIT: weir says what failed */
	if (!pci && huge_pages_free() <= 0 && !args_have(envv, nenv, "--no-huge")) {
		argv[argc++] = "--no-huge";
		if (!args_have(envv, nenv, "-m") && !args_have(envv, nenv, "--socket-mem")) {
			argv[argc++] = "-m";
			argv[argc++] = "512";
		}
		nohuge = true;
	}
	/* No files in /var/run/dpdk or hugetlbfs: several weir processes (and
	 * testpmd) run side by side without a --file-prefix each. --no-huge
	 * means legacy memory, which --in-memory refuses: --no-shconf then. */
	argv[argc++] = nohuge || args_have(envv, nenv, "--no-huge") ? "--no-shconf" : "--in-memory";
	if (pci) {
		snprintf(pci_a, pci_len, "%.*s", (int)strcspn(devargs, ","), devargs);
		if (!args_have(envv, nenv, "-a") && !args_have(envv, nenv, "-b")) {
			argv[argc++] = "-a";
			argv[argc++] = pci_a;
		}
	} else if (!args_have(envv, nenv, "--no-pci") && !args_have(envv, nenv, "-a")) {
		argv[argc++] = "--no-pci";
	}
	for (int i = 0; i < nenv; i++)
		argv[argc++] = envv[i];
	argv[argc] = NULL;
	return argc;
}

static void args_join(char **argv, int argc, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 1; i < argc && off < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i > 1 ? " " : "", argv[i]);

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

static int eal_init(struct weir_port *port, const char *devargs)
{
	char *argv[EAL_MAX_ARGS + 1], lcore[16], pci_a[64], line[512];
	const char *envs = getenv("WEIR_EAL_ARGS");
	char *env = envs ? strdup(envs) : NULL;
	cpu_set_t saved;
	bool have_saved;
	int argc, ret;

	if (envs && !env)
		return weir_port_fail(port, -ENOMEM, "out of memory");
	argc = build_args(devargs, env, argv, lcore, sizeof(lcore), pci_a, sizeof(pci_a));
	if (argc < 0) {
		free(env);
		return weir_port_fail(port, -E2BIG, "WEIR_EAL_ARGS has more than %d words",
				      EAL_MAX_ARGS - 16);
	}
	args_join(argv, argc, line, sizeof(line));
	WEIR_DEBUG("dpdk: starting EAL: %s", line);
	if (weir_log_get_level() < WEIR_LOG_DEBUG)
		rte_log_set_global_level(RTE_LOG_CRIT);
	have_saved = sched_getaffinity(0, sizeof(saved), &saved) == 0;
	/* EAL keeps argv's strings (and may permute the array). */
	ret = rte_eal_init(argc, argv);
	if (have_saved)
		sched_setaffinity(0, sizeof(saved), &saved);
	if (ret < 0) {
		int e = rte_errno;

		/* env stays: EAL may keep pointers into it. */
		return weir_port_fail(port, e == EALREADY ? -EALREADY : -(e ? e : EINVAL),
				      "EAL did not start (%s) with: %s; set WEIR_EAL_ARGS to "
				      "change it, --log-level debug shows EAL's messages",
				      rte_strerror(e), line);
	}
	WEIR_INFO("dpdk: EAL %s started: %s (IOVA as %s)", rte_version(), line,
		  rte_eal_iova_mode() == RTE_IOVA_VA ? "VA" : "PA");
	return 0;
}

int dpdk_eal_start(struct weir_port *port, const char *devargs)
{
	int ret;

	pthread_mutex_lock(&eal_lock);
	if (eal_state == 0) {
		ret = eal_init(port, devargs);
		eal_state = ret < 0 ? ret : 1;
		if (ret < 0)
			snprintf(eal_why, sizeof(eal_why), "%s", port->err);
	}
	ret = eal_state < 0 ? eal_state : 0;
	pthread_mutex_unlock(&eal_lock);
	if (ret < 0)
		snprintf(port->err, sizeof(port->err), "%s", eal_why);
	return ret;
}

void dpdk_thread_register_slow(void)
{
	if (thread_register_tried)
		return;
	thread_register_tried = true;
	if (rte_thread_register() < 0)
		WEIR_DEBUG("dpdk: thread gets no EAL lcore (%s): mempools run without "
			   "a per-thread cache here",
			   rte_strerror(rte_errno));
}
