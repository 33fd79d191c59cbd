# Provides the imported targets jetflow::arrow, jetflow::parquet, jetflow::arrow_compute,
# jetflow::arrow_acero and jetflow::arrow_dataset.
#
# Arrow C++ is not packaged in Debian 12. If CMake finds an installed Arrow (ArrowConfig /
# ParquetConfig), we use it. Otherwise we take the C++ libraries and headers bundled in the
# official pyarrow wheel: fetched with pip (the ordinary PyPI client), pinned to one version,
# checked against a SHA-256, and unpacked into the build tree. The wheel ships versioned
# shared objects (libarrow.so.2600, each with RUNPATH $ORIGIN, so they find each other in
# one folder) without CMake config files, so we declare the targets ourselves and give
# executables in the build tree an RPATH to that folder. libarrow_python is never linked.
# `cmake --install` copies the libraries an installed program needs into <prefix>/lib
# (src/jetflow/CMakeLists.txt). Wheels are pinned for x86_64 and aarch64.

set(JETFLOW_PYARROW_VERSION "26.0.1")
set(JETFLOW_PYARROW_SOVERSION "2600")

# One manylinux wheel per architecture, each pinned by its SHA-256 (as PyPI publishes it for
# this version). The architecture is the one we build for: CMAKE_SYSTEM_PROCESSOR, which is
# the host's unless a toolchain file says otherwise. Anything else stops here.
set(_jetflow_wheel_platform_x86_64 "manylinux_2_28_x86_64")
set(_jetflow_wheel_sha256_x86_64 "39cb0f2418282c24bea6ceda77b03e5a8f0a5766b63a8bf194d4e2a2c423548c")
set(_jetflow_elf_machine_x86_64 "3e00")   # EM_X86_64 (62), little-endian
set(_jetflow_wheel_platform_aarch64 "manylinux_2_28_aarch64")
set(_jetflow_wheel_sha256_aarch64 "22a96a225de107eb9acd1ad9a818198ca832df2a4c0952412f754a7ed2105a98")
set(_jetflow_elf_machine_aarch64 "b700")  # EM_AARCH64 (183), little-endian

string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" _jetflow_processor)
if(_jetflow_processor MATCHES "^(x86_64|amd64)$")
  set(JETFLOW_ARROW_ARCH "x86_64")
elseif(_jetflow_processor MATCHES "^(aarch64|arm64)$")
  set(JETFLOW_ARROW_ARCH "aarch64")
else()
  set(JETFLOW_ARROW_ARCH "")
endif()
if(JETFLOW_ARROW_ARCH)
  set(JETFLOW_PYARROW_PLATFORM "${_jetflow_wheel_platform_${JETFLOW_ARROW_ARCH}}")
  set(JETFLOW_PYARROW_WHEEL
      "pyarrow-${JETFLOW_PYARROW_VERSION}-cp311-cp311-${JETFLOW_PYARROW_PLATFORM}.whl")
  set(JETFLOW_PYARROW_SHA256 "${_jetflow_wheel_sha256_${JETFLOW_ARROW_ARCH}}")
endif()

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

if(NOT JETFLOW_ARROW_ARCH)
  message(FATAL_ERROR
    "jetflow: no pinned pyarrow wheel for the processor '${CMAKE_SYSTEM_PROCESSOR}' "
    "(there are wheels for x86_64 and aarch64 only). Install Arrow C++ and Parquet C++ "
    "${JETFLOW_PYARROW_VERSION} so that CMake finds ArrowConfig.cmake and ParquetConfig.cmake "
    "(e.g. -DCMAKE_PREFIX_PATH=/opt/arrow), or add that processor's wheel and SHA-256 to "
    "cmake/ArrowFromWheel.cmake.")
endif()

# Several build trees (release, asan, ...) may share one unpacked wheel. One deps folder
# holds one architecture's libraries (checked below).
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
              --platform ${JETFLOW_PYARROW_PLATFORM} --python-version 3.11
              -d "${_deps}" "pyarrow==${JETFLOW_PYARROW_VERSION}"
      RESULT_VARIABLE _rc)
    if(NOT _rc EQUAL 0 OR NOT EXISTS "${_wheel}")
      message(FATAL_ERROR "jetflow: could not download ${JETFLOW_PYARROW_WHEEL} with "
                          "'${Python3_EXECUTABLE} -m pip' (Debian: python3-pip, which "
                          "scripts/install_deps.sh build installs)")
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

# Arrow's license and notice, installed beside the copied libraries (src/jetflow install
# rules); taken from the wheel into this build tree, so a shared deps folder is only read.
set(_licenses "${CMAKE_BINARY_DIR}/_arrow_licenses")
set(_licenses_in_wheel "pyarrow-${JETFLOW_PYARROW_VERSION}.dist-info/licenses")
if(NOT EXISTS "${_licenses}/${_licenses_in_wheel}/LICENSE.txt" AND EXISTS "${_wheel}")
  file(ARCHIVE_EXTRACT INPUT "${_wheel}" DESTINATION "${_licenses}"
       PATTERNS "${_licenses_in_wheel}/*")
endif()
set(_licenses "${_licenses}/${_licenses_in_wheel}")

# The unpacked libraries must be for the processor we build for: e_machine, bytes 18-19 of
# the ELF header.
file(READ "${_root}/pyarrow/libarrow.so.${JETFLOW_PYARROW_SOVERSION}" _elf_machine
     OFFSET 18 LIMIT 2 HEX)
if(NOT _elf_machine STREQUAL "${_jetflow_elf_machine_${JETFLOW_ARROW_ARCH}}")
  message(FATAL_ERROR "jetflow: ${_root}/pyarrow holds Arrow libraries for another processor "
                      "(ELF machine 0x${_elf_machine}), not ${JETFLOW_ARROW_ARCH}; use another "
                      "JETFLOW_DEPS_DIR or remove ${_root}")
endif()

set(JETFLOW_ARROW_LIB_DIR "${_root}/pyarrow" CACHE INTERNAL "")
set(JETFLOW_ARROW_INCLUDE_DIR "${_root}/pyarrow/include" CACHE INTERNAL "")
set(JETFLOW_ARROW_LICENSE_DIR "${_licenses}" CACHE INTERNAL "")
message(STATUS "jetflow: using Arrow ${JETFLOW_PYARROW_VERSION} from the pyarrow wheel "
               "(${JETFLOW_PYARROW_PLATFORM}) in ${JETFLOW_ARROW_LIB_DIR}")

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
