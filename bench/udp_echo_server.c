// SPDX-License-Identifier: BSD-3-Clause
/*
 * bench/udp_echo_server: the Linux kernel's UDP echo, written to be fast,
 * as bench/udp_echo.sh's anchor for weir-echo: one socket, recvmmsg of up
 * to 64 datagrams (MSG_WAITFORONE: it sleeps for the first and takes what
 * else is there), each sent back to its source with one sendmmsg, buffers
 * reused, nothing copied in user space. The script pins it with taskset.
 * --spin polls with MSG_DONTWAIT instead of sleeping (a core of its own, as
 * weir's lcore takes one while busy).
 *
 *   udp_echo_server ADDR PORT [--spin]     until SIGTERM; prints datagrams echoed
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	static uint8_t buf[BATCH][2048];
	struct sockaddr_in addr = {.sin_family = AF_INET}, from[BATCH];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	struct sigaction sa = {.sa_handler = on_signal};
	bool spin = argc > 3 && !strcmp(argv[3], "--spin");
	unsigned long echoed = 0;
	int fd, size = 4 << 20;

	if (argc < 3 || inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
		fprintf(stderr, "usage: udp_echo_server ADDR PORT [--spin]\n");
		return 2;
	}
	addr.sin_port = htons((uint16_t)atoi(argv[2]));
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: a signal ends a sleeping recvmmsg */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, "udp_echo_server: %s:%s: %s\n", argv[1], argv[2], strerror(errno));
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		int n;

		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){.iov_base = buf[i], .iov_len = sizeof(buf[i])};
			m[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &from[i],
							    .msg_namelen = sizeof(from[i]),
							    .msg_iov = &iov[i], .msg_iovlen = 1}};
		}
		n = recvmmsg(fd, m, BATCH, spin ? MSG_DONTWAIT : MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		/* Same headers, payload lengths as received: the echo. */
		for (int i = 0; i < n; i++)
			iov[i].iov_len = m[i].msg_len;
		for (int off = 0; off < n;) {
			int s = sendmmsg(fd, m + off, (unsigned)(n - off), 0);

			if (s <= 0)
				break;
			off += s;
		}
		echoed += (unsigned long)n;
	}
	fprintf(stderr, "udp_echo_server: echoed %lu datagrams\n", echoed);
	close(fd);
	return 0;
}
