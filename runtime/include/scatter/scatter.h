/*
 * scatter/scatter.h: all of libscatter's public API. Generated *.scatter.h files include it.
 */
#ifndef SCATTER_SCATTER_H
#define SCATTER_SCATTER_H

#include "scatter/client.h"
#include "scatter/error.h"
#include "scatter/leaf.h"
#include "scatter/method.h"
#include "scatter/server.h"
#include "scatter/trailer.h"

#define SG_VERSION_MAJOR 0
#define SG_VERSION_MINOR 1
#define SG_VERSION_PATCH 0
/* Generated code checks it was made for a runtime it can use: bumped on table layout changes. */
#define SG_TABLE_VERSION 2

#endif
