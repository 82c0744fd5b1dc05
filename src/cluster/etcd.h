/* etcd.h - a small etcd v3 client over its JSON gRPC gateway (etcd 3.4: /v3/kv/put,
 * /v3/kv/range, /v3/kv/deleterange, /v3/kv/txn, /v3/lease/grant|keepalive|revoke,
 * /v3/watch), through libcurl. Keys and values travel base64 in the gateway's JSON
 * and 64-bit integers as decimal strings; this file hides both.
 *
 * Every call blocks the calling thread (never call one on the event loop) for at most
 * the client's timeout per server; the servers are tried in turn from the one that
 * answered last, on transport errors only (an answer of etcd, even an error, ends the
 * call). Errors: -errno with err filled with a sentence naming the server and the
 * call: -ECONNREFUSED/-ETIMEDOUT/-EHOSTUNREACH (no server answered), -ENOENT (etcd's
 * NOT_FOUND, e.g. a lease that expired), -EINVAL (INVALID_ARGUMENT), -EAGAIN
 * (UNAVAILABLE), -ENOSPC (RESOURCE_EXHAUSTED), -EPROTO (an answer we cannot read),
 * -ENOMEM, -EIO (any other gRPC code).
 *
 * Threads: a client may be used from several threads at once (each call has its own
 * curl handle). The parsers below are pure functions, exposed for the unit tests and
 * fuzz/fuzz_etcd_reply.c. Ownership: what a call fills (struct etcd_kvs) is the
 * caller's, released with etcd_kvs_clear. */
#ifndef SKYDIVE_ETCD_H
#define SKYDIVE_ETCD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define ETCD_MAX_REPLY (16u << 20) /* a reply (or one watch message) above this: -EPROTO */

struct etcd_kv {
	char *key;   /* NUL-terminated (keys are text here) */
	char *value; /* NUL-terminated; value_len bytes before the NUL */
	size_t value_len;
	int64_t create_rev, mod_rev, lease;
};
struct etcd_kvs {
	struct etcd_kv *v;
	size_t n;
	int64_t revision; /* the header's: the store's revision when it answered */
};
void etcd_kvs_clear(struct etcd_kvs *k);

struct etcd_client;
/* servers: a JSON array of "http://host:port" (or "host:port", taken as http://);
 * timeout_ms > 0 bounds each request (connect and answer). NULL with err filled. */
struct etcd_client *etcd_client_new(const json_t *servers, int64_t timeout_ms, char *err,
                                    size_t errlen);
void etcd_client_free(struct etcd_client *c); /* NULL is fine */
/* Security beyond etcd's defaults (not in Skydive, whose etcd client had none): any
 * field may be NULL or "". ca: the CA file that signed the servers' certificates
 * (https:// servers; without it the system's store); cert and key: our client
 * certificate (etcd's --client-cert-auth); username and password: etcd's auth
 * (POST /v3/auth/authenticate, then the token in an Authorization header; a token etcd
 * no longer knows, after its TTL or a restart, is replaced and the request sent once
 * more). The strings are copied. 0, or -1 with err filled. Before any call. */
struct etcd_security {
	const char *ca, *cert, *key, *username, *password;
};
int etcd_client_secure(struct etcd_client *c, const struct etcd_security *s, char *err,
                       size_t errlen);
/* The server that answered last ("http://..."). */
const char *etcd_client_server(const struct etcd_client *c);

/* prefix: the call covers every key starting with key (range_end = key + 1). */
int etcd_put(struct etcd_client *c, const char *key, const char *val, size_t vlen, int64_t lease,
             int64_t *rev, char *err, size_t errlen);
int etcd_range(struct etcd_client *c, const char *key, int prefix, struct etcd_kvs *out,
               char *err, size_t errlen);
/* *deleted (may be NULL): how many keys went; *rev (may be NULL): the revision after. */
int etcd_delete(struct etcd_client *c, const char *key, int prefix, int64_t *deleted,
                int64_t *rev, char *err, size_t errlen);
int etcd_lease_grant(struct etcd_client *c, int64_t ttl_s, int64_t *id, char *err,
                     size_t errlen);
/* One keep-alive; *ttl the lease's remaining TTL. -ENOENT when the lease is gone. */
int etcd_lease_keepalive(struct etcd_client *c, int64_t id, int64_t *ttl, char *err,
                         size_t errlen);
int etcd_lease_revoke(struct etcd_client *c, int64_t id, char *err, size_t errlen);
/* Puts key only if it does not exist (a txn comparing its create revision with 0, as
 * an election needs): *created 1 when it did; else *current holds the key as it is
 * (may be empty if it went in between). */
int etcd_create(struct etcd_client *c, const char *key, const char *val, size_t vlen,
                int64_t lease, int *created, struct etcd_kvs *current, char *err,
                size_t errlen);

enum etcd_event_type { ETCD_PUT, ETCD_DELETE };
struct etcd_event {
	enum etcd_event_type type;
	const struct etcd_kv *kv; /* borrowed for the call; a DELETE has no value ("") */
};
/* Called for each event of a watch, in revision order; non-zero stops the watch (and
 * is returned by etcd_watch). */
typedef int (*etcd_watch_fn)(void *user, const struct etcd_event *ev);
/* Watches key (or the prefix) from start_rev (> 0) until fn stops it, *stop becomes
 * non-zero (checked about every second), the stream breaks or etcd cancels it.
 * *last_rev (may be NULL) gets the last revision seen (header of each message).
 * -ESTALE when start_rev was compacted away (read again with etcd_range), 0 when
 * stopped by *stop, fn's value, or -errno of the broken stream. */
int etcd_watch(struct etcd_client *c, const char *key, int prefix, int64_t start_rev,
               etcd_watch_fn fn, void *user, const volatile int *stop, int64_t *last_rev,
               char *err, size_t errlen);

/* ---- the parsers (pure; exposed for tests and fuzzing) ------------------------------ */

/* gRPC status code -> -errno (see above); 0 -> 0. */
int etcd_errno_of_code(int64_t code);
/* A gateway int64: a JSON integer or a decimal string; absent -> 0. 0 or -EPROTO. */
int etcd_i64(const json_t *v, int64_t *out);
/* The JSON request body's form of a key: base64 into a new string; NULL on ENOMEM. */
char *etcd_b64(const void *s, size_t n);
/* The range end covering every key with this prefix (key with its last byte + 1,
 * dropping trailing 0xff bytes; "\0" when every byte is 0xff, i.e. all keys): new
 * buffer of *outlen bytes. NULL on ENOMEM. */
char *etcd_prefix_end(const char *key, size_t *outlen);
/* A reply: its error ({"error"|"message", "code"}) as -errno with err filled; 0 when it
 * is no error. */
int etcd_reply_error(const json_t *reply, char *err, size_t errlen);
/* The "kvs" and header revision of a range reply (or response_range). 0 or -EPROTO/ENOMEM. */
int etcd_parse_kvs(const json_t *reply, struct etcd_kvs *out, char *err, size_t errlen);
/* A lease grant or keepalive reply (keepalive wraps it in "result"): ID and TTL (0 when
 * the lease is gone: then -ENOENT). */
int etcd_parse_lease(const json_t *reply, int64_t *id, int64_t *ttl, char *err, size_t errlen);
/* A txn reply: *succeeded, and the kvs of its first response_range into current (may be
 * NULL). */
int etcd_parse_txn(const json_t *reply, int *succeeded, struct etcd_kvs *current, char *err,
                   size_t errlen);
/* One watch stream message ({"result": {...}} or {"error": ...}): each event to fn,
 * *rev (the header's revision) updated. 0, fn's non-zero, -ESTALE (compacted),
 * -ECANCELED (canceled by the server), -errno of an error message, -EPROTO. */
int etcd_parse_watch_msg(const json_t *msg, etcd_watch_fn fn, void *user, int64_t *rev,
                         char *err, size_t errlen);

/* The watch stream cut into messages (one JSON object per line, as the gateway sends
 * them, though a message may come in any number of pieces). */
struct etcd_stream {
	char *buf;
	size_t len, cap;
};
/* Feeds bytes; each complete message is parsed (etcd_parse_watch_msg). 0 or the first
 * non-zero of a message (the stream should then stop); -EPROTO on a message above
 * ETCD_MAX_REPLY or not JSON. */
int etcd_stream_feed(struct etcd_stream *s, const char *data, size_t len, etcd_watch_fn fn,
                     void *user, int64_t *rev, char *err, size_t errlen);
void etcd_stream_clear(struct etcd_stream *s);

#endif
