/* gather.c: when a call stops waiting for its legs. */
#include "gather.h"

#include <stddef.h>

static bool gather_all_done(const sg_gather_desc *g, const sg__gather_state *st)
{
	(void)g;
	return st->ok + st->failed >= st->total;
}

static const sg__gather_ops gather_all = {
        .name = "all",
        .done = gather_all_done,
};

const sg__gather_ops *sg__gather_ops_for(sg_gather_kind kind)
{
	switch (kind) {
	case SG_GATHER_ALL:
		return &gather_all;
	case SG_GATHER_FIRST_N:
	case SG_GATHER_QUORUM:
	case SG_GATHER_BEST_EFFORT:
	case SG_GATHER_QUALITY:
		break; /* not implemented yet: such tables are refused at registration */
	}
	return NULL;
}
