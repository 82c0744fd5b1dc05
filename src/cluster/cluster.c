/* cluster.c - the analyzer's lease, registration and elections in etcd (cluster.h). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/cluster.h"
#include "cluster/etcd.h"
#include "common/log.h"
#include "common/tls.h"
#include "common/version.h"

#define REG_PREFIX      "/analyzer/"
#define ELECTION_PREFIX "/elections/"

struct election {
	char key[160];
	char name[128];
	cluster_master_fn fn;
	void *user;
	int master;        /* we hold the key with our lease */
	char holder[256];  /* who holds it ("" unknown) */
};

struct cluster {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int started, stop;
	struct etcd_client *etcd;
	json_t *servers;
	char host_id[256];
	char address[300];
	int64_t ttl_s, period_ms;
	int64_t lease;           /* 0: none yet (or lost) */
	int64_t last_alive_ms;   /* monotonic time of the last keepalive that worked */
	int connected;
	int round_failed;        /* an etcd call of this round failed (cluster thread only) */
	char last_error[512];
	json_t *analyzers;       /* {"<host>": registration}: the last range of /analyzer/ */
	struct election el[CLUSTER_MAX_ELECTIONS];
	size_t nel;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The keys of Skydive's etcd section that configure its embedded server. */
static const char *const embedded_keys[] = {"listen",        "data_dir", "peers", "max_wal_files",
                                            "max_snap_files", "name",     "debug"};

int cluster_check_config(const struct config *cfg, char *err, size_t errlen)
{
	if (config_get_bool(cfg, "etcd.embedded", 0)) {
		snprintf(err, errlen,
		         "etcd.embedded: true is not supported: this analyzer never runs an embedded "
		         "etcd; run etcd (Debian's etcd-server) and list it in etcd.servers "
		         "(docs/DEPLOY.md)");
		return -1;
	}
	for (size_t i = 0; i < sizeof(embedded_keys) / sizeof(*embedded_keys); i++) {
		char key[64];
		snprintf(key, sizeof(key), "etcd.%s", embedded_keys[i]);
		if (config_get_string(cfg, key, NULL) || config_get_json(cfg, key)) {
			snprintf(err, errlen,
			         "%s configures Skydive's embedded etcd server, which this analyzer "
			         "does not run: remove it (etcd.servers names the etcd to use)",
			         key);
			return -1;
		}
	}
	int64_t t = config_get_int(cfg, "etcd.client_timeout", 5);
	int64_t l = config_get_int(cfg, "etcd.lease_ttl", CLUSTER_LEASE_TTL_S);
	if (t < 1 || l < 2) {
		snprintf(err, errlen,
		         "etcd.client_timeout (%lld) must be >= 1 and etcd.lease_ttl (%lld) >= 2 "
		         "seconds",
		         (long long)t, (long long)l);
		return -1;
	}
	return 0;
}

int cluster_new(const struct config *cfg, struct cluster **out, char *err, size_t errlen)
{
	*out = NULL;
	if (cluster_check_config(cfg, err, errlen))
		return -1;
	json_t *servers = config_get_list(cfg, "etcd.servers", NULL);
	if (!servers) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!json_array_size(servers)) {
		json_decref(servers);
		return 0; /* a single analyzer */
	}
	struct cluster *c = calloc(1, sizeof(*c));
	if (!c) {
		json_decref(servers);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	c->servers = servers;
	int64_t timeout_s = config_get_int(cfg, "etcd.client_timeout", 5);
	c->ttl_s = config_get_int(cfg, "etcd.lease_ttl", CLUSTER_LEASE_TTL_S);
	c->period_ms = c->ttl_s * 1000 / 3;
	snprintf(c->host_id, sizeof(c->host_id), "%s", config_get_string(cfg, "host_id", "localhost"));
	c->analyzers = json_object();
	char e[400];
	/* a request must end well within a lease period, or a slow etcd costs the lease */
	int64_t tmo = timeout_s * 1000;
	if (tmo > c->period_ms)
		tmo = c->period_ms;
	if (!c->analyzers || !(c->etcd = etcd_client_new(servers, tmo, e, sizeof(e)))) {
		snprintf(err, errlen, "etcd: %s", c->analyzers ? e : "out of memory");
		cluster_free(c);
		return -1;
	}
	/* TLS files checked now (curl would only say "handshake failed" at the first call),
	 * auth as etcd's own client takes it */
	struct etcd_security sec = {
	    .ca = config_get_string(cfg, "etcd.ca_cert", NULL),
	    .cert = config_get_string(cfg, "etcd.client_cert", NULL),
	    .key = config_get_string(cfg, "etcd.client_key", NULL),
	    .username = config_get_string(cfg, "etcd.username", NULL),
	    .password = config_get_string(cfg, "etcd.password", NULL)};
	if (tls_check_files("etcd.client_cert", sec.cert, "etcd.client_key", sec.key, "etcd.ca_cert",
	                    sec.ca, e, sizeof(e)) ||
	    etcd_client_secure(c->etcd, &sec, e, sizeof(e))) {
		snprintf(err, errlen, "%s", e);
		cluster_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

struct etcd_client *cluster_etcd(struct cluster *c)
{
	return c->etcd;
}

const char *cluster_host_id(const struct cluster *c)
{
	return c->host_id;
}

int cluster_elect(struct cluster *c, const char *name, cluster_master_fn fn, void *user)
{
	if (c->nel >= CLUSTER_MAX_ELECTIONS || c->started)
		return -ENOSPC;
	struct election *e = &c->el[c->nel];
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->key, sizeof(e->key), ELECTION_PREFIX "%s", name);
	e->fn = fn;
	e->user = user;
	return (int)c->nel++;
}

int cluster_is_master(struct cluster *c, int id)
{
	if (id < 0 || (size_t)id >= c->nel)
		return 0;
	pthread_mutex_lock(&c->lock);
	int m = c->el[id].master;
	pthread_mutex_unlock(&c->lock);
	return m;
}

/* Records an etcd error; logged when the state changes (not once per period). */
static void etcd_failed(struct cluster *c, const char *what, const char *err)
{
	c->round_failed = 1;
	pthread_mutex_lock(&c->lock);
	int was = c->connected || !c->last_error[0];
	c->connected = 0;
	snprintf(c->last_error, sizeof(c->last_error), "%s: %s", what, err);
	pthread_mutex_unlock(&c->lock);
	if (was)
		log_error("cluster: %s: %s (retried every %lld ms)", what, err,
		          (long long)c->period_ms);
}

static void etcd_ok(struct cluster *c)
{
	pthread_mutex_lock(&c->lock);
	int was = c->connected;
	c->connected = 1;
	pthread_mutex_unlock(&c->lock);
	if (!was)
		log_info("cluster: etcd %s reached (host %s)", etcd_client_server(c->etcd),
		         c->host_id);
}

static void set_master(struct cluster *c, struct election *e, int m, const char *holder)
{
	pthread_mutex_lock(&c->lock);
	int was = e->master;
	e->master = m;
	snprintf(e->holder, sizeof(e->holder), "%s", holder ? holder : "");
	pthread_mutex_unlock(&c->lock);
	if (was == m)
		return;
	if (m)
		log_info("cluster: %s is now the master of %s", c->host_id, e->key);
	else
		log_info("cluster: %s no longer the master of %s%s%s", c->host_id, e->key,
		         holder && *holder ? ": held by " : "", holder ? holder : "");
	if (e->fn)
		e->fn(e->user, m);
}

/* Every election lost (our lease is gone, or we cannot tell). */
static void lose_all(struct cluster *c)
{
	for (size_t i = 0; i < c->nel; i++)
		set_master(c, &c->el[i], 0, c->el[i].master ? "" : c->el[i].holder);
}

static int do_lease(struct cluster *c)
{
	char err[600];
	int64_t now = mono_ms();
	if (c->lease) {
		int64_t ttl;
		int rc = etcd_lease_keepalive(c->etcd, c->lease, &ttl, err, sizeof(err));
		if (!rc) {
			c->last_alive_ms = now;
			return 0;
		}
		if (rc == -ENOENT) {
			log_warn("cluster: lease %" PRIx64 " expired: registering again", c->lease);
			c->lease = 0;
			lose_all(c);
		} else {
			etcd_failed(c, "lease keep-alive", err);
			/* past the TTL etcd may have let it go: nobody should act as a master twice */
			if (now - c->last_alive_ms >= c->ttl_s * 1000)
				lose_all(c);
			return -1;
		}
	}
	int64_t id;
	if (etcd_lease_grant(c->etcd, c->ttl_s, &id, err, sizeof(err))) {
		etcd_failed(c, "lease grant", err);
		return -1;
	}
	json_t *reg = json_pack("{s:s, s:s, s:s, s:s}", "Host", c->host_id, "ServiceType",
	                        "analyzer", "Address", c->address, "Version", SKYDIVE_VERSION);
	char *text = reg ? json_dumps(reg, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(reg);
	char key[300];
	snprintf(key, sizeof(key), REG_PREFIX "%s", c->host_id);
	int rc = text ? etcd_put(c->etcd, key, text, strlen(text), id, NULL, err, sizeof(err))
	              : -ENOMEM;
	free(text);
	if (rc) {
		etcd_failed(c, "registration", rc == -ENOMEM ? "out of memory" : err);
		etcd_lease_revoke(c->etcd, id, err, sizeof(err));
		return -1;
	}
	pthread_mutex_lock(&c->lock);
	c->lease = id;
	pthread_mutex_unlock(&c->lock);
	c->last_alive_ms = now;
	log_info("cluster: %s registered as %s with lease %" PRIx64 " (TTL %llds)", c->host_id,
	         key, id, (long long)c->ttl_s);
	return 0;
}

static void do_election(struct cluster *c, struct election *e)
{
	char err[600];
	struct etcd_kvs cur;
	if (e->master) { /* still ours? (etcd restored from a backup, removed by hand...) */
		int rc = etcd_range(c->etcd, e->key, 0, &cur, err, sizeof(err));
		if (rc) {
			etcd_failed(c, "election check", err);
			return;
		}
		if (!cur.n || cur.v[0].lease != c->lease)
			set_master(c, e, 0, cur.n ? cur.v[0].value : "");
		etcd_kvs_clear(&cur);
		if (e->master)
			return;
	}
	int created = 0;
	int rc = etcd_create(c->etcd, e->key, c->host_id, strlen(c->host_id), c->lease, &created,
	                     &cur, err, sizeof(err));
	if (rc) {
		etcd_failed(c, "election", err);
		return;
	}
	if (created)
		set_master(c, e, 1, c->host_id);
	else if (cur.n && cur.v[0].lease == c->lease) /* ours from before (a lost answer) */
		set_master(c, e, 1, c->host_id);
	else
		set_master(c, e, 0, cur.n ? cur.v[0].value : "");
	etcd_kvs_clear(&cur);
}

static void do_peers(struct cluster *c)
{
	char err[600];
	struct etcd_kvs kvs;
	if (etcd_range(c->etcd, REG_PREFIX, 1, &kvs, err, sizeof(err))) {
		etcd_failed(c, "analyzer list", err);
		return;
	}
	json_t *all = json_object();
	for (size_t i = 0; all && i < kvs.n; i++) {
		json_t *v = json_loadb(kvs.v[i].value, kvs.v[i].value_len, 0, NULL);
		if (!v)
			v = json_string(""); /* not one of ours: listed, not read */
		json_object_set_new(all, kvs.v[i].key + strlen(REG_PREFIX), v);
	}
	etcd_kvs_clear(&kvs);
	if (!all)
		return;
	pthread_mutex_lock(&c->lock);
	json_decref(c->analyzers);
	c->analyzers = all;
	pthread_mutex_unlock(&c->lock);
}

static void *cluster_thread(void *arg)
{
	struct cluster *c = arg;
	for (;;) {
		pthread_mutex_lock(&c->lock);
		int stop = c->stop;
		pthread_mutex_unlock(&c->lock);
		if (stop)
			break;
		c->round_failed = 0;
		if (!do_lease(c)) {
			for (size_t i = 0; i < c->nel; i++)
				do_election(c, &c->el[i]);
			do_peers(c);
		}
		if (!c->round_failed) /* every call of this round worked */
			etcd_ok(c);
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t ns = ts.tv_nsec + (c->period_ms % 1000) * 1000000;
		ts.tv_sec += c->period_ms / 1000 + ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		pthread_mutex_lock(&c->lock);
		while (!c->stop && pthread_cond_timedwait(&c->cond, &c->lock, &ts) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&c->lock);
	}
	return NULL;
}

int cluster_start(struct cluster *c, const char *address)
{
	snprintf(c->address, sizeof(c->address), "%s", address ? address : "");
	int rc = pthread_create(&c->thread, NULL, cluster_thread, c);
	if (rc)
		return -rc;
	c->started = 1;
	return 0;
}

void cluster_free(struct cluster *c)
{
	if (!c)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->lock);
		c->stop = 1;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->thread, NULL);
	}
	if (c->lease) { /* our registration and elections go now, not in a TTL */
		char err[600];
		if (etcd_lease_revoke(c->etcd, c->lease, err, sizeof(err)))
			log_warn("cluster: lease not revoked (it expires in %llds): %s",
			         (long long)c->ttl_s, err);
	}
	etcd_client_free(c->etcd);
	json_decref(c->servers);
	json_decref(c->analyzers);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

json_t *cluster_status(struct cluster *c)
{
	char lease[24];
	pthread_mutex_lock(&c->lock);
	snprintf(lease, sizeof(lease), "%" PRIx64, c->lease);
	json_t *el = json_object();
	for (size_t i = 0; el && i < c->nel; i++)
		json_object_set_new(el, c->el[i].name,
		                    json_pack("{s:s, s:b}", "Master", c->el[i].holder, "IsMaster",
		                              c->el[i].master));
	json_t *s = json_pack("{s:s, s:s, s:{s:O, s:s, s:b, s:s}, s:O, s:o*}", "HostID", c->host_id,
	                      "Lease", c->lease ? lease : "", "Etcd", "Servers", c->servers,
	                      "Server", etcd_client_server(c->etcd), "Connected", c->connected,
	                      "LastError", c->last_error, "Analyzers", c->analyzers, "Elections",
	                      el);
	pthread_mutex_unlock(&c->lock);
	return s;
}
