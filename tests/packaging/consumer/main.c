/*
 * greet: the packaging test's consumer of an installed Scatter. Serves greet.Greeter (a leaf)
 * and greet.Chorus (a fan-out to two legs on that leaf), each on 127.0.0.1:0, prints
 * `listening on 127.0.0.1:PORT` for the aggregator, calls Chorus.Hello once through the
 * generated client stub, prints the merged greetings, stops both servers and exits 0; any
 * failure exits 1 with the reason.
 */
#include <stdio.h>
#include <string.h>

#include "greet.scatter.h"

static void hello(sg_leaf_call *call, const Greet__HelloRequest *req, void *arg)
{
	char text[128];
	char *greetings[1] = {text};
	Greet__HelloReply reply = GREET__HELLO_REPLY__INIT;

	(void)arg;
	snprintf(text, sizeof text, "hello, %s", req->name);
	reply.n_greetings = 1;
	reply.greetings = greetings;
	sg_leaf_reply(call, &reply.base); /* encodes now: stack memory is fine */
}

static int fail(const char *what, sg_err rv)
{
	fprintf(stderr, "greet: %s: %s\n", what, sg_strerror(rv));
	return 1;
}

int main(void)
{
	static const Greet__Greeter_Handlers handlers = {.hello = hello};
	sg_server_opts opts = {.listen = "127.0.0.1:0", .threads = 1};
	sg_server *leaf = NULL, *agg = NULL;
	sg_client *client = NULL;
	Greet__HelloReply *reply = NULL;
	sg_call_result res = {0};
	char target[64];
	const char *targets[2] = {target, target};
	int rc = 1;
	sg_err rv;

	if ((rv = sg_server_alloc(&opts, &leaf)) != SG_OK ||
	    (rv = greet__greeter__serve(leaf, &handlers, NULL)) != SG_OK ||
	    (rv = sg_server_start(leaf)) != SG_OK) {
		rc = fail("leaf server", rv);
		goto out;
	}
	snprintf(target, sizeof target, "127.0.0.1:%d", sg_server_port(leaf));
	if ((rv = sg_server_alloc(&opts, &agg)) != SG_OK ||
	    (rv = sg_server_set_group(agg, "greeters", targets, 2)) != SG_OK ||
	    (rv = greet__chorus__register(agg)) != SG_OK || (rv = sg_server_start(agg)) != SG_OK) {
		rc = fail("aggregator", rv);
		goto out;
	}
	printf("listening on 127.0.0.1:%d\n", sg_server_port(agg));
	fflush(stdout);

	char agg_target[64];
	snprintf(agg_target, sizeof agg_target, "127.0.0.1:%d", sg_server_port(agg));
	Greet__HelloRequest req = GREET__HELLO_REQUEST__INIT;
	req.name = "installed scatter";
	if ((rv = sg_client_open(agg_target, &client)) != SG_OK ||
	    (rv = greet__chorus__hello_call(client, &req, 5000, &reply, &res)) != SG_OK) {
		fprintf(stderr, "greet: Chorus.Hello: %s (status %d: %s)\n", sg_strerror(rv),
		        (int)res.status, res.message ? res.message : "");
		goto out;
	}
	for (size_t i = 0; i < reply->n_greetings; i++)
		printf("greeting %zu: %s\n", i + 1, reply->greetings[i]);
	printf("greeters ok: %u\n", reply->greeters_ok);
	if (reply->n_greetings != 2 || reply->greeters_ok != 2 ||
	    strcmp(reply->greetings[0], "hello, installed scatter") != 0) {
		fprintf(stderr, "greet: want 2 greetings from 2 greeters\n");
		goto out;
	}
	rc = 0;
out:
	if (reply)
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	sg_call_result_fini(&res);
	sg_client_close(client);
	sg_server_free(agg); /* shuts down first */
	sg_server_free(leaf);
	return rc;
}
