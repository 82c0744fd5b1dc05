/* capture_res_store.c - the captures on disk: <data_dir>/captures.json, written
 * atomically (mkostemp 0600, fsync, rename, fsync of the directory) and read back at
 * start, a corrupt file set aside as .corrupt. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyzer/capture_res_int.h"
#include "common/log.h"

/* Missing parents are made 0755, the data directory itself 0700: captures name
 * hosts, interfaces and filters, nothing other users need (issue 9). An existing
 * directory keeps the mode its administrator gave it. */
static int mkdir_p(const char *dir)
{
	char buf[4096];
	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;
			*p = 0;
			if (mkdir(buf, c ? 0755 : 0700) && errno != EEXIST)
				return -errno;
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

/* Writes every capture to r->file through a temporary file and a rename, so
 * a crash leaves the old or the new file, never half of one. Lock held. */
json_t *capture_res_entry(const struct capture_def *c)
{
	json_t *j = capture_def_to_json(c, 0);
	if (j)
		json_object_del(j, "Count");
	json_t *e = j ? json_pack("{s:o}", "Capture", j) : NULL;
	if (e && c->expires_ms &&
	    json_object_set_new(e, "ExpiresAt", json_integer(c->expires_ms))) {
		json_decref(e);
		e = NULL;
	}
	return e;
}

int capture_res_entry_read(const char *uuid, const json_t *e, struct capture_def *c,
                           struct capture_res_error *err)
{
	json_t *exp = json_object_get(e, "ExpiresAt");
	int rc = capture_def_from_json(json_object_get(e, "Capture"), c, err);
	if (!rc && !capture_uuid_valid(uuid))
		rc = fail(err, -1, "'%.64s' is not a UUID", uuid);
	if (!rc && exp && !json_is_integer(exp))
		rc = fail(err, -1, "ExpiresAt must be an integer (ms)");
	if (!rc) {
		snprintf(c->uuid, sizeof(c->uuid), "%s", uuid);
		c->expires_ms = json_integer_value(exp);
	}
	return rc;
}

int capture_res_persist(struct capture_res *r, enum res_event ev, const struct capture_def *c,
                        char *err, size_t errlen)
{
	if (!r->has_store)
		return capture_res_save(r, err, errlen);
	json_t *e = ev == RES_CREATED ? capture_res_entry(c) : NULL;
	if (ev == RES_CREATED && !e) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = r->store.change(r->store.ctx, ev, c->uuid, e, err, errlen);
	json_decref(e);
	return rc;
}

int capture_res_save(struct capture_res *r, char *err, size_t errlen)
{
	json_t *all = json_object(), *root = json_pack("{s:i, s:o}", "Version", 1, "Captures", all);
	int rc = root ? 0 : -ENOMEM;
	for (size_t i = 0; !rc && i < r->n; i++) {
		json_t *e = capture_res_entry(&r->items[i]);
		if (!e || json_object_set_new(all, r->items[i].uuid, e))
			rc = -ENOMEM;
	}
	char *text = rc ? NULL : json_dumps(root, JSON_INDENT(1));
	json_decref(root);
	if (!text) {
		snprintf(err, errlen, "out of memory saving the captures");
		return -ENOMEM;
	}
	/* An unpredictable name made with O_EXCL (mkstemp: mode 0600, never through a
	 * symbolic link someone planted), in the same directory so the rename is atomic. */
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", r->file);
	int fd = -1;
	const char *what = "create";
	if ((rc = mkdir_p(r->dir)))
		what = "create the directory of";
	else if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0 || fchmod(fd, 0600))
		rc = -errno;
	if (rc && fd >= 0) {
		close(fd);
		unlink(tmp);
		fd = -1;
	}
	if (!rc) {
		size_t len = strlen(text), off = 0;
		what = "write";
		while (!rc && off < len) {
			ssize_t k = write(fd, text + off, len - off);
			if (k < 0 && errno != EINTR)
				rc = -errno;
			else if (k > 0)
				off += (size_t)k;
		}
		if (!rc && (write(fd, "\n", 1) != 1 || fsync(fd)))
			rc = errno ? -errno : -EIO;
		if (close(fd) && !rc)
			rc = -errno;
		if (!rc) {
			what = "rename into";
			if (rename(tmp, r->file))
				rc = -errno;
		}
		if (rc)
			unlink(tmp);
	}
	free(text);
	if (rc) {
		snprintf(
		    err, errlen,
		    "cannot %s %s: %s (set analyzer.data_dir or SKYDIVE_ANALYZER_DATA_DIR to a "
		    "writable directory)",
		    what, r->file, strerror(-rc));
		return rc;
	}
	int dfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) { /* make the rename itself durable */
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

static void keep_corrupt(const struct capture_res *r)
{
	char bad[4200];
	snprintf(bad, sizeof(bad), "%s.corrupt", r->file);
	if (rename(r->file, bad))
		log_error("api: cannot rename %s to %s: %s; the next change overwrites it", r->file,
		          bad, strerror(errno));
	else
		log_error("api: %s kept as %s; starting with no captures", r->file, bad);
}

void capture_res_load(struct capture_res *r)
{
	json_error_t je;
	FILE *f = fopen(r->file, "rb");
	if (!f) {
		if (errno != ENOENT)
			log_error("api: cannot read the captures in %s: %s; starting with none",
			          r->file, strerror(errno));
		return;
	}
	json_t *root = json_loadf(f, 0, &je);
	fclose(f);
	if (!root) {
		log_error("api: %s is corrupt: invalid JSON at line %d, column %d (byte %d): %s",
		          r->file, je.line, je.column, je.position, je.text);
		keep_corrupt(r);
		return;
	}
	json_t *all = json_object_get(root, "Captures");
	if (!json_is_object(all)) {
		log_error("api: %s is corrupt: expected {\"Version\": 1, \"Captures\": {...}}",
		          r->file);
		json_decref(root);
		keep_corrupt(r);
		return;
	}
	int64_t now = rest_now_ms();
	const char *uuid;
	json_t *e;
	size_t dropped = 0;
	json_object_foreach(all, uuid, e)
	{
		struct capture_def c;
		struct capture_res_error cerr = {.pos = -1};
		int rc = capture_res_entry_read(uuid, e, &c, &cerr);
		if (rc) {
			log_error("api: %s: capture '%.64s' dropped: %s", r->file, uuid, cerr.msg);
			capture_def_clear(&c);
			dropped++;
			continue;
		}
		if (c.expires_ms && c.expires_ms <= now) {
			capture_def_clear(&c); /* its TTL ended while we were down */
			dropped++;
			continue;
		}
		if (capture_res_append(r, &c)) {
			capture_def_clear(&c);
			log_error("api: out of memory loading %s", r->file);
			break;
		}
	}
	json_decref(root);
	log_info("api: %zu captures loaded from %s%s", r->n, r->file,
	         dropped ? " (some dropped: expired or invalid)" : "");
}
