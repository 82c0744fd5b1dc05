/* container.h - the container nodes of the docker and runc probes (docker.c, runc.c):
 * Skydive's "Container" metadata (topology/container.go ContainerMetadata) made from
 * what Docker's API and runc's state.json say. These mappings are pure (unit tested,
 * fuzz/fuzz_container_json.c); the probes do the I/O.
 *
 * A container node, as Skydive's docker.go / runc.go make it:
 *   {"Type": "container", "Name": NAME, "Manager": "docker"|"runc", "TID": ...,
 *    "Container": {"ID", "Image"?, "ImageID"?, "Runtime", "Status", "InitProcessPID",
 *                  "Hosts": {"IP"?, "Hostname"?, "ByIP"?}, "Labels"?}}
 * owned (ownership edge) by the netns node of its network namespace, or by the host
 * node when it shares the host's. */
#ifndef SKYDIVE_TOPO_CONTAINER_H
#define SKYDIVE_TOPO_CONTAINER_H

#include <jansson.h>
#include <stddef.h>

/* What a probe knows of one container. Owned strings, freed by container_desc_clear. */
struct container_desc {
	char *id;	  /* Docker container ID / runc container ID */
	char *name;	  /* node Name: Docker's name without its '/', runc's ID */
	char *netns_path; /* Docker's NetworkSettings.SandboxKey ("" when none), else NULL */
	char *hosts_path; /* runc: the source of the /etc/hosts mount, or NULL */
	char *bundle;	  /* runc: the "bundle" label, or NULL */
	long long pid;	  /* State.Pid / init_process_pid (0: not running) */
	long long start;  /* runc: init_process_start (clock ticks after boot) */
	json_t *md;	  /* the "Container" object (owned) */
};
void container_desc_clear(struct container_desc *d);

/* From a Docker container inspect document (GET /containers/ID/json, API 1.24): ID,
 * Name, Config.Image, Image, State.Status, State.Pid, Config.Labels,
 * NetworkSettings.SandboxKey. 0, or -EINVAL with err filled (not an object, no ID or
 * Name string, a field of the wrong type), -ENOMEM. */
int container_from_docker(const json_t *inspect, struct container_desc *d, char *err,
			  size_t errlen);

/* From runc's state.json (libcontainer State): id, init_process_pid,
 * init_process_start (a number or a string of digits, as runc versions wrote it),
 * config.labels ("key=value" strings), config.mounts. The Status is set later by the
 * probe (container_set_status). 0, or -EINVAL with err filled, -ENOMEM. */
int container_from_runc(const json_t *state, struct container_desc *d, char *err,
			size_t errlen);

/* Skydive's runc labels: each "key=value" (no '=': skipped, counted in *skipped) sets
 * the dotted key to the value read as JSON when it is JSON, else as a string. New
 * object (empty when no label), NULL on OOM or when labels is not an array. */
json_t *container_runc_labels(const json_t *labels, size_t *skipped);

/* Merges a CRI create-config ({Image, ImageID, Labels}, runc.go getCreateConfig) into
 * d->md: Image, ImageID, and every label. 0, or -EINVAL (not an object), -ENOMEM. */
int container_merge_create_config(struct container_desc *d, const json_t *cc);

/* Skydive's Hosts of an /etc/hosts file (topology.ReadHosts): the last line that is
 * not a comment, has a name and a non-loopback address gives IP and Hostname (its
 * last name, lowercased); ByIP maps each such address to its names. New object, NULL
 * on OOM. */
json_t *container_hosts_parse(const char *text, size_t len);

/* Sets Container.Status (and Hosts when hosts is not NULL; stolen). */
void container_set_status(struct container_desc *d, const char *status, json_t *hosts);

#endif
