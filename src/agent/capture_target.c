/* capture_target.c - a capture's Target: type, address, counters (see
 * capture_target.h); the NetFlow and ERSPAN halves are target_netflow.c and
 * target_erspan.c. */
#include "agent/capture_target.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/capture_target_int.h"
#include "config/config.h"

int capture_target_type_parse(const char *s, enum capture_target_type *out)
{
	if (s && !strcmp(s, "netflowv5"))
		*out = CAPTURE_TARGET_NETFLOW5;
	else if (s && !strcmp(s, "erspanv1"))
		*out = CAPTURE_TARGET_ERSPAN1;
	else
		return -EINVAL;
	return 0;
}

struct capture_target *capture_target_open(const struct capture_target_opts *o, char *err,
                                           size_t errlen)
{
	enum capture_target_type type;
	if (capture_target_type_parse(o->type, &type)) {
		snprintf(err, errlen, "TargetType '%.32s' is not supported: expected %s",
		         o->type ? o->type : "", CAPTURE_TARGET_TYPES);
		return NULL;
	}
	char host[256];
	int port = 0;
	if (!o->target || config_split_addr(o->target, host, sizeof(host), &port) || !host[0] ||
	    port <= 0) {
		snprintf(err, errlen, "Target '%.200s' is invalid: expected HOST:PORT",
		         o->target ? o->target : "");
		return NULL;
	}
	struct capture_target *ct = calloc(1, sizeof(*ct));
	if (!ct) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ct->type = type;
	ct->fd = -1;
	ct->ifindex = o->ifindex;
	snprintf(ct->target, sizeof(ct->target), "%s", o->target);
	int rc = type == CAPTURE_TARGET_NETFLOW5 ? target_netflow_open(ct, host, port, err, errlen)
	                                         : target_erspan_open(ct, host, err, errlen);
	if (rc) {
		capture_target_close(ct);
		return NULL;
	}
	return ct;
}

void capture_target_close(struct capture_target *ct)
{
	if (!ct)
		return;
	if (ct->fd >= 0)
		close(ct->fd);
	free(ct);
}

enum capture_target_type capture_target_type(const struct capture_target *ct)
{
	return ct->type;
}

void capture_target_count_error(struct capture_target *ct, int e, uint64_t n)
{
	atomic_store(&ct->last_errno, e);
	/* A full socket buffer is a drop; anything else (no route, refused by
	 * the collector's host, ...) is an error of the target. */
	if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS)
		atomic_fetch_add(&ct->dropped, n);
	else {
		atomic_fetch_add(&ct->send_errors, 1);
		atomic_fetch_add(&ct->dropped, n);
	}
}

static void put_u64(json_t *e, const char *k, const atomic_uint_fast64_t *v)
{
	json_object_set_new(e, k, json_integer((json_int_t)atomic_load(v)));
}

void capture_target_entry(const struct capture_target *ct, json_t *e)
{
	if (!ct || !e)
		return;
	int nf = ct->type == CAPTURE_TARGET_NETFLOW5;
	json_object_set_new(e, "TargetType", json_string(nf ? "netflowv5" : "erspanv1"));
	json_object_set_new(e, "Target", json_string(ct->target));
	put_u64(e, "TargetSent", &ct->sent);
	put_u64(e, "TargetDatagrams", &ct->datagrams);
	put_u64(e, "TargetSendErrors", &ct->send_errors);
	put_u64(e, "TargetDropped", &ct->dropped);
	int le = atomic_load(&ct->last_errno);
	if (le)
		json_object_set_new(e, "TargetLastError", json_string(strerror(le)));
	if (nf) {
		put_u64(e, "TargetSkippedIPv6", &ct->skipped_ipv6);
		put_u64(e, "TargetSkippedNonIP", &ct->skipped_nonip);
	} else {
		put_u64(e, "TargetSkippedNonEthernet", &ct->skipped_nonether);
	}
}
