/*
 * scatter/server.h: one gRPC server serving fan-out methods and leaf methods.
 *
 * Threads: the server runs `threads` workers, each owning one completion queue. A call and all
 * of its legs live on the worker that accepted it, so per-call state has no lock. Everything in
 * this header is called from one controlling thread (typically main), not from handlers.
 *
 * Life cycle: sg_server_alloc -> sg_server_set_group / sg_server_add_* -> sg_server_start ->
 * sg_server_wait_signal (or the caller's own wait) -> sg_server_shutdown -> sg_server_free.
 */
#ifndef SCATTER_SERVER_H
#define SCATTER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/status.h>

#include "scatter/error.h"
#include "scatter/method.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_server sg_server;

typedef struct sg_server_opts {
	/* "host:port" to listen on (plaintext); port 0 lets the OS pick (see sg_server_port).
	 * NULL: "127.0.0.1:0". Borrowed for the duration of sg_server_alloc. */
	const char *listen;
	/* Worker threads (one completion queue each); 0: one per online core. */
	int threads;
	/* Aggregate (fan-out) calls in flight at once, over all workers; a call over it is answered
	 * RESOURCE_EXHAUSTED at once instead of queueing. 0: the default (1024). */
	uint32_t max_calls;
} sg_server_opts;

/* Creates a server; opts may be NULL for the defaults. The caller frees it with
 * sg_server_free. Initialises gRPC (grpc_init) for the server's lifetime.
 * Signals: blocks SIGINT and SIGTERM in the calling thread, before gRPC starts any thread, so
 * that every thread created afterwards (the workers, gRPC's own) inherits the mask and
 * sg_server_wait_signal receives them; and ignores SIGPIPE process-wide. Call it from the main
 * thread before creating other threads. The mask is left blocked after sg_server_free. */
sg_err sg_server_alloc(const sg_server_opts *opts, sg_server **out);

/* Maps backend group `group` to its gRPC targets ("ipv4:127.0.0.1:5001", "dns:///host:port",
 * "unix:/path", or a bare "host:port"); one leg per target. Strings are copied. Before start
 * only; SG_EEXIST if the group is already set, SG_EINVAL for a malformed target list.
 *
 * Replicas: a target may list up to 8 replicas of one shard separated by '|':
 * "ipv4:127.0.0.1:7001|ipv4:127.0.0.1:7002" is ONE leg served by two replicas, each with its
 * own channel. Without hedging or retries, each call's leg goes to the replicas in turn
 * (rotating per call, for balance). With them (Resilience { idempotent: true hedge {} retry {} }
 * in the .proto, or sg_server_set_group_resilience), a hedge or a retry goes to the next
 * replica after the one the leg tried first. A target resolving to several addresses
 * ("dns:///search:7000", "ipv4:127.0.0.1:7001,127.0.0.1:7002") is one replica whose channel
 * balances with round_robin: a hedge on it reaches another address too.
 *
 * Hedging: after the hedge delay, the same request goes to the next replica, the first good
 * answer wins and the other attempt is cancelled; at most one hedge per leg. The delay is
 * Hedge.delay_ms, or adaptive (delay_ms 0): the first replica's live latency percentile
 * (Hedge.percentile, over its last 5-10 s of answers), at least Hedge.min_delay_ms; until that
 * replica has answered 32 times in the window, half the leg's deadline.
 * Retries: a failure with a status in Retry.statuses (default UNAVAILABLE) is tried again
 * (Retry.max_attempts in all) after an exponential backoff with full jitter, only if the wait
 * ends before the leg's deadline. Both draw on the first replica's token budget (gRPC's
 * retryThrottling, gRFC A6: one per replica target; a failure, i.e. a retried status or
 * DEADLINE_EXCEEDED, takes a token, a success gives token_ratio back, extra attempts only while
 * more than half the tokens remain). */
sg_err sg_server_set_group(sg_server *s, const char *group, const char *const *targets,
                           size_t n_targets);

/* Serves fan-out method m (borrowed; must outlive the server: generated tables are static).
 * Checks the table against its descriptors: SG_ECONFIG with a logged reason if it does not
 * fit. The group must be set (sg_server_set_group) by the time sg_server_start runs. */
sg_err sg_server_add_fanout(sg_server *s, const sg_method_desc *m);

/* Leaf methods: a handler receives the decoded request and must end the call exactly once,
 * now or later on the same worker, with sg_leaf_reply* or sg_leaf_fail (scatter/leaf.h). */
typedef struct sg_leaf_call sg_leaf_call;

/* The generated skeletons pass a typed trampoline as `fn` and the user's handler table as
 * `handlers`; `arg` is the user's and is passed through. Both borrowed for the server's life. */
typedef void (*sg_leaf_fn)(sg_leaf_call *call, const ProtobufCMessage *request,
                           const void *handlers, void *arg);

sg_err sg_server_add_leaf(sg_server *s, const sg_leaf_desc *m, sg_leaf_fn fn, const void *handlers,
                          void *arg);

/* ---- Operations: all before sg_server_start unless said otherwise -------------------------- */

/* TLS material, file paths (borrowed for the call; the files are read at once). */
typedef struct sg_tls_opts {
	const char *cert_file; /* PEM certificate chain: the server's, or the client's for mTLS */
	const char *key_file;  /* PEM private key of cert_file */
	const char *ca_file;   /* PEM roots: verifies the peer (clients, or backends) */
	bool require_client_cert; /* listening side only: mutual TLS */
} sg_tls_opts;

/* Serves TLS (and mTLS with require_client_cert and ca_file) on the listen address instead of
 * plaintext. */
sg_err sg_server_set_listen_tls(sg_server *s, const sg_tls_opts *tls);

/* Calls the targets of `group` over TLS: ca_file verifies them, cert_file/key_file (optional)
 * are the aggregator's client certificate for mTLS. */
sg_err sg_server_set_group_tls(sg_server *s, const char *group, const sg_tls_opts *tls);

/* Overrides the resilience settings (breaker, hedging, retries, budget, cap) that the .proto
 * declared, for every leg to `group`. r is copied. */
sg_err sg_server_set_group_resilience(sg_server *s, const char *group, const sg_resilience_desc *r);

/* Incoming metadata keys (lower case) forwarded to backends; nothing else is (no credential
 * leaks by accident). Strings copied. Default: none. */
sg_err sg_server_set_forward_metadata(sg_server *s, const char *const *keys, size_t n_keys);

/* Largest message received / sent, in bytes (0: gRPC's default, 4 MiB in). */
sg_err sg_server_set_message_limits(sg_server *s, size_t max_recv, size_t max_send);

/* Largest size of an answer's scatter-* trailers (scatter/trailer.h), as gRPC counts metadata:
 * key + value + 32 bytes per entry. Past it, legs go without their scatter-leg entry (failures
 * keep theirs first) and the summary counts them (`omitted=N`). 0: the default,
 * SG_TRAILER_LIMIT_DEFAULT (6 KiB), which a client with gRPC's default 8 KiB metadata limit
 * accepts; raise it only for clients that raise theirs (GRPC_ARG_MAX_METADATA_SIZE). Before
 * start only. */
sg_err sg_server_set_trailer_limit(sg_server *s, size_t max_bytes);

/* Serves the admin HTTP port ("host:port", "[v6]:port"; port 0: the OS picks, see
 * sg_server_admin_port): Prometheus /metrics, the live status page at /, its JSON at
 * /status.json. listen is copied; before start only (SG_ESTATE after). It binds in
 * sg_server_start (SG_EBIND there if it cannot, SG_EINVAL if the address does not resolve)
 * and serves until sg_server_shutdown has drained the calls, on two threads of its own (HTTP
 * and a once-a-second sampler). */
sg_err sg_server_set_admin(sg_server *s, const char *listen);

/* The admin port bound by sg_server_start; 0 without one, before start or after shutdown. */
int sg_server_admin_port(const sg_server *s);

/* After start too (SIGHUP): replaces the targets of `group` for calls that start from now on;
 * calls in flight finish on the old ones, and a channel no target names any more is closed when
 * its last call ends. Strings copied. The methods calling the group must fit the new targets
 * (group_size, one target per heterogeneous leg, what the gather needs): SG_ECONFIG (logged)
 * otherwise, and the old targets stay. SG_ENOENT for a group never set. Blocks the caller for
 * at most microseconds (workers are not stopped). */
sg_err sg_server_reload_group(sg_server *s, const char *group, const char *const *targets,
                              size_t n_targets);

/* What grpc.health.v1.Health (served on the same port as the methods: Check and Watch) says:
 * SERVING (the default) or NOT_SERVING, for the server and every service it serves. Any time;
 * sg_server_shutdown sets NOT_SERVING itself and ends the Watch streams. Use it to leave a
 * load balancer's rotation before draining (sg_main_run's drain.lame_duck_ms). */
void sg_server_set_serving(sg_server *s, bool serving);

/* Binds, starts the workers and begins serving. SG_EBIND if the address cannot be bound,
 * SG_ECONFIG if a fan-out method's group has no targets. */
sg_err sg_server_start(sg_server *s);

/* The bound port (after a successful start), e.g. when listening on port 0. */
int sg_server_port(const sg_server *s);

/* Blocks until SIGINT or SIGTERM arrives (sigwait: they stay blocked, see sg_server_alloc),
 * then returns so that the caller can shut down. */
void sg_server_wait_signal(sg_server *s);

/* Drains: health turns NOT_SERVING (Watch streams say so and end), the server stops accepting
 * (new connections are refused, new calls on open ones fail UNAVAILABLE), calls in flight
 * finish on their own within grace_ms, and the rest are cancelled then. Joins the workers.
 * Idempotent. */
void sg_server_shutdown(sg_server *s, uint32_t grace_ms);

/* Shuts down if needed, then frees everything. NULL is a no-op. */
void sg_server_free(sg_server *s);

/* Counters since start, read with relaxed atomics (for tests and tools). Every server also
 * answers them over gRPC at /scatter.Stats/Get (proto/scatter/stats.proto), a built-in leaf
 * method: a user method cannot take that path (SG_EEXIST), and its own calls are not counted
 * (reading the counters does not change them). */
typedef struct sg_server_stats {
	uint64_t calls_started;   /* fan-out + leaf calls accepted */
	uint64_t calls_cancelled; /* calls the client cancelled (or whose deadline passed) before
	                             they were answered */
	uint64_t legs_started;
	uint64_t legs_failed;    /* legs that ended non-OK by themselves */
	uint64_t legs_cancelled; /* legs the gather cut short (first_n, quorum, best_effort,
	                            quality: once it had what it needed) */
	uint64_t hedges_sent; /* hedge attempts sent (idempotent legs, see sg_server_set_group) */
	uint64_t hedges_won;  /* ... whose answer was the leg's */
	uint64_t retries;     /* retry attempts sent */
	uint64_t calls_rejected; /* fan-out calls answered RESOURCE_EXHAUSTED at once: max_calls
	                            were in flight */
	uint64_t legs_refused;   /* legs failed without a call by their target's guard: breaker
	                            open ("circuit open") or over max_in_flight */
} sg_server_stats;

void sg_server_stats_get(const sg_server *s, sg_server_stats *out);

#ifdef __cplusplus
}
#endif

#endif
