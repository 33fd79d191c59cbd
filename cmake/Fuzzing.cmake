# Fuzz targets: every src/jetflow/**/foo_fuzz.cc defines LLVMFuzzerTestOneInput() for one
# binary decoder (or parser), with a seed corpus in fuzz_corpus/foo_fuzz/ next to it and,
# optionally, a libFuzzer dictionary fuzz_corpus/foo_fuzz.dict. A target links `library`
# and the libraries after it (its subsystem's TEST_DEPS).
#
#  - With JETFLOW_FUZZ=ON (preset `fuzz`, clang): a libFuzzer binary, compiled with
#    JETFLOW_FUZZ_LIBFUZZER defined (for code that only libFuzzer can use, such as a custom
#    mutator); scripts/fuzz.sh runs each one for a while from its corpus.
#  - Otherwise (every other preset, gcc): the same file linked with a replay driver that runs
#    every corpus input plus deterministic mutations of it (truncations, flipped bytes),
#    registered with ctest so each test run — including the ASan+UBSan one — exercises the
#    decoder on malformed input.
function(jetflow_fuzz_target source library)
  get_filename_component(target "${source}" NAME_WE)
  get_filename_component(dir "${source}" DIRECTORY)
  set(corpus "${dir}/fuzz_corpus/${target}")
  if(JETFLOW_FUZZ)
    add_executable(${target} "${source}")
    target_link_libraries(${target} PRIVATE ${library} ${ARGN})
    target_compile_definitions(${target} PRIVATE JETFLOW_FUZZ_LIBFUZZER)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
    set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/fuzz")
  elseif(JETFLOW_BUILD_TESTS)
    add_executable(${target} "${source}" "${PROJECT_SOURCE_DIR}/src/jetflow/testing/fuzz/replay_main.cc")
    target_link_libraries(${target} PRIVATE ${library} ${ARGN})
    add_test(NAME fuzz_replay.${target} COMMAND ${target} "${corpus}")
    set_tests_properties(fuzz_replay.${target} PROPERTIES LABELS fuzz_replay)
  endif()
endfunction()
