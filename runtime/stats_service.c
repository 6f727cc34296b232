/*
 * stats_service.c: /scatter.Stats/Get, a leaf method like any other but for its counting: it is
 * built-in, so reading the counters does not move them.
 */
#include "stats_service.h"

#include "leaf_call.h"
#include "scatter/leaf.h"
#include "scatter/stats.pb-c.h"

static const sg_leaf_desc stats_get_desc = {
        .path = SG_STATS_PATH,
        .request = &scatter__stats_request__descriptor,
        .response = &scatter__server_stats__descriptor,
};

static void stats_get(sg_leaf_call *call, const ProtobufCMessage *request, const void *handlers,
                      void *arg)
{
	Scatter__ServerStats out = SCATTER__SERVER_STATS__INIT;
	sg_server_stats st;

	(void)request;
	(void)handlers;
	sg_server_stats_get(arg, &st);
	out.calls_started = st.calls_started;
	out.calls_cancelled = st.calls_cancelled;
	out.legs_started = st.legs_started;
	out.legs_failed = st.legs_failed;
	out.legs_cancelled = st.legs_cancelled;
	out.hedges_sent = st.hedges_sent;
	out.hedges_won = st.hedges_won;
	out.retries = st.retries;
	out.calls_rejected = st.calls_rejected;
	out.legs_refused = st.legs_refused;
	sg_leaf_reply(call, &out.base);
}

sg_err sg__stats_service_add(sg_server *s)
{
	return sg__server_add_builtin(s, &stats_get_desc, stats_get, s);
}
