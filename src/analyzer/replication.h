/* replication.h - analyzer peering, Skydive's /ws/replication role
 * (graffiti/endpoints/replication_endpoint.go): each analyzer sends the elements it owns
 * to every peer listed in `analyzers:` (a Sync on connect, then each change: the agent's
 * forwarder code, agent/forwarder.h, with keep = repl_owned_here), and applies what its
 * peers send on /ws/replication, so a query on any analyzer sees the whole graph.
 *
 * Who owns an origin (an element's Origin, "agent.<host>" for an agent's elements):
 *   - "here" when a direct sender (an agent, a publisher) sends it to this analyzer, or
 *     for this analyzer's own elements (an origin nobody claimed);
 *   - a peer (its host ID) when that peer's messages carry it.
 * Rules, so that a change never loops and an agent moving to another analyzer does not
 * lose its nodes:
 *   - only what is owned here is sent to the peers (a peer's elements never go back);
 *   - a peer's element of an origin owned here is left alone (the direct sender wins);
 *   - a peer's Added or Sync takes an origin over from another peer (the agent moved
 *     to it); a peer's Updated or Deleted of an origin another peer owns is left (the
 *     late removal of an agent that has moved on);
 *   - a peer's Sync replaces, per origin it carries, that origin's elements, and removes
 *     the origins the peer owned that it no longer carries;
 *   - a peer that goes away keeps its origins for analyzer.replication.expire seconds
 *     (its agents reconnect to another analyzer meanwhile and take them over); then
 *     those still its own are removed;
 *   - an agent's disconnection removes its elements only when they are owned here (an
 *     agent connected but sending its topology to another analyzer, its master, leaves
 *     them).
 *
 * Threads: every function takes the table's own mutex. The graph writer calls the
 * apply-side ones with the graph lock held (lock order: graph lock, then the table);
 * repl_owned_here is called by the outgoing forwarder's listener and Sync, graph lock
 * held; repl_peer_up/down and repl_expire by the server's loop, graph not locked.
 * Ownership: the table copies every string. */
#ifndef SKYDIVE_REPLICATION_H
#define SKYDIVE_REPLICATION_H

#include <jansson.h>
#include <stdint.h>

#include "graph/graph.h"

#define REPL_EXPIRE_S 10 /* analyzer.replication.expire's default */

struct repl_owners;

struct repl_owners *repl_owners_new(void); /* NULL on ENOMEM */
void repl_owners_free(struct repl_owners *t); /* NULL is fine */

/* A direct sender's message of origin is about to be applied: owned here from now. */
void repl_mark_here(struct repl_owners *t, const char *origin);
/* A direct sender of origin left: 1 when its elements are to be removed (owned here or
 * by nobody; the ownership is then forgotten), 0 when a peer owns them. */
int repl_release_here(struct repl_owners *t, const char *origin);
/* An element of origin in a message of peer: 1 to apply it (and the peer owns origin
 * from now), 0 to leave it (rules above). */
int repl_accept(struct repl_owners *t, const char *peer, const char *origin, int claim);
/* 1 when elements of this origin go to the peers (not a peer's). */
int repl_owned_here(struct repl_owners *t, const char *origin);
/* keep for the forwarder: repl_owned_here of the element's Origin; user is the table. */
int repl_keep(void *user, const struct graph_elem *e);

/* Around the application of a peer's Sync: begin marks the peer's origins unconfirmed,
 * repl_accept confirms those it carries, end returns (a new array, NULL when none) the
 * origins of the peer it no longer carries: the caller removes their elements (while
 * they are still the peer's, so the removal is not sent on), then repl_forget. */
void repl_sync_begin(struct repl_owners *t, const char *peer);
json_t *repl_sync_end(struct repl_owners *t, const char *peer);
/* Whether peer owns origin now; repl_forget drops the origin's record if it does. */
int repl_owner_is(struct repl_owners *t, const char *origin, const char *peer);
void repl_forget(struct repl_owners *t, const char *origin, const char *peer);

/* The peer's /ws/replication connection came or went (now_ms: a monotonic clock). */
void repl_peer_up(struct repl_owners *t, const char *peer, const char *remote);
void repl_peer_down(struct repl_owners *t, const char *peer, int64_t now_ms);
/* The origins of peers gone for at least expire_ms: {"<peer>": ["<origin>", ...]} (new;
 * NULL when none), each peer once per absence. The caller removes, on the graph
 * writer, those the peer still owns then (repl_owner_is), then repl_forget. */
json_t *repl_expire(struct repl_owners *t, int64_t now_ms, int64_t expire_ms);

/* {"Incomers": {"<peer>": {"Connected", "Remote", "Origins"}}, "Origins": n owned by
 * peers, "LeftAlone": elements of peers' messages not applied, "Expired": origins
 * removed after their peer went}. New reference. */
json_t *repl_status(struct repl_owners *t);

#endif
