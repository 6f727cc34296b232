/* config_test.c: the config file's schema, every kind of error with its exact message (file,
 * line, key, what), flags and environment on top, applying to a server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "merge_test.pb-c.h"
#include "scatter/config.h"

static char err[1024];

/* Parses text as "t.yaml"; the config, or NULL with err set. */
static sg_config *parse(const char *text)
{
	sg_config *c = NULL;

	err[0] = '\0';
	if (sg_config_parse(text, strlen(text), "t.yaml", &c, err, sizeof(err)) != SG_OK)
		return NULL;
	return c;
}

/* text must fail with exactly `want`. */
static void expect_error(const char *text, const char *want)
{
	sg_config *c = parse(text);

	if (c != NULL)
		fail_msg("parsed, expected: %s", want);
	assert_string_equal(err, want);
}

static const char full[] = "listen: 127.0.0.1:7000\n"
                           "admin: 127.0.0.1:9090\n"
                           "threads: 3\n"
                           "max_calls: 500\n"
                           "log_level: warn\n"
                           "forward_metadata: [x-request-id, x-tenant]\n"
                           "limits:\n"
                           "  max_recv_bytes: 1048576\n"
                           "  max_send_bytes: 2097152\n"
                           "  max_trailer_bytes: 16384\n"
                           "drain:\n"
                           "  grace_ms: 2500\n"
                           "  lame_duck_ms: 100\n"
                           "tls:\n"
                           "  cert: server.pem\n"
                           "  key: server.key\n"
                           "  ca: ca.pem\n"
                           "  require_client_cert: true\n"
                           "groups:\n"
                           "  shards:\n"
                           "    targets: [ipv4:127.0.0.1:5001, \"dns:///shard2:5002\", "
                           "unix:/tmp/s3]\n"
                           "    tls: {ca: ca.pem}\n"
                           "    resilience:\n"
                           "      breaker: {open_ms: 2000, failure_statuses: [UNAVAILABLE]}\n"
                           "      hedge: {delay_ms: 20}\n"
                           "      retry: {max_attempts: 3, multiplier: 1.5}\n"
                           "      budget: {max_tokens: 10, token_ratio: 0.2}\n"
                           "      max_in_flight: 64\n"
                           "  recs:\n"
                           "    targets:\n"
                           "      - ipv4:127.0.0.1:6001\n";

static void test_valid_file(void **state)
{
	sg_config *c = parse(full);
	sg_server_opts opts;
	const char *const *t;
	size_t n;

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(sg_config_file(c), "t.yaml");
	assert_string_equal(sg_config_listen(c), "127.0.0.1:7000");
	assert_string_equal(sg_config_admin(c), "127.0.0.1:9090");
	assert_string_equal(sg_config_log_level(c), "warn");
	assert_int_equal(sg_config_grace_ms(c), 2500);
	assert_int_equal(sg_config_lame_duck_ms(c), 100);
	sg_config_server_opts(c, &opts);
	assert_string_equal(opts.listen, "127.0.0.1:7000");
	assert_int_equal(opts.threads, 3);
	assert_int_equal(opts.max_calls, 500);
	assert_int_equal(sg_config_n_groups(c), 2);
	assert_string_equal(sg_config_group_name(c, 0), "shards");
	assert_string_equal(sg_config_group_name(c, 1), "recs");
	t = sg_config_group_targets(c, "shards", &n);
	assert_int_equal(n, 3);
	assert_string_equal(t[0], "ipv4:127.0.0.1:5001");
	assert_string_equal(t[1], "dns:///shard2:5002");
	assert_string_equal(t[2], "unix:/tmp/s3");
	t = sg_config_group_targets(c, "recs", &n);
	assert_int_equal(n, 1);
	assert_string_equal(t[0], "ipv4:127.0.0.1:6001");
	assert_null(sg_config_group_targets(c, "nope", &n));
	assert_int_equal(n, 0);
	sg_config_free(c);
}

static void test_defaults(void **state)
{
	sg_config *c = parse("");
	sg_server_opts opts;

	(void)state;
	assert_non_null(c);
	assert_null(sg_config_file(NULL));
	assert_string_equal(sg_config_listen(c), "127.0.0.1:0");
	assert_null(sg_config_admin(c));
	assert_string_equal(sg_config_log_level(c), "info");
	assert_int_equal(sg_config_grace_ms(c), 5000);
	assert_int_equal(sg_config_lame_duck_ms(c), 0);
	assert_int_equal(sg_config_n_groups(c), 0);
	sg_config_server_opts(c, &opts);
	assert_int_equal(opts.threads, 0);
	assert_int_equal(opts.max_calls, 0);
	sg_config_free(c);
}

static void test_unknown_keys(void **state)
{
	(void)state;
	expect_error("lisen: 127.0.0.1:1\n",
	             "t.yaml:1:1: lisen: unknown key (expected one of: listen, admin, threads, "
	             "max_calls, log_level, tls, forward_metadata, limits, drain, groups)");
	expect_error("groups:\n"
	             "  shards:\n"
	             "    targets: [a]\n"
	             "    resilience:\n"
	             "      breaker:\n"
	             "        opn_ms: 5\n",
	             "t.yaml:6:9: groups.shards.resilience.breaker.opn_ms: unknown key (expected "
	             "one of: enabled, window, window_ms, min_calls, failure_rate_pct, slow_ms, "
	             "slow_rate_pct, open_ms, half_open_probes, failure_statuses)");
	expect_error("drain: {grace: 5}\n",
	             "t.yaml:1:9: drain.grace: unknown key (expected one of: grace_ms, "
	             "lame_duck_ms)");
	expect_error(
	        "groups:\n  shards:\n    target: [a]\n",
	        "t.yaml:3:5: groups.shards.target: unknown key (expected one of: targets, tls, "
	        "resilience)");
}

static void test_value_errors(void **state)
{
	(void)state;
	expect_error("threads: abc\n",
	             "t.yaml:1:10: threads: expected an unsigned integer, got \"abc\"");
	expect_error("threads: -1\n", "t.yaml:1:10: threads: expected an unsigned integer, got "
	                              "\"-1\"");
	expect_error("threads: 5000\n", "t.yaml:1:10: threads: 5000 is out of range [0, 1024]");
	expect_error("log_level: loud\n",
	             "t.yaml:1:12: log_level: expected debug, info, warn or error, got \"loud\"");
	expect_error("listen:\n", "t.yaml:1:8: listen: expected a string, got nothing");
	expect_error("listen: [a, b]\n", "t.yaml:1:9: listen: expected a string, got a list");
	expect_error("tls:\n  cert: a\n  key: b\n  require_client_cert: yes\n",
	             "t.yaml:4:24: tls.require_client_cert: expected true or false, got \"yes\"");
	expect_error("groups:\n  shards:\n    targets: [a]\n    resilience:\n"
	             "      breaker: {failure_rate_pct: 150}\n",
	             "t.yaml:5:35: groups.shards.resilience.breaker.failure_rate_pct: 150 is out "
	             "of range [1, 100]");
	expect_error("groups:\n  shards:\n    targets: [a]\n    resilience:\n"
	             "      retry: {multiplier: fast}\n",
	             "t.yaml:5:27: groups.shards.resilience.retry.multiplier: expected a number >= "
	             "0, got \"fast\"");
	expect_error("groups:\n  shards:\n    targets: [a]\n    resilience:\n"
	             "      breaker:\n        failure_statuses: [UNAVAILABLE, BROKEN]\n",
	             "t.yaml:6:41: groups.shards.resilience.breaker.failure_statuses: \"BROKEN\" "
	             "is not a gRPC status name (e.g. UNAVAILABLE)");
	expect_error("forward_metadata: [X-Request-Id]\n",
	             "t.yaml:1:20: forward_metadata: \"X-Request-Id\" is not a metadata key (lower "
	             "case a-z, 0-9, -, _, .)");
}

static void test_structure_errors(void **state)
{
	(void)state;
	expect_error("- a\n- b\n", "t.yaml:1:1: (top): the file must be a mapping of keys, got a "
	                           "list");
	expect_error("groups: [shards]\n", "t.yaml:1:9: groups: expected a mapping of group "
	                                   "names, got a list");
	expect_error("groups:\n  shards: a\n", "t.yaml:2:11: groups.shards: expected a mapping "
	                                       "(targets, tls, resilience), got a value");
	expect_error("groups:\n  shards:\n    tls: {ca: a}\n",
	             "t.yaml:2:3: groups.shards: targets is required");
	expect_error("groups:\n  shards:\n    targets: a\n",
	             "t.yaml:3:14: groups.shards.targets: expected a list, got a value");
	expect_error("groups:\n  shards:\n    targets: []\n",
	             "t.yaml:3:14: groups.shards.targets: the list is empty");
	expect_error("drain: 5\n", "t.yaml:1:8: drain: expected a mapping, got a value");
	expect_error("threads: 1\nthreads: 2\n", "t.yaml:2:1: threads: given twice");
	expect_error("groups:\n  a:\n    targets: [x]\n  a:\n    targets: [y]\n",
	             "t.yaml:4:3: groups.a: given twice");
	expect_error("tls:\n  cert: a.pem\n", "t.yaml:1: tls: cert and key are both required");
	expect_error("tls:\n  cert: a\n  key: b\n  require_client_cert: true\n",
	             "t.yaml:4: tls.require_client_cert: needs tls.ca to verify the clients' "
	             "certificates");
	expect_error("groups:\n  s:\n    targets: [x]\n    tls: {cert: c.pem}\n",
	             "t.yaml:4: groups.s.tls: cert and key go together (the client certificate)");
}

static void test_syntax_error(void **state)
{
	(void)state;
	expect_error("listen: [a\n",
	             "t.yaml:2:1: YAML: did not find expected ',' or ']' while parsing a flow "
	             "sequence");
	expect_error("listen: \"127.0.0.1:1\nthreads: 2\n",
	             "t.yaml:3:1: YAML: found unexpected end of stream while scanning a quoted "
	             "scalar");
}

static void test_file(void **state)
{
	char path[] = "/tmp/scatter_config_testXXXXXX";
	int fd = mkstemp(path);
	const char text[] = "listen: 127.0.0.1:1\nthreads: x\n";
	sg_config *c = NULL;
	char want[256];

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	assert_int_equal(sg_config_load(path, &c, err, sizeof(err)), SG_ECONFIG);
	snprintf(want, sizeof(want), "%s:2:10: threads: expected an unsigned integer, got \"x\"",
	         path);
	assert_string_equal(err, want);
	unlink(path);
	assert_int_equal(sg_config_load(path, &c, err, sizeof(err)), SG_ESYS);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	assert_string_equal(err, want);
	assert_null(c);
}

/* The shipped examples load (README documents them). */
static void test_examples(void **state)
{
	const char *files[] = {"search/search.yaml", "kv/kv.yaml", "dashboard/dashboard.yaml"};
	char path[1024];

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		sg_config *c = NULL;

		snprintf(path, sizeof(path), "%s/%s", SERVICES_DIR, files[i]);
		if (sg_config_load(path, &c, err, sizeof(err)) != SG_OK)
			fail_msg("%s", err);
		assert_true(sg_config_n_groups(c) > 0);
		sg_config_free(c);
	}
}

static void test_overrides(void **state)
{
	sg_config *c = parse("listen: 127.0.0.1:7000\nthreads: 2\ndrain: {grace_ms: 100}\n"
	                     "groups:\n  shards:\n    targets: [a, b]\n");
	sg_server_opts opts;
	const char *const *t;
	size_t n;

	(void)state;
	assert_non_null(c);
	/* The environment first, then the flags over it (sg_main_run's order). */
	assert_int_equal(
	        sg_config_set(c, "SCATTER_LISTEN", "listen", "127.0.0.1:8000", err, sizeof(err)),
	        SG_OK);
	assert_int_equal(sg_config_set(c, "--listen", "listen", "127.0.0.1:9000", err, sizeof(err)),
	                 SG_OK);
	assert_int_equal(sg_config_set(c, "--grace-ms", "drain.grace_ms", "7", err, sizeof(err)),
	                 SG_OK);
	assert_int_equal(
	        sg_config_set(c, "SCATTER_LOG_LEVEL", "log_level", "debug", err, sizeof(err)),
	        SG_OK);
	assert_int_equal(sg_config_set_targets(c, "shards", "x:1,y:2,z:3", err, sizeof(err)),
	                 SG_OK);
	assert_int_equal(sg_config_set_targets(c, "recs", "r:1", err, sizeof(err)), SG_OK);
	assert_string_equal(sg_config_listen(c), "127.0.0.1:9000");
	assert_int_equal(sg_config_grace_ms(c), 7);
	assert_string_equal(sg_config_log_level(c), "debug");
	sg_config_server_opts(c, &opts);
	assert_int_equal(opts.threads, 2); /* the file's, untouched */
	t = sg_config_group_targets(c, "shards", &n);
	assert_int_equal(n, 3);
	assert_string_equal(t[2], "z:3");
	t = sg_config_group_targets(c, "recs", &n);
	assert_int_equal(n, 1);

	assert_int_equal(sg_config_set(c, "SCATTER_THREADS", "threads", "many", err, sizeof(err)),
	                 SG_ECONFIG);
	assert_string_equal(err, "SCATTER_THREADS: threads: expected an unsigned integer, got "
	                         "\"many\"");
	assert_int_equal(sg_config_set(c, "--log-level", "log_level", "loud", err, sizeof(err)),
	                 SG_ECONFIG);
	assert_string_equal(err, "--log-level: log_level: expected debug, info, warn or error, got "
	                         "\"loud\"");
	assert_int_equal(sg_config_set(c, "--x", "groups", "a", err, sizeof(err)), SG_ECONFIG);
	assert_string_equal(err, "--x: groups: not a setting");
	assert_int_equal(sg_config_set_targets(c, "shards", ",", err, sizeof(err)), SG_ECONFIG);
	assert_string_equal(err, "group shards: no targets in \",\"");
	sg_config_free(c);
}

/* A group no method calls is a mistake (a typo of its name, most likely), said with its line. */
static void test_apply_unknown_group(void **state)
{
	sg_config *c = parse("threads: 1\ngroups:\n  shardz:\n    targets: [ipv4:127.0.0.1:1]\n");
	sg_server *s = NULL;

	(void)state;
	assert_non_null(c);
	assert_int_equal(sg_server_alloc(&(sg_server_opts){.threads = 1}, &s), SG_OK);
	assert_int_equal(sg_config_apply(c, s, err, sizeof(err)), SG_ECONFIG);
	assert_string_equal(err, "t.yaml:3: groups.shardz: no method of this server calls the "
	                         "group");
	sg_server_free(s);
	sg_config_free(c);
}

/* A method whose .proto does not say idempotent: hedging or retrying its legs is refused, with
 * the line of the key and the method's name. */
static const sg_method_desc plain = {
        .path = "/mt.Svc/Get",
        .request = &mt__req__descriptor,
        .response = &mt__resp__descriptor,
        .group = "shards",
        .backend_path = "/mt.Leaf/Get",
        .deadline_ms = 100,
        .gather = {.kind = SG_GATHER_ALL},
        .merge = {.kind = SG_MERGE_NONE},
        .partial = {.allow = true},
        .resilience = {.idempotent = false},
};

static void test_apply_not_idempotent(void **state)
{
	sg_config *c = parse("threads: 1\n"
	                     "groups:\n"
	                     "  shards:\n"
	                     "    targets: [ipv4:127.0.0.1:1]\n"
	                     "    resilience:\n"
	                     "      breaker: {open_ms: 50}\n"
	                     "      hedge: {delay_ms: 5}\n");
	sg_server *s = NULL;

	(void)state;
	assert_non_null(c);
	assert_int_equal(sg_server_alloc(&(sg_server_opts){.threads = 1}, &s), SG_OK);
	assert_int_equal(sg_server_add_fanout(s, &plain), SG_OK);
	assert_int_equal(sg_config_apply(c, s, err, sizeof(err)), SG_ECONFIG);
	assert_string_equal(err,
	                    "t.yaml:7: groups.shards.resilience.hedge: mt.Svc/Get is not "
	                    "idempotent (its .proto must say resilience { idempotent: true })");
	sg_server_free(s);
	sg_config_free(c);

	/* Without resilience keys the group is applied as it is. */
	assert_non_null(c = parse("groups:\n  shards:\n    targets: [ipv4:127.0.0.1:1]\n"));
	assert_int_equal(sg_server_alloc(&(sg_server_opts){.threads = 1}, &s), SG_OK);
	assert_int_equal(sg_server_add_fanout(s, &plain), SG_OK);
	assert_int_equal(sg_config_apply(c, s, err, sizeof(err)), SG_OK);
	sg_server_free(s);
	sg_config_free(c);
}

static void test_log_level(void **state)
{
	(void)state;
	assert_int_equal(sg_log_set_level("debug"), SG_OK);
	assert_int_equal(sg_log_set_level("error"), SG_OK);
	assert_int_equal(sg_log_set_level("loud"), SG_EINVAL);
	assert_int_equal(sg_log_set_level(NULL), SG_EINVAL);
	assert_int_equal(sg_log_set_level("info"), SG_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_valid_file),
	        cmocka_unit_test(test_defaults),
	        cmocka_unit_test(test_unknown_keys),
	        cmocka_unit_test(test_value_errors),
	        cmocka_unit_test(test_structure_errors),
	        cmocka_unit_test(test_syntax_error),
	        cmocka_unit_test(test_file),
	        cmocka_unit_test(test_examples),
	        cmocka_unit_test(test_overrides),
	        cmocka_unit_test(test_apply_unknown_group),
	        cmocka_unit_test(test_apply_not_idempotent),
	        cmocka_unit_test(test_log_level),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
