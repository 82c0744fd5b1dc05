/* flow_ws_send.c - an agent's flow link for benches: sends protobuf flow.Message frames
 * (a file written by `ingest_bench -o`) to an analyzer's /ws/agent/flow at a fixed rate of
 * flow updates per second, and says what rate it achieved.
 *
 * A plain socket and RFC 6455 by hand (binary frames, masked as a client must; the
 * analyzer's pings answered with pongs, anything else it sends read and dropped). The rate is kept over 10 ms ticks; when the analyzer does not take
 * the bytes in (its loop stalled, TCP window full) send() blocks and the sender falls
 * behind: "behind_max_updates" says by how much, and the achieved rate drops, which is
 * what an agent's own send queue would see before it overflows.
 *
 * With LINKS > 1 it plays that many agents (bench/agents_bench.sh): LINKS connections,
 * host ids HOST_ID-0 ... HOST_ID-<LINKS-1>, spread over the analyzers' PORTS (a comma
 * list) in turn, the frames dealt to the links in turn, RATE the total.
 *
 * Usage: flow_ws_send HOST PORT[,PORT...] FILE RATE SECONDS [HOST_ID [LINKS]]
 * Output: "key value" lines: links, frames_sent, updates_sent, seconds, updates_per_s,
 *         behind_max_updates. Exit 1 on a connection error, 2 on bad arguments. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "flow.pb-c.h"

struct frame {
	uint8_t *wire; /* WebSocket header + masked payload */
	size_t len;
	size_t nflows;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One binary frame, masked with a fixed key (any key is valid; a random one per frame
 * only matters against proxies, not here). */
static uint8_t *ws_frame(const uint8_t *payload, size_t n, size_t *out_len)
{
	static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
	uint8_t *f = malloc(n + 14);
	if (!f)
		return NULL;
	size_t h = 0;
	f[h++] = 0x82;
	if (n < 126) {
		f[h++] = (uint8_t)(0x80 | n);
	} else if (n < 65536) {
		f[h++] = 0x80 | 126;
		f[h++] = (uint8_t)(n >> 8);
		f[h++] = (uint8_t)n;
	} else {
		f[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			f[h++] = (uint8_t)((uint64_t)n >> (8 * i));
	}
	memcpy(f + h, key, 4);
	h += 4;
	for (size_t i = 0; i < n; i++)
		f[h + i] = payload[i] ^ key[i & 3];
	*out_len = h + n;
	return f;
}

/* One link: its socket, and what the analyzer sent that is not parsed yet (the bytes
 * of an incomplete frame are kept for the next read). */
struct link {
	int fd;
	uint8_t in[1 << 16];
	size_t in_n;
};

/* What the analyzer sent on l: frames parsed, pings answered. */
static void drain(struct link *l)
{
	int fd = l->fd;
	uint8_t *in = l->in;
	for (;;) {
		ssize_t r = recv(fd, in + l->in_n, sizeof(l->in) - l->in_n, MSG_DONTWAIT);
		if (r <= 0)
			break;
		l->in_n += (size_t)r;
		size_t off = 0;
		while (l->in_n - off >= 2) {
			uint8_t op = in[off] & 0x0f;
			uint64_t len = in[off + 1] & 0x7f;
			size_t h = 2;
			if (len == 126) {
				if (l->in_n - off < 4)
					break;
				len = (uint64_t)in[off + 2] << 8 | in[off + 3];
				h = 4;
			} else if (len == 127) {
				if (l->in_n - off < 10)
					break;
				len = 0;
				for (int i = 0; i < 8; i++)
					len = len << 8 | in[off + 2 + i];
				h = 10;
			}
			if (len > sizeof(l->in) - h) { /* larger than we keep: skip what we have */
				l->in_n = off = 0;
				break;
			}
			if (l->in_n - off < h + len)
				break;
			if (op == 0x9 && len <= 125) { /* ping: the same payload back, masked */
				uint8_t pong[6 + 125];
				size_t pl = 0;
				pong[pl++] = 0x8a;
				pong[pl++] = (uint8_t)(0x80 | len);
				memset(pong + pl, 0, 4); /* a zero mask: the payload as is */
				pl += 4;
				memcpy(pong + pl, in + off + h, len);
				pl += len;
				for (size_t done = 0; done < pl;) {
					ssize_t w = send(fd, pong + done, pl - done, MSG_NOSIGNAL);
					if (w > 0)
						done += (size_t)w;
					else if (w < 0 && errno != EAGAIN && errno != EINTR)
						break;
				}
			}
			off += h + len;
		}
		memmove(in, in + off, l->in_n - off);
		l->in_n -= off;
	}
}

/* Connects and upgrades to /ws/agent/flow as host_id. The socket, or -1 (said). */
static int ws_connect(const char *host, const char *port, const char *host_id)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	if (getaddrinfo(host, port, &hints, &ai)) {
		fprintf(stderr, "flow_ws_send: cannot resolve %s\n", host);
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		fprintf(stderr, "flow_ws_send: cannot connect to %s:%s: %s\n", host, port,
			strerror(errno));
		freeaddrinfo(ai);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	freeaddrinfo(ai);
	char req[1024];
	int n = snprintf(req, sizeof(req),
			 "GET /ws/agent/flow HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
			 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			 "Sec-WebSocket-Version: 13\r\nX-Host-ID: %s\r\nX-Client-Type: agent\r\n"
			 "X-Client-Protocol: protobuf\r\n\r\n",
			 host, port, host_id);
	if (send_all(fd, (const uint8_t *)req, (size_t)n)) {
		close(fd);
		return -1;
	}
	char resp[4096];
	size_t got = 0;
	while (got < sizeof(resp) - 1) {
		ssize_t r = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
		resp[got] = 0;
		if (strstr(resp, "\r\n\r\n"))
			break;
	}
	resp[got] = 0;
	if (strncmp(resp, "HTTP/1.1 101", 12)) {
		fprintf(stderr, "flow_ws_send: %s: handshake refused: %.200s\n", host_id, resp);
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: flow_ws_send HOST PORT[,PORT...] FILE RATE SECONDS [HOST_ID "
				"[LINKS]]\n");
		return 2;
	}
	const char *host = argv[1], *ports = argv[2], *file = argv[3];
	double rate = atof(argv[4]), secs = atof(argv[5]);
	const char *host_id = argc > 6 ? argv[6] : "bench-agent";
	long nlinks = argc > 7 ? strtol(argv[7], NULL, 10) : 1;
	FILE *in = fopen(file, "rb");
	if (!in || rate <= 0 || secs <= 0 || nlinks < 1 || nlinks > 10000) {
		fprintf(stderr, "flow_ws_send: cannot read %s, or RATE/SECONDS not > 0, or LINKS not "
				"in 1..10000\n", file);
		return 2;
	}
	struct frame *fr = NULL;
	size_t nfr = 0, cap = 0;
	uint32_t l;
	while (fread(&l, 4, 1, in) == 1) {
		uint8_t *b = malloc(l ? l : 1);
		if (!b || fread(b, 1, l, in) != l) {
			fprintf(stderr, "flow_ws_send: %s is truncated\n", file);
			return 2;
		}
		if (nfr == cap) {
			cap = cap ? cap * 2 : 1024;
			fr = realloc(fr, cap * sizeof(*fr));
			if (!fr)
				return 2;
		}
		Flow__Message *m = flow__message__unpack(NULL, l, b);
		fr[nfr].nflows = m ? m->n_flows : 0;
		if (m)
			flow__message__free_unpacked(m, NULL);
		if (!(fr[nfr].wire = ws_frame(b, l, &fr[nfr].len)))
			return 2;
		free(b);
		nfr++;
	}
	fclose(in);
	if (!nfr) {
		fprintf(stderr, "flow_ws_send: no frames in %s\n", file);
		return 2;
	}

	char *plist = strdup(ports), *portv[64];
	int nports = 0;
	for (char *sp = NULL, *t = strtok_r(plist, ",", &sp); t && nports < 64;
	     t = strtok_r(NULL, ",", &sp))
		portv[nports++] = t;
	struct link *links = calloc((size_t)nlinks, sizeof(*links));
	if (!nports || !links) {
		fprintf(stderr, "flow_ws_send: no PORT, or out of memory\n");
		return 2;
	}
	for (long i = 0; i < nlinks; i++) {
		char id[256];
		if (nlinks == 1)
			snprintf(id, sizeof(id), "%s", host_id);
		else
			snprintf(id, sizeof(id), "%s-%ld", host_id, i);
		if ((links[i].fd = ws_connect(host, portv[i % nports], id)) < 0)
			return 1;
	}
	/* blocking sends through poll-free retries: a full window makes us wait (and fall
	 * behind), which is the measure */
	double t0 = now_s(), t;
	uint64_t sent = 0, frames = 0, behind_max = 0;
	size_t k = 0;
	long li = 0; /* the link the next frame goes to */
	while ((t = now_s()) - t0 < secs) {
		uint64_t due = (uint64_t)((t - t0) * rate);
		if (due > sent && due - sent > behind_max)
			behind_max = due - sent;
		while (sent < due) {
			const struct frame *f = &fr[k];
			int fd = links[li].fd;
			size_t off = 0;
			while (off < f->len) {
				ssize_t w = send(fd, f->wire + off, f->len - off, MSG_NOSIGNAL);
				if (w > 0) {
					off += (size_t)w;
				} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
					/* not drain(): a pong must not go inside this frame */
					struct timespec ts = {0, 200000};
					nanosleep(&ts, NULL);
				} else {
					fprintf(stderr, "flow_ws_send: send: %s\n", strerror(errno));
					return 1;
				}
			}
			sent += f->nflows;
			frames++;
			k = (k + 1) % nfr;
			li = (li + 1) % nlinks;
		}
		for (long i = 0; i < nlinks; i++)
			drain(&links[i]);
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	double el = now_s() - t0;
	printf("links %ld\nframes_sent %llu\nupdates_sent %llu\nseconds %.2f\nupdates_per_s %.0f\n"
	       "behind_max_updates %llu\n",
	       nlinks, (unsigned long long)frames, (unsigned long long)sent, el, (double)sent / el,
	       (unsigned long long)behind_max);
	/* a clean close, so the analyzer does not log a broken link */
	static const uint8_t close_frame[] = {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8};
	for (long i = 0; i < nlinks; i++) {
		int fd = links[i].fd;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		send_all(fd, close_frame, sizeof(close_frame));
		close(fd);
	}
	free(links);
	free(plist);
	return 0;
}
