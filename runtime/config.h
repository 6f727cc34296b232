/*
 * config.h (internal): what applying a config needs to know of the server it configures.
 *
 * Defined in server.c (which owns the methods); called by config.c from the controlling thread.
 */
#ifndef SG_CONFIG_H
#define SG_CONFIG_H

#include <stdbool.h>

#include "scatter/config.h"
#include "scatter/method.h"
#include "scatter/server.h"

/* Whether a registered fan-out method calls group (homogeneous group or a leg's group). */
bool sg__server_group_used(const sg_server *s, const char *group);

/* The resilience the .proto gives the first registered method (in registration order) calling
 * group, and that method's path (borrowed: the table's). SG_ENOENT if none calls it. A config
 * override of the group starts from these values. */
sg_err sg__server_group_resilience(const sg_server *s, const char *group, sg_resilience_desc *out,
                                   const char **method);

#endif
