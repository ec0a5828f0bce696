# SPDX-License-Identifier: MIT
# Runs one example program and checks what it prints (ctest label "example"):
#   cmake -DEXE=<program> [-DARGS="a b c"] (-DEXPECT=<file> | -DREGEX=<regex>) -P run_example.cmake
# EXPECT: stdout must equal the file; REGEX: stdout must match. The exit status must be 0.
separate_arguments(args UNIX_COMMAND "${ARGS}")
execute_process(COMMAND ${EXE} ${args} OUTPUT_VARIABLE out ERROR_VARIABLE err
                RESULT_VARIABLE rc TIMEOUT 50)
if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "${EXE} ${ARGS}: exit status ${rc}\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(DEFINED EXPECT)
  file(READ ${EXPECT} want)
  if(NOT out STREQUAL want)
    message(FATAL_ERROR "${EXE}: printed\n${out}\nexpected (${EXPECT}):\n${want}")
  endif()
endif()
if(DEFINED REGEX AND NOT out MATCHES "${REGEX}")
  message(FATAL_ERROR "${EXE}: printed\n${out}\nwhich does not match ${REGEX}")
endif()
message(STATUS "${out}")
