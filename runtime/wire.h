/*
 * wire.h (internal): reading protobuf wire format without decoding it into a message.
 *
 * A top_k merge needs, of each leg's answer, only the score of every element and the bytes of
 * the few that win; protobuf-c would allocate and copy every element, string by string. So for
 * such methods (sg__merge_plan.lazy) a leg's answer is checked here when it arrives, with the
 * same verdict protobuf_c_message_unpack would give (a bad answer is still that leg's failure,
 * decided at once, as the gather needs), its elements' scores read in the same walk, and left
 * encoded; the merge decodes the winners alone.
 */
#ifndef SG_WIRE_H
#define SG_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "arena.h"
#include "scatter/error.h"

/* Whether data[0..len) decodes as d: true exactly when protobuf_c_message_unpack(d, ...) would
 * return a message (enough memory given), for descriptors without required fields (see
 * sg__wire_lazy_ok). */
bool sg__wire_check(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len);

/* Whether d, and every message type reachable from it, can be checked by sg__wire_check: no
 * required field (proto2) and no deeper nesting than the checker follows. */
bool sg__wire_lazy_ok(const ProtobufCMessageDescriptor *d);

/* One element of a repeated message field, still encoded. */
typedef struct sg__wire_elem {
	const uint8_t *data;
	size_t len;
} sg__wire_elem;

/* An element and its score, as the decoded element would give it (sg__field_number: the
 * score's last occurrence, else its default; NaN stays NaN). */
typedef struct sg__wire_scored {
	double score;
	sg__wire_elem elem;
} sg__wire_scored;

/* The elements sg__wire_check_scored keeps: those of the top-level repeated message field
 * `field`, scored by `score`, a numeric scalar field of the element type, not in a oneof. */
typedef struct sg__wire_pick {
	uint32_t field;
	const ProtobufCFieldDescriptor *score;
} sg__wire_pick;

/* sg__wire_check that also collects pick's elements, in order, into an array in a (*out, *n;
 * NULL and 0 when there are none; the elements view data). SG_EDECODE when data does not
 * decode as d, SG_ENOMEM, SG_EINVAL. */
sg_err sg__wire_check_scored(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len,
                             const sg__wire_pick *pick, sg__arena *a, sg__wire_scored **out,
                             size_t *n);

/* data[0..len) (checked) without its top-level field `field`, every occurrence: a copy in a, or
 * data itself when the field is not there. SG_ENOMEM. */
sg_err sg__wire_without(const uint8_t *data, size_t len, uint32_t field, sg__arena *a,
                        const uint8_t **out, size_t *out_len);

#endif
