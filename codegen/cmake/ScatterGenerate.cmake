# scatter_generate(TARGET <target> PROTOS <a.proto>... [IMPORT_DIRS <dir>...])
#
# Runs protoc with protoc-c and protoc-gen-scatter on each .proto, adds the generated
# <name>.pb-c.c, <name>.scatter.c and <name>.scatter-fanout.c to <target>, puts their directory
# on its include path and links it to libscatter. Regenerates when a .proto, options.proto or
# the plugin changes. Output lives in the build tree (${CMAKE_CURRENT_BINARY_DIR}), never in
# the sources.
#
# Make <target> a STATIC library that the leaf services, the clients and the aggregator all
# link. <name>.scatter.c holds the skeletons and client stubs; <name>.scatter-fanout.c holds the
# fan-out tables, <svc>__register and the trampolines to the C hooks (custom merges, quality
# predicates) the aggregator defines. From an archive the linker takes an object only when the
# binary refers to one of its symbols, so only a binary that calls <svc>__register needs the
# hooks. An executable <target> compiles all three into itself and so needs them all.
#
# Each proto's own directory is an import dir, so `import "x.proto";` of a sibling works and the
# generated files are named after the proto's base name.

# protoc needs protobuf-c's *plugin* for --c_out. Debian's protoc-c is a symlink to
# protoc-gen-c that only acts as a plugin when called by that name (called as protoc-c it is a
# standalone compiler and prints its usage), so prefer protoc-gen-c found next to PROTOC_C.
if(NOT SCATTER_PROTOC_GEN_C)
  if(PROTOC_C)
    get_filename_component(_sg_protoc_c_dir ${PROTOC_C} DIRECTORY)
  endif()
  find_program(SCATTER_PROTOC_GEN_C protoc-gen-c HINTS ${_sg_protoc_c_dir})
  if(NOT SCATTER_PROTOC_GEN_C)
    set(SCATTER_PROTOC_GEN_C ${PROTOC_C} CACHE FILEPATH "protobuf-c's protoc plugin" FORCE)
  endif()
endif()

function(scatter_generate)
  cmake_parse_arguments(SG "" "TARGET" "PROTOS;IMPORT_DIRS" ${ARGN})
  if(NOT SG_TARGET OR NOT SG_PROTOS)
    message(FATAL_ERROR "scatter_generate: TARGET and PROTOS are required")
  endif()
  set(out ${CMAKE_CURRENT_BINARY_DIR})
  if(TARGET protoc-gen-scatter)
    set(plugin $<TARGET_FILE:protoc-gen-scatter>)
    set(plugin_dep protoc-gen-scatter)
  else()
    set(plugin ${SCATTER_PLUGIN_EXECUTABLE})
    set(plugin_dep ${SCATTER_PLUGIN_EXECUTABLE})
  endif()
  # A proto may import its siblings: regenerate each when any proto of the call changes (an
  # over-approximation of the real imports, which protoc only reports per single output).
  set(all_protos)
  foreach(proto IN LISTS SG_PROTOS)
    get_filename_component(abs ${proto} ABSOLUTE)
    list(APPEND all_protos ${abs})
  endforeach()
  foreach(proto IN LISTS SG_PROTOS)
    get_filename_component(abs ${proto} ABSOLUTE)
    get_filename_component(dir ${abs} DIRECTORY)
    get_filename_component(name ${abs} NAME_WLE)  # a.b.proto -> a.b, as protoc-c names it
    set(imports -I${dir})
    foreach(d IN LISTS SG_IMPORT_DIRS)
      get_filename_component(d ${d} ABSOLUTE)
      list(APPEND imports -I${d})
    endforeach()
    list(APPEND imports -I${SCATTER_PROTO_DIR} -I${SCATTER_PROTOBUF_INCLUDE})
    set(gen ${out}/${name}.pb-c.c ${out}/${name}.pb-c.h
            ${out}/${name}.scatter.c ${out}/${name}.scatter.h ${out}/${name}.scatter-fanout.c)
    add_custom_command(
      OUTPUT ${gen}
      COMMAND ${PROTOC} ${imports}
              --plugin=protoc-gen-c=${SCATTER_PROTOC_GEN_C}
              --plugin=protoc-gen-scatter=${plugin}
              --c_out=${out} --scatter_out=${out} ${abs}
      DEPENDS ${all_protos} ${SCATTER_PROTO_DIR}/scatter/options.proto ${plugin_dep}
      COMMENT "scatter: generating C from ${name}.proto"
      VERBATIM)
    target_sources(${SG_TARGET} PRIVATE ${out}/${name}.pb-c.c ${out}/${name}.scatter.c
                                        ${out}/${name}.scatter-fanout.c)
  endforeach()
  target_include_directories(${SG_TARGET} PUBLIC ${out})
  # Scatter::scatter: the imported target when installed, an alias of `scatter` in the tree.
  target_link_libraries(${SG_TARGET} PUBLIC Scatter::scatter)
endfunction()
