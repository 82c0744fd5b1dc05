/* netns.c - enter and leave network namespaces on the calling thread. */
#include "common/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int netns_enter(const char *name, int *saved, char *err, size_t errlen)
{
	char path[512];
	*saved = -1;
	if (!name || !*name)
		return 0;
	if (name[0] == '/')
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/var/run/netns/%s", name);
	int cur = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (cur < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open the current network namespace: %s", strerror(e));
		return -e;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "network namespace %s: %s", path, strerror(e));
		close(cur);
		return -e;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot enter network namespace %s: %s%s", path, strerror(e),
			 e == EPERM ? " (run as root)" : "");
		close(fd);
		close(cur);
		return -e;
	}
	close(fd);
	*saved = cur;
	return 0;
}

int netns_leave(int saved)
{
	if (saved < 0)
		return 0;
	int r = setns(saved, CLONE_NEWNET) < 0 ? -errno : 0;
	close(saved);
	return r;
}
