/*
 * request_map.c: building a heterogeneous leg's request from the incoming one.
 */
#include "request_map.h"

#include <stdlib.h>

#include "bytes.h"
#include "log.h"
#include "reflect.h"

sg_err sg__request_map_init(sg__request_map *map, const sg_method_desc *m, const sg_leg_desc *leg,
                            char *why, size_t len)
{
	map->desc = leg->request;
	map->pairs = NULL;
	map->n = 0;
	if (leg->request == NULL || leg->response == NULL)
		return sg__why(why, len, "leg %s: no request or response descriptor", leg->name);
	if (leg->n_map == 0) {
		if (leg->request != m->request)
			return sg__why(why, len,
			               "leg %s: takes %s, not %s: its request needs field maps",
			               leg->name, leg->request->name, m->request->name);
		return SG_OK;
	}
	if (leg->map == NULL)
		return sg__why(why, len, "leg %s: n_map is %zu but map is NULL", leg->name,
		               leg->n_map);
	if ((map->pairs = calloc(leg->n_map, sizeof(*map->pairs))) == NULL)
		return SG_ENOMEM;
	for (size_t i = 0; i < leg->n_map; i++) {
		const ProtobufCFieldDescriptor *from = sg__field(m->request, leg->map[i].from);
		const ProtobufCFieldDescriptor *to = sg__field(leg->request, leg->map[i].to);

		if (from == NULL)
			return sg__why(why, len, "leg %s: %s has no field %u", leg->name,
			               m->request->name, (unsigned)leg->map[i].from);
		if (to == NULL)
			return sg__why(why, len, "leg %s: %s has no field %u", leg->name,
			               leg->request->name, (unsigned)leg->map[i].to);
		if (!sg__field_compatible(to, from))
			return sg__why(
			        why, len,
			        "leg %s: field %s of %s does not fit field %s of %s (type or "
			        "label differ)",
			        leg->name, from->name, m->request->name, to->name,
			        leg->request->name);
		map->pairs[map->n++] = (sg__field_pair){.from = from, .to = to};
	}
	return SG_OK;
}

void sg__request_map_fini(sg__request_map *map)
{
	free(map->pairs);
	map->pairs = NULL;
	map->n = 0;
}

ProtobufCMessage *sg__request_map_apply(const sg__request_map *map,
                                        const ProtobufCMessage *incoming, sg__arena *a)
{
	ProtobufCMessage *out = sg__arena_alloc(a, map->desc->sizeof_message);

	if (out == NULL)
		return NULL;
	protobuf_c_message_init(map->desc, out);
	for (size_t i = 0; i < map->n; i++)
		sg__field_copy(out, map->pairs[i].to, incoming, map->pairs[i].from);
	return out;
}

sg_err sg__request_map_build(const sg__request_map *map, const ProtobufCMessage *incoming,
                             sg__arena *a, grpc_byte_buffer **out)
{
	ProtobufCMessage *msg = sg__request_map_apply(map, incoming, a);

	if (msg == NULL)
		return SG_ENOMEM;
	return sg__bytes_encode_arena(msg, a, out);
}
