/* host.c - metadata of the host node: name, OS, kernel, platform and CPUs
 * (the fields Skydive fills from gopsutil), plus agent.metadata. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "topology/topo_int.h"

/* Value of KEY=value (quotes stripped) from an os-release style file. */
static void os_release(const char *key, char *out, size_t len)
{
	out[0] = 0;
	FILE *f = fopen("/etc/os-release", "r");
	if (!f)
		return;
	char line[512];
	size_t kl = strlen(key);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, kl) || line[kl] != '=')
			continue;
		char *v = line + kl + 1;
		v[strcspn(v, "\n")] = 0;
		if (*v == '"' || *v == '\'') {
			char q = *v++;
			char *e = strrchr(v, q);
			if (e)
				*e = 0;
		}
		snprintf(out, len, "%s", v);
		break;
	}
	fclose(f);
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = 0;
	return s;
}

/* One object per logical CPU from /proc/cpuinfo, keys as gopsutil's
 * cpu.InfoStat (CPU, VendorID, Family, Model, Stepping, ModelName, Mhz,
 * CacheSize, Cores). */
static json_t *cpu_json(void)
{
	json_t *arr = json_array();
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!arr || !f) {
		if (f)
			fclose(f);
		return arr;
	}
	char line[1024];
	json_t *cur = NULL;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (!colon) {
			cur = NULL; /* blank line between processors */
			continue;
		}
		*colon = 0;
		char *k = trim(line), *v = trim(colon + 1);
		if (!strcmp(k, "processor")) {
			cur = json_object();
			if (!cur)
				break;
			json_object_set_new(cur, "CPU", json_integer(atoll(v)));
			json_array_append_new(arr, cur);
			continue;
		}
		if (!cur)
			continue;
		if (!strcmp(k, "vendor_id"))
			json_object_set_new(cur, "VendorID", json_string(v));
		else if (!strcmp(k, "cpu family"))
			json_object_set_new(cur, "Family", json_string(v));
		else if (!strcmp(k, "model"))
			json_object_set_new(cur, "Model", json_string(v));
		else if (!strcmp(k, "stepping"))
			json_object_set_new(cur, "Stepping", json_integer(atoll(v)));
		else if (!strcmp(k, "model name"))
			json_object_set_new(cur, "ModelName", json_string(v));
		else if (!strcmp(k, "cpu MHz"))
			json_object_set_new(cur, "Mhz", json_real(atof(v)));
		else if (!strcmp(k, "cache size"))
			json_object_set_new(cur, "CacheSize", json_integer(atoll(v)));
		else if (!strcmp(k, "cpu cores"))
			json_object_set_new(cur, "Cores", json_integer(atoll(v)));
	}
	fclose(f);
	return arr;
}

json_t *topo_host_metadata(const char *host_id, const json_t *extra)
{
	struct utsname u;
	char platform[128], version[128], family[128], hostname[256];
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	if (gethostname(hostname, sizeof(hostname)) < 0)
		hostname[0] = 0;
	hostname[sizeof(hostname) - 1] = 0;
	os_release("ID", platform, sizeof(platform));
	os_release("VERSION_ID", version, sizeof(version));
	os_release("ID_LIKE", family, sizeof(family));
	if (!family[0])
		snprintf(family, sizeof(family), "%s", platform);

	char tid[TOPOLOGY_ID_LEN];
	topology_host_tid(tid, host_id);

	json_t *md = json_object();
	if (!md)
		return NULL;
	/* agent.metadata first, so that the probe's own keys win. */
	if (extra && json_is_object(extra))
		json_object_update(md, (json_t *)extra);
	json_object_set_new(md, "Name", json_string(host_id));
	json_object_set_new(md, "Type", json_string("host"));
	json_object_set_new(md, "TID", json_string(tid));
	json_object_set_new(md, "Hostname", json_string(hostname));
	json_object_set_new(md, "OS", json_string("linux"));
	json_object_set_new(md, "KernelVersion", json_string(u.release));
	json_object_set_new(md, "Platform", json_string(platform));
	json_object_set_new(md, "PlatformFamily", json_string(family));
	json_object_set_new(md, "PlatformVersion", json_string(version));
	json_object_set_new(md, "Architecture", json_string(u.machine));
	json_object_set_new(md, "CPU", cpu_json());
	return md;
}
