/*
 * load.c: closed- and open-loop load on one completion queue.
 */
#include "load.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>

#include "scatter/trailer.h"
#include "search.pb-c.h"

#define NS_PER_S  1000000000LL
#define NS_PER_MS 1000000LL
/* How often the loop looks at the stop flag and samples RSS when nothing else wakes it. */
#define LOAD_TICK_NS (50 * NS_PER_MS)
/* A count-bounded window still ends by time. */
#define LOAD_MAX_WINDOW_NS (600 * NS_PER_S)
/* After cancelling what the drain left, how long cancelled calls get to come back. */
#define LOAD_CANCEL_GRACE_NS (2 * NS_PER_S)
/* Trailers of a 1000-leg call are ~70 KiB: far over gRPC's default 8 KiB metadata limit. */
#define LOAD_MAX_METADATA (4 * 1024 * 1024)

/* One call in flight. Every completion-queue tag of this module is a slot. A slot is written by
 * whoever starts its call (the main thread, or the open loop's sender) and, once the queue has
 * returned it, by the main thread only. */
typedef struct slot {
	grpc_call *call;
	grpc_byte_buffer *send;
	grpc_byte_buffer *recv;
	grpc_metadata_array initial_md;
	grpc_metadata_array trailing_md;
	grpc_status_code status;
	grpc_slice details;
	int64_t sched_ns; /* latency is measured from here */
	int64_t start_ns; /* when it was actually sent */
	int busy;
} slot;

/* Fan-out: one call per target, started together; group g's calls are the slots
 * g * n_targets .. (g + 1) * n_targets - 1, call t going to target t. Closed loop only, so only
 * the main thread touches groups. */
typedef struct group {
	int64_t start_ns; /* its latency is measured from here to its last call's end */
	uint32_t pending; /* its calls still in flight */
	int failed;       /* a call was not OK, or gRPC refused to start one */
	int partial;      /* an OK answer said partial (as slot_inspect reads it) */
} group;

typedef struct load {
	const load_opts *o;
	load_result *r;
	grpc_channel *channel; /* single target; NULL in fan-out */
	/* Fan-out (n_targets > 0): a channel per target, and the groups of calls. */
	grpc_channel **channels;
	uint32_t n_targets;
	group *groups;
	uint32_t n_groups;
	grpc_completion_queue *cq;
	grpc_slice method;
	grpc_byte_buffer *request;
	slot *slots;
	uint32_t n_slots;
	/* Idle slots. Under mu: in the open loop the sender thread takes them and the main
	 * thread gives them back. */
	pthread_mutex_t mu;
	pthread_cond_t freed;
	uint32_t *free_stack;
	uint32_t n_free;
	atomic_uint in_flight;
	int64_t t0;
	int64_t warm_end; /* calls scheduled from here on are measured */
	int64_t win_end;  /* the open loop schedules no call from here on */
	/* Open loop: the sender thread and what only it writes until it is joined. */
	pthread_t sender;
	int sender_running;
	atomic_int sender_stop;
	uint64_t late;
	int64_t lag_max_us;
	uint64_t send_failed;
} load;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static gpr_timespec deadline_at(int64_t ns)
{
	gpr_timespec t = {.tv_sec = ns / NS_PER_S,
	                  .tv_nsec = (int32_t)(ns % NS_PER_S),
	                  .clock_type = GPR_CLOCK_MONOTONIC};
	return t;
}

/* utime + stime of pid in microseconds, or -1. Covers all of its threads. */
static int64_t proc_cpu_us(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long utime, stime;
	FILE *f;
	size_t got;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	got = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[got] = '\0';
	/* The command name may hold spaces and parentheses: fields count from the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* Field 3 (state) follows; utime and stime are fields 14 and 15. */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
	           &stime) != 2)
		return -1;
	return (int64_t)((utime + stime) * 1000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK));
}

/* Resident set size of pid in KiB, or -1. */
static long proc_rss_kb(pid_t pid)
{
	char path[64];
	long size, resident;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fscanf(f, "%ld %ld", &size, &resident);
	fclose(f);
	return n == 2 ? resident * (sysconf(_SC_PAGESIZE) / 1024) : -1;
}

/* CPU time of every thread pid has or had, in ns, from the kernel's per-process CPU clock: the
 * sum utime + stime is made from, without rounding it to clock ticks. -1 if not permitted. */
static int64_t proc_cpu_ns(pid_t pid)
{
	struct timespec ts;
	clockid_t clk;

	if (clock_getcpuclockid(pid, &clk) != 0 || clock_gettime(clk, &ts) != 0)
		return -1;
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* CPU cpu's busy and total time so far, in clock ticks, from /proc/stat's "cpuN" line (busy:
 * all but idle and iowait). -1 if it cannot be read. */
static int cpu_ticks(int cpu, unsigned long long *busy, unsigned long long *total)
{
	char want[16], line[256];
	unsigned long long v[8] = {0};
	size_t len;
	FILE *f;
	int rv = -1;

	len = (size_t)snprintf(want, sizeof(want), "cpu%d ", cpu);
	if ((f = fopen("/proc/stat", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, want, len) != 0)
			continue;
		if (sscanf(line + len, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		           &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
			*total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
			*busy = *total - v[3] - v[4];
			rv = 0;
		}
		break;
	}
	fclose(f);
	return rv;
}

static int64_t self_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* The request, encoded once; every call sends a refcounted copy (no bytes copied). */
static grpc_byte_buffer *load_request(const load_opts *o)
{
	Search__SearchRequest req = SEARCH__SEARCH_REQUEST__INIT;
	grpc_byte_buffer *bb;
	grpc_slice s;

	req.query = (char *)o->query;
	req.k = o->k;
	s = grpc_slice_malloc(search__search_request__get_packed_size(&req));
	search__search_request__pack(&req, GRPC_SLICE_START_PTR(s));
	bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	return bb;
}

/* Window start (sign -1) and end (+1): r's allocation fields end up as differences. */
static void alloc_snap(alloccount_shared *a, load_result *r, int sign)
{
	if (sign < 0) {
		r->allocs = r->reallocs = r->frees = r->alloc_bytes = 0;
		memset(r->alloc_samples, 0, sizeof(r->alloc_samples));
	}
	r->allocs += sign * (int64_t)atomic_load(&a->allocs);
	r->reallocs += sign * (int64_t)atomic_load(&a->reallocs);
	r->frees += sign * (int64_t)atomic_load(&a->frees);
	r->alloc_bytes += sign * (int64_t)atomic_load(&a->bytes);
	for (int i = 0; i < ALLOCCOUNT_OBJS; i++)
		r->alloc_samples[i] += (uint64_t)sign * atomic_load(&a->objs[i].samples);
}

static int slot_start(load *l, slot *s, grpc_channel *channel, int64_t sched_ns)
{
	int64_t deadline = now_ns() + (int64_t)l->o->deadline_ms * NS_PER_MS;
	grpc_op ops[6];

	memset(s, 0, sizeof(*s));
	s->sched_ns = sched_ns;
	s->start_ns = now_ns();
	s->status = GRPC_STATUS_UNKNOWN;
	s->details = grpc_empty_slice();
	grpc_metadata_array_init(&s->initial_md);
	grpc_metadata_array_init(&s->trailing_md);
	s->call = grpc_channel_create_call(channel, NULL, GRPC_PROPAGATE_DEFAULTS, l->cq, l->method,
	                                   NULL, deadline_at(deadline), NULL);
	if (s->call == NULL)
		return -1;
	s->send = grpc_byte_buffer_copy(l->request);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = s->send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &s->recv;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &s->trailing_md;
	ops[5].data.recv_status_on_client.status = &s->status;
	ops[5].data.recv_status_on_client.status_details = &s->details;
	if (grpc_call_start_batch(s->call, ops, 6, s, NULL) != GRPC_CALL_OK) {
		grpc_byte_buffer_destroy(s->send);
		grpc_metadata_array_destroy(&s->initial_md);
		grpc_metadata_array_destroy(&s->trailing_md);
		grpc_call_unref(s->call);
		return -1;
	}
	s->busy = 1;
	atomic_fetch_add(&l->in_flight, 1);
	return 0;
}

/* The latency_us of a `scatter-leg` trailer value (len bytes at v), or -1. */
static int64_t leg_latency_us(const char *v, size_t len)
{
	char value[512];
	sg_leg_outcome o;

	if (len >= sizeof(value))
		return -1;
	memcpy(value, v, len);
	value[len] = '\0';
	return sg_leg_outcome_parse(value, &o) == SG_OK ? o.latency_us : -1;
}

/* Reads an OK answer: returns whether it is partial (the scatter-legs trailer says a leg did
 * not answer OK: it failed or was cut short, or the body's shards_failed does) and notes the legs
 * per call. With measured set, also records the slowest leg's latency as the aggregator saw it, and
 * the rest of the call's own latency (from its actual start): what the aggregator and the two hops
 * to it added. */
static int slot_inspect(load *l, const slot *s, int64_t done_ns, int measured)
{
	int64_t slowest = -1;
	int partial = 0;

	for (size_t i = 0; i < s->trailing_md.count; i++) {
		const grpc_metadata *md = &s->trailing_md.metadata[i];
		const char *v = (const char *)GRPC_SLICE_START_PTR(md->value);
		size_t len = GRPC_SLICE_LENGTH(md->value);
		char value[128];
		sg_legs_summary sum;

		if (measured && grpc_slice_str_cmp(md->key, SG_TRAILER_LEG) == 0) {
			int64_t us = leg_latency_us(v, len);

			if (us > slowest)
				slowest = us;
			continue;
		}
		if (grpc_slice_str_cmp(md->key, SG_TRAILER_SUMMARY) != 0)
			continue;
		if (len >= sizeof(value))
			len = sizeof(value) - 1;
		memcpy(value, v, len);
		value[len] = '\0';
		if (sg_legs_summary_parse(value, &sum) == SG_OK) {
			l->r->legs = sum.total;
			partial |= sum.ok < sum.total;
		}
	}
	if (slowest >= 0) {
		int64_t beyond = done_ns - s->start_ns - slowest * 1000;

		hist_record(&l->r->slowest_leg, (uint64_t)slowest * 1000);
		hist_record(&l->r->beyond_leg, beyond > 0 ? (uint64_t)beyond : 0);
	}
	if (s->recv != NULL) {
		grpc_byte_buffer_reader rd;

		if (grpc_byte_buffer_reader_init(&rd, s->recv)) {
			grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
			Search__SearchResponse *resp = search__search_response__unpack(
			        NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));

			if (resp != NULL) {
				partial |= resp->shards_failed > 0;
				search__search_response__free_unpacked(resp, NULL);
			}
			grpc_slice_unref(all);
			grpc_byte_buffer_reader_destroy(&rd);
		}
	}
	return partial;
}

/* Keeps a failed call's status and details as the run's first error. */
static void note_first_error(load_result *r, const slot *s)
{
	size_t len = GRPC_SLICE_LENGTH(s->details);

	if (len >= sizeof(r->first_error_msg))
		len = sizeof(r->first_error_msg) - 1;
	r->first_error = s->status;
	memcpy(r->first_error_msg, GRPC_SLICE_START_PTR(s->details), len);
	r->first_error_msg[len] = '\0';
}

/* Accounts for a finished call and frees what it held; the slot is idle afterwards. */
static void slot_finish(load *l, slot *s, int64_t done_ns, int measured)
{
	load_result *r = l->r;

	if (measured) {
		hist_record(&r->lat, (uint64_t)(done_ns - s->sched_ns));
		if (s->status != GRPC_STATUS_OK) {
			if (r->errors++ == 0)
				note_first_error(r, s);
		} else if (slot_inspect(l, s, done_ns, 1)) {
			r->partial++;
		}
	}
	grpc_slice_unref(s->details);
	grpc_byte_buffer_destroy(s->send);
	if (s->recv != NULL)
		grpc_byte_buffer_destroy(s->recv);
	grpc_metadata_array_destroy(&s->initial_md);
	grpc_metadata_array_destroy(&s->trailing_md);
	grpc_call_unref(s->call);
	s->busy = 0;
	atomic_fetch_sub(&l->in_flight, 1);
}

/* One serial call that must succeed: it connects the channel (and the aggregator's channels to
 * its shards) before anything is measured. */
static int load_probe(load *l)
{
	int64_t give_up = now_ns() + (int64_t)l->o->deadline_ms * NS_PER_MS + NS_PER_S;
	slot *s = &l->slots[0];
	grpc_event ev;

	if (slot_start(l, s, l->channel, now_ns()) != 0) {
		fprintf(stderr, "scatter-bench: %s: could not start a call\n", l->o->target);
		return -1;
	}
	do {
		ev = grpc_completion_queue_next(l->cq, deadline_at(give_up), NULL);
	} while (ev.type == GRPC_QUEUE_TIMEOUT && now_ns() < give_up);
	if (ev.type != GRPC_OP_COMPLETE) {
		grpc_call_cancel(s->call, NULL);
		return -1; /* load_fini drains it */
	}
	if (s->status != GRPC_STATUS_OK) {
		fprintf(stderr, "scatter-bench: %s %s: first call failed: %s: %.*s\n", l->o->target,
		        l->o->method, sg_status_name(s->status), (int)GRPC_SLICE_LENGTH(s->details),
		        (const char *)GRPC_SLICE_START_PTR(s->details));
		slot_finish(l, s, now_ns(), 0);
		return -1;
	}
	(void)slot_inspect(l, s, now_ns(), 0); /* learns the legs per call */
	slot_finish(l, s, now_ns(), 0);
	return 0;
}

/* Fan-out: starts group g's calls, one per target, all scheduled at sched_ns. A call gRPC
 * refuses marks the group failed; returns -1 when none started (the group is idle then). */
static int group_start(load *l, uint32_t g, int64_t sched_ns)
{
	group *gr = &l->groups[g];

	gr->start_ns = sched_ns;
	gr->pending = 0;
	gr->failed = 0;
	gr->partial = 0;
	for (uint32_t t = 0; t < l->n_targets; t++) {
		if (slot_start(l, &l->slots[g * l->n_targets + t], l->channels[t], sched_ns) == 0)
			gr->pending++;
		else
			gr->failed = 1;
	}
	return gr->pending > 0 ? 0 : -1;
}

/* Fan-out: starts group g; if nothing started, it counts as failed (it was due and did not
 * happen), like load_send's refused call. */
static void group_send(load *l, uint32_t g, int64_t sched_ns)
{
	if (group_start(l, g, sched_ns) != 0 && sched_ns >= l->warm_end)
		l->send_failed++;
}

/* Fan-out: accounts for one finished call s and frees it. Returns its group when s was the
 * group's last call (the group is then accounted for, if measured, and idle), else NULL. */
static group *group_call_done(load *l, slot *s, int64_t done_ns)
{
	load_result *r = l->r;
	group *g = &l->groups[(uint32_t)(s - l->slots) / l->n_targets];
	int measured = g->start_ns >= l->warm_end;

	if (s->status != GRPC_STATUS_OK) {
		g->failed = 1;
		if (measured && r->first_error == GRPC_STATUS_OK)
			note_first_error(r, s);
	} else if (slot_inspect(l, s, done_ns, 0)) {
		g->partial = 1;
	}
	slot_finish(l, s, done_ns, 0);
	if (--g->pending > 0)
		return NULL;
	if (measured) {
		/* The slowest call's end: what a zero-cost aggregator would answer at. */
		hist_record(&r->lat, (uint64_t)(done_ns - g->start_ns));
		if (g->failed) {
			r->errors++;
			if (r->first_error == GRPC_STATUS_OK) {
				r->first_error = GRPC_STATUS_INTERNAL;
				snprintf(r->first_error_msg, sizeof(r->first_error_msg),
				         "grpc_channel_create_call or start_batch failed");
			}
		} else if (g->partial) {
			r->partial++;
		}
	}
	return g;
}

/* Fan-out's probe: one group, serially, in which every target must answer OK; it connects
 * every channel before anything is measured. */
static int group_probe(load *l)
{
	int64_t give_up = now_ns() + (int64_t)l->o->deadline_ms * NS_PER_MS + NS_PER_S;
	group *g = &l->groups[0];
	int bad = 0;

	if (group_start(l, 0, now_ns()) != 0 || g->failed) {
		fprintf(stderr, "scatter-bench: fan-out: could not start a call\n");
		return -1; /* load_fini cancels and drains what did start */
	}
	while (g->pending > 0 && now_ns() < give_up) {
		grpc_event ev = grpc_completion_queue_next(l->cq, deadline_at(give_up), NULL);
		slot *s;

		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		s = ev.tag;
		if (s->status != GRPC_STATUS_OK) {
			fprintf(stderr, "scatter-bench: %s %s: first call failed: %s: %.*s\n",
			        l->o->fanout_targets[(uint32_t)(s - l->slots) % l->n_targets],
			        l->o->method, sg_status_name(s->status),
			        (int)GRPC_SLICE_LENGTH(s->details),
			        (const char *)GRPC_SLICE_START_PTR(s->details));
			bad = 1;
		}
		slot_finish(l, s, now_ns(), 0);
		g->pending--;
	}
	for (uint32_t t = 0; t < l->n_targets && g->pending > 0; t++) {
		if (l->slots[t].busy)
			fprintf(stderr,
			        "scatter-bench: %s %s: no answer to the first call in time\n",
			        l->o->fanout_targets[t], l->o->method);
	}
	return bad || g->pending > 0 ? -1 : 0; /* load_fini cancels what is left */
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* A channel to target with the bench's arguments, or NULL. */
static grpc_channel *load_channel(const char *target)
{
	grpc_arg arg_list[] = {
	        {.type = GRPC_ARG_INTEGER,
	         .key = GRPC_ARG_MAX_METADATA_SIZE,
	         .value.integer = LOAD_MAX_METADATA},
	        {.type = GRPC_ARG_INTEGER,
	         .key = "grpc.absolute_max_metadata_size",
	         .value.integer = LOAD_MAX_METADATA},
	        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ENABLE_RETRIES, .value.integer = 0},
	};
	grpc_channel_args args = {.num_args = sizeof(arg_list) / sizeof(arg_list[0]),
	                          .args = arg_list};
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	grpc_channel *channel = grpc_channel_create(target, creds, &args);

	grpc_channel_credentials_release(creds);
	return channel;
}

static int load_init(load *l, const load_opts *o, load_result *r)
{
	memset(l, 0, sizeof(*l));
	l->o = o;
	l->r = r;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->freed, NULL);
	atomic_init(&l->in_flight, 0);
	atomic_init(&l->sender_stop, 0);
	l->n_slots = o->rate > 0 ? o->max_in_flight : o->concurrency;
	if (l->n_slots == 0)
		l->n_slots = 1;
	l->cq = grpc_completion_queue_create_for_next(NULL);
	l->method = grpc_slice_from_static_string(o->method);
	l->request = load_request(o);
	if (o->n_fanout > 0) {
		l->n_targets = (uint32_t)o->n_fanout;
		l->n_groups = l->n_slots;
		l->n_slots = l->n_groups * l->n_targets;
		l->groups = calloc(l->n_groups, sizeof(*l->groups));
		l->channels = calloc(l->n_targets, sizeof(*l->channels));
		if (l->groups == NULL || l->channels == NULL)
			return -1;
		for (uint32_t t = 0; t < l->n_targets; t++) {
			if ((l->channels[t] = load_channel(o->fanout_targets[t])) == NULL)
				return -1;
		}
	} else if ((l->channel = load_channel(o->target)) == NULL) {
		return -1;
	}
	l->slots = calloc(l->n_slots, sizeof(*l->slots));
	l->free_stack = calloc(l->n_slots, sizeof(*l->free_stack));
	if (l->cq == NULL || l->slots == NULL || l->free_stack == NULL)
		return -1;
	for (uint32_t i = 0; i < l->n_slots; i++)
		l->free_stack[l->n_free++] = l->n_slots - 1 - i;
	return 0;
}

/* Stops the open loop's sender (if any) and waits for it: afterwards only the main thread
 * touches the slots. Bounded by the sender's nap (LOAD_TICK_NS). */
static void load_stop_sender(load *l)
{
	if (!l->sender_running)
		return;
	atomic_store(&l->sender_stop, 1);
	pthread_mutex_lock(&l->mu);
	pthread_cond_broadcast(&l->freed);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->sender, NULL);
	l->sender_running = 0;
}

/* Cancels what is left, drains the queue (bounded), frees everything. */
static void load_fini(load *l)
{
	int64_t give_up = now_ns() + LOAD_CANCEL_GRACE_NS;
	grpc_event ev;

	load_stop_sender(l);
	for (uint32_t i = 0; i < l->n_slots && l->slots != NULL; i++) {
		if (l->slots[i].busy)
			grpc_call_cancel(l->slots[i].call, NULL);
	}
	while (atomic_load(&l->in_flight) > 0 && now_ns() < give_up) {
		ev = grpc_completion_queue_next(l->cq, deadline_at(give_up), NULL);
		if (ev.type == GRPC_OP_COMPLETE)
			slot_finish(l, ev.tag, now_ns(), 0);
	}
	if (atomic_load(&l->in_flight) > 0)
		fprintf(stderr, "scatter-bench: %u calls did not end after cancel\n",
		        atomic_load(&l->in_flight));
	if (l->cq != NULL) {
		grpc_completion_queue_shutdown(l->cq);
		/* Bounded too: calls still alive would keep the queue from draining. */
		do {
			ev = grpc_completion_queue_next(l->cq, deadline_at(give_up + NS_PER_S),
			                                NULL);
		} while (ev.type == GRPC_OP_COMPLETE);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			grpc_completion_queue_destroy(l->cq);
	}
	if (l->channel != NULL)
		grpc_channel_destroy(l->channel);
	for (uint32_t t = 0; t < l->n_targets && l->channels != NULL; t++) {
		if (l->channels[t] != NULL)
			grpc_channel_destroy(l->channels[t]);
	}
	free(l->channels);
	free(l->groups);
	if (l->request != NULL)
		grpc_byte_buffer_destroy(l->request);
	free(l->slots);
	free(l->free_stack);
	pthread_cond_destroy(&l->freed);
	pthread_mutex_destroy(&l->mu);
}

/* An idle slot; in the open loop waits for one (until stop), NULL then or when none is idle. */
static slot *load_take(load *l, int wait)
{
	slot *s = NULL;

	pthread_mutex_lock(&l->mu);
	while (wait && l->n_free == 0 && !atomic_load(&l->sender_stop))
		pthread_cond_wait(&l->freed, &l->mu);
	if (l->n_free > 0)
		s = &l->slots[l->free_stack[--l->n_free]];
	pthread_mutex_unlock(&l->mu);
	return s;
}

static void load_give(load *l, slot *s)
{
	pthread_mutex_lock(&l->mu);
	l->free_stack[l->n_free++] = (uint32_t)(s - l->slots);
	pthread_cond_signal(&l->freed);
	pthread_mutex_unlock(&l->mu);
}

/* Starts a call scheduled at sched in slot s; if gRPC refuses it, the slot goes back and the
 * call counts as failed (it was due and did not happen). */
static void load_send(load *l, slot *s, int64_t sched)
{
	if (slot_start(l, s, l->channel, sched) != 0) {
		load_give(l, s);
		if (sched >= l->warm_end)
			l->send_failed++;
	}
}

/* The open loop's sender: call seq is due at t0 + seq / rate; it sleeps until then on an
 * absolute clock (clock_nanosleep: tens of microseconds late, where a completion queue's
 * deadline is rounded up to whole milliseconds), then sends. A call due while every slot is
 * busy waits for one; its latency still counts from when it was due. */
static void *load_sender(void *arg)
{
	load *l = arg;
	const double period_ns = (double)NS_PER_S / l->o->rate;

	for (uint64_t seq = 0; !atomic_load(&l->sender_stop); seq++) {
		int64_t due = l->t0 + (int64_t)((double)seq * period_ns), now;
		slot *s;

		if (due >= l->win_end)
			break;
		while ((now = now_ns()) < due && !atomic_load(&l->sender_stop)) {
			int64_t until = due - now > LOAD_TICK_NS ? now + LOAD_TICK_NS : due;
			struct timespec ts = {.tv_sec = until / NS_PER_S,
			                      .tv_nsec = until % NS_PER_S};

			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
		if ((s = load_take(l, 1)) == NULL)
			break; /* stopped while waiting for a slot */
		now = now_ns();
		if (now - due > NS_PER_MS)
			l->late++;
		if ((now - due) / 1000 > l->lag_max_us)
			l->lag_max_us = (now - due) / 1000;
		load_send(l, s, due);
	}
	return NULL;
}

int load_run(const load_opts *o, load_result *r)
{
	const int open_loop = o->rate > 0, fanout = o->n_fanout > 0;
	int64_t drain_end = 0, cancel_end = 0, window_start, actual_end = 0;
	int64_t cpu0 = -1, stat0 = -1, self0 = 0;
	unsigned long long busy0 = 0, total0 = 0, busy1 = 0, total1 = 0;
	int busy_ok = 0;
	int stopping = 0, warm = 0;
	load l;
	int rv = -1;

	memset(r, 0, sizeof(*r));
	hist_init(&r->lat);
	hist_init(&r->slowest_leg);
	hist_init(&r->beyond_leg);
	r->cpu_us = -1;
	r->cpu_stat_us = -1;
	r->busy_cpu = -1;
	r->rss_idle_kb = -1;
	r->rss_peak_kb = -1;
	r->allocs = r->reallocs = r->frees = r->alloc_bytes = -1;
	if (fanout && open_loop) {
		/* Groups would be started by the sender thread and ended by this one. */
		fprintf(stderr, "scatter-bench: fan-out runs a closed loop only (no --rate)\n");
		return -1;
	}
	if (load_init(&l, o, r) != 0) {
		fprintf(stderr, "scatter-bench: %s: could not create the channel\n",
		        fanout ? "fan-out" : o->target);
		goto out;
	}
	if ((fanout ? group_probe(&l) : load_probe(&l)) != 0)
		goto out;
	if (o->cpu_pid > 0)
		r->rss_idle_kb = proc_rss_kb(o->cpu_pid);

	l.t0 = now_ns();
	l.warm_end = window_start = l.t0 + (int64_t)(o->warmup_s * NS_PER_S);
	l.win_end = l.warm_end +
	            (o->count > 0 ? LOAD_MAX_WINDOW_NS : (int64_t)(o->duration_s * NS_PER_S));
	if (open_loop) {
		if (pthread_create(&l.sender, NULL, load_sender, &l) != 0) {
			fprintf(stderr, "scatter-bench: could not start the sender thread\n");
			goto out;
		}
		l.sender_running = 1;
	} else if (fanout) {
		for (uint32_t g = 0; g < l.n_groups; g++)
			group_send(&l, g, now_ns());
	} else {
		for (uint32_t i = 0; i < o->concurrency; i++)
			load_send(&l, load_take(&l, 0), now_ns());
	}
	for (;;) {
		int64_t now = now_ns(), wake;
		grpc_event ev;
		slot *s;

		if (!warm && now >= l.warm_end) {
			warm = 1;
			window_start = now;
			cpu0 = o->cpu_pid > 0 ? proc_cpu_ns(o->cpu_pid) : -1;
			stat0 = o->cpu_pid > 0 ? proc_cpu_us(o->cpu_pid) : -1;
			self0 = self_cpu_ns();
			busy_ok = o->busy_cpu >= 0 && cpu_ticks(o->busy_cpu, &busy0, &total0) == 0;
			if (o->allocs != NULL) {
				alloc_snap(o->allocs, r, -1);
				atomic_store(&o->allocs->sampling, 1);
			}
		}
		if (!stopping && (now >= l.win_end || *o->stop ||
		                  (o->count > 0 && r->done_in_window >= o->count))) {
			stopping = 1;
			actual_end = now;
			if (cpu0 >= 0)
				r->cpu_us = (proc_cpu_ns(o->cpu_pid) - cpu0) / 1000;
			if (stat0 >= 0)
				r->cpu_stat_us = proc_cpu_us(o->cpu_pid) - stat0;
			r->self_cpu_us = warm ? (self_cpu_ns() - self0) / 1000 : 0;
			if (busy_ok && cpu_ticks(o->busy_cpu, &busy1, &total1) == 0 &&
			    total1 > total0)
				r->busy_cpu = (double)(busy1 - busy0) / (double)(total1 - total0);
			if (o->allocs != NULL && warm) {
				atomic_store(&o->allocs->sampling, 0);
				alloc_snap(o->allocs, r, 1);
			} else {
				r->allocs = r->reallocs = r->frees = r->alloc_bytes = -1;
			}
			r->interrupted = *o->stop != 0;
			drain_end = now + (int64_t)o->deadline_ms * NS_PER_MS + NS_PER_S;
			/* From here on only this thread touches the slots. */
			load_stop_sender(&l);
		}
		if (stopping && atomic_load(&l.in_flight) == 0)
			break;
		if (stopping && now >= drain_end) {
			if (cancel_end == 0) {
				for (uint32_t i = 0; i < l.n_slots; i++) {
					if (l.slots[i].busy)
						grpc_call_cancel(l.slots[i].call, NULL);
				}
				cancel_end = now + LOAD_CANCEL_GRACE_NS;
			} else if (now >= cancel_end) {
				break; /* load_fini reports what is left */
			}
		}
		if (warm && !stopping && o->cpu_pid > 0) {
			long rss = proc_rss_kb(o->cpu_pid);

			if (rss > r->rss_peak_kb)
				r->rss_peak_kb = rss;
		}
		wake = now + LOAD_TICK_NS;
		if (!stopping) {
			wake = min64(wake, l.win_end);
			if (!warm)
				wake = min64(wake, l.warm_end);
		}
		ev = grpc_completion_queue_next(l.cq, deadline_at(wake), NULL);
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		now = now_ns();
		s = ev.tag;
		if (fanout) {
			group *g = group_call_done(&l, s, now);

			if (g == NULL)
				continue; /* the group waits for its slowest call */
			if (warm && !stopping)
				r->done_in_window++;
			if (!stopping)
				group_send(&l, (uint32_t)(g - l.groups), now);
			continue;
		}
		if (warm && !stopping)
			r->done_in_window++;
		slot_finish(&l, s, now, s->sched_ns >= l.warm_end);
		if (!open_loop && !stopping)
			load_send(&l, s, now); /* closed loop: the slot goes straight back out */
		else
			load_give(&l, s);
	}
	r->late = l.late;
	r->lag_max_us = l.lag_max_us;
	r->errors += l.send_failed;
	if (l.send_failed > 0 && r->first_error_msg[0] == '\0') {
		r->first_error = GRPC_STATUS_INTERNAL;
		snprintf(r->first_error_msg, sizeof(r->first_error_msg),
		         "grpc_channel_create_call or start_batch failed");
	}
	r->calls = r->lat.count + l.send_failed;
	if (fanout)
		r->legs = l.n_targets;
	r->window_s = (double)(actual_end - window_start) / NS_PER_S;
	r->qps = r->window_s > 0 ? (double)r->done_in_window / r->window_s : 0;
	rv = 0;
out:
	load_fini(&l);
	return rv;
}
