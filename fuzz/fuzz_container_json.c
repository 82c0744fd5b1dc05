/* fuzz_container_json.c - libFuzzer target for the container probes' readers of outside
 * input (src/topology/container.h): Docker's container inspect document
 * (container_from_docker), runc's state.json (container_from_runc, its labels) and a
 * CRI create-config merged into it, and /etc/hosts files (container_hosts_parse).
 * Input: byte 0 % 3 picks the reader (0 Docker, 1 runc, 2 hosts); the rest is the
 * document; for runc, a NUL splits the state.json from a create-config. Checks on top
 * of the sanitizers:
 *  - a document is refused (-EINVAL with an error text) or mapped to a Container object
 *    with ID, Runtime ("docker"/"runc"), Status and InitProcessPID = the desc's pid,
 *    Hosts an object, Labels (when there) a non-empty object; ID and name non-empty;
 *  - Docker: the name is Docker's without its first '/' (docker.go Name[1:]), the
 *    netns path a string;
 *  - runc: name == ID; the bundle, when set, is Labels.bundle;
 *  - hosts: IP and Hostname are there together with ByIP, IP is a ByIP key, every name
 *    is lowercase. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "topology/container.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_INPUT 16384

static void check_md(const struct container_desc *d, const char *runtime)
{
	CHECK(d->id && *d->id && d->name && *d->name);
	CHECK(json_is_object(d->md));
	CHECK(!strcmp(json_string_value(json_object_get(d->md, "ID")), d->id));
	CHECK(!strcmp(json_string_value(json_object_get(d->md, "Runtime")), runtime));
	CHECK(json_is_string(json_object_get(d->md, "Status")));
	CHECK(json_integer_value(json_object_get(d->md, "InitProcessPID")) == d->pid);
	CHECK(json_is_object(json_object_get(d->md, "Hosts")));
	json_t *l = json_object_get(d->md, "Labels");
	CHECK(!l || (json_is_object(l) && json_object_size(l) > 0));
	char *s = json_dumps(d->md, JSON_COMPACT);
	CHECK(s);
	free(s);
}

static void check_hosts(const json_t *h)
{
	CHECK(json_is_object(h));
	const char *ip = json_string_value(json_object_get(h, "IP"));
	const json_t *by = json_object_get(h, "ByIP");
	CHECK(!ip == !by);
	if (!by)
		return;
	CHECK(json_is_array(json_object_get(by, ip)));
	const char *k;
	json_t *names;
	json_object_foreach((json_t *)by, k, names) {
		size_t i;
		json_t *n;
		json_array_foreach(names, i, n)
			for (const char *c = json_string_value(n); c && *c; c++)
				CHECK(!isupper((unsigned char)*c));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (size > FZ_MAX_INPUT)
		size = FZ_MAX_INPUT;
	int kind = data[0] % 3;
	const char *doc = (const char *)data + 1;
	size_t n = size - 1;
	char err[256] = "";
	struct container_desc d;
	if (kind == 2) {
		json_t *h = container_hosts_parse(doc, n);
		CHECK(h);
		check_hosts(h);
		json_decref(h);
		return 0;
	}
	const char *nul = memchr(doc, 0, n);
	size_t n1 = nul ? (size_t)(nul - doc) : n;
	json_t *j = json_loadb(doc, n1, JSON_DECODE_ANY, NULL);
	if (!j)
		return 0;
	int rc = kind == 0 ? container_from_docker(j, &d, err, sizeof(err))
			   : container_from_runc(j, &d, err, sizeof(err));
	json_decref(j);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	if (rc < 0) {
		CHECK(*err);
		return 0;
	}
	if (kind == 0) {
		check_md(&d, "docker");
		CHECK(d.netns_path);
	} else {
		container_set_status(&d, "running", NULL);
		check_md(&d, "runc");
		CHECK(!strcmp(d.name, d.id));
		if (d.bundle)
			CHECK(!strcmp(json_string_value(json_object_get(
					      json_object_get(d.md, "Labels"), "bundle")),
				      d.bundle));
		if (nul) {
			json_t *cc = json_loadb(nul + 1, n - n1 - 1, JSON_DECODE_ANY, NULL);
			if (cc) {
				rc = container_merge_create_config(&d, cc);
				CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
				CHECK(rc != -EINVAL || !json_is_object(cc));
				json_decref(cc);
				check_md(&d, "runc");
			}
		}
	}
	container_desc_clear(&d);
	return 0;
}
