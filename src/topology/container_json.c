/* container_json.c - Skydive's Container metadata from Docker's container inspect
 * document and from runc's state.json (container.h); pure, fuzzed by
 * fuzz/fuzz_container_json.c. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_dotted.h"
#include "topology/container.h"

void container_desc_clear(struct container_desc *d)
{
	if (!d)
		return;
	free(d->id);
	free(d->name);
	free(d->netns_path);
	free(d->hosts_path);
	free(d->bundle);
	json_decref(d->md);
	memset(d, 0, sizeof(*d));
}

/* A string member, or NULL; *bad set when it is there but not a string. */
static const char *str_member(const json_t *o, const char *k, int *bad)
{
	const json_t *v = json_object_get(o, k);
	if (v && !json_is_string(v) && !json_is_null(v))
		*bad = 1;
	return json_string_value(v);
}

static int fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -EINVAL;
}

/* The Container object's common part. */
static json_t *container_md(const char *id, const char *runtime, long long pid)
{
	return json_pack("{ss ss ss sI s{}}", "ID", id, "Runtime", runtime, "Status", "",
			 "InitProcessPID", (json_int_t)pid, "Hosts");
}

int container_from_docker(const json_t *in, struct container_desc *d, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	if (!json_is_object(in))
		return fail(err, errlen, "container inspect: not a JSON object");
	int bad = 0;
	const char *id = str_member(in, "Id", &bad);
	const char *name = str_member(in, "Name", &bad);
	const json_t *config = json_object_get(in, "Config");
	const json_t *state = json_object_get(in, "State");
	const json_t *net = json_object_get(in, "NetworkSettings");
	if ((config && !json_is_object(config) && !json_is_null(config)) ||
	    (state && !json_is_object(state) && !json_is_null(state)) ||
	    (net && !json_is_object(net) && !json_is_null(net)))
		return fail(err, errlen,
			    "container inspect: Config, State and NetworkSettings must be objects");
	const char *image = str_member(config, "Image", &bad);
	const char *image_id = str_member(in, "Image", &bad);
	const char *status = str_member(state, "Status", &bad);
	const char *sandbox = str_member(net, "SandboxKey", &bad);
	const json_t *pid = json_object_get(state, "Pid");
	const json_t *labels = json_object_get(config, "Labels");
	if (bad)
		return fail(err, errlen, "container inspect: a string field is not a string");
	if (!id || !*id)
		return fail(err, errlen, "container inspect: no Id");
	if (!name || !*name)
		return fail(err, errlen, "container inspect: no Name");
	if (pid && !json_is_integer(pid))
		return fail(err, errlen, "container inspect: State.Pid is not an integer");
	if (labels && !json_is_object(labels) && !json_is_null(labels))
		return fail(err, errlen, "container inspect: Config.Labels is not an object");
	/* Docker names start with '/' (its links' hierarchy); Skydive shows the rest. */
	if (*name == '/')
		name++;
	if (!*name)
		return fail(err, errlen, "container inspect: empty Name");
	d->pid = json_integer_value(pid);
	d->id = strdup(id);
	d->name = strdup(name);
	d->netns_path = strdup(sandbox ? sandbox : "");
	d->md = container_md(id, "docker", d->pid);
	if (!d->id || !d->name || !d->netns_path || !d->md)
		goto oom;
	json_object_set_new(d->md, "Status", json_string(status ? status : ""));
	if (image && *image && json_object_set_new(d->md, "Image", json_string(image)))
		goto oom;
	if (image_id && *image_id && json_object_set_new(d->md, "ImageID", json_string(image_id)))
		goto oom;
	if (json_object_size(labels)) {
		/* Docker's labels are strings; Skydive keeps their keys as they are */
		json_t *l = json_object();
		const char *k;
		json_t *v;
		if (!l)
			goto oom;
		json_object_foreach((json_t *)labels, k, v)
			if (json_is_string(v))
				json_object_set(l, k, v);
		if (json_object_size(l))
			json_object_set_new(d->md, "Labels", l);
		else
			json_decref(l);
	}
	return 0;
oom:
	container_desc_clear(d);
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

json_t *container_runc_labels(const json_t *labels, size_t *skipped)
{
	if (!json_is_array(labels) && !json_is_null(labels) && labels)
		return NULL;
	json_t *out = json_object();
	size_t i;
	json_t *l;
	if (!out)
		return NULL;
	json_array_foreach(labels, i, l) {
		const char *s = json_string_value(l);
		const char *eq = s ? strchr(s, '=') : NULL;
		if (!eq || eq == s) {
			if (skipped)
				(*skipped)++;
			continue;
		}
		char *key = strndup(s, (size_t)(eq - s));
		if (!key)
			goto oom;
		/* runc.go getLabels: a value that reads as JSON is kept as that JSON */
		json_t *v = json_loads(eq + 1, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
		if (!v)
			v = json_string(eq + 1);
		int rc = v ? json_dotted_set(out, key, v) : -ENOMEM;
		free(key);
		if (rc < 0)
			goto oom;
	}
	return out;
oom:
	json_decref(out);
	return NULL;
}

/* runc wrote init_process_start as a number (1.0 and later) or a string of digits. */
static int read_start(const json_t *v, long long *out)
{
	if (!v || json_is_null(v)) {
		*out = 0;
		return 0;
	}
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	const char *s = json_string_value(v);
	if (!s || !*s)
		return -1;
	char *end;
	errno = 0;
	long long x = strtoll(s, &end, 10);
	if (*end || errno)
		return -1;
	*out = x;
	return 0;
}

int container_from_runc(const json_t *in, struct container_desc *d, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	if (!json_is_object(in))
		return fail(err, errlen, "state.json: not a JSON object");
	int bad = 0;
	const char *id = str_member(in, "id", &bad);
	const json_t *pid = json_object_get(in, "init_process_pid");
	const json_t *config = json_object_get(in, "config");
	if (bad || !id || !*id)
		return fail(err, errlen, "state.json: no id string");
	if (pid && !json_is_integer(pid))
		return fail(err, errlen, "state.json: init_process_pid is not an integer");
	if (config && !json_is_object(config) && !json_is_null(config))
		return fail(err, errlen, "state.json: config is not an object");
	long long start;
	if (read_start(json_object_get(in, "init_process_start"), &start) < 0)
		return fail(err, errlen, "state.json: init_process_start is not a number");
	const json_t *labels = json_object_get(config, "labels");
	const json_t *mounts = json_object_get(config, "mounts");
	if ((labels && !json_is_array(labels) && !json_is_null(labels)) ||
	    (mounts && !json_is_array(mounts) && !json_is_null(mounts)))
		return fail(err, errlen, "state.json: config.labels and config.mounts must be lists");
	d->pid = json_integer_value(pid);
	d->start = start;
	d->id = strdup(id);
	d->name = strdup(id);
	d->md = container_md(id, "runc", d->pid);
	if (!d->id || !d->name || !d->md)
		goto oom;
	json_t *l = container_runc_labels(labels, NULL);
	if (!l)
		goto oom;
	if (json_object_size(l)) {
		const char *b = json_string_value(json_object_get(l, "bundle"));
		if (b && !(d->bundle = strdup(b))) {
			json_decref(l);
			goto oom;
		}
		json_object_set_new(d->md, "Labels", l);
	} else {
		json_decref(l);
	}
	size_t i;
	json_t *m;
	json_array_foreach(mounts, i, m) {
		const char *dst = json_string_value(json_object_get(m, "destination"));
		const char *src = json_string_value(json_object_get(m, "source"));
		/* runc.go getHostsFromState: the first mount on /etc/hosts */
		if (dst && src && !strcmp(dst, "/etc/hosts")) {
			if (!(d->hosts_path = strdup(src)))
				goto oom;
			break;
		}
	}
	return 0;
oom:
	container_desc_clear(d);
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

int container_merge_create_config(struct container_desc *d, const json_t *cc)
{
	if (!json_is_object(cc))
		return -EINVAL;
	const char *image = json_string_value(json_object_get(cc, "Image"));
	const char *image_id = json_string_value(json_object_get(cc, "ImageID"));
	const json_t *labels = json_object_get(cc, "Labels");
	if (image && *image && json_object_set_new(d->md, "Image", json_string(image)))
		return -ENOMEM;
	if (image_id && *image_id && json_object_set_new(d->md, "ImageID", json_string(image_id)))
		return -ENOMEM;
	if (json_is_object(labels) && json_object_size(labels)) {
		json_t *l = json_object_get(d->md, "Labels");
		if (!l) {
			if (!(l = json_object()) || json_object_set_new(d->md, "Labels", l))
				return -ENOMEM;
		}
		if (json_object_update(l, (json_t *)labels))
			return -ENOMEM;
	}
	return 0;
}

/* Go's ip.IsLoopback over the 16 bytes of an address (IPv4 as ::ffff:a.b.c.d). */
static int is_loopback(const unsigned char a[16])
{
	static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char one[16] = {[15] = 1};
	if (!memcmp(a, v4mapped, 12))
		return a[12] == 127;
	return !memcmp(a, one, 16);
}

/* Go's net.ParseIP then ip.String(): 0, or -1 when s is no address. */
static int parse_ip(const char *s, char *out, size_t outlen)
{
	unsigned char a[16];
	static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (inet_pton(AF_INET, s, a + 12) == 1) {
		memcpy(a, v4mapped, 12);
	} else if (inet_pton(AF_INET6, s, a) != 1) {
		return -1;
	}
	if (is_loopback(a))
		return 1;
	/* an IPv4-mapped IPv6 address prints as IPv4 in Go */
	if (!memcmp(a, v4mapped, 12))
		inet_ntop(AF_INET, a + 12, out, (socklen_t)outlen);
	else
		inet_ntop(AF_INET6, a, out, (socklen_t)outlen);
	return 0;
}

json_t *container_hosts_parse(const char *text, size_t len)
{
	json_t *hosts = json_object(), *by_ip = json_object();
	char *line = NULL;
	if (!hosts || !by_ip)
		goto oom;
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		size_t n = end - pos;
		/* a comment runs from '#' to the end of the line; a NUL ends the line too */
		const char *hash = memchr(text + pos, '#', n);
		if (hash)
			n = (size_t)(hash - (text + pos));
		const char *nul = memchr(text + pos, '\0', n);
		if (nul)
			n = (size_t)(nul - (text + pos));
		free(line);
		line = strndup(text + pos, n);
		if (!line)
			goto oom;
		pos = end + 1;
		char *save = NULL, *f0 = strtok_r(line, " \t\r\v\f", &save);
		char *f1 = f0 ? strtok_r(NULL, " \t\r\v\f", &save) : NULL;
		char ip[INET6_ADDRSTRLEN];
		if (!f1 || parse_ip(f0, ip, sizeof(ip)) != 0)
			continue;
		json_t *names = json_array();
		if (!names || json_object_set_new(by_ip, ip, names) ||
		    json_object_set_new(hosts, "IP", json_string(ip)))
			goto oom;
		for (char *f = f1; f; f = strtok_r(NULL, " \t\r\v\f", &save)) {
			for (char *c = f; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			json_t *js = json_string(f); /* NULL too for a name that is not UTF-8 */
			if (!js)
				continue;
			if (json_array_append(names, js) ||
			    json_object_set_new(hosts, "Hostname", js))
				goto oom;
		}
	}
	free(line);
	if (json_object_size(by_ip))
		json_object_set_new(hosts, "ByIP", by_ip);
	else
		json_decref(by_ip);
	return hosts;
oom:
	free(line);
	json_decref(by_ip);
	json_decref(hosts);
	return NULL;
}

void container_set_status(struct container_desc *d, const char *status, json_t *hosts)
{
	if (!d->md) {
		json_decref(hosts);
		return;
	}
	json_object_set_new(d->md, "Status", json_string(status));
	if (hosts)
		json_object_set_new(d->md, "Hosts", hosts);
}
