/* appmap.h - application names by TCP/UDP port (flow.application_ports). */
#ifndef SKYDIVE_APPMAP_H
#define SKYDIVE_APPMAP_H

#include <stdint.h>

#define APPMAP_MAX 256

/* Owned by its creator; entries are upper-cased copies of the names. */
struct appmap {
	unsigned n;
	struct {
		uint8_t l4; /* 6 tcp, 17 udp */
		uint16_t port;
		char name[24];
	} e[APPMAP_MAX];
};

/* Adds "tcp:80=http" or "udp:5000=foo" (name upper-cased). Returns 0,
 * -EINVAL for bad syntax or -ENOSPC when full; err gets the reason. */
int appmap_add_spec(struct appmap *m, const char *spec, char *err, unsigned errlen);
/* Adds one entry; returns 0 or -ENOSPC / -EINVAL. */
int appmap_add(struct appmap *m, uint8_t l4, uint16_t port, const char *name);
/* Index of the entry for (l4, sport) else (l4, dport), or -1. */
int appmap_lookup(const struct appmap *m, uint8_t l4, uint16_t sport, uint16_t dport);

#endif
