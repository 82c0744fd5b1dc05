/* test_graph_log.c - the topology history on disk: what one graph recorded, another graph
 * opening the same directory answers for every past time (after a clean stop and after a
 * crash); a torn tail is cut, a damaged record skipped and the rest kept; retention removes
 * the oldest files by bytes and by age. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "graph/graph.h"
#include "graph/graph_log.h"

#define T0  INT64_C(1700000000000)
#define DAY INT64_C(86400000)
#define OPTS                                                                                       \
	{                                                                                          \
		.history_max_age_ms = 10 * DAY                                                     \
	}

/* The directories tmpdir made, removed by the group's teardown (a test removes its
 * "topology" inside, not the directory mkdtemp made around it). */
static char made[64][32];
static int nmade;

static int remove_made(void **state)
{
	for (int i = 0; i < nmade; i++) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%.31s'", made[i]);
		if (system(cmd))
			return -1;
	}
	return 0;
}

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/test_graph_log.XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	if (nmade < 64)
		snprintf(made[nmade++], sizeof(made[0]), "%s", d);
	char *dir = malloc(strlen(d) + 16);
	sprintf(dir, "%s/topology", d);
	return dir;
}

static void rm_rf(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static struct graph_log *open_log(struct graph *g, const char *dir, size_t max_bytes, int64_t now)
{
	char err[256] = "";
	struct graph_log_opts o = {.dir = dir, .max_age_ms = 10 * DAY, .max_bytes = max_bytes};
	struct graph_log *l = graph_log_open(g, &o, now, err, sizeof(err));
	if (!l)
		fail_msg("graph_log_open: %s", err);
	return l;
}

/* The history recorded: a host with two interfaces, a link, an update, a deletion and a
 * re-creation of one ID, from T0 to T0 + 6 s. */
static void record_changes(struct graph *g)
{
	graph_lock(g);
	assert_int_equal(graph_node_add(g, "h",
	                                json_pack("{s:s,s:s}", "Name", "host", "Type", "host"),
	                                "host-1", "o", T0),
	                 0);
	assert_int_equal(graph_node_add(g, "a",
	                                json_pack("{s:s,s:s,s:[s]}", "Name", "eth0", "Type",
	                                          "device", "IPV4", "10.0.0.1/24"),
	                                "host-1", "o", T0 + 1000),
	                 0);
	assert_int_equal(
	    graph_node_add(g, "b", json_pack("{s:s}", "Name", "eth1"), "host-1", "o", T0 + 1000),
	    0);
	assert_int_equal(graph_edge_add(g, "e", "h", "a",
	                                json_pack("{s:s}", "RelationType", "ownership"), "host-1",
	                                "o", T0 + 2000),
	                 0);
	assert_int_equal(graph_node_set_key(g, "a", "MTU", json_integer(9000), T0 + 3000), 0);
	assert_int_equal(graph_node_delete(g, "a", T0 + 4000), 0);
	assert_int_equal(
	    graph_node_add(g, "a", json_pack("{s:s}", "Name", "reborn"), "host-1", "o", T0 + 5000),
	    0);
	assert_int_equal(graph_node_set_key(g, "b", "State", json_string("UP"), T0 + 6000), 0);
	graph_unlock(g);
}

static const char *name_at(struct graph *g, const char *id, int64_t t)
{
	static char buf[64];
	struct graph_view *v = graph_view_at(g, t, NULL);
	const struct graph_node *n = graph_view_node_get(v, id);
	snprintf(buf, sizeof(buf), "%s",
	         n ? json_string_value(json_object_get(n->e.metadata, "Name")) : "-");
	graph_view_free(v);
	return buf;
}

/* What the restored graph answers, for times while the first one ran (it stopped at end). */
static void check_restored(struct graph *g, int64_t end)
{
	struct graph_view *v = graph_view_at(g, 0, NULL);
	assert_int_equal(graph_view_node_count(v), 0); /* the live graph is what agents send */
	graph_view_free(v);
	assert_string_equal(name_at(g, "a", T0 + 500), "-");
	assert_string_equal(name_at(g, "h", T0 + 500), "host");
	assert_string_equal(name_at(g, "a", T0 + 1000), "eth0");
	assert_string_equal(name_at(g, "a", T0 + 4500), "-");
	assert_string_equal(name_at(g, "a", T0 + 5000), "reborn");
	assert_string_equal(name_at(g, "a", end - 1), "reborn");
	v = graph_view_at(g, T0 + 3500, NULL);
	const struct graph_node *a = graph_view_node_get(v, "a");
	assert_non_null(a);
	assert_int_equal(json_integer_value(json_object_get(a->e.metadata, "MTU")), 9000);
	assert_int_equal(a->e.revision, 2);
	assert_int_equal(a->e.created_at, T0 + 1000);
	assert_string_equal(a->e.host, "host-1");
	size_t n;
	graph_view_nodes_by(v, "IPV4", "10.0.0.1", &n);
	assert_int_equal(n, 1);
	graph_view_out_edges(v, "h", &n);
	assert_int_equal(n, 1);
	assert_string_equal(graph_view_edge_get(v, "e")->child, "a");
	graph_view_free(v);
	v = graph_view_at(g, T0 + 6500, NULL);
	assert_int_equal(graph_view_node_count(v), 3);
	assert_int_equal(graph_view_edge_count(v), 0); /* e went with a at T0 + 4 s */
	assert_string_equal(
	    json_string_value(json_object_get(graph_view_node_get(v, "b")->e.metadata, "State")),
	    "UP");
	graph_view_free(v);
	/* after the first graph stopped: nothing */
	assert_string_equal(name_at(g, "h", end + 1), "-");
}

static void test_round_trip(void **state)
{
	(void)state;
	char *dir = tmpdir();
	struct graph *g = graph_new(&(struct graph_opts)OPTS);
	struct graph_log *l = open_log(g, dir, 0, T0 - 1000);
	record_changes(g);
	int64_t end = T0 + 10000;
	graph_log_close(l, end);
	graph_free(g);

	g = graph_new(&(struct graph_opts)OPTS);
	l = open_log(g, dir, 0, T0 + 20000);
	struct graph_log_stats st;
	graph_log_stats(l, &st);
	/* Start, 8 changes (the deletion of a took e with it: 9), Stop */
	assert_int_equal(st.replayed, 11);
	assert_int_equal(st.skipped, 0);
	assert_int_equal(st.cut_bytes, 0);
	check_restored(g, end);
	/* and a third run sees the first's history again, through the second's files */
	graph_log_close(l, T0 + 30000);
	graph_free(g);
	g = graph_new(&(struct graph_opts)OPTS);
	l = open_log(g, dir, 0, T0 + 40000);
	check_restored(g, end);
	graph_log_close(l, T0 + 40000);
	graph_free(g);
	rm_rf(dir);
	free(dir);
}

/* The newest file of dir (the one written last). */
static void newest_file(const char *dir, char *path, size_t len)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	char best[256] = "";
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "topology-", 9) && strcmp(de->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", de->d_name);
	closedir(d);
	assert_true(best[0]);
	snprintf(path, len, "%s/%s", dir, best);
}

static off_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* A crash: the files as they are after the last sync, with no Stop record. Revisions still
 * open end at the restart. */
static void record_then_crash(struct graph **g, const char *dir)
{
	struct graph_log *l = open_log(*g, dir, 0, T0 - 1000);
	record_changes(*g);
	assert_int_equal(graph_log_flush(l), 0);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s.crash'", dir, dir);
	assert_int_equal(system(cmd), 0);
	graph_log_close(l, T0 + 10000);
	graph_free(*g);
	rm_rf(dir);
	snprintf(cmd, sizeof(cmd), "mv '%s.crash' '%s'", dir, dir);
	assert_int_equal(system(cmd), 0);
	*g = graph_new(&(struct graph_opts)OPTS);
}

static void test_crash_torn_tail(void **state)
{
	(void)state;
	char *dir = tmpdir();
	struct graph *g = graph_new(&(struct graph_opts)OPTS);
	record_then_crash(&g, dir);
	/* a torn write: a record header announcing 200 bytes and 30 of them */
	char path[512];
	newest_file(dir, path, sizeof(path));
	off_t good = file_size(path);
	FILE *f = fopen(path, "ab");
	unsigned char torn[42] = {0x53, 0x54, 0x52, 0x31, 0, 0, 0, 200, 1, 2, 3, 4, '{', '"'};
	assert_int_equal(fwrite(torn, 1, sizeof(torn), f), sizeof(torn));
	fclose(f);
	struct graph_log *l = open_log(g, dir, 0, T0 + 20000);
	struct graph_log_stats st;
	graph_log_stats(l, &st);
	assert_int_equal(st.cut_bytes, sizeof(torn));
	assert_int_equal(st.replayed, 10); /* Start and 9 changes: no Stop */
	assert_int_equal(st.skipped, 0);
	assert_int_equal(file_size(path), good);
	/* no Stop: what was alive stays until the restart */
	assert_string_equal(name_at(g, "a", T0 + 19999), "reborn");
	assert_string_equal(name_at(g, "a", T0 + 20000), "-");
	assert_string_equal(name_at(g, "a", T0 + 3500), "eth0");
	graph_log_close(l, T0 + 30000);
	graph_free(g);
	rm_rf(dir);
	free(dir);
}

/* Offset of the i-th record (0 = first) of a file. */
static long record_offset(const unsigned char *buf, size_t size, int i)
{
	size_t p = 8;
	while (i-- > 0) {
		assert_true(p + 12 <= size);
		uint32_t len = (uint32_t)buf[p + 4] << 24 | (uint32_t)buf[p + 5] << 16 |
		               (uint32_t)buf[p + 6] << 8 | buf[p + 7];
		p += 12 + len;
	}
	return (long)p;
}

static void test_damaged_record_skipped(void **state)
{
	(void)state;
	char *dir = tmpdir();
	struct graph *g = graph_new(&(struct graph_opts)OPTS);
	record_then_crash(&g, dir);
	char path[512];
	newest_file(dir, path, sizeof(path));
	size_t size = (size_t)file_size(path);
	unsigned char *buf = malloc(size);
	FILE *f = fopen(path, "r+b");
	assert_int_equal(fread(buf, 1, size, f), size);
	/* record 5 is the MTU update of a (Start, h, a, b, e, MTU ...): one byte of its JSON */
	long off = record_offset(buf, size, 5);
	assert_memory_equal(buf + off + 12, "{", 1);
	fseek(f, off + 30, SEEK_SET);
	fputc(buf[off + 30] ^ 0x20, f);
	fclose(f);
	free(buf);
	struct graph_log *l = open_log(g, dir, 0, T0 + 20000);
	struct graph_log_stats st;
	graph_log_stats(l, &st);
	assert_int_equal(st.skipped, 1);
	assert_int_equal(st.replayed, 9);
	assert_int_equal(st.cut_bytes, 0);
	assert_int_equal((size_t)file_size(path), size); /* nothing cut */
	/* the update record is lost, but a's deletion carries that revision (UpdatedAt T0 + 3 s,
	 * revision 2): before it the first one, after it the second, and the rest is there */
	struct graph_view *v = graph_view_at(g, T0 + 2999, NULL);
	const struct graph_node *a = graph_view_node_get(v, "a");
	assert_non_null(a);
	assert_null(json_object_get(a->e.metadata, "MTU"));
	assert_int_equal(a->e.revision, 1);
	graph_view_free(v);
	v = graph_view_at(g, T0 + 3500, NULL);
	a = graph_view_node_get(v, "a");
	assert_non_null(a);
	assert_int_equal(json_integer_value(json_object_get(a->e.metadata, "MTU")), 9000);
	assert_int_equal(a->e.revision, 2);
	graph_view_free(v);
	assert_string_equal(name_at(g, "a", T0 + 4500), "-");
	assert_string_equal(name_at(g, "a", T0 + 5500), "reborn");
	graph_log_close(l, T0 + 30000);
	graph_free(g);
	rm_rf(dir);
	free(dir);
}

static size_t count_files(const char *dir, char *oldest, size_t len)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	size_t n = 0;
	if (oldest)
		oldest[0] = 0;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "topology-", 9)) {
			n++;
			if (oldest && (!oldest[0] || strcmp(de->d_name, oldest) < 0))
				snprintf(oldest, len, "%s", de->d_name);
		}
	closedir(d);
	return n;
}

static size_t dir_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;
	char path[600];
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "topology-", 9)) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			n += (size_t)file_size(path);
		}
	closedir(d);
	return n;
}

static void test_retention_bytes(void **state)
{
	(void)state;
	char *dir = tmpdir();
	struct graph *g = graph_new(&(struct graph_opts)OPTS);
	const size_t max = 512 * 1024; /* files of 64 KiB */
	struct graph_log *l = open_log(g, dir, max, T0);
	char pad[1024];
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = 0;
	graph_lock(g);
	graph_node_add(g, "n", json_pack("{s:i}", "I", 0), "h", "o", T0);
	graph_unlock(g);
	/* ~2 MiB of updates, synced in batches of 64 */
	for (int i = 1; i <= 2000; i++) {
		graph_lock(g);
		graph_node_set_metadata(g, "n", json_pack("{s:i,s:s}", "I", i, "Pad", pad), T0 + i);
		graph_unlock(g);
		if (i % 64 == 0)
			assert_int_equal(graph_log_flush(l), 0);
	}
	assert_int_equal(graph_log_flush(l), 0);
	struct graph_log_stats st;
	graph_log_stats(l, &st);
	assert_true(st.removed_files > 0);
	assert_int_equal(st.dropped, 0);
	/* the bound, give or take the file being written and one batch */
	assert_true(dir_bytes(dir) <= max + 64 * 1024 + 64 * 1100);
	assert_int_equal(st.bytes, dir_bytes(dir));
	char oldest[256];
	size_t files = count_files(dir, oldest, sizeof(oldest));
	assert_int_equal(files, st.files);
	/* oldest first: what is left is the newest run of files */
	unsigned long long first = strtoull(oldest + 9, NULL, 10);
	assert_int_equal(first, st.removed_files + 1);
	graph_log_close(l, T0 + 5000);
	graph_free(g);
	/* the restart replays what is left: the newest revisions */
	g = graph_new(&(struct graph_opts)OPTS);
	l = open_log(g, dir, max, T0 + 6000);
	struct graph_view *v = graph_view_at(g, T0 + 2000, NULL);
	const struct graph_node *n = graph_view_node_get(v, "n");
	assert_non_null(n);
	assert_int_equal(json_integer_value(json_object_get(n->e.metadata, "I")), 2000);
	graph_view_free(v);
	graph_log_close(l, T0 + 7000);
	graph_free(g);
	rm_rf(dir);
	free(dir);
}

static void test_retention_age(void **state)
{
	(void)state;
	char *dir = tmpdir();
	struct graph *g = graph_new(&(struct graph_opts)OPTS);
	struct graph_log *l = open_log(g, dir, 0, T0 - 1000);
	record_changes(g);
	graph_log_close(l, T0 + 10000);
	graph_free(g);
	assert_int_equal(count_files(dir, NULL, 0), 1);
	/* 11 days later, beyond the 10-day bound: the file goes, and its history */
	g = graph_new(&(struct graph_opts)OPTS);
	l = open_log(g, dir, 0, T0 + 11 * DAY);
	struct graph_log_stats st;
	graph_log_stats(l, &st);
	assert_int_equal(st.removed_files, 1);
	assert_int_equal(count_files(dir, NULL, 0), 1); /* the new one */
	assert_string_equal(name_at(g, "h", T0 + 500), "-");
	graph_log_close(l, T0 + 11 * DAY);
	graph_free(g);
	/* 9 days later it would have stayed */
	rm_rf(dir);
	g = graph_new(&(struct graph_opts)OPTS);
	l = open_log(g, dir, 0, T0 - 1000);
	record_changes(g);
	graph_log_close(l, T0 + 10000);
	graph_free(g);
	g = graph_new(&(struct graph_opts)OPTS);
	l = open_log(g, dir, 0, T0 + 9 * DAY);
	graph_log_stats(l, &st);
	assert_int_equal(st.removed_files, 0);
	assert_string_equal(name_at(g, "h", T0 + 500), "host");
	graph_log_close(l, T0 + 9 * DAY);
	graph_free(g);
	rm_rf(dir);
	free(dir);
}

/* A directory that cannot be made, or one another log holds, is an error with its path,
 * not a crash. */
static void test_bad_dir(void **state)
{
	(void)state;
	struct graph *g = graph_new(NULL);
	char err[256] = "";
	struct graph_log_opts o = {.dir = "/proc/no/such/topology"};
	assert_null(graph_log_open(g, &o, T0, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot create /proc/no/such"));
	char *dir = tmpdir();
	struct graph_log *l = open_log(g, dir, 0, T0);
	struct graph *g2 = graph_new(NULL);
	o.dir = dir;
	assert_null(graph_log_open(g2, &o, T0, err, sizeof(err)));
	assert_non_null(strstr(err, "in use by another analyzer"));
	graph_log_close(l, T0);
	/* once closed, it is free again */
	l = open_log(g2, dir, 0, T0);
	graph_log_close(l, T0);
	graph_free(g2);
	graph_free(g);
	rm_rf(dir);
	free(dir);
}

/* A write the file system refuses (disk full; here the file size limit): the batch is
 * dropped and counted, the file keeps no part of it, and the log goes on once there is
 * room again. */
static void test_write_failure(void **state)
{
	(void)state;
	char *dir = tmpdir();
	struct graph *g = graph_new(&(struct graph_opts)OPTS);
	struct graph_log *l = open_log(g, dir, 0, T0);
	assert_int_equal(graph_log_flush(l), 0); /* the Start record */
	char path[512];
	newest_file(dir, path, sizeof(path));
	off_t before = file_size(path);
	struct rlimit old, small = {.rlim_cur = (rlim_t)before + 100, .rlim_max = RLIM_INFINITY};
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	graph_lock(g);
	for (int i = 0; i < 5; i++) {
		char id[16];
		snprintf(id, sizeof(id), "x%d", i);
		graph_node_add(g, id, json_pack("{s:s}", "Name", "lost"), "h", "o", T0 + i);
	}
	graph_unlock(g);
	int r = graph_log_flush(l);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, prev);
	assert_int_equal(r, -EFBIG);
	struct graph_log_stats st;
	graph_log_stats(l, &st);
	assert_int_equal(st.write_errors, 1);
	assert_int_equal(st.dropped, 5);
	assert_int_equal(file_size(path), before);
	/* room again: the next batch is written */
	graph_lock(g);
	graph_node_add(g, "kept", json_pack("{s:s}", "Name", "kept"), "h", "o", T0 + 10);
	graph_unlock(g);
	assert_int_equal(graph_log_flush(l), 0);
	graph_log_close(l, T0 + 20);
	graph_free(g);
	g = graph_new(&(struct graph_opts)OPTS);
	l = open_log(g, dir, 0, T0 + 30);
	graph_log_stats(l, &st);
	assert_int_equal(st.replayed, 3); /* Start, kept, Stop */
	assert_int_equal(st.skipped + st.cut_bytes, 0);
	assert_string_equal(name_at(g, "kept", T0 + 15), "kept");
	assert_string_equal(name_at(g, "x0", T0 + 15), "-");
	graph_log_close(l, T0 + 40);
	graph_free(g);
	rm_rf(dir);
	free(dir);
}

/* ---- random histories: what the restored history answers, the recording graph answered */

static unsigned rnd(unsigned *seed, unsigned n)
{
	return (unsigned)rand_r(seed) % n;
}

static json_t *random_md(unsigned *seed)
{
	static const char *names[] = {"eth0", "eth1", "lo"};
	json_t *md = json_pack("{s:s}", "Name", names[rnd(seed, 3)]);
	if (rnd(seed, 2))
		json_object_set_new(md, "IPV4",
		                    json_pack("[s]", rnd(seed, 2) ? "10.0.0.1/24" : "10.0.0.2/24"));
	if (rnd(seed, 2))
		json_object_set_new(md, "MTU", json_integer(rnd(seed, 3) * 1500));
	return md;
}

/* Changes at non-decreasing times from T0 (several in one ms too); the last time. */
static int64_t random_changes(struct graph *g, unsigned seed, int steps)
{
	int64_t now = T0;
	char id[16], p[16], e[16];
	graph_lock(g);
	for (int i = 0; i < steps; i++) {
		now += rnd(&seed, 3);
		snprintf(id, sizeof(id), "n%u", rnd(&seed, 8));
		snprintf(p, sizeof(p), "n%u", rnd(&seed, 8));
		snprintf(e, sizeof(e), "e%u", rnd(&seed, 12));
		switch (rnd(&seed, 8)) {
		case 0:
		case 1:
			graph_node_add(g, id, random_md(&seed), rnd(&seed, 2) ? "h1" : "h2", "o",
			               now);
			break;
		case 2:
			graph_node_set_metadata(g, id, random_md(&seed), now);
			break;
		case 3:
			if (rnd(&seed, 3))
				graph_node_delete(g, id, now);
			else
				graph_delete_by_host(g, "h2", 0, now);
			break;
		case 4:
		case 5:
			graph_edge_add(g, e, p, id, json_pack("{s:s}", "RelationType", "layer2"),
			               "h1", "o", now);
			break;
		case 6:
			graph_edge_set_metadata(g, e,
			                        json_pack("{s:s,s:i}", "RelationType", "layer2",
			                                  "W", (int)rnd(&seed, 3)),
			                        now);
			break;
		default:
			graph_edge_delete(g, e, now);
		}
	}
	graph_unlock(g);
	return now;
}

static int id_cmp(const void *a, const void *b)
{
	const struct graph_elem *x = *(const struct graph_elem *const *)a;
	const struct graph_elem *y = *(const struct graph_elem *const *)b;
	return strcmp(x->id, y->id);
}

/* Elements of two views the same, as sets of revisions. */
static void same_set(const struct graph_elem **a, size_t na, const struct graph_elem **b, size_t nb,
                     int64_t t)
{
	if (na != nb)
		fail_msg("at %lld: %zu elements restored, %zu recorded", (long long)t, na, nb);
	qsort(a, na, sizeof(*a), id_cmp);
	qsort(b, nb, sizeof(*b), id_cmp);
	for (size_t i = 0; i < na; i++) {
		assert_string_equal(a[i]->id, b[i]->id);
		assert_int_equal(a[i]->revision, b[i]->revision);
		assert_int_equal(a[i]->created_at, b[i]->created_at);
		assert_int_equal(a[i]->updated_at, b[i]->updated_at);
		assert_int_equal(a[i]->deleted_at, b[i]->deleted_at);
		assert_string_equal(a[i]->host, b[i]->host);
		assert_true(json_equal(a[i]->metadata, b[i]->metadata));
	}
}

static void compare_views(struct graph *restored, struct graph *recorded, int64_t t)
{
	struct graph_view *a = graph_view_at(restored, t, NULL);
	struct graph_view *b = graph_view_at(recorded, t, NULL);
	const struct graph_elem *ea[64], *eb[64];
	size_t na = graph_view_node_count(a), nb = graph_view_node_count(b);
	assert_true(na < 64 && nb < 64);
	for (size_t i = 0; i < na; i++)
		ea[i] = &graph_view_node(a, i)->e;
	for (size_t i = 0; i < nb; i++)
		eb[i] = &graph_view_node(b, i)->e;
	same_set(ea, na, eb, nb, t);
	na = graph_view_edge_count(a);
	nb = graph_view_edge_count(b);
	assert_true(na < 64 && nb < 64);
	for (size_t i = 0; i < na; i++)
		ea[i] = &graph_view_edge(a, i)->e;
	for (size_t i = 0; i < nb; i++)
		eb[i] = &graph_view_edge(b, i)->e;
	same_set(ea, na, eb, nb, t);
	char id[16];
	for (unsigned i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "n%u", i);
		const struct graph_edge *const *la = graph_view_out_edges(a, id, &na);
		const struct graph_edge *const *lb = graph_view_out_edges(b, id, &nb);
		for (size_t k = 0; k < na; k++)
			ea[k] = &la[k]->e;
		for (size_t k = 0; k < nb; k++)
			eb[k] = &lb[k]->e;
		same_set(ea, na, eb, nb, t);
	}
	const struct graph_node *const *la = graph_view_nodes_by(a, "IPV4", "10.0.0.1", &na);
	for (size_t k = 0; k < na; k++)
		ea[k] = &la[k]->e;
	const struct graph_node *const *lb = graph_view_nodes_by(b, "IPV4", "10.0.0.1", &nb);
	for (size_t k = 0; k < nb; k++)
		eb[k] = &lb[k]->e;
	same_set(ea, na, eb, nb, t);
	graph_view_free(a);
	graph_view_free(b);
}

static void test_random_replay(void **state)
{
	(void)state;
	for (unsigned seed = 1; seed <= 12; seed++) {
		char *dir = tmpdir();
		struct graph *rec = graph_new(&(struct graph_opts)OPTS);
		struct graph_log *l = open_log(rec, dir, 0, T0 - 1000);
		int64_t end = random_changes(rec, seed, 300);
		graph_log_close(l, end + 1);
		struct graph *res = graph_new(&(struct graph_opts)OPTS);
		l = open_log(res, dir, 0, end + 10);
		for (int64_t t = T0 - 5; t <= end; t++)
			compare_views(res, rec, t);
		graph_log_close(l, end + 20);
		graph_free(res);
		graph_free(rec);
		rm_rf(dir);
		free(dir);
	}
}

/* The configuration keys: durations with days, seconds, the data directory, persist. */
static void test_config(void **state)
{
	(void)state;
	struct config *cfg = config_new();
	struct graph_opts go;
	struct graph_log_opts lo;
	char dir[256], err[256];
	assert_int_equal(graph_log_config(cfg, &go, &lo, dir, sizeof(dir), err, sizeof(err)), 0);
	assert_int_equal(go.history_max_age_ms, 0); /* the graph's default, 1 h */
	assert_string_equal(lo.dir, "/var/lib/skydive/topology");
	config_set_string(cfg, "analyzer.topology.history.max_age", "2d");
	config_set(cfg, "analyzer.topology.history.max_bytes", json_integer(1 << 20));
	config_set_string(cfg, "analyzer.data_dir", "/srv/sky");
	assert_int_equal(graph_log_config(cfg, &go, &lo, dir, sizeof(dir), err, sizeof(err)), 0);
	assert_int_equal(go.history_max_age_ms, 2 * DAY);
	assert_int_equal(lo.max_age_ms, 2 * DAY);
	assert_int_equal(go.history_max_bytes, 1 << 20);
	assert_int_equal(lo.max_bytes, 1 << 20);
	assert_string_equal(lo.dir, "/srv/sky/topology");
	config_set_string(cfg, "analyzer.topology.history.max_age", "90");
	assert_int_equal(graph_log_config(cfg, &go, &lo, dir, sizeof(dir), err, sizeof(err)), 0);
	assert_int_equal(go.history_max_age_ms, 90000);
	config_set(cfg, "analyzer.topology.history.persist", json_false());
	assert_int_equal(graph_log_config(cfg, &go, &lo, dir, sizeof(dir), err, sizeof(err)), 0);
	assert_null(lo.dir);
	config_set_string(cfg, "analyzer.topology.history.max_age", "two days");
	assert_int_equal(graph_log_config(cfg, &go, &lo, dir, sizeof(dir), err, sizeof(err)),
	                 -EINVAL);
	assert_non_null(strstr(err, "analyzer.topology.history.max_age 'two days' invalid"));
	config_set_string(cfg, "analyzer.topology.history.max_age", "1h");
	config_set(cfg, "analyzer.topology.history.max_bytes", json_integer(-5));
	assert_int_equal(graph_log_config(cfg, &go, &lo, dir, sizeof(dir), err, sizeof(err)),
	                 -EINVAL);
	assert_non_null(strstr(err, "max_bytes -5 invalid"));
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_crash_torn_tail),
	    cmocka_unit_test(test_damaged_record_skipped),
	    cmocka_unit_test(test_retention_bytes),
	    cmocka_unit_test(test_retention_age),
	    cmocka_unit_test(test_bad_dir),
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_random_replay),
	    cmocka_unit_test(test_write_failure),
	};
	return cmocka_run_group_tests(tests, NULL, remove_made);
}
