// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-cap's side of a mirror (common/mirror.h): `-i app:SOCKET?port=N&
 * dir=rx|tx|both&ring=BYTES` asks the running app behind SOCKET (its
 * --stats-socket) to mirror port N, receives the shared area's fd with the
 * reply, maps it and reads its rings. Receive lcore 0 turns each record
 * into a packet from weir-cap's pool (one copy: the app's buffers are the
 * app's) and hands it to the writer like any frame. The session ends when
 * weir-cap closes the connection; an app that exits closes it too, and
 * the capture of that interface ends once its rings are read.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cap/cap.h"
#include "common/fastpath.h"

struct cap_mirror {
	int sock;
	void *area;
	uint64_t len;
	struct mirror_hdr hdr; /* checked copy */
	uint64_t tail[MIRROR_MAX_RINGS];
	bool broken;
	char name[256];
};

/* Reads the reply line, with the fd that may come on its first byte. */
static int read_reply(int sock, char *line, size_t len, int *fd)
{
	size_t got = 0;

	*fd = -1;
	while (got + 1 < len) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = {line + got, len - 1 - got};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

		if (n <= 0)
			return n < 0 ? -errno : -ECONNRESET;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && *fd < 0)
				memcpy(fd, CMSG_DATA(cm), sizeof(int));
		got += (size_t)n;
		line[got] = '\0';
		if (memchr(line, '\n', got))
			return 0;
	}
	return -EMSGSIZE;
}

static int connect_app(const char *path, char *why, size_t wlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(why, wlen, "%s: cannot make a socket or path too long", path);
		if (s >= 0)
			close(s);
		return -EINVAL;
	}
	strcpy(sa.sun_path, path);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		snprintf(why, wlen, "%s: %s (is the app running with --stats-socket %s?)", path,
			 strerror(errno), path);
		close(s);
		return err;
	}
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){.tv_sec = 5}, sizeof(struct timeval));
	return s;
}

/* Maps the area behind fd and checks it. */
static int map_area(struct cap_mirror *m, int fd, char *why, size_t wlen)
{
	struct stat st;
	int err;

	if (fstat(fd, &st) < 0 || st.st_size < MIRROR_HDR_SIZE) {
		snprintf(why, wlen, "the app's mirror area is unusable");
		return -EPROTO;
	}
	m->len = (uint64_t)st.st_size;
	m->area = mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m->area == MAP_FAILED) {
		m->area = NULL;
		snprintf(why, wlen, "cannot map the app's mirror area: %s", strerror(errno));
		return -errno;
	}
	if ((err = mirror_check(m->area, m->len, why, wlen)) < 0)
		return err;
	memcpy(&m->hdr, m->area, sizeof(m->hdr));
	m->hdr.port[sizeof(m->hdr.port) - 1] = '\0';
	return 0;
}

int cap_mirror_open(const char *spec, const char *filter, uint32_t snaplen,
		    struct cap_mirror **out, char *why, size_t wlen)
{
	char path[108], req[4800], line[4096];
	struct cap_mirror *m = calloc(1, sizeof(*m));
	int fd = -1, err;

	if (!m)
		return -ENOMEM;
	m->sock = -1;
	*out = m;
	if ((err = cap_mirror_request(spec, filter, snaplen, path, sizeof(path), req, sizeof(req),
				      why, wlen)) < 0)
		return err;
	if ((m->sock = connect_app(path, why, wlen)) < 0)
		return m->sock;
	if (send(m->sock, req, strlen(req), MSG_NOSIGNAL) < 0 ||
	    (err = read_reply(m->sock, line, sizeof(line), &fd)) < 0) {
		snprintf(why, wlen, "%s: no reply to the capture request (%s)", path,
			 strerror(errno));
		return -EPROTO;
	}
	if (strstr(line, "\"error\"") || fd < 0) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(why, wlen, "%s refused: %s", path, line);
		if (fd >= 0)
			close(fd);
		return -EPROTO;
	}
	err = map_area(m, fd, why, wlen);
	close(fd);
	if (err < 0)
		return err;
	snprintf(m->name, sizeof(m->name), "%s (%s)", m->hdr.port, spec);
	return 0;
}

void cap_mirror_close(struct cap_mirror *m)
{
	if (!m)
		return;
	if (m->area)
		munmap(m->area, m->len);
	if (m->sock >= 0)
		close(m->sock);
	free(m);
}

const char *cap_mirror_name(const struct cap_mirror *m)
{
	return m->name;
}

/* A packet (a chain when it must be) holding data's caplen bytes. */
static struct weir_pkt *rec_pkt(struct weir_pool *pool, const uint8_t *data, uint32_t caplen)
{
	struct weir_pkt *head = weir_pkt_alloc(pool), *last = head;
	uint32_t off = 0;

	while (last) {
		uint32_t room = weir_pkt_tailroom(last), n = caplen - off < room ? caplen - off : room;

		/* put appends to the last segment and keeps the head's length. */
		memcpy(weir_pkt_put(head, (uint16_t)n), data + off, n);
		off += n;
		if (off == caplen)
			return head;
		last = weir_pkt_alloc(pool);
		if (last && weir_pkt_chain(head, last) < 0) {
			weir_pkt_free(last);
			last = NULL;
		}
	}
	if (head)
		weir_pkt_free(head);
	return NULL;
}

uint32_t cap_mirror_poll(struct cap *c, struct cap_rx *rx, int i)
{
	struct cap_mirror *m = c->mirrors[i];
	struct weir_pkt *pkts[APP_MAX_BURST];
	uint32_t n = 0, nobuf = 0;

	for (uint32_t r = 0; r < m->hdr.nrings && !m->broken && n < c->base.burst; r++) {
		struct mirror_ring *ring = mirror_ring_at(m->area, r, m->hdr.ring_bytes);
		/* Acquire: pairs with the producer's release of head. */
		uint64_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
		struct mirror_rec rec;
		const uint8_t *data;
		int got = 0;

		while (n < c->base.burst &&
		       (got = mirror_next(mirror_ring_data(ring), m->hdr.ring_bytes, m->hdr.snaplen,
					  head, &m->tail[r], &rec, &data)) == 1) {
			struct weir_pkt *p = rec_pkt(c->base.pool, data, rec.caplen);

			if (!p) {
				nobuf++;
				continue;
			}
			p->timestamp = rec.ts;
			p->udata64 = CAP_META(i, rec.dir == MIRROR_DIR_TX ? WEIR_PCAPNG_DIR_OUT
									   : WEIR_PCAPNG_DIR_IN) |
				     (uint64_t)rec.origlen << 32;
			pkts[n++] = p;
		}
		if (got < 0 && !m->broken) {
			fprintf(stderr, "weir-cap: %s: a bad record in ring %u: that interface's "
					"capture stops\n", m->name, r);
			m->broken = true;
		}
		/* Release: done with the bytes below tail (pairs with the
		 * producer's acquire in reserve()). */
		atomic_store_explicit(&ring->tail, m->tail[r], memory_order_release);
	}
	if (n + nobuf) {
		cap_rx_hand(rx, i, pkts, n, n + nobuf);
		/* No buffer for a record: matched, dropped by weir. */
		ctr_add(&rx->cnt[i].match, nobuf);
		ctr_add(&rx->cnt[i].drop, nobuf);
	}
	return n + nobuf;
}

void cap_mirror_stats(const struct cap_mirror *m, uint64_t *seen, uint64_t *drops)
{
	*seen = *drops = 0;
	for (uint32_t r = 0; r < m->hdr.nrings; r++) {
		struct mirror_ring *ring = mirror_ring_at(m->area, r, m->hdr.ring_bytes);

		*seen += atomic_load_explicit(&ring->seen, memory_order_relaxed);
		*drops += atomic_load_explicit(&ring->drops, memory_order_relaxed);
	}
}

bool cap_mirror_over(const struct cap_mirror *m)
{
	struct pollfd pfd = {.fd = m->sock, .events = POLLIN | POLLRDHUP};
	char b[256];

	if (m->broken)
		return true;
	if (poll(&pfd, 1, 0) <= 0)
		return false;
	if (!(pfd.revents & (POLLHUP | POLLRDHUP | POLLERR)) && recv(m->sock, b, sizeof(b),
								     MSG_DONTWAIT) != 0)
		return false;
	/* The app is gone: over once what it left in the rings is read. */
	for (uint32_t r = 0; r < m->hdr.nrings; r++) {
		struct mirror_ring *ring = mirror_ring_at(m->area, r, m->hdr.ring_bytes);

		if (atomic_load_explicit(&ring->head, memory_order_acquire) !=
		    atomic_load_explicit(&ring->tail, memory_order_acquire))
			return false;
	}
	return true;
}
