# embed.cmake: writes a C source holding a file's bytes as a NUL-terminated char array, so the
# binary serves the file with nothing to install. Run at build time:
#   cmake -DIN=<file> -DOUT=<file.c> -DNAME=<symbol> -P embed.cmake
# defines `const char NAME[]` and `const size_t NAME_len` (bytes, without the NUL).
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
# Twelve bytes a line: "0x3c, 0x21, ..." (CMake's regular expressions have no {n}).
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1, " bytes "${hex}")
string(REPEAT "0x[0-9a-f][0-9a-f], " 12 line)
string(REGEX REPLACE "(${line})" "\\1\n\t" bytes "${bytes}")
get_filename_component(in_name ${IN} NAME)
file(WRITE ${OUT} "/* Generated from ${in_name} by embed.cmake: DO NOT EDIT. */\n"
  "#include <stddef.h>\n\n"
  "const char ${NAME}[] = {\n\t${bytes}0x00};\n"
  "const size_t ${NAME}_len = ${len};\n")
