/*
 * bytes.c: byte buffers in and out.
 */
#include "bytes.h"

#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>

sg_err sg__bytes_flatten(grpc_byte_buffer *bb, sg__arena *a, const uint8_t **data, size_t *len)
{
	grpc_byte_buffer_reader reader;
	grpc_slice all;
	uint8_t *copy;

	if (bb == NULL || data == NULL || len == NULL)
		return SG_EINVAL;
	if (bb->type == GRPC_BB_RAW && bb->data.raw.compression == GRPC_COMPRESS_NONE) {
		grpc_slice_buffer *sb = &bb->data.raw.slice_buffer;

		if (sb->count == 0) {
			*data = (const uint8_t *)"";
			*len = 0;
			return SG_OK;
		}
		if (sb->count == 1) {
			*data = GRPC_SLICE_START_PTR(sb->slices[0]);
			*len = GRPC_SLICE_LENGTH(sb->slices[0]);
			return SG_OK;
		}
	}
	if (a == NULL)
		return SG_EINVAL;
	/* Several slices, or compressed: the reader decompresses and joins. */
	if (!grpc_byte_buffer_reader_init(&reader, bb))
		return SG_EDECODE;
	all = grpc_byte_buffer_reader_readall(&reader);
	grpc_byte_buffer_reader_destroy(&reader);
	*len = GRPC_SLICE_LENGTH(all);
	copy = sg__arena_alloc(a, *len);
	if (copy != NULL && *len > 0)
		memcpy(copy, GRPC_SLICE_START_PTR(all), *len);
	grpc_slice_unref(all);
	if (copy == NULL)
		return SG_ENOMEM;
	*data = copy;
	return SG_OK;
}

bool sg__bytes_is_view(const grpc_byte_buffer *bb, const uint8_t *data)
{
	return bb->type == GRPC_BB_RAW && bb->data.raw.compression == GRPC_COMPRESS_NONE &&
	       bb->data.raw.slice_buffer.count == 1 &&
	       data == GRPC_SLICE_START_PTR(bb->data.raw.slice_buffer.slices[0]);
}

sg_err sg__bytes_decode(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc,
                        ProtobufCAllocator *allocator, sg__arena *scratch, ProtobufCMessage **out)
{
	const uint8_t *data;
	size_t len;
	sg_err rv;

	if (bb == NULL)
		return SG_EDECODE;
	if ((rv = sg__bytes_flatten(bb, scratch, &data, &len)) != SG_OK)
		return rv;
	/* protobuf-c copies strings and bytes out, so *out does not borrow bb. */
	*out = protobuf_c_message_unpack(desc, allocator, len, data);
	return *out == NULL ? SG_EDECODE : SG_OK;
}

grpc_byte_buffer *sg__bytes_copy(const uint8_t *data, size_t len)
{
	grpc_slice s = grpc_slice_from_copied_buffer((const char *)data, len);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);

	/* The buffer took its own reference. */
	grpc_slice_unref(s);
	return bb;
}

sg_err sg__bytes_encode(const ProtobufCMessage *msg, grpc_byte_buffer **out)
{
	size_t len;
	grpc_slice s;

	if (msg == NULL || out == NULL)
		return SG_EINVAL;
	len = protobuf_c_message_get_packed_size(msg);
	s = grpc_slice_malloc(len);
	if (protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s)) != len) {
		grpc_slice_unref(s);
		return SG_EENCODE;
	}
	*out = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	return SG_OK;
}

sg_err sg__bytes_encode_arena(const ProtobufCMessage *msg, sg__arena *a, grpc_byte_buffer **out)
{
	size_t len;
	uint8_t *buf;
	grpc_slice s;

	if (msg == NULL || a == NULL || out == NULL)
		return SG_EINVAL;
	len = protobuf_c_message_get_packed_size(msg);
	if ((buf = sg__arena_alloc(a, len)) == NULL)
		return SG_ENOMEM;
	if (protobuf_c_message_pack(msg, buf) != len)
		return SG_EENCODE;
	s = grpc_slice_from_static_buffer(buf, len);
	*out = grpc_raw_byte_buffer_create(&s, 1);
	return *out != NULL ? SG_OK : SG_ENOMEM;
}
