/* capture_pcapsocket.c - TCP listener reading pcap/pcapng streams (see capture.h).
 *
 * Threads: the lane thread (capture_dispatch) consumes the queue and starts
 * the acceptor on its first call; the acceptor accepts, starts a reader
 * thread per connection and joins the readers that ended; each reader parses
 * its stream with the file backend (capture_open_fd) and copies frames into
 * the queue under ps->mu. Only the acceptor touches the connection list
 * until capture_close has joined it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture_int.h"
#include "common/log.h"

#define PS_QUEUE_BYTES (8u << 20)
#define PS_MIN_SLOTS 64u
#define PS_MAX_SLOTS 16384u
#define PS_WAIT_MS 100

struct ps_slot {
	int linktype;
	uint32_t caplen, wirelen;
	uint64_t ts_ns;
};

struct pcapsocket;

struct ps_conn {
	struct ps_conn *next;
	struct pcapsocket *ps;
	int fd; /* closed by the acceptor (or close) after the join */
	pthread_t th;
	atomic_int done;
	char peer[80];
	int linktype;
};

struct pcapsocket {
	struct capture base;
	int lfd;
	char addr[80];
	char *bpf;
	uint32_t snaplen;
	int max_conns;
	pthread_t acceptor;
	int acceptor_started;
	atomic_int stop;
	/* The queue: slots [tail, head) are filled; the consumer reads them
	 * without the lock (producers never write there before tail moves). */
	pthread_mutex_t mu;
	pthread_cond_t not_empty, not_full;
	struct ps_slot *slots;
	uint8_t *data; /* nslots * snaplen */
	uint32_t nslots;
	uint64_t head, tail;
	struct ps_conn *conns;
	int nconns;
	_Atomic uint64_t accepted, errors;
};

static const struct capture_ops ps_ops;

/* ---- readers -------------------------------------------------------------- */

static void on_stream_frame(void *user, const struct capture_frame *f)
{
	struct ps_conn *cn = user;
	struct pcapsocket *ps = cn->ps;
	pthread_mutex_lock(&ps->mu);
	while (ps->head - ps->tail >= ps->nslots && !atomic_load(&ps->stop))
		pthread_cond_wait(&ps->not_full, &ps->mu);
	if (!atomic_load(&ps->stop)) {
		uint32_t i = (uint32_t)(ps->head % ps->nslots);
		struct ps_slot *s = &ps->slots[i];
		uint32_t n = f->caplen < ps->snaplen ? f->caplen : ps->snaplen;
		memcpy(ps->data + (size_t)i * ps->snaplen, f->data, n);
		s->linktype = cn->linktype;
		s->caplen = n;
		s->wirelen = f->wirelen > f->caplen ? f->wirelen : f->caplen;
		s->ts_ns = f->ts_ns;
		if (ps->head++ == ps->tail)
			pthread_cond_signal(&ps->not_empty);
	}
	pthread_mutex_unlock(&ps->mu);
}

static void stream_error(struct ps_conn *cn, const char *what)
{
	struct pcapsocket *ps = cn->ps;
	if (atomic_load(&ps->stop))
		return; /* the capture is stopping: the shutdown is ours */
	atomic_fetch_add(&ps->errors, 1);
	log_warn("agent: pcapsocket %s: connection from %s closed: %s", ps->addr, cn->peer, what);
}

static void *reader_main(void *arg)
{
	struct ps_conn *cn = arg;
	struct pcapsocket *ps = cn->ps;
	char err[512] = "";
	/* The handle owns a duplicate: cn->fd stays valid for shutdown(). */
	int dfd = dup(cn->fd);
	struct capture *c = dfd < 0 ? NULL : capture_open_fd(dfd, "pcap stream", err, sizeof(err));
	if (!c) {
		stream_error(cn, dfd < 0 ? strerror(errno) : err);
		goto out;
	}
	cn->linktype = capture_linktype(c);
	if (ps->bpf && *ps->bpf && capture_set_filter(c, ps->bpf, err, sizeof(err))) {
		stream_error(cn, err);
		goto out;
	}
	uint64_t n_frames = 0;
	for (;;) {
		int n = capture_dispatch(c, 64, on_stream_frame, cn);
		if (n < 0) {
			stream_error(cn, capture_error(c));
			goto out;
		}
		if (n == 0 || atomic_load(&ps->stop))
			break; /* end of the stream */
		n_frames += (uint64_t)n;
	}
	struct capture_stats st;
	if (!capture_stats(c, &st))
		n_frames = st.received;
	log_info("agent: pcapsocket %s: stream from %s ended after %llu packets", ps->addr, cn->peer,
		 (unsigned long long)n_frames);
out:
	capture_close(c);
	/* Tell the sender we are done (it may wait for our close, nc -N). */
	shutdown(cn->fd, SHUT_RDWR);
	atomic_store(&cn->done, 1);
	return NULL;
}

/* ---- acceptor -------------------------------------------------------------- */

static void conn_free(struct ps_conn *cn)
{
	pthread_join(cn->th, NULL);
	close(cn->fd);
	free(cn);
}

static void reap(struct pcapsocket *ps, int all)
{
	for (struct ps_conn **p = &ps->conns; *p;) {
		struct ps_conn *cn = *p;
		if (all || atomic_load(&cn->done)) {
			*p = cn->next;
			ps->nconns--;
			conn_free(cn);
		} else {
			p = &cn->next;
		}
	}
}

static void peer_name(const struct sockaddr_storage *sa, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)sa;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(out, len, "%s:%u", host, ntohs(a->sin_port));
	} else {
		const struct sockaddr_in6 *a = (const void *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(out, len, "[%s]:%u", host, ntohs(a->sin6_port));
	}
}

static void *acceptor_main(void *arg)
{
	struct pcapsocket *ps = arg;
	while (!atomic_load(&ps->stop)) {
		reap(ps, 0);
		struct pollfd pfd = {.fd = ps->lfd, .events = POLLIN};
		int r = poll(&pfd, 1, 200);
		if (r <= 0 || atomic_load(&ps->stop))
			continue;
		struct sockaddr_storage sa;
		socklen_t sl = sizeof(sa);
		int fd = accept4(ps->lfd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("agent: pcapsocket %s: accept: %s", ps->addr, strerror(errno));
			continue;
		}
		char peer[80];
		peer_name(&sa, peer, sizeof(peer));
		if (ps->nconns >= ps->max_conns) {
			log_warn("agent: pcapsocket %s: connection from %s refused: %d streams already "
				 "open", ps->addr, peer, ps->nconns);
			atomic_fetch_add(&ps->errors, 1);
			close(fd);
			continue;
		}
		struct ps_conn *cn = calloc(1, sizeof(*cn));
		if (!cn) {
			close(fd);
			continue;
		}
		cn->ps = ps;
		cn->fd = fd;
		snprintf(cn->peer, sizeof(cn->peer), "%s", peer);
		int rc = pthread_create(&cn->th, NULL, reader_main, cn);
		if (rc) {
			log_warn("agent: pcapsocket %s: connection from %s: cannot start a thread: %s",
				 ps->addr, peer, strerror(rc));
			atomic_fetch_add(&ps->errors, 1);
			close(fd);
			free(cn);
			continue;
		}
		atomic_fetch_add(&ps->accepted, 1);
		log_info("agent: pcapsocket %s: stream from %s", ps->addr, peer);
		cn->next = ps->conns;
		ps->conns = cn;
		ps->nconns++;
	}
	return NULL;
}

/* ---- the capture ----------------------------------------------------------- */

static int ps_dispatch(struct capture *base, int max, capture_cb cb, void *user)
{
	struct pcapsocket *ps = (struct pcapsocket *)base;
	if (!ps->acceptor_started) {
		int rc = pthread_create(&ps->acceptor, NULL, acceptor_main, ps);
		if (rc) {
			snprintf(base->err, sizeof(base->err), "pcapsocket %s: cannot start a thread: %s",
				 ps->addr, strerror(rc));
			return -EIO;
		}
		ps->acceptor_started = 1;
	}
	pthread_mutex_lock(&ps->mu);
	if (ps->head == ps->tail) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += PS_WAIT_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ps->not_empty, &ps->mu, &ts);
	}
	uint64_t from = ps->tail, to = ps->head;
	pthread_mutex_unlock(&ps->mu);
	if (max > 0 && to - from > (uint64_t)max)
		to = from + (uint64_t)max;
	for (uint64_t k = from; k < to; k++) {
		uint32_t i = (uint32_t)(k % ps->nslots);
		const struct ps_slot *s = &ps->slots[i];
		struct capture_frame f = {
			.data = ps->data + (size_t)i * ps->snaplen,
			.caplen = s->caplen,
			.wirelen = s->wirelen,
			.ts_ns = s->ts_ns,
			.linktype = s->linktype,
		};
		base->linktype = s->linktype; /* capture_linktype() of this frame */
		base->received++;
		cb(user, &f);
	}
	if (to != from) {
		pthread_mutex_lock(&ps->mu);
		ps->tail = to;
		pthread_cond_broadcast(&ps->not_full);
		pthread_mutex_unlock(&ps->mu);
	}
	return (int)(to - from);
}

static int ps_set_filter(struct capture *base, const char *bpf, char *err, size_t errlen)
{
	struct pcapsocket *ps = (struct pcapsocket *)base;
	/* Checked for Ethernet now; compiled for each stream's link type. */
	int r = capture_bpf_check(1 /* LINKTYPE_ETHERNET */, bpf, err, errlen);
	if (r)
		return r;
	char *copy = strdup(bpf);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	free(ps->bpf);
	ps->bpf = copy;
	return 0;
}

static int ps_fd(const struct capture *base)
{
	return ((const struct pcapsocket *)base)->lfd;
}

static void ps_close(struct capture *base)
{
	struct pcapsocket *ps = (struct pcapsocket *)base;
	atomic_store(&ps->stop, 1);
	pthread_mutex_lock(&ps->mu);
	pthread_cond_broadcast(&ps->not_full);
	pthread_mutex_unlock(&ps->mu);
	if (ps->acceptor_started)
		pthread_join(ps->acceptor, NULL);
	/* Wakes readers blocked in read(); they see stop and end. */
	for (struct ps_conn *cn = ps->conns; cn; cn = cn->next)
		shutdown(cn->fd, SHUT_RDWR);
	reap(ps, 1);
	if (ps->lfd >= 0)
		close(ps->lfd);
	pthread_cond_destroy(&ps->not_empty);
	pthread_cond_destroy(&ps->not_full);
	pthread_mutex_destroy(&ps->mu);
	free(ps->bpf);
	free(ps->slots);
	free(ps->data);
	free(ps);
}

static const struct capture_ops ps_ops = {
	.dispatch = ps_dispatch,
	.set_filter = ps_set_filter,
	.fd = ps_fd,
	.close = ps_close,
};

/* A listening socket on addr, first free port of [min, max]; -1 with err. */
static int listen_range(const char *addr, uint16_t min, uint16_t max, char *out, size_t outlen,
			char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t sl;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	int v6 = 0;
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		sl = sizeof(*a4);
	} else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		sl = sizeof(*a6);
		v6 = 1;
	} else {
		snprintf(err, errlen, "agent.flow.pcapsocket.bind_address '%s' is not an IP address",
			 addr);
		return -1;
	}
	int last = 0;
	for (unsigned port = min; port <= max; port++) {
		int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(err, errlen, "pcapsocket: socket: %s", strerror(errno));
			return -1;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (v6)
			a6->sin6_port = htons((uint16_t)port);
		else
			a4->sin_port = htons((uint16_t)port);
		if (bind(fd, (struct sockaddr *)&ss, sl) == 0 && listen(fd, 16) == 0) {
			snprintf(out, outlen, v6 ? "[%s]:%u" : "%s:%u", addr, port);
			return fd;
		}
		last = errno;
		close(fd);
		if (last != EADDRINUSE && last != EACCES)
			break;
	}
	snprintf(err, errlen, "pcapsocket: no port free on %s in %u..%u: %s", addr, min, max,
		 strerror(last));
	return -1;
}

struct capture *capture_open_pcapsocket(const struct capture_pcapsocket_opts *o, char *err,
					size_t errlen)
{
	uint16_t min = o->min_port ? o->min_port : 8100;
	uint16_t max = o->max_port ? o->max_port : 8132;
	if (min > max) {
		snprintf(err, errlen, "pcapsocket: min_port %u > max_port %u", min, max);
		return NULL;
	}
	struct pcapsocket *ps = calloc(1, sizeof(*ps));
	if (!ps) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ps->base.ops = &ps_ops;
	ps->base.linktype = 1; /* until the first frame */
	ps->base.nano = 1;      /* streams of either resolution */
	ps->snaplen = o->snaplen ? o->snaplen : 256;
	ps->max_conns = o->max_conns > 0 ? o->max_conns : 16;
	uint32_t n = PS_QUEUE_BYTES / ps->snaplen;
	ps->nslots = n < PS_MIN_SLOTS ? PS_MIN_SLOTS : n > PS_MAX_SLOTS ? PS_MAX_SLOTS : n;
	ps->slots = calloc(ps->nslots, sizeof(*ps->slots));
	ps->data = malloc((size_t)ps->nslots * ps->snaplen);
	pthread_mutex_init(&ps->mu, NULL);
	pthread_cond_init(&ps->not_empty, NULL);
	pthread_cond_init(&ps->not_full, NULL);
	ps->lfd = -1;
	if (!ps->slots || !ps->data) {
		snprintf(err, errlen, "out of memory");
		ps_close(&ps->base);
		return NULL;
	}
	ps->lfd = listen_range(o->bind_address && *o->bind_address ? o->bind_address : "127.0.0.1",
			       min, max, ps->addr, sizeof(ps->addr), err, errlen);
	if (ps->lfd < 0) {
		ps_close(&ps->base);
		return NULL;
	}
	return &ps->base;
}

void capture_pcapsocket_info(const struct capture *c, struct capture_pcapsocket_info *out)
{
	struct pcapsocket *ps = (struct pcapsocket *)c;
	out->address = ps->addr;
	out->connections = atomic_load(&ps->accepted);
	out->stream_errors = atomic_load(&ps->errors);
}
