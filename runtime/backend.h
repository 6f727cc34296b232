/*
 * backend.h (internal): backend groups, their targets, and one gRPC channel per distinct target.
 *
 * Groups are set before start (strings copied); sg__backends_connect then creates one channel
 * per distinct target, shared by every worker (gRPC channels are thread-safe) and by every group
 * naming that target. After connect only the controlling thread changes the structure
 * (sg__backends_retarget and sg__backends_resolve, on reload); workers never read the groups,
 * only the backends their calls' routes point to, and their atomics (a backend's latency,
 * budget and counters; a shard's rotation).
 *
 * Closing unused channels: a group's current targets and each route naming a backend hold a
 * reference on it (sg__backend_ref); the last release destroys the channel, on whatever thread
 * releases it (a worker whose call was the last on a retired route set). The sg__backend
 * itself stays until fini, so that pointers to it (and its target string) never dangle.
 *
 * Replicas: one target of a group is one shard (one leg), and it may list several replicas
 * separated by '|': "ipv4:127.0.0.1:7001|ipv4:127.0.0.1:7002" is one shard served by two
 * replicas, each a backend with its own channel. A leg's first attempt goes to one replica
 * (rotating per call, for balance), a hedge or retry to the next (hedge.h, leg.h). A target
 * that resolves to several addresses (dns:///, or "ipv4:a:1,b:2") is one replica whose channel
 * balances with round_robin, so a hedge on that same channel reaches another address too.
 */
#ifndef SG_BACKEND_H
#define SG_BACKEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/grpc.h>

#include "budget.h"
#include "guard.h"
#include "hedge.h"
#include "metrics.h"
#include "scatter/error.h"
#include "scatter/server.h"
#include "tls.h"

/* Replicas one shard may list ("a|b|..."). */
#define SG__REPLICAS_MAX 8

/* One distinct (target, TLS settings) pair, a replica, and its channel. */
typedef struct sg__backend {
	char *target;       /* owned */
	const sg__tls *tls; /* borrowed from the group that made it; NULL: plaintext */
	grpc_channel *channel;
	/* Hedging and retries (any worker; atomics): its answers' latency, its A6 token budget
	 * (configured by the first method routed to it), its hedge and retry counters. */
	sg__latency latency;
	sg__budget budget;
	sg__hedge_stats hedge;
	/* Breaker and in-flight cap (any worker; atomics), from the resilience settings of the
	 * first group naming it. */
	sg__guard guard;
	atomic_uint refs;               /* the groups and routes naming it (see above) */
	atomic_bool closed;             /* its channel was destroyed when the last one let go */
	struct sg__backend *next_added; /* made by a reload: the list of sg__backends.added */
	sg__target_metrics *metrics;    /* its counters (metrics.h), set when routed; NULL: none */
} sg__backend;

/* One target of a group: a shard and its replicas. */
typedef struct sg__shard {
	sg__backend *replicas[SG__REPLICAS_MAX]; /* borrowed from sg__backends */
	uint32_t n;
	atomic_uint next; /* the replica of the next call's first attempt (rotation) */
} sg__shard;

typedef struct sg__group {
	char *name;     /* owned */
	char **targets; /* owned copies, one leg each */
	size_t n;
	sg__backend *
	        *legs; /* after connect: legs[i] serves targets[i]; owned array, borrowed items */
	sg__shard *shards; /* after connect: targets[i]'s replicas (legs[i] is the first); owned */
	size_t n_shards;   /* shards' length: n, except between retarget and resolve */
	/* The resilience settings of legs to this group's targets (sg__backends_set_resilience):
	 * the config's override, or those of the first method using the group. */
	sg_resilience_desc resilience;
	bool has_resilience;
	bool resilience_override; /* set by the config: methods' defaults do not replace it */
	sg__tls *tls;             /* owned; NULL: plaintext (sg__backends_set_tls) */
} sg__group;

typedef struct sg__backends {
	sg__group *groups; /* owned */
	size_t n_groups;
	sg__backend *backends; /* after connect; owned */
	size_t n_backends;
	sg__backend *added; /* made by reloads, newest first; owned, each freed at fini */
	/* Largest message a channel receives / sends (0: gRPC's default). */
	size_t max_recv;
	size_t max_send;
} sg__backends;

void sg__backends_init(sg__backends *b);

/* Copies name and targets (borrowed). SG_EEXIST if name is set, SG_EINVAL for an empty or
 * NULL target list, an empty replica ("a||b") or more than SG__REPLICAS_MAX replicas, SG_ESTATE
 * after connect. */
sg_err sg__backends_set_group(sg__backends *b, const char *name, const char *const *targets,
                              size_t n);

/* Calls group `name` over TLS from opts' files (read and checked now: see tls.h). SG_ENOENT
 * if the group is not set, SG_ESTATE after connect; replaces earlier TLS settings. */
sg_err sg__backends_set_tls(sg__backends *b, const char *name, const sg_tls_opts *opts);

/* The group called name, or NULL. Borrowed: valid until fini. */
const sg__group *sg__backends_group(const sg__backends *b, const char *name);

/* The resilience settings (r copied) of group's legs. override: the config's (replaces any);
 * else a method's default, kept only if the group has none yet. Before connect: each target's
 * guard takes the settings of the first group naming it (a reload's new targets, their
 * group's). SG_ENOENT for an unknown group, SG_ESTATE after connect. */
sg_err sg__backends_set_resilience(sg__backends *b, const char *group, const sg_resilience_desc *r,
                                   bool override);

/* Creates the channels, one per distinct replica (plaintext or the group's TLS, with the
 * message limits; gRPC's own retries off: Scatter decides about retrying; round_robin over a
 * target's addresses). A target named by groups with different TLS settings gets one channel
 * per group. */
sg_err sg__backends_connect(sg__backends *b);

/* After connect (reload): replaces the targets of group `name` (copied, checked as
 * sg__backends_set_group does), keeping the old list in *old_targets / *old_n: the caller
 * restores it with sg__backends_restore if the new targets do not fit, or frees it with
 * sg__backends_free_targets. Legs are resolved by sg__backends_resolve. SG_ENOENT for an
 * unknown group. */
sg_err sg__backends_retarget(sg__backends *b, const char *name, const char *const *targets,
                             size_t n, char ***old_targets, size_t *old_n);
void sg__backends_restore(sg__backends *b, const char *name, char **old_targets, size_t old_n);
void sg__backends_free_targets(char **targets, size_t n);

/* After sg__backends_retarget: the group's shards, each replica an existing channel to that
 * target or a new one (connecting at once, with the group's TLS and the message limits). */
sg_err sg__backends_resolve(sg__backends *b, const char *name);

/* A reference on be (any thread); the last release destroys the channel. */
void sg__backend_ref(const sg__backend *be);
void sg__backend_release(const sg__backend *be);

/* Destroys the channels (no call may still use them) and frees everything. */
void sg__backends_fini(sg__backends *b);

#endif
