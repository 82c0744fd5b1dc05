/* netns.h - run a piece of code inside a named network namespace.
 *
 * setns() switches only the calling thread, and a socket stays in the
 * namespace it was created in: enter, open the socket, leave. */
#ifndef SKYDIVE_NETNS_H
#define SKYDIVE_NETNS_H

#include <stddef.h>

/* Switches the calling thread into /var/run/netns/<name> (or a path when
 * name starts with '/'). *saved gets an fd of the current namespace for
 * netns_leave. name NULL or "" does nothing (*saved = -1). Returns 0 or
 * -errno with a message in err. */
int netns_enter(const char *name, int *saved, char *err, size_t errlen);
/* Returns to the namespace saved by netns_enter and closes the fd. 0 or -errno. */
int netns_leave(int saved);

#endif
