/*
 * clash.h: C symbols a service's generated code would share with protoc-c's code for the same
 * service, or define twice.
 *
 * protoc-c gives every method a client function <svc>__<method>; a method named Register in a
 * service with fan-out methods therefore has the same C name as the generated
 * <svc>__register, and the build would fail far from the cause. This check fails it at the
 * .proto, naming the method to rename.
 */
#ifndef CG_CLASH_H
#define CG_CLASH_H

#include <stddef.h>

#include "index.h"
#include "options.h"
#include "printer.h"

/* Checks service si of file; plans[mi] is method mi's plan (NULL: not a fan-out method).
 * Problems are appended to errs as "file.proto:LINE:COL: what" lines. */
void cg_check_clashes(const cg_file_proto *file, size_t si, cg_plan *const *plans,
                      cg_printer *errs);

#endif
