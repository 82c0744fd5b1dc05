/* ws_link.h - what the agent's two analyzer links (topology forwarder, flow
 * sender) share: the analyzer address and the keep-alive policy. */
#ifndef SKYDIVE_WS_LINK_H
#define SKYDIVE_WS_LINK_H

#include <libwebsockets.h>
#include <stddef.h>

/* One analyzer "HOST:PORT" (host defaults to 127.0.0.1) into host/port and
 * the text kept for logs. 0, or -EINVAL with a message in err. */
int ws_link_addr(const char *spec, char *host, size_t hostlen, int *port, char *addr,
		 size_t addrlen, char *err, size_t errlen);

/* Ping an idle link every ping_delay_s so a vanished analyzer is noticed;
 * hang up when nothing at all came back for a while. */
void ws_link_retry_policy(lws_retry_bo_t *r, int ping_delay_s);

#endif
