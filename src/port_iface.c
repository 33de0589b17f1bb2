// SPDX-License-Identifier: BSD-3-Clause
/*
 * Linux interfaces, for the drivers that sit on one (afpacket, afxdp):
 * probing an interface by name (exists, up, Ethernet, MTU, MAC), the
 * listing that messages about a wrong name show, and what kernel driver is
 * behind it. Everything here works through an AF_INET datagram socket's
 * ioctls, which need no privilege, so a wrong name or a down interface is
 * explained before a driver asks for CAP_NET_RAW.
 */
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "weir/port_driver.h"

void weir_port_iface_list(char *buf, size_t len)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	size_t off = 0;

	if (!len)
		return;
	buf[0] = '\0';
	if (!ifs)
		return;
	for (i = ifs; i->if_index && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", i->if_name);

		if (w < 0)
			break;
		off += (size_t)w;
	}
	if_freenameindex(ifs);
}

/* The name checks that need no socket: given, short enough, known. */
static int iface_lookup(struct weir_port *port, int *ifindex)
{
	char list[160];

	if (!port->ifname[0])
		return weir_port_fail(port, -EINVAL, "needs an interface: %s:IFACE",
				      port->drv->name);
	if (strlen(port->ifname) >= IF_NAMESIZE)
		return weir_port_fail(port, -EINVAL, "interface name longer than %d characters",
				      IF_NAMESIZE - 1);
	*ifindex = (int)if_nametoindex(port->ifname);
	if (!*ifindex) {
		weir_port_iface_list(list, sizeof(list));
		return weir_port_fail(port, -ENOENT, "no such interface (ip link shows: %s)", list);
	}
	return 0;
}

int weir_port_iface_probe(struct weir_port *port, unsigned need, int *ifindex)
{
	struct ifreq ifr;
	int fd, err;

	if ((err = iface_lookup(port, ifindex)))
		return err;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return weir_port_fail(port, -errno, "socket: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", port->ifname);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		err = weir_port_fail(port, -errno, "SIOCGIFFLAGS: %s", strerror(errno));
		goto out;
	}
	if ((need & WEIR_PORT_IFACE_UP) && !(ifr.ifr_flags & IFF_UP)) {
		err = weir_port_fail(port, -ENETDOWN, "interface is down (ip link set %s up)",
				     port->ifname);
		goto out;
	}
	if (ioctl(fd, SIOCGIFMTU, &ifr) == 0)
		port->mtu = (uint32_t)ifr.ifr_mtu;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0) {
		if (ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER) {
			memcpy(port->mac, ifr.ifr_hwaddr.sa_data, 6);
		} else if (need & WEIR_PORT_IFACE_ETHER) {
			err = weir_port_fail(port, -EINVAL,
					     "not an Ethernet interface (ARPHRD %u); weir ports "
					     "carry Ethernet frames", ifr.ifr_hwaddr.sa_family);
			goto out;
		}
	}
out:
	close(fd);
	return err;
}

int weir_port_iface_driver(const char *ifname, char *buf, size_t len)
{
	struct ethtool_drvinfo info = {.cmd = ETHTOOL_GDRVINFO};
	struct ifreq ifr;
	int fd, err = 0;

	if (!len)
		return -EINVAL;
	buf[0] = '\0';
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		err = -errno;
	else
		snprintf(buf, len, "%s", info.driver);
	close(fd);
	return err;
}

bool weir_port_iface_is_virtual_peer(const char *ifname)
{
	char drv[32];

	return weir_port_iface_driver(ifname, drv, sizeof(drv)) == 0 &&
	       (!strcmp(drv, "veth") || !strcmp(drv, "tun"));
}
