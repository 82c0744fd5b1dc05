/* appmap.c - application port map: a short array; lookups happen once per new flow. */
#include "flow/appmap.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int appmap_add(struct appmap *m, uint8_t l4, uint16_t port, const char *name)
{
	if (!*name || strlen(name) >= sizeof(m->e[0].name))
		return -EINVAL;
	unsigned i;
	for (i = 0; i < m->n; i++)
		if (m->e[i].l4 == l4 && m->e[i].port == port)
			break;
	if (i == m->n) {
		if (m->n == APPMAP_MAX)
			return -ENOSPC;
		m->n++;
	}
	m->e[i].l4 = l4;
	m->e[i].port = port;
	size_t k;
	for (k = 0; name[k]; k++)
		m->e[i].name[k] = (char)toupper((unsigned char)name[k]);
	m->e[i].name[k] = 0;
	return 0;
}

int appmap_add_spec(struct appmap *m, const char *spec, char *err, unsigned errlen)
{
	const char *colon = strchr(spec, ':'), *eq = strchr(spec, '=');
	uint8_t l4;
	if (!colon || !eq || eq < colon) {
		snprintf(err, errlen, "bad application port '%s': expected PROTO:PORT=NAME, e.g. tcp:8080=HTTP",
			 spec);
		return -EINVAL;
	}
	if ((size_t)(colon - spec) == 3 && strncasecmp(spec, "tcp", 3) == 0) {
		l4 = 6;
	} else if ((size_t)(colon - spec) == 3 && strncasecmp(spec, "udp", 3) == 0) {
		l4 = 17;
	} else {
		snprintf(err, errlen, "bad application port '%s': protocol must be tcp or udp", spec);
		return -EINVAL;
	}
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (end != eq || port < 0 || port > 65535) {
		snprintf(err, errlen, "bad application port '%s': port must be 0..65535", spec);
		return -EINVAL;
	}
	int r = appmap_add(m, l4, (uint16_t)port, eq + 1);
	if (r == -EINVAL)
		snprintf(err, errlen, "bad application port '%s': name must be 1..23 characters", spec);
	else if (r)
		snprintf(err, errlen, "too many application ports (max %d)", APPMAP_MAX);
	return r;
}

int appmap_lookup(const struct appmap *m, uint8_t l4, uint16_t sport, uint16_t dport)
{
	if (!m)
		return -1;
	for (unsigned i = 0; i < m->n; i++)
		if (m->e[i].l4 == l4 && m->e[i].port == sport)
			return (int)i;
	for (unsigned i = 0; i < m->n; i++)
		if (m->e[i].l4 == l4 && m->e[i].port == dport)
			return (int)i;
	return -1;
}
