/* graph_log.c - the topology history on disk: append-only files of checksummed records,
 * written by a thread at most every fsync_ms, recovered and replayed into the graph's
 * history at open (format and rules in graph_log.h). */
#include "graph/graph_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "common/log.h"
#include "common/smap.h"
#include "common/util.h"
#include "config/config.h"

#define LOG_HEADER     "SKTOPO01"
#define LOG_HEADER_LEN 8
#define REC_MAGIC      0x53545231u /* "STR1" */
#define REC_HDR        12
#define REC_MAX        (16u << 20) /* no element is that large: a bigger length is damage */
#define PENDING_MAX    (64u << 20) /* beyond this the disk is not keeping up: drop, counted */
#define PENDING_WAKE   (4u << 20)  /* a burst (an agent's sync) is written before the second */

struct seg {
	uint64_t seq;
	size_t size;
	int64_t last_ms; /* newest record's Time; 0 = none */
};

struct graph_log {
	struct graph *g;
	int listener;
	char *dir;
	struct graph_log_opts o;
	size_t seg_max;

	pthread_mutex_t mu; /* pending, stop, dropped */
	pthread_cond_t cv;
	uint8_t *pend;
	size_t pend_n, pend_cap, pend_recs;
	int64_t pend_last_ms;
	int stop;
	pthread_t th;
	int th_started;

	pthread_mutex_t io; /* files and the counters below */
	int lock_fd;        /* <dir>/lock, flock'ed: one analyzer per directory */
	int fd;
	struct seg *segs;
	size_t nsegs;
	int64_t last_err_log;
	int64_t newest_ms; /* the newest record's Time: "now" for the age bound */
	int dir_dirty;     /* files made or removed: the directory is synced with the next batch */
	struct graph_log_stats st; /* dropped under mu, the rest under io */
};

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void seg_path(const struct graph_log *l, uint64_t seq, char *buf, size_t len)
{
	snprintf(buf, len, "%s/topology-%016" PRIu64 ".log", l->dir, seq);
}

static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* ---- configuration ------------------------------------------------------------------ */

int graph_log_config(const struct config *cfg, struct graph_opts *go, struct graph_log_opts *lo,
                     char *dirbuf, size_t dirlen, char *err, size_t errlen)
{
	memset(go, 0, sizeof(*go));
	memset(lo, 0, sizeof(*lo));
	const char *age = config_get_string(cfg, "analyzer.topology.history.max_age", NULL);
	if (age && *age) {
		int64_t ms;
		if (config_parse_duration(age, &ms)) /* "2d", "12h", seconds... */
			ms = 0;
		if (ms <= 0) {
			snprintf(err, errlen,
				 "analyzer.topology.history.max_age '%s' invalid: give a duration like "
				 "2d, 12h or 30m, or a number of seconds",
				 age);
			return -EINVAL;
		}
		go->history_max_age_ms = ms;
	}
	int64_t mb = config_get_int(cfg, "analyzer.topology.history.max_bytes", 0);
	if (mb < 0) {
		snprintf(err, errlen,
		         "analyzer.topology.history.max_bytes %lld invalid: give bytes > 0 (0 = "
		         "the default, 64 MiB)",
		         (long long)mb);
		return -EINVAL;
	}
	go->history_max_bytes = (size_t)mb;
	lo->max_age_ms = go->history_max_age_ms;
	lo->max_bytes = go->history_max_bytes;
	if (config_get_bool(cfg, "analyzer.topology.history.persist", 1)) {
		const char *dd = config_get_string(cfg, "analyzer.data_dir", "/var/lib/skydive");
		if ((size_t)snprintf(dirbuf, dirlen, "%s/topology", dd) >= dirlen) {
			snprintf(err, errlen, "analyzer.data_dir '%s' too long", dd);
			return -EINVAL;
		}
		lo->dir = dirbuf;
	}
	return 0;
}

/* ---- records ------------------------------------------------------------------------ */

/* Whether a whole, intact record starts at p; its payload length in *len. */
static int rec_ok(const uint8_t *buf, size_t size, size_t p, uint32_t *len)
{
	if (size - p < REC_HDR || rd32(buf + p) != REC_MAGIC)
		return 0;
	uint32_t n = rd32(buf + p + 4);
	if (n > REC_MAX || n > size - p - REC_HDR)
		return 0;
	if (XXH32(buf + p + REC_HDR, n, 0) != rd32(buf + p + 8))
		return 0;
	*len = n;
	return 1;
}

static int pend_reserve(struct graph_log *l, size_t more)
{
	if (l->pend_n + more <= l->pend_cap)
		return 0;
	if (l->pend_n + more > PENDING_MAX)
		return -ENOBUFS;
	size_t cap = l->pend_cap ? l->pend_cap : 64 * 1024;
	while (cap < l->pend_n + more)
		cap *= 2;
	uint8_t *np = realloc(l->pend, cap);
	if (!np)
		return -ENOMEM;
	l->pend = np;
	l->pend_cap = cap;
	return 0;
}

/* Queues one record (rec borrowed) for the writer thread. */
static void append(struct graph_log *l, json_t *rec, int64_t time_ms)
{
	char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	size_t n = text ? strlen(text) : 0;
	pthread_mutex_lock(&l->mu);
	if (!text || n > REC_MAX || pend_reserve(l, REC_HDR + n)) {
		l->st.dropped++;
	} else {
		uint8_t *p = l->pend + l->pend_n;
		wr32(p, REC_MAGIC);
		wr32(p + 4, (uint32_t)n);
		wr32(p + 8, XXH32(text, n, 0));
		memcpy(p + REC_HDR, text, n);
		l->pend_n += REC_HDR + n;
		l->pend_recs++;
		if (time_ms > l->pend_last_ms)
			l->pend_last_ms = time_ms;
		if (l->pend_n >= PENDING_WAKE && l->pend_n - REC_HDR - n < PENDING_WAKE)
			pthread_cond_signal(&l->cv);
	}
	pthread_mutex_unlock(&l->mu);
	free(text);
}

static void append_mark(struct graph_log *l, const char *op, int64_t time_ms)
{
	json_t *rec = json_pack("{s:s,s:I}", "Op", op, "Time", (json_int_t)time_ms);
	append(l, rec, time_ms);
	json_decref(rec);
}

static void on_change(void *user, enum graph_event ev, const struct graph_node *node,
                      const struct graph_edge *edge)
{
	struct graph_log *l = user;
	const struct graph_elem *e = node ? &node->e : &edge->e;
	int64_t t =
	    ev == GRAPH_NODE_DELETED || ev == GRAPH_EDGE_DELETED ? e->deleted_at : e->updated_at;
	json_t *obj = node ? graph_node_to_json(node) : graph_edge_to_json(edge);
	json_t *rec = obj ? json_pack("{s:s,s:I,s:o}", "Op", graph_event_name(ev), "Time",
	                              (json_int_t)t, "Obj", obj)
	                  : NULL;
	append(l, rec, t);
	json_decref(rec);
}

/* ---- files ------------------------------------------------------------------------------ */

/* A new file after the last one, made the active one. */
static int seg_new(struct graph_log *l)
{
	uint64_t seq = l->nsegs ? l->segs[l->nsegs - 1].seq + 1 : 1;
	struct seg *ns = realloc(l->segs, (l->nsegs + 1) * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	l->segs = ns;
	char path[4096];
	seg_path(l, seq, path, sizeof(path));
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/* synced with the first batch (write_pending): no disk wait at start */
	if (write(fd, LOG_HEADER, LOG_HEADER_LEN) != LOG_HEADER_LEN) {
		int r = errno ? -errno : -EIO;
		close(fd);
		unlink(path);
		return r;
	}
	l->dir_dirty = 1;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = fd;
	l->segs[l->nsegs++] = (struct seg){seq, LOG_HEADER_LEN, 0};
	l->st.files = l->nsegs;
	return 0;
}

static size_t total_bytes(const struct graph_log *l)
{
	size_t n = 0;
	for (size_t i = 0; i < l->nsegs; i++)
		n += l->segs[i].size;
	return n;
}

/* Removes the oldest files while the total is over max_bytes or their newest record is
 * older than max_age before now_ms (the newest record's time: a quiet graph keeps its
 * files); never the active (last) one. io held. */
static void retention(struct graph_log *l, int64_t now_ms)
{
	size_t total = total_bytes(l), gone = 0;
	while (gone + 1 < l->nsegs) {
		const struct seg *s = &l->segs[gone];
		if (total <= l->o.max_bytes && s->last_ms >= now_ms - l->o.max_age_ms)
			break;
		char path[4096];
		seg_path(l, s->seq, path, sizeof(path));
		if (unlink(path) && errno != ENOENT) {
			log_warn("topology history: cannot remove %s: %s", path, strerror(errno));
			break;
		}
		total -= s->size;
		gone++;
		l->st.removed_files++;
	}
	if (gone) {
		memmove(l->segs, l->segs + gone, (l->nsegs - gone) * sizeof(*l->segs));
		l->nsegs -= gone;
		l->dir_dirty = 1;
	}
	l->st.files = l->nsegs;
	l->st.bytes = total_bytes(l);
}

/* Writes and syncs what is pending; io held. */
static int write_pending(struct graph_log *l)
{
	pthread_mutex_lock(&l->mu);
	uint8_t *buf = l->pend;
	size_t n = l->pend_n, recs = l->pend_recs;
	int64_t last = l->pend_last_ms;
	l->pend = NULL;
	l->pend_n = l->pend_cap = l->pend_recs = 0;
	l->pend_last_ms = 0;
	pthread_mutex_unlock(&l->mu);
	if (!n) {
		free(buf);
		return 0;
	}
	int r = l->fd < 0 ? -EBADF : 0;
	struct seg *s = l->nsegs ? &l->segs[l->nsegs - 1] : NULL;
	for (size_t done = 0; !r && done < n;) {
		ssize_t w = pwrite(l->fd, buf + done, n - done, (off_t)(s->size + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			r = w < 0 ? -errno : -EIO;
		else
			done += (size_t)w;
	}
	if (!r && fdatasync(l->fd))
		r = -errno;
	if (!r && l->dir_dirty) {
		/* files made or removed since the last batch: their names too */
		sync_dir(l->dir);
		l->dir_dirty = 0;
	}
	free(buf);
	if (r) {
		/* a partial batch would read back as a damaged record: take it off */
		if (l->fd >= 0 && s)
			(void)ftruncate(l->fd, (off_t)s->size);
		l->st.write_errors++;
		pthread_mutex_lock(&l->mu);
		uint64_t dropped = l->st.dropped += recs;
		pthread_mutex_unlock(&l->mu);
		int64_t now = wall_ms();
		if (now - l->last_err_log >= 10000) {
			l->last_err_log = now;
			log_warn("topology history: writing to %s failed: %s; %" PRIu64
			         " records dropped so far",
			         l->dir, strerror(-r), dropped);
		}
		return r;
	}
	s->size += n;
	if (last > s->last_ms)
		s->last_ms = last;
	if (last > l->newest_ms)
		l->newest_ms = last;
	l->st.written += recs;
	if (s->size >= l->seg_max) {
		int rr = seg_new(l);
		if (rr)
			log_warn("topology history: cannot start a new file in %s: %s", l->dir,
			         strerror(-rr));
	}
	retention(l, l->newest_ms);
	return 0;
}

int graph_log_flush(struct graph_log *l)
{
	pthread_mutex_lock(&l->io);
	int r = write_pending(l);
	pthread_mutex_unlock(&l->io);
	return r;
}

static void *writer(void *arg)
{
	struct graph_log *l = arg;
	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t ns = ts.tv_nsec + (l->o.fsync_ms % 1000) * 1000000;
		ts.tv_sec += l->o.fsync_ms / 1000 + ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		pthread_cond_timedwait(&l->cv, &l->mu, &ts);
		pthread_mutex_unlock(&l->mu);
		graph_log_flush(l);
		pthread_mutex_lock(&l->mu);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* ---- recovery and replay ------------------------------------------------------------ */

/* Revisions read but not yet ended by a later record: key "n\x1f<ID>" / "e\x1f<ID>". */
struct open_rev {
	char *key;
	json_t *obj;
};

struct replay {
	struct graph *g;
	struct smap open;
	uint64_t restored;
};

static void rev_end(struct replay *rp, json_t *obj, int64_t to)
{
	int64_t upd = json_integer_value(json_object_get(obj, "UpdatedAt"));
	if (graph_history_restore(rp->g, obj, to < upd ? upd : to) == 0)
		rp->restored++;
}

static void close_all(struct replay *rp, int64_t to)
{
	for (size_t i = 0; i < rp->open.cap; i++) {
		struct open_rev *o = rp->open.slots[i].val;
		if (!o)
			continue;
		rev_end(rp, o->obj, to);
		json_decref(o->obj);
		free(o->key);
		free(o);
	}
	smap_free(&rp->open);
}

/* Applies one record; -EINVAL if it is not one we write. */
static int replay_record(struct replay *rp, const json_t *rec, int64_t *time_ms)
{
	const char *op = json_string_value(json_object_get(rec, "Op"));
	json_t *tj = json_object_get(rec, "Time");
	if (!op || !json_is_integer(tj))
		return -EINVAL;
	int64_t t = json_integer_value(tj);
	*time_ms = t;
	if (!strcmp(op, "Start") || !strcmp(op, "Stop")) {
		close_all(rp, t);
		return 0;
	}
	int is_edge = !strncmp(op, "Edge", 4);
	const char *what = op + 4;
	json_t *obj = json_object_get(rec, "Obj");
	const char *id = json_string_value(json_object_get(obj, "ID"));
	if ((!is_edge && strncmp(op, "Node", 4)) || !id ||
	    (strcmp(what, "Added") && strcmp(what, "Updated") && strcmp(what, "Deleted")))
		return -EINVAL;
	char key[512];
	if ((size_t)snprintf(key, sizeof(key), "%c\x1f%s", is_edge ? 'e' : 'n', id) >= sizeof(key))
		return -EINVAL;
	struct open_rev *prev = smap_del(&rp->open, key);
	int deleted = !strcmp(what, "Deleted");
	if (prev) {
		json_int_t pr = json_integer_value(json_object_get(prev->obj, "Revision"));
		json_int_t r = json_integer_value(json_object_get(obj, "Revision"));
		/* A deletion carries the element's last revision: the open one, or a newer one
		 * whose update record was lost (then the open one ended when that began). */
		if (!deleted)
			rev_end(rp, prev->obj, t);
		else if (pr < r)
			rev_end(rp, prev->obj,
			        json_integer_value(json_object_get(obj, "UpdatedAt")));
		json_decref(prev->obj);
		free(prev->key);
		free(prev);
	}
	if (deleted) {
		/* the element as it went: its last revision, to its deletion */
		rev_end(rp, obj, t);
		return 0;
	}
	struct open_rev *o = calloc(1, sizeof(*o));
	if (!o || !(o->key = strdup(key))) {
		free(o);
		return -ENOMEM;
	}
	o->obj = json_incref(obj);
	if (smap_put(&rp->open, o->key, o)) {
		json_decref(o->obj);
		free(o->key);
		free(o);
		return -ENOMEM;
	}
	return 0;
}

static int read_file(int fd, uint8_t **out, size_t *size)
{
	struct stat st;
	if (fstat(fd, &st))
		return -errno;
	size_t n = (size_t)st.st_size, got = 0;
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return -ENOMEM;
	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			return r < 0 ? -errno : -EIO;
		}
		got += (size_t)r;
	}
	*out = buf;
	*size = n;
	return 0;
}

/* Reads one file into the replay: good records applied, damaged ones skipped when a good
 * one follows, a damaged tail cut. Fills s. */
static int recover_file(struct graph_log *l, struct replay *rp, struct seg *s)
{
	char path[4096];
	seg_path(l, s->seq, path, sizeof(path));
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		log_warn("topology history: cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	uint8_t *buf = NULL;
	size_t size = 0;
	int r = read_file(fd, &buf, &size);
	if (r) {
		log_warn("topology history: cannot read %s: %s", path, strerror(-r));
		close(fd);
		return r;
	}
	size_t p = LOG_HEADER_LEN;
	if (size < LOG_HEADER_LEN || memcmp(buf, LOG_HEADER, LOG_HEADER_LEN)) {
		/* a file cut before its header was written holds nothing; anything else is not
		 * ours to change */
		if (size < LOG_HEADER_LEN && !memcmp(buf, LOG_HEADER, size)) {
			log_warn("topology history: %s: torn header at offset 0 cut", path);
			(void)ftruncate(fd, 0);
			l->st.cut_bytes += size;
			s->size = 0;
		} else {
			log_warn("topology history: %s: not a topology log (bad header), ignored",
			         path);
			s->size = size;
		}
		free(buf);
		close(fd);
		return 0;
	}
	while (p < size) {
		uint32_t len;
		if (!rec_ok(buf, size, p, &len)) {
			size_t q = p + 1;
			uint32_t qlen;
			while (q < size && !rec_ok(buf, size, q, &qlen))
				q++;
			if (q < size) {
				log_warn(
				    "topology history: %s: damaged record at offset %zu skipped "
				    "(%zu bytes)",
				    path, p, q - p);
				l->st.skipped++;
				p = q;
				continue;
			}
			log_warn("topology history: %s: torn tail at offset %zu cut (%zu bytes)",
			         path, p, size - p);
			if (ftruncate(fd, (off_t)p) == 0)
				(void)fdatasync(fd);
			l->st.cut_bytes += size - p;
			size = p;
			break;
		}
		json_error_t jerr;
		json_t *rec = json_loadb((const char *)buf + p + REC_HDR, len, 0, &jerr);
		int64_t t = 0;
		if (!rec || replay_record(rp, rec, &t)) {
			log_warn("topology history: %s: record at offset %zu is not a change "
			         "(%s), skipped",
			         path, p, rec ? "unknown Op or element" : jerr.text);
			l->st.skipped++;
		} else {
			l->st.replayed++;
			if (t > s->last_ms)
				s->last_ms = t;
		}
		json_decref(rec);
		p += REC_HDR + len;
	}
	s->size = size;
	free(buf);
	close(fd);
	return 0;
}

static int seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int list_files(struct graph_log *l)
{
	DIR *d = opendir(l->dir);
	if (!d)
		return -errno;
	struct dirent *de;
	int r = 0;
	while ((de = readdir(d)) != NULL) {
		uint64_t seq;
		char tail[8];
		if (strlen(de->d_name) != 29 ||
		    sscanf(de->d_name, "topology-%16" SCNu64 "%5s", &seq, tail) != 2 ||
		    strcmp(tail, ".log"))
			continue;
		struct seg *ns = realloc(l->segs, (l->nsegs + 1) * sizeof(*ns));
		if (!ns) {
			r = -ENOMEM;
			break;
		}
		l->segs = ns;
		l->segs[l->nsegs++] = (struct seg){seq, 0, 0};
	}
	closedir(d);
	if (l->nsegs)
		qsort(l->segs, l->nsegs, sizeof(*l->segs), seg_cmp);
	return r;
}

/* ---- open / close ------------------------------------------------------------------- */

static void log_free(struct graph_log *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	if (l->lock_fd >= 0)
		close(l->lock_fd); /* and the lock goes with it */
	pthread_mutex_destroy(&l->mu);
	pthread_mutex_destroy(&l->io);
	pthread_cond_destroy(&l->cv);
	free(l->pend);
	free(l->segs);
	free(l->dir);
	free(l);
}

struct graph_log *graph_log_open(struct graph *g, const struct graph_log_opts *o, int64_t now_ms,
                                 char *err, size_t errlen)
{
	struct graph_log *l = calloc(1, sizeof(*l));
	if (!l || !o->dir || !(l->dir = strdup(o->dir))) {
		snprintf(err, errlen, o->dir ? "out of memory" : "no directory for the history");
		free(l);
		return NULL;
	}
	l->g = g;
	l->fd = l->lock_fd = -1;
	l->listener = -1;
	l->o = *o;
	if (l->o.max_age_ms <= 0)
		l->o.max_age_ms = 3600 * 1000;
	if (!l->o.max_bytes)
		l->o.max_bytes = 64u << 20;
	if (l->o.fsync_ms <= 0)
		l->o.fsync_ms = 1000;
	/* a handful of files per bound, so retention frees space in steps of an eighth */
	l->seg_max = l->o.max_bytes / 8;
	if (l->seg_max < 64 * 1024)
		l->seg_max = 64 * 1024;
	pthread_mutex_init(&l->mu, NULL);
	pthread_mutex_init(&l->io, NULL);
	pthread_cond_init(&l->cv, NULL);
	/* the data directory too, 0700 as for the captures (docs/API.md) */
	char *slash = strrchr(l->dir, '/');
	if (slash && slash != l->dir) {
		*slash = 0;
		if (mkdir(l->dir, 0700) && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", l->dir, strerror(errno));
			*slash = '/';
			goto fail;
		}
		*slash = '/';
	}
	if (mkdir(l->dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", l->dir, strerror(errno));
		goto fail;
	}
	char lockpath[4096];
	snprintf(lockpath, sizeof(lockpath), "%s/lock", l->dir);
	l->lock_fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (l->lock_fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", lockpath, strerror(errno));
		goto fail;
	}
	if (flock(l->lock_fd, LOCK_EX | LOCK_NB)) {
		snprintf(err, errlen, "%s is in use by another analyzer (%s)", l->dir,
		         strerror(errno));
		goto fail;
	}
	int r = list_files(l);
	if (r) {
		snprintf(err, errlen, "cannot read %s: %s", l->dir, strerror(-r));
		goto fail;
	}
	struct replay rp = {.g = g};
	graph_lock(g);
	for (size_t i = 0; i < l->nsegs; i++)
		recover_file(l, &rp, &l->segs[i]);
	close_all(&rp, now_ms);
	graph_history_expire(g, now_ms);
	graph_unlock(g);
	if (l->nsegs || l->st.replayed)
		log_info("topology history: %" PRIu64 " records from %zu files in %s, %" PRIu64
		         " revisions restored (%" PRIu64 " damaged records skipped, %" PRIu64
		         " torn bytes cut)",
		         l->st.replayed, l->nsegs, l->dir, rp.restored, l->st.skipped,
		         l->st.cut_bytes);
	if ((r = seg_new(l))) {
		snprintf(err, errlen, "cannot create a file in %s: %s", l->dir, strerror(-r));
		goto fail;
	}
	l->newest_ms = now_ms;
	retention(l, now_ms);
	append_mark(l, "Start", now_ms);
	graph_lock(g);
	l->listener = graph_listener_add(g, on_change, l);
	graph_unlock(g);
	/* The writer takes no signal: a daemon's sigwait() must stay the only receiver, also
	 * when the log opens before the daemon blocked its signals. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int tr = l->listener < 0 ? -1 : pthread_create(&l->th, NULL, writer, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (tr) {
		snprintf(err, errlen, "out of memory starting the history writer");
		goto fail;
	}
	l->th_started = 1;
	return l;
fail:
	if (l->listener >= 0) {
		graph_lock(g);
		graph_listener_remove(g, l->listener);
		graph_unlock(g);
	}
	log_free(l);
	return NULL;
}

void graph_log_close(struct graph_log *l, int64_t now_ms)
{
	if (!l)
		return;
	graph_lock(l->g);
	graph_listener_remove(l->g, l->listener);
	graph_unlock(l->g);
	append_mark(l, "Stop", now_ms);
	if (l->th_started) {
		pthread_mutex_lock(&l->mu);
		l->stop = 1;
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->th, NULL);
	}
	graph_log_flush(l);
	log_free(l);
}

void graph_log_stats(struct graph_log *l, struct graph_log_stats *out)
{
	pthread_mutex_lock(&l->io);
	pthread_mutex_lock(&l->mu);
	*out = l->st;
	pthread_mutex_unlock(&l->mu);
	out->files = l->nsegs;
	out->bytes = total_bytes(l);
	pthread_mutex_unlock(&l->io);
}

json_t *graph_log_status(struct graph_log *l)
{
	if (!l)
		return json_pack("{s:b}", "Persisted", 0);
	struct graph_log_stats st;
	graph_log_stats(l, &st);
	return json_pack("{s:b,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "Persisted", 1, "Dir",
	                 l->dir, "Files", (json_int_t)st.files, "Bytes", (json_int_t)st.bytes,
	                 "Replayed", (json_int_t)st.replayed, "Skipped", (json_int_t)st.skipped,
	                 "CutBytes", (json_int_t)st.cut_bytes, "Written", (json_int_t)st.written,
	                 "Dropped", (json_int_t)st.dropped, "WriteErrors",
	                 (json_int_t)st.write_errors, "RemovedFiles", (json_int_t)st.removed_files);
}
