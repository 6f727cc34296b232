/*
 * reflect.h (internal): reading and writing one field of a protobuf-c message through its
 * descriptor. Merges, gathers and leg request building all walk messages this way; this is the
 * one place that knows how protobuf-c lays a field out (value at offset, count or has_ flag or
 * oneof case at quantifier_offset).
 *
 * Every function takes a field descriptor that belongs to the message's descriptor (checked by
 * the caller at registration) and never allocates.
 */
#ifndef SG_REFLECT_H
#define SG_REFLECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Integer types (signed or not; not enum, not bool). */
bool sg__type_is_integer(ProtobufCType t);

/* Integers, float and double. */
bool sg__type_is_number(ProtobufCType t);

/* Whether an integer type is unsigned (uint32, fixed32, uint64, fixed64). */
bool sg__type_is_unsigned(ProtobufCType t);

/* Bytes one value of type t takes in a message or a repeated field's array. */
size_t sg__type_size(ProtobufCType t);

/* Field `number` of d, or NULL (also for number 0). */
const ProtobufCFieldDescriptor *sg__field(const ProtobufCMessageDescriptor *d, uint32_t number);

/* Field `number` of d if it is a repeated message field (the elements top_k, union and quality
 * rank), else NULL. */
const ProtobufCFieldDescriptor *sg__field_repeated_message(const ProtobufCMessageDescriptor *d,
                                                           uint32_t number);

/* Field `number` of d if it is a single numeric field (a score), else NULL. */
const ProtobufCFieldDescriptor *sg__field_numeric(const ProtobufCMessageDescriptor *d,
                                                  uint32_t number);

/* A score as top_k ranks it: NaN worst in either order (+inf when asc, -inf when not). */
double sg__score_key(double s, bool asc);

/* f's value in msg as a score to rank by: NaN ranks worst in either order (last when asc is
 * false, i.e. highest first; last when asc is true), so one bad element cannot poison a sort. */
double sg__field_score(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, bool asc);

/* Whether f is a single (not repeated) value of a scalar type: number, enum, bool, string or
 * bytes; not a message. */
bool sg__field_is_scalar(const ProtobufCFieldDescriptor *f);

/* The address of f's value (for a repeated field: of its array pointer). */
void *sg__field_ptr(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);
const void *sg__field_cptr(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);

/* A repeated field's element count and array. */
size_t sg__field_count(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);
void *sg__field_array(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);
void sg__field_set_array(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, void *arr,
                         size_t n);

/* Whether a single field holds a value as protobuf-c would pack it: its has_ flag or oneof
 * case when it has one, a non-NULL pointer for strings and messages; proto3 implicit scalars
 * always count as present. */
bool sg__field_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);

/* Marks a single field present (has_ flag, oneof case); a no-op for fields without presence. */
void sg__field_set_present(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);

/* Whether a single field is "empty": absent, zero, false, "" or zero-length bytes, or an unset
 * message. */
bool sg__field_empty(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);

/* A value of type t stored as protobuf-c stores it (p: a field's storage, or a descriptor's
 * default_value), as a double; 0 for strings, bytes and messages. */
double sg__number_at(ProtobufCType t, const void *p);

/* A numeric (or enum/bool) field's value as a double; 0 for other types. */
double sg__field_number(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);

/* An integer, enum or bool field's value, sign-extended or zero-extended to 64 bits. */
uint64_t sg__field_u64(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);

/* Writes an integer count into an integer field and marks it present. */
void sg__field_write_count(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, uint32_t v);

/* Whether single scalar field f has equal values in a and b (strings and bytes by content). */
bool sg__field_equal(const ProtobufCMessage *a, const ProtobufCMessage *b,
                     const ProtobufCFieldDescriptor *f);

/* A hash of single scalar field f's value, consistent with sg__field_equal. */
uint64_t sg__field_hash(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);

/* Copies field sf of src into field df of dst: the same type and label (and message or enum
 * descriptor), checked by the caller. Shallow: strings, bytes, messages and arrays are shared
 * with src. Presence goes with the value. */
void sg__field_copy(ProtobufCMessage *dst, const ProtobufCFieldDescriptor *df,
                    const ProtobufCMessage *src, const ProtobufCFieldDescriptor *sf);

/* Whether df can receive sf with sg__field_copy. */
bool sg__field_compatible(const ProtobufCFieldDescriptor *df, const ProtobufCFieldDescriptor *sf);

/* Formats single scalar field f's value for a message (strings quoted and cut at 32 bytes,
 * bytes as their length). Returns what snprintf returns. */
int sg__field_format(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, char *buf,
                     size_t size);

#endif
