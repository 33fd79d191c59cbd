# Fuzz targets: every src/jetflow/**/foo_fuzz.cc defines LLVMFuzzerTestOneInput() for one
# decoder or parser, with a seed corpus in fuzz_corpus/foo_fuzz/ next to it and, optionally,
# a libFuzzer dictionary fuzz_corpus/foo_fuzz.dict. A target links `library` and the
# libraries after it (its subsystem's TEST_DEPS).
#
#  - With JETFLOW_FUZZ=ON (clang; the `fuzz` preset for long runs with scripts/fuzz.sh, and
#    the `asan` preset): a libFuzzer binary, compiled with JETFLOW_FUZZ_LIBFUZZER defined
#    (for code only libFuzzer can use, such as a custom mutator). When tests are built too
#    (the asan preset), each target is also a ctest test labelled `fuzz_run`:
#    JETFLOW_FUZZ_TEST_SECONDS of fuzzing from its corpus, so every CI run builds the
#    fuzzers and runs each one briefly; a crash, a leak of time (-timeout) or memory
#    (-rss_limit_mb) fails the test, and the input that did it is left in
#    <build>/fuzz/crashes/.
#  - Otherwise (gcc): the same file linked with a replay driver that runs every corpus input
#    plus deterministic mutations of it (truncations, flipped bytes), registered with ctest
#    (label `fuzz_replay`) so each release test run exercises it on malformed input.
set(JETFLOW_FUZZ_TEST_SECONDS 20 CACHE STRING
    "Seconds each fuzz target runs as a ctest test in a JETFLOW_FUZZ build with tests")
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
    if(JETFLOW_BUILD_TESTS)
      # New inputs go to a scratch folder (the first corpus folder is the one libFuzzer
      # writes to); the checked-in corpus is only read.
      set(scratch "${CMAKE_BINARY_DIR}/fuzz/scratch/${target}")
      set(crashes "${CMAKE_BINARY_DIR}/fuzz/crashes")
      file(MAKE_DIRECTORY "${scratch}" "${crashes}")
      set(dict_option)
      if(EXISTS "${dir}/fuzz_corpus/${target}.dict")
        set(dict_option "-dict=${dir}/fuzz_corpus/${target}.dict")
      endif()
      add_test(NAME fuzz_run.${target}
               COMMAND ${target} -max_total_time=${JETFLOW_FUZZ_TEST_SECONDS} -timeout=10
                       -rss_limit_mb=2048 -print_final_stats=1 ${dict_option}
                       "-artifact_prefix=${crashes}/${target}-" "${scratch}" "${corpus}")
      set_tests_properties(fuzz_run.${target} PROPERTIES LABELS fuzz_run)
    endif()
  elseif(JETFLOW_BUILD_TESTS)
    add_executable(${target} "${source}" "${PROJECT_SOURCE_DIR}/src/jetflow/testing/fuzz/replay_main.cc")
    target_link_libraries(${target} PRIVATE ${library} ${ARGN})
    add_test(NAME fuzz_replay.${target} COMMAND ${target} "${corpus}")
    set_tests_properties(fuzz_replay.${target} PROPERTIES LABELS fuzz_replay)
  endif()
endfunction()
