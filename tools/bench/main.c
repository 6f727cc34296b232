/*
 * scatter-bench: load for any search.Search endpoint, or named scenarios with their servers.
 *
 *   scatter-bench --scenario NAME [options]     start NAME's shards and aggregator, load, stop
 *   scatter-bench --target HOST:PORT [options]  load a running endpoint (--pid for its CPU)
 *   scatter-bench --fanout-targets H:P,H:P,... --method M [options]
 *                                               call M on every target at once per "call"
 *   scatter-bench --list                        the scenarios
 *
 * Prints one JSON line per run on stdout (see README.md for the fields); diagnostics go to
 * stderr. Exit status: 0 when the run completed (errors, if any, are in the JSON), 1 when it
 * could not run, 2 for bad usage, 130 when interrupted.
 *
 * Pinning (on 2+ cores, unless --no-pin): this process and the shards on CPU 0, the aggregator
 * on CPU 1, so that the aggregator's CPU time is its own and the shards and load never take
 * its core. The table scenarios' fan-out floor runs as a child scatter-bench on CPU 1 too,
 * before the aggregator is loaded (it is idle then).
 */
#define _GNU_SOURCE /* sched_setaffinity */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grpc/grpc.h>

#include "scatter/client.h"
#include "scatter/stats.pb-c.h"
#include "scatter/trailer.h"

#include "load.h"
#include "procs.h"
#include "scenario.h"

#define BENCH_START_TIMEOUT_MS 10000
#define BENCH_STOP_TIMEOUT_MS  5000
#define BENCH_TARGETS_MAX      (PROCS_MAX * 64)

typedef struct bench_opts {
	const char *scenario;
	const char *target;
	const char *fanout; /* --fanout-targets as given: the JSON's "target" */
	char *fanout_buf;   /* its copy, cut at the commas into fanout_targets (owned) */
	const char **fanout_targets;
	size_t n_fanout;
	const char *method;
	const char *label;
	pid_t pid;
	load_opts load;
	int concurrency_set, rate_set;
	uint32_t legs;
	uint32_t agg_threads;
	uint32_t shard_nice; /* the shards' nice(1) increment */
	int pin;
	int count_allocs;
	const char *shard_bin, *agg_bin, *bench_agg_bin, *leaf_bin;
} bench_opts;

/* Set by SIGINT/SIGTERM; the load loop polls it. A second signal kills the children and exits
 * at once. */
static volatile sig_atomic_t bench_stop;

/* --count-allocs: the counters the first aggregator's shim shares (alloccount.h). */
static alloccount_shared *bench_allocs;
static char bench_allocs_path[64];

static void bench_on_signal(int sig)
{
	(void)sig;
	if (bench_stop) {
		procs_kill_all();
		_exit(130);
	}
	bench_stop = 1;
}

static void bench_cleanup(void)
{
	procs_stop_all(BENCH_STOP_TIMEOUT_MS);
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: scatter-bench --scenario NAME | --target HOST:PORT\n"
	        "                     | --fanout-targets HOST:PORT,HOST:PORT,... | --list "
	        "[options]\n"
	        "  --fanout-targets L   call --method on every target of L directly, all at once: "
	        "a\n"
	        "                       \"call\" is the group, its latency the slowest one's "
	        "(closed\n"
	        "                       loop only; the table scenarios' floor)\n"
	        "  --method PATH        gRPC method (default /search.Search/Query)\n"
	        "  --pid PID            with --target: the process whose CPU time and RSS to "
	        "sample\n"
	        "  --label NAME         with --target or --fanout-targets: the \"scenario\" field "
	        "of\n"
	        "                       the JSON line\n"
	        "  --concurrency C      closed loop: C calls in flight (scenario's default, or 8)\n"
	        "  --rate R             open loop: R calls per second, latency from the schedule\n"
	        "  --max-in-flight N    open loop: at most N calls outstanding (default 4096)\n"
	        "  --warmup-s S         not measured (default 0.5)\n"
	        "  --duration-s S       the measured window after warm-up (default 1.5)\n"
	        "  --count N            end the window after N calls (still bounded by time)\n"
	        "  --deadline-ms MS     per call (default 5000)\n"
	        "  --query Q  --k K     the SearchRequest (default \"bench\", 10)\n"
	        "  --legs N             fanout-* scenarios: legs per call\n"
	        "  --agg-threads T      aggregator worker threads (default 1: it has one core)\n"
	        "  --no-pin             do not pin processes to cores\n"
	        "  --shard-nice N       scenarios: the shards' nice level (default 10; 0: none)\n"
	        "                       so the generator on their core is not queued behind\n"
	        "                       their bursts\n"
	        "  --count-allocs       scenarios: count the aggregator's heap allocations "
	        "(LD_PRELOAD shim)\n"
	        "  --shard-bin P  --agg-bin P  --bench-agg-bin P  --leaf-bin P   server "
	        "binaries\n");
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_double(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end != '\0' || !(v >= 0) || v > 86400)
		return -1;
	*out = v;
	return 0;
}

/* Cuts --fanout-targets' value into o->fanout_targets; -1 for an empty target or too many. */
static int parse_fanout(const char *v, bench_opts *o)
{
	size_t n = 1;
	char *p;

	for (const char *c = v; *c != '\0'; c++)
		n += *c == ',';
	if (n > BENCH_TARGETS_MAX)
		return -1;
	free(o->fanout_buf);
	free(o->fanout_targets);
	o->fanout_buf = strdup(v);
	o->fanout_targets = calloc(n, sizeof(*o->fanout_targets));
	if (o->fanout_buf == NULL || o->fanout_targets == NULL)
		return -1;
	o->fanout = v;
	o->n_fanout = 0;
	for (p = o->fanout_buf;; p++) {
		char *comma = strchr(p, ',');

		if (comma != NULL)
			*comma = '\0';
		if (*p == '\0')
			return -1;
		o->fanout_targets[o->n_fanout++] = p;
		if (comma == NULL)
			return 0;
		p = comma;
	}
}

/* Fills o from argv; returns 0, or the exit status for a usage error (2) or --list/--help (0
 * with *done set). */
static int parse_args(int argc, char **argv, bench_opts *o, int *done)
{
	for (int i = 1; i < argc; i++) {
		const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint32_t u = 0;
		int bad = 0;

		if (strcmp(f, "--list") == 0) {
			size_t n;
			const scenario *s = scenario_all(&n);

			for (size_t j = 0; j < n; j++)
				printf("%-12s %s\n", s[j].name, s[j].what);
			*done = 1;
			return 0;
		}
		if (strcmp(f, "--help") == 0 || strcmp(f, "-h") == 0) {
			usage(stdout);
			*done = 1;
			return 0;
		}
		if (strcmp(f, "--count-allocs") == 0) {
			o->count_allocs = 1;
			continue;
		}
		if (strcmp(f, "--no-pin") == 0) {
			o->pin = 0;
			continue;
		}
		if (v == NULL) {
			fprintf(stderr, "scatter-bench: %s needs a value\n", f);
			return 2;
		}
		i++;
		if (strcmp(f, "--scenario") == 0)
			o->scenario = v;
		else if (strcmp(f, "--target") == 0)
			o->target = v;
		else if (strcmp(f, "--fanout-targets") == 0)
			bad = parse_fanout(v, o) != 0;
		else if (strcmp(f, "--method") == 0)
			o->method = v;
		else if (strcmp(f, "--label") == 0)
			o->label = v;
		else if (strcmp(f, "--query") == 0)
			o->load.query = v;
		else if (strcmp(f, "--shard-nice") == 0)
			bad = parse_u32(v, &o->shard_nice) != 0 || o->shard_nice > 19;
		else if (strcmp(f, "--shard-bin") == 0)
			o->shard_bin = v;
		else if (strcmp(f, "--agg-bin") == 0)
			o->agg_bin = v;
		else if (strcmp(f, "--bench-agg-bin") == 0)
			o->bench_agg_bin = v;
		else if (strcmp(f, "--leaf-bin") == 0)
			o->leaf_bin = v;
		else if (strcmp(f, "--pid") == 0)
			bad = parse_u32(v, &u) != 0 || u == 0 || (o->pid = (pid_t)u) == 0;
		else if (strcmp(f, "--concurrency") == 0)
			bad = parse_u32(v, &o->load.concurrency) != 0 || o->load.concurrency == 0 ||
			      o->load.concurrency > 100000 || !(o->concurrency_set = 1);
		else if (strcmp(f, "--rate") == 0)
			bad = parse_double(v, &o->load.rate) != 0 || o->load.rate > 1e6 ||
			      !(o->rate_set = 1);
		else if (strcmp(f, "--max-in-flight") == 0)
			bad = parse_u32(v, &o->load.max_in_flight) != 0 ||
			      o->load.max_in_flight == 0 || o->load.max_in_flight > 1000000;
		else if (strcmp(f, "--warmup-s") == 0)
			bad = parse_double(v, &o->load.warmup_s) != 0;
		else if (strcmp(f, "--duration-s") == 0)
			bad = parse_double(v, &o->load.duration_s) != 0 || o->load.duration_s <= 0;
		else if (strcmp(f, "--count") == 0)
			bad = parse_u32(v, &u) != 0 || (o->load.count = u) == 0;
		else if (strcmp(f, "--deadline-ms") == 0)
			bad = parse_u32(v, &o->load.deadline_ms) != 0 || o->load.deadline_ms == 0;
		else if (strcmp(f, "--k") == 0)
			bad = parse_u32(v, &o->load.k) != 0;
		else if (strcmp(f, "--legs") == 0)
			bad = parse_u32(v, &o->legs) != 0 || o->legs == 0 ||
			      o->legs > BENCH_TARGETS_MAX;
		else if (strcmp(f, "--agg-threads") == 0)
			bad = parse_u32(v, &o->agg_threads) != 0 || o->agg_threads > 256;
		else {
			fprintf(stderr, "scatter-bench: unknown flag %s\n", f);
			usage(stderr);
			return 2;
		}
		if (bad) {
			fprintf(stderr, "scatter-bench: bad value for %s: %s\n", f, v);
			return 2;
		}
	}
	if ((o->scenario != NULL) + (o->target != NULL) + (o->fanout != NULL) != 1) {
		usage(stderr);
		return 2;
	}
	if (o->fanout != NULL && o->rate_set) {
		fprintf(stderr, "scatter-bench: --fanout-targets runs a closed loop only: use "
		                "--concurrency, not --rate\n");
		return 2;
	}
	return 0;
}

/* Pins the calling thread, and so every thread it creates later, to cpu. */
static void pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		perror("scatter-bench: sched_setaffinity");
}

static void json_us(const char *key, double us)
{
	printf(",\"%s\":%.1f", key, us);
}

static void json_us_or_null(const char *key, double us, int known)
{
	if (known)
		json_us(key, us);
	else
		printf(",\"%s\":null", key);
}

/* A share (0..1, or cores), three decimals, or null. */
static void json_share_or_null(const char *key, double v, int known)
{
	if (known)
		printf(",\"%s\":%.3f", key, v);
	else
		printf(",\"%s\":null", key);
}

/* A JSON string body: the few characters JSON forbids raw are escaped, others kept. */
static void json_str(const char *key, const char *s)
{
	printf(",\"%s\":\"", key);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned)(unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static double q_us(const hist *h, double q)
{
	return (double)hist_quantile(h, q) / 1000.0;
}

/* A hedge scenario's side of a run: hedging off or on, and what the aggregator counted. */
typedef struct hedge_info {
	const char *mode; /* "off" or "on" */
	uint64_t legs;    /* legs the aggregator started during the run (warm-up included) */
	uint64_t sent;    /* hedges it sent, and won, during the run */
	uint64_t won;
} hedge_info;

/* The fan-out floor, as read from the child's JSON line. */
typedef struct fanout_floor {
	int known; /* 0: not measured (open loop), the floor fields are null */
	double p50_us, p99_us;
	uint64_t calls, errors;
} fanout_floor;

/* The fields of one JSON line, without its closing brace: r is the main load, ff the fan-out
 * floor and fl the single-shard floor (both NULL without a floor). */
static void json_fields(const char *name, const load_opts *lo, uint32_t shards,
                        const load_result *r, const fanout_floor *ff, const load_result *fl)
{
	uint32_t legs = r->legs;
	int cpu_known = r->cpu_us >= 0 && r->done_in_window > 0;
	double cpu_call = cpu_known ? (double)r->cpu_us / (double)r->done_in_window : 0;
	int stat_known = r->cpu_stat_us >= 0 && r->done_in_window > 0;
	int rss_known = r->rss_idle_kb >= 0 && r->rss_peak_kb >= 0;

	printf("{\"scenario\":\"%s\"", name);
	json_str("target", lo->target);
	json_str("method", lo->method);
	printf(",\"loop\":\"%s\",\"concurrency\":%" PRIu32 ",\"rate\":%.1f",
	       lo->rate > 0 ? "open" : "closed", lo->rate > 0 ? 0 : lo->concurrency, lo->rate);
	printf(",\"shards\":%" PRIu32 ",\"legs\":%" PRIu32, shards, legs);
	printf(",\"warmup_s\":%.2f,\"window_s\":%.3f", lo->warmup_s, r->window_s);
	printf(",\"calls\":%" PRIu64 ",\"qps\":%.1f", r->calls, r->qps);
	json_us("p50_us", q_us(&r->lat, 0.50));
	json_us("p90_us", q_us(&r->lat, 0.90));
	json_us("p99_us", q_us(&r->lat, 0.99));
	json_us("p999_us", q_us(&r->lat, 0.999));
	json_us("max_us", (double)r->lat.max / 1000.0);
	if (r->slowest_leg.count > 0) {
		json_us("slowest_leg_p50_us", q_us(&r->slowest_leg, 0.50));
		json_us("slowest_leg_p99_us", q_us(&r->slowest_leg, 0.99));
		json_us("beyond_slowest_leg_p50_us", q_us(&r->beyond_leg, 0.50));
		json_us("beyond_slowest_leg_p99_us", q_us(&r->beyond_leg, 0.99));
	}
	printf(",\"errors\":%" PRIu64 ",\"partial\":%" PRIu64, r->errors, r->partial);
	if (lo->rate > 0)
		printf(",\"late\":%" PRIu64 ",\"send_lag_max_us\":%" PRId64, r->late,
		       r->lag_max_us);
	json_us_or_null("agg_cpu_us_per_call", cpu_call, cpu_known);
	json_us_or_null("agg_cpu_us_per_leg", legs > 0 ? cpu_call / legs : 0,
	                cpu_known && legs > 0);
	/* The aggregator's CPU time over the window, in cores: 1.0 is a core saturated. */
	json_share_or_null("agg_cpu_cores",
	                   cpu_known && r->window_s > 0 ? (double)r->cpu_us / 1e6 / r->window_s : 0,
	                   cpu_known && r->window_s > 0);
	json_share_or_null("load_core_busy", r->busy_cpu, r->busy_cpu >= 0);
	json_us_or_null("agg_cpu_stat_us_per_call",
	                stat_known ? (double)r->cpu_stat_us / (double)r->done_in_window : 0,
	                stat_known);
	if (rss_known)
		printf(",\"agg_rss_idle_kb\":%ld,\"agg_rss_peak_kb\":%ld", r->rss_idle_kb,
		       r->rss_peak_kb);
	else
		printf(",\"agg_rss_idle_kb\":null,\"agg_rss_peak_kb\":null");
	/* Closed loop only: there the calls in flight are known (the concurrency). */
	json_us_or_null("agg_rss_kb_per_call_in_flight",
	                rss_known && lo->rate == 0
	                        ? (double)(r->rss_peak_kb - r->rss_idle_kb) / lo->concurrency
	                        : 0,
	                rss_known && lo->rate == 0);
	json_us_or_null("gen_cpu_us_per_call",
	                r->done_in_window > 0 ? (double)r->self_cpu_us / (double)r->done_in_window
	                                      : 0,
	                r->done_in_window > 0);
	if (ff != NULL && ff->known) {
		json_us("floor_p50_us", ff->p50_us);
		json_us("floor_p99_us", ff->p99_us);
		printf(",\"floor_calls\":%" PRIu64 ",\"floor_errors\":%" PRIu64, ff->calls,
		       ff->errors);
		json_us("overhead_p50_us", q_us(&r->lat, 0.50) - ff->p50_us);
		json_us("overhead_p99_us", q_us(&r->lat, 0.99) - ff->p99_us);
	} else if (ff != NULL) {
		printf(",\"floor_p50_us\":null,\"floor_p99_us\":null,\"floor_calls\":null"
		       ",\"floor_errors\":null,\"overhead_p50_us\":null,\"overhead_p99_us\":null");
	}
	if (fl != NULL) {
		json_us("floor_single_p50_us", q_us(&fl->lat, 0.50));
		json_us("floor_single_p99_us", q_us(&fl->lat, 0.99));
		printf(",\"floor_single_calls\":%" PRIu64 ",\"floor_single_errors\":%" PRIu64,
		       fl->calls, fl->errors);
		json_us("overhead_single_p50_us", q_us(&r->lat, 0.50) - q_us(&fl->lat, 0.50));
		json_us("overhead_single_p99_us", q_us(&r->lat, 0.99) - q_us(&fl->lat, 0.99));
	}
	if (r->allocs >= 0 && r->done_in_window > 0 && bench_allocs != NULL) {
		double calls = (double)r->done_in_window, all = 0;

		printf(",\"agg_allocs_per_call\":%.1f,\"agg_reallocs_per_call\":%.1f"
		       ",\"agg_frees_per_call\":%.1f,\"agg_alloc_bytes_per_call\":%.0f",
		       (double)r->allocs / calls, (double)r->reallocs / calls,
		       (double)r->frees / calls, (double)r->alloc_bytes / calls);
		json_us_or_null("agg_allocs_per_leg",
		                legs > 0 ? (double)r->allocs / calls / legs : 0, legs > 0);
		/* Share of the sampled allocations per object: the executable is libscatter and the
		 * aggregator's code; libgrpc is gRPC core. */
		for (int i = 0; i < ALLOCCOUNT_OBJS; i++)
			all += (double)r->alloc_samples[i];
		printf(",\"agg_alloc_samples\":%.0f,\"agg_alloc_by_pct\":{", all);
		for (int i = 0, first = 1; i < ALLOCCOUNT_OBJS && all > 0; i++) {
			if (r->alloc_samples[i] == 0)
				continue;
			printf("%s\"%s\":%.1f", first ? "" : ",", bench_allocs->objs[i].name,
			       100.0 * (double)r->alloc_samples[i] / all);
			first = 0;
		}
		printf("}");
	}
	if (r->errors > 0) {
		json_str("first_error", sg_status_name(r->first_error));
		json_str("first_error_message", r->first_error_msg);
	}
	if (r->interrupted)
		printf(",\"interrupted\":true");
}

/* The one JSON line of a run. */
static void json_print(const char *name, const load_opts *lo, uint32_t shards, const load_result *r,
                       const fanout_floor *ff, const load_result *fl)
{
	json_fields(name, lo, shards, r, ff, fl);
	printf("}\n");
	fflush(stdout);
}

/* The JSON line of one side of a hedge scenario: the fields above, then the hedging ones. */
static void json_print_hedge(const char *name, const load_opts *lo, uint32_t shards,
                             const load_result *r, const hedge_info *hi)
{
	json_fields(name, lo, shards, r, NULL, NULL);
	printf(",\"hedging\":\"%s\",\"agg_legs\":%" PRIu64 ",\"hedges_sent\":%" PRIu64
	       ",\"hedges_won\":%" PRIu64,
	       hi->mode, hi->legs, hi->sent, hi->won);
	json_us_or_null("hedges_pct_of_legs",
	                hi->legs > 0 ? 100.0 * (double)hi->sent / (double)hi->legs : 0,
	                hi->legs > 0);
	printf("}\n");
	fflush(stdout);
}

/* Where a scenario's shards listen. */
typedef struct shard_addrs {
	char list[PROCS_MAX * 40];   /* one target per shard, its replicas joined by '|' */
	char firsts[PROCS_MAX * 24]; /* each shard's first process, comma-separated */
	char slowest[64];            /* the slowest shard's (first) address */
} shard_addrs;

/* Starts the scenario's shards (CPU 0), sc->replicas processes per shard, and fills *a. */
static int start_shards(const bench_opts *o, const scenario *sc, shard_addrs *a)
{
	uint32_t slowest = 0, reps = sc->replicas > 0 ? sc->replicas : 1;
	int shard_cpu = o->pin ? 0 : -1;
	size_t used = 0, used_firsts = 0;

	if (sc->n_shards * reps + (sc->hedge_flags != NULL ? 2 : 1) > PROCS_MAX) {
		fprintf(stderr, "scatter-bench: %s: too many processes\n", sc->name);
		return -1;
	}
	a->list[0] = a->firsts[0] = '\0';
	for (uint32_t i = 0; i < sc->n_shards * reps; i++) {
		uint32_t shard = i / reps, lat = sc->latency_ms[shard % sc->n_latency];
		char id[16], lat_s[16], pm[16], sm[16], seed[16];
		int straggler_leaf = sc->leaf == SCENARIO_LEAF_STRAGGLER;
		const char *bin = straggler_leaf ? o->leaf_bin : o->shard_bin;
		/* search-shard takes whole percents, scatter-bench-leaf permille. */
		const char *straggle = straggler_leaf              ? "--straggle-permille"
		                       : sc->straggle_permille > 0 ? "--straggler-pct"
		                                                   : NULL;
		char *argv[] = {(char *)bin, "--shard-id", id, "--listen", "127.0.0.1:0",
		                "--latency-ms", lat_s, "--threads", "1", (char *)straggle, pm,
		                straggler_leaf ? "--straggle-ms" : "--straggler-ms", sm,
		                /* search-shard: each process its own draws, replicas too */
		                straggler_leaf ? NULL : "--straggler-seed", seed, NULL};
		proc_info p;

		snprintf(id, sizeof(id), "%" PRIu32, shard);
		snprintf(lat_s, sizeof(lat_s), "%" PRIu32, lat);
		snprintf(pm, sizeof(pm), "%" PRIu32,
		         straggler_leaf ? sc->straggle_permille : sc->straggle_permille / 10);
		snprintf(sm, sizeof(sm), "%" PRIu32, sc->straggle_ms);
		snprintf(seed, sizeof(seed), "%" PRIu32, i);
		if (procs_start(argv, shard_cpu, (int)o->shard_nice, BENCH_START_TIMEOUT_MS, &p) !=
		    0)
			return -1;
		used += (size_t)snprintf(a->list + used, sizeof(a->list) - used, "%s%s%s",
		                         i == 0          ? ""
		                         : i % reps == 0 ? ","
		                                         : "|",
		                         reps > 1 ? "ipv4:" : "", p.addr);
		if (i % reps != 0)
			continue;
		used_firsts +=
		        (size_t)snprintf(a->firsts + used_firsts, sizeof(a->firsts) - used_firsts,
		                         "%s%s", i == 0 ? "" : ",", p.addr);
		if (i == 0 || lat > slowest) {
			slowest = lat;
			snprintf(a->slowest, sizeof(a->slowest), "%s", p.addr);
		}
	}
	return 0;
}

static void allocs_unlink(void)
{
	if (bench_allocs_path[0] != '\0')
		unlink(bench_allocs_path);
}

/* Creates and maps the counters file and points the next child's environment at the shim. */
static int allocs_prepare(void)
{
	int fd;
	void *m;

	snprintf(bench_allocs_path, sizeof(bench_allocs_path), "/tmp/scatter-alloccount-XXXXXX");
	if ((fd = mkstemp(bench_allocs_path)) < 0) {
		bench_allocs_path[0] = '\0';
		perror("scatter-bench: mkstemp");
		return -1;
	}
	atexit(allocs_unlink);
	if (ftruncate(fd, sizeof(alloccount_shared)) != 0 ||
	    (m = mmap(NULL, sizeof(alloccount_shared), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	              0)) == MAP_FAILED) {
		perror("scatter-bench: counters file");
		close(fd);
		return -1;
	}
	close(fd);
	bench_allocs = m;
	setenv("ALLOCCOUNT_FILE", bench_allocs_path, 1);
	setenv("LD_PRELOAD", BENCH_ALLOCCOUNT_LIB, 1);
	return 0;
}

/* Starts the aggregator (CPU 1) over shard_list, with extra flags (NULL-terminated, or NULL);
 * fills its address and pid. */
static int start_agg(const bench_opts *o, const scenario *sc, char *shard_list,
                     const char *const *extra, char *agg_addr, size_t agg_len, pid_t *agg_pid)
{
	int agg_cpu = o->pin ? 1 : -1, bench_agg = sc->agg == SCENARIO_AGG_BENCH;
	char legs[16], threads[16];
	char *argv[32] = {bench_agg ? (char *)o->bench_agg_bin : (char *)o->agg_bin,
	                  "--shards",
	                  shard_list,
	                  "--listen",
	                  "127.0.0.1:0",
	                  "--threads",
	                  threads};
	size_t n = 7;
	proc_info agg;
	int rv;

	snprintf(legs, sizeof(legs), "%" PRIu32,
	         o->legs > 0    ? o->legs
	         : sc->legs > 0 ? sc->legs
	                        : sc->n_shards);
	snprintf(threads, sizeof(threads), "%" PRIu32, o->agg_threads);
	if (bench_agg) {
		argv[n++] = "--legs";
		argv[n++] = legs;
	}
	for (size_t i = 0; extra != NULL && extra[i] != NULL && n + 1 < 32; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	/* Only the first aggregator gets the shim, and no shard. */
	if (o->count_allocs && bench_allocs == NULL && allocs_prepare() != 0)
		return -1;
	rv = procs_start(argv, agg_cpu, 0, BENCH_START_TIMEOUT_MS, &agg);
	unsetenv("LD_PRELOAD");
	unsetenv("ALLOCCOUNT_FILE");
	if (rv != 0)
		return -1;
	if (o->count_allocs && atomic_load(&bench_allocs->magic) != ALLOCCOUNT_MAGIC) {
		fprintf(stderr, "scatter-bench: the allocation-counting shim did not load\n");
		return -1;
	}
	snprintf(agg_addr, agg_len, "%s", agg.addr);
	*agg_pid = agg.pid;
	return 0;
}

/* The aggregator's /scatter.Stats/Get counters; zeroes when it does not answer. */
static void agg_stats(const char *addr, Scatter__ServerStats *out)
{
	Scatter__StatsRequest req = SCATTER__STATS_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	sg_client *c = NULL;

	scatter__server_stats__init(out);
	if (sg_client_open(addr, &c) == SG_OK &&
	    sg_client_call(c, "/scatter.Stats/Get", &req.base, &scatter__server_stats__descriptor,
	                   5000, &resp, NULL) == SG_OK) {
		*out = *(Scatter__ServerStats *)resp;
		out->base.unknown_fields = NULL;
		out->base.n_unknown_fields = 0;
		protobuf_c_message_free_unpacked(resp, NULL);
	}
	sg_client_close(c);
}

/* Hedging off, then on: the same load against each aggregator; both JSON lines, then one line
 * comparing them (on stderr, so that stdout stays JSON lines). */
static int run_hedge_pair(const load_opts *base, const scenario *sc, char addrs[2][64],
                          const pid_t pids[2], load_result *r)
{
	static const char *const mode[2] = {"off", "on"};
	double p50[2] = {0}, p99[2] = {0}, pct[2] = {0};
	uint64_t sent[2] = {0}, won[2] = {0};
	char name[64];

	for (int i = 0; i < 2 && !bench_stop; i++) {
		Scatter__ServerStats before, after;
		load_opts lo = *base;
		hedge_info hi;

		lo.target = addrs[i];
		lo.cpu_pid = pids[i];
		lo.allocs = i == 0 ? bench_allocs : NULL;
		memset(r, 0, sizeof(*r));
		agg_stats(addrs[i], &before);
		if (load_run(&lo, r) != 0)
			return 1;
		agg_stats(addrs[i], &after);
		hi.mode = mode[i];
		hi.legs = after.legs_started - before.legs_started;
		hi.sent = sent[i] = after.hedges_sent - before.hedges_sent;
		hi.won = won[i] = after.hedges_won - before.hedges_won;
		pct[i] = hi.legs > 0 ? 100.0 * (double)hi.sent / (double)hi.legs : 0;
		p50[i] = q_us(&r->lat, 0.50) / 1000.0;
		p99[i] = q_us(&r->lat, 0.99) / 1000.0;
		snprintf(name, sizeof(name), "%s-%s", sc->name, mode[i]);
		json_print_hedge(name, &lo, sc->n_shards, r, &hi);
		if (r->interrupted)
			return 130;
	}
	if (bench_stop)
		return 130;
	fprintf(stderr,
	        "%s: hedging off -> on: p50 %.2f -> %.2f ms, p99 %.2f -> %.2f ms; hedges %" PRIu64
	        " (%.2f%% of legs), won %" PRIu64 "\n",
	        sc->name, p50[0], p50[1], p99[0], p99[1], sent[1], pct[1], won[1]);
	return 0;
}

/* The number after "key": in a JSON line; -1 when absent or not a number (null). */
static int json_number(const char *line, const char *key, double *out)
{
	char pat[64];
	const char *p;
	char *end;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(line, pat)) == NULL)
		return -1;
	p += strlen(pat);
	*out = strtod(p, &end);
	return end == p ? -1 : 0;
}

/* The fan-out floor: a child scatter-bench (this executable) in --fanout-targets mode, calling
 * every shard of targets (comma-separated) directly and at once under lo's load, from the
 * aggregator's core (CPU 1 when pinning: the aggregator is idle meanwhile). Fills *ff from the
 * child's JSON line. Open loops are not measured (ff->known = 0). Returns 0, or -1 (reason on
 * stderr) when the child failed or was stopped. */
static int run_fanout_floor(const bench_opts *o, const scenario *sc, const load_opts *lo,
                            char *targets, fanout_floor *ff)
{
	char exe[64], conc[16], warm[32], dur[32], dl[16], k[16], count[24], label[80];
	char *argv[24] = {exe,
	                  "--fanout-targets",
	                  targets,
	                  "--method",
	                  "/search.Shard/Search",
	                  "--concurrency",
	                  conc,
	                  "--warmup-s",
	                  warm,
	                  "--duration-s",
	                  dur,
	                  "--deadline-ms",
	                  dl,
	                  "--query",
	                  (char *)lo->query,
	                  "--k",
	                  k,
	                  "--label",
	                  label};
	size_t n = 19;
	/* The child bounds itself (load.h): probe, warm-up, window, drain, cancel; 15 s more for
	 * starting and stopping. */
	double window_ms = lo->count > 0 ? 600e3 : lo->duration_s * 1e3;
	double bound_ms = lo->warmup_s * 1e3 + window_ms + 2.0 * lo->deadline_ms + 15e3;
	int timeout_ms = bound_ms < INT_MAX ? (int)bound_ms : INT_MAX;
	double v[4];
	char out[8192];
	int status;

	memset(ff, 0, sizeof(*ff));
	if (lo->rate > 0) {
		fprintf(stderr,
		        "scatter-bench: %s: open loop: no fan-out floor (closed loop only)\n",
		        sc->name);
		return 0;
	}
	/* Not /proc/self/exe: under taskset that would name taskset. */
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)getpid());
	snprintf(conc, sizeof(conc), "%" PRIu32, lo->concurrency);
	snprintf(warm, sizeof(warm), "%.17g", lo->warmup_s);
	snprintf(dur, sizeof(dur), "%.17g", lo->duration_s);
	snprintf(dl, sizeof(dl), "%" PRIu32, lo->deadline_ms);
	snprintf(k, sizeof(k), "%" PRIu32, lo->k);
	snprintf(count, sizeof(count), "%" PRIu64, lo->count);
	snprintf(label, sizeof(label), "%s-floor", sc->name);
	if (lo->count > 0) {
		argv[n++] = "--count";
		argv[n++] = count;
	}
	argv[n] = NULL;
	status = procs_run(argv, o->pin ? 1 : -1, timeout_ms, &bench_stop, out, sizeof(out));
	if (bench_stop)
		return -1;
	if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "scatter-bench: %s: the fan-out floor did not run (status %d)\n",
		        sc->name, status);
		return -1;
	}
	if (json_number(out, "p50_us", &v[0]) != 0 || json_number(out, "p99_us", &v[1]) != 0 ||
	    json_number(out, "calls", &v[2]) != 0 || json_number(out, "errors", &v[3]) != 0) {
		fprintf(stderr, "scatter-bench: %s: the fan-out floor's line lacks a field: %s\n",
		        sc->name, out);
		return -1;
	}
	ff->known = 1;
	ff->p50_us = v[0];
	ff->p99_us = v[1];
	ff->calls = (uint64_t)v[2];
	ff->errors = (uint64_t)v[3];
	if (ff->errors > 0)
		fprintf(stderr, "scatter-bench: %s: fan-out floor errors: %s", sc->name, out);
	return 0;
}

static int run_scenario(bench_opts *o, const scenario *sc)
{
	static shard_addrs shards;
	char agg_addr[2][64];
	load_opts lo = o->load, fo;
	load_result *r = calloc(1, sizeof(*r)), *fl = calloc(1, sizeof(*fl));
	fanout_floor ff = {0};
	pid_t agg_pid[2] = {0, 0};
	int rv = 1;

	if (r == NULL || fl == NULL)
		goto out;
	/* The servers' info lines would bury the JSON; warnings and errors still show. */
	setenv("SCATTER_LOG", "warn", 0);
	if (!o->concurrency_set && !o->rate_set) {
		lo.concurrency = sc->concurrency;
		lo.rate = sc->rate;
	}
	if (start_shards(o, sc, &shards) != 0 ||
	    start_agg(o, sc, shards.list, NULL, agg_addr[0], sizeof(agg_addr[0]), &agg_pid[0]) != 0)
		goto out;
	if (sc->hedge_flags != NULL && start_agg(o, sc, shards.list, sc->hedge_flags, agg_addr[1],
	                                         sizeof(agg_addr[1]), &agg_pid[1]) != 0)
		goto out;
	/* The fan-out floor first, and before grpc_init: the child is forked from a process
	 * without gRPC's threads. */
	if (sc->floor && run_fanout_floor(o, sc, &lo, shards.firsts, &ff) != 0)
		goto out;
	grpc_init();
	lo.method = o->method;
	if (sc->hedge_flags != NULL) {
		rv = run_hedge_pair(&lo, sc, agg_addr, agg_pid, r);
		goto shutdown;
	}
	if (sc->floor) {
		/* The single-shard floor: the slowest shard alone under the same load. */
		fo = lo;
		fo.target = shards.slowest;
		fo.method = "/search.Shard/Search";
		fo.cpu_pid = 0;
		if (load_run(&fo, fl) != 0)
			goto shutdown;
	}
	lo.target = agg_addr[0];
	lo.cpu_pid = agg_pid[0];
	/* Pinned, CPU 0 holds this bench and the shards: is it what limits the throughput? */
	lo.busy_cpu = o->pin ? 0 : -1;
	lo.allocs = bench_allocs;
	if (!bench_stop && load_run(&lo, r) == 0) {
		json_print(sc->name, &lo, sc->n_shards, r, sc->floor ? &ff : NULL,
		           sc->floor ? fl : NULL);
		rv = r->interrupted ? 130 : 0;
	}
shutdown:
	grpc_shutdown();
out:
	if (procs_stop_all(BENCH_STOP_TIMEOUT_MS) != 0)
		fprintf(stderr, "scatter-bench: a server did not stop cleanly\n");
	free(r);
	free(fl);
	return bench_stop ? 130 : rv;
}

static int run_target(bench_opts *o)
{
	load_result *r = calloc(1, sizeof(*r));
	load_opts lo = o->load;
	int rv = 1;

	if (r == NULL)
		return 1;
	lo.target = o->target;
	lo.method = o->method;
	lo.cpu_pid = o->pid;
	if (lo.rate == 0 && lo.concurrency == 0)
		lo.concurrency = 8;
	grpc_init();
	if (load_run(&lo, r) == 0) {
		json_print(o->label != NULL ? o->label : "target", &lo, 0, r, NULL, NULL);
		rv = r->interrupted ? 130 : 0;
	}
	grpc_shutdown();
	free(r);
	return rv;
}

/* --fanout-targets: the direct fan-out on its own; its JSON line's "target" is the list. */
static int run_fanout(bench_opts *o)
{
	load_result *r = calloc(1, sizeof(*r));
	load_opts lo = o->load;
	int rv = 1;

	if (r == NULL)
		return 1;
	lo.target = o->fanout;
	lo.fanout_targets = o->fanout_targets;
	lo.n_fanout = o->n_fanout;
	lo.method = o->method;
	lo.cpu_pid = o->pid;
	if (lo.concurrency == 0)
		lo.concurrency = 8;
	grpc_init();
	if (load_run(&lo, r) == 0) {
		json_print(o->label != NULL ? o->label : "target", &lo, (uint32_t)o->n_fanout, r,
		           NULL, NULL);
		rv = r->interrupted ? 130 : 0;
	}
	grpc_shutdown();
	free(r);
	return rv;
}

int main(int argc, char **argv)
{
	bench_opts o = {
	        .method = "/search.Search/Query",
	        .load = {.query = "bench",
	                 .k = 10,
	                 .max_in_flight = 4096,
	                 .warmup_s = 0.5,
	                 .duration_s = 1.5,
	                 .deadline_ms = 5000,
	                 .busy_cpu = -1,
	                 .stop = &bench_stop},
	        .agg_threads = 1,
	        .shard_nice = 10,
	        .pin = 1,
	        .shard_bin = BENCH_SHARD_BIN,
	        .agg_bin = BENCH_AGG_BIN,
	        .bench_agg_bin = BENCH_BENCH_AGG_BIN,
	        .leaf_bin = BENCH_LEAF_BIN,
	};
	struct sigaction sa;
	const scenario *sc = NULL;
	int done = 0, rv;

	if ((rv = parse_args(argc, argv, &o, &done)) != 0 || done)
		goto out;
	if (o.scenario != NULL && (sc = scenario_find(o.scenario)) == NULL) {
		fprintf(stderr, "scatter-bench: no scenario %s (see --list)\n", o.scenario);
		rv = 2;
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bench_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	atexit(bench_cleanup);
	if (o.fanout != NULL) {
		rv = run_fanout(&o);
	} else if (sc == NULL) {
		rv = run_target(&o);
	} else {
		if (o.pin && sysconf(_SC_NPROCESSORS_ONLN) < 2) {
			fprintf(stderr, "scatter-bench: one core: not pinning\n");
			o.pin = 0;
		}
		if (o.pin)
			pin_self(0);
		rv = run_scenario(&o, sc);
	}
out:
	free(o.fanout_targets);
	free(o.fanout_buf);
	return rv;
}
