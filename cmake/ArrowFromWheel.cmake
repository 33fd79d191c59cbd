# Provides the imported targets jetflow::arrow, jetflow::parquet, jetflow::arrow_compute,
# jetflow::arrow_acero and jetflow::arrow_dataset.
#
# Arrow C++ is not packaged in Debian 12. If CMake finds an installed Arrow (ArrowConfig /
# ParquetConfig), we use it. Otherwise we take the C++ libraries and headers bundled in the
# official pyarrow wheel: fetched with pip (the ordinary PyPI client), pinned to one version,
# checked against a SHA-256, and unpacked into the build tree. The wheel ships versioned
# shared objects (libarrow.so.2600) without CMake config files, so we declare the targets
# ourselves and give executables an RPATH to that folder. libarrow_python is never linked.

set(JETFLOW_PYARROW_VERSION "26.0.1")
set(JETFLOW_PYARROW_SOVERSION "2600")
set(JETFLOW_PYARROW_WHEEL "pyarrow-26.0.1-cp311-cp311-manylinux_2_28_x86_64.whl")
set(JETFLOW_PYARROW_SHA256 "39cb0f2418282c24bea6ceda77b03e5a8f0a5766b63a8bf194d4e2a2c423548c")

option(JETFLOW_USE_SYSTEM_ARROW "Use an installed Arrow C++ when CMake finds one" ON)

if(JETFLOW_USE_SYSTEM_ARROW)
  find_package(Arrow 21 QUIET CONFIG)
  find_package(Parquet QUIET CONFIG)
endif()

if(Arrow_FOUND AND Parquet_FOUND)
  message(STATUS "jetflow: using installed Arrow ${Arrow_VERSION}")
  add_library(jetflow::arrow ALIAS Arrow::arrow_shared)
  add_library(jetflow::parquet ALIAS Parquet::parquet_shared)
  find_package(ArrowCompute QUIET CONFIG)
  find_package(ArrowAcero QUIET CONFIG)
  find_package(ArrowDataset QUIET CONFIG)
  if(TARGET ArrowCompute::arrow_compute_shared)
    add_library(jetflow::arrow_compute ALIAS ArrowCompute::arrow_compute_shared)
  else()
    add_library(jetflow::arrow_compute ALIAS Arrow::arrow_shared)
  endif()
  set(JETFLOW_ARROW_LIB_DIR "")
  return()
endif()

# Several build trees (release, asan, ...) may share one unpacked wheel.
set(JETFLOW_DEPS_DIR "${CMAKE_BINARY_DIR}/_deps" CACHE PATH "Where third-party downloads are kept")
set(_deps "${JETFLOW_DEPS_DIR}/pyarrow-${JETFLOW_PYARROW_VERSION}")
set(_wheel "${_deps}/${JETFLOW_PYARROW_WHEEL}")
set(_root "${_deps}/unpacked")

if(NOT EXISTS "${_root}/pyarrow/libarrow.so.${JETFLOW_PYARROW_SOVERSION}")
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  file(MAKE_DIRECTORY "${_deps}")
  if(NOT EXISTS "${_wheel}")
    message(STATUS "jetflow: fetching ${JETFLOW_PYARROW_WHEEL} with pip")
    execute_process(
      COMMAND "${Python3_EXECUTABLE}" -m pip download --quiet --no-deps --only-binary=:all:
              --platform manylinux_2_28_x86_64 --python-version 3.11
              -d "${_deps}" "pyarrow==${JETFLOW_PYARROW_VERSION}"
      RESULT_VARIABLE _rc)
    if(NOT _rc EQUAL 0 OR NOT EXISTS "${_wheel}")
      message(FATAL_ERROR "jetflow: could not download ${JETFLOW_PYARROW_WHEEL} with pip")
    endif()
  endif()
  file(SHA256 "${_wheel}" _sha)
  if(NOT _sha STREQUAL JETFLOW_PYARROW_SHA256)
    file(REMOVE "${_wheel}")
    message(FATAL_ERROR "jetflow: ${JETFLOW_PYARROW_WHEEL} has SHA-256 ${_sha}, "
                        "expected ${JETFLOW_PYARROW_SHA256}; removed it")
  endif()
  file(REMOVE_RECURSE "${_root}")
  file(ARCHIVE_EXTRACT INPUT "${_wheel}" DESTINATION "${_root}"
       PATTERNS "pyarrow/include/*" "pyarrow/lib*.so.${JETFLOW_PYARROW_SOVERSION}")
endif()

set(JETFLOW_ARROW_LIB_DIR "${_root}/pyarrow" CACHE INTERNAL "")
set(JETFLOW_ARROW_INCLUDE_DIR "${_root}/pyarrow/include" CACHE INTERNAL "")
message(STATUS "jetflow: using Arrow ${JETFLOW_PYARROW_VERSION} from the pyarrow wheel in ${JETFLOW_ARROW_LIB_DIR}")

function(_jetflow_import name file)
  add_library(jetflow::${name} SHARED IMPORTED GLOBAL)
  set_target_properties(jetflow::${name} PROPERTIES
    IMPORTED_LOCATION "${JETFLOW_ARROW_LIB_DIR}/${file}.so.${JETFLOW_PYARROW_SOVERSION}"
    IMPORTED_NO_SONAME FALSE
    INTERFACE_INCLUDE_DIRECTORIES "${JETFLOW_ARROW_INCLUDE_DIR}")
endfunction()
_jetflow_import(arrow libarrow)
_jetflow_import(arrow_compute libarrow_compute)
_jetflow_import(arrow_acero libarrow_acero)
_jetflow_import(arrow_dataset libarrow_dataset)
_jetflow_import(parquet libparquet)
set_property(TARGET jetflow::parquet PROPERTY INTERFACE_LINK_LIBRARIES jetflow::arrow)
set_property(TARGET jetflow::arrow_compute PROPERTY INTERFACE_LINK_LIBRARIES jetflow::arrow)
