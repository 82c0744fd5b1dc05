/* ws_link.c - analyzer address and keep-alive policy of the agent's links. */
#include "agent/ws_link.h"

#include <errno.h>
#include <stdio.h>

#include "config/config.h"

int ws_link_addr(const char *spec, char *host, size_t hostlen, int *port, char *addr,
		 size_t addrlen, char *err, size_t errlen)
{
	if (config_split_addr(spec, host, hostlen, port) < 0 || !*port) {
		snprintf(err, errlen, "invalid analyzer address '%s' (want HOST:PORT)", spec);
		return -EINVAL;
	}
	if (!host[0])
		snprintf(host, hostlen, "127.0.0.1");
	snprintf(addr, addrlen, "%s", spec);
	return 0;
}

void ws_link_retry_policy(lws_retry_bo_t *r, int ping_delay_s)
{
	r->secs_since_valid_ping = (uint16_t)ping_delay_s;
	r->secs_since_valid_hangup =
	    (uint16_t)(ping_delay_s + 5 > ping_delay_s * 3 ? ping_delay_s + 5 : ping_delay_s * 3);
}
