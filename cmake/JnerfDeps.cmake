# Dependencies. The header-only ones (Eigen, nlohmann/json, CLI11, spdlog + fmt, stb) are
# looked up as plain include folders so that the same build works from Debian's packages
# and, offline, from the folder scripts/bundle-deps.sh makes (pass -DJNERF_DEPS_DIR=...).
# spdlog and fmt are used header-only so no shared library is needed at run time.
set(JNERF_DEPS_DIR "" CACHE PATH "Folder made by scripts/bundle-deps.sh (offline dependencies)")
if(NOT JNERF_DEPS_DIR AND EXISTS "${PROJECT_SOURCE_DIR}/.deps/usr/include")
  set(JNERF_DEPS_DIR "${PROJECT_SOURCE_DIR}/.deps" CACHE PATH "" FORCE)
endif()
set(_jn_hints)
if(JNERF_DEPS_DIR)
  list(APPEND _jn_hints "${JNERF_DEPS_DIR}/usr/include")
  message(STATUS "jnerf: looking for bundled dependencies in ${JNERF_DEPS_DIR}")
endif()

function(_jn_find_header var header)
  cmake_parse_arguments(A "" "" "SUFFIXES" ${ARGN})
  find_path(${var} ${header} HINTS ${_jn_hints} PATH_SUFFIXES ${A_SUFFIXES})
  if(NOT ${var})
    message(FATAL_ERROR "jnerf: '${header}' not found. Run scripts/setup.sh (Debian) or "
                        "scripts/bundle-deps.sh and pass -DJNERF_DEPS_DIR=<folder>.")
  endif()
endfunction()

_jn_find_header(JNERF_EIGEN_INCLUDE Eigen/Core SUFFIXES eigen3)
_jn_find_header(JNERF_JSON_INCLUDE nlohmann/json.hpp)
_jn_find_header(JNERF_CLI11_INCLUDE CLI/CLI.hpp)
_jn_find_header(JNERF_SPDLOG_INCLUDE spdlog/spdlog.h)
_jn_find_header(JNERF_FMT_INCLUDE fmt/format.h)
_jn_find_header(JNERF_STB_INCLUDE stb_image.h SUFFIXES stb)

find_package(Threads REQUIRED)
add_library(jn_deps INTERFACE)
target_include_directories(jn_deps SYSTEM INTERFACE
  ${JNERF_EIGEN_INCLUDE} ${JNERF_JSON_INCLUDE} ${JNERF_CLI11_INCLUDE}
  ${JNERF_SPDLOG_INCLUDE} ${JNERF_FMT_INCLUDE} ${JNERF_STB_INCLUDE})
target_compile_definitions(jn_deps INTERFACE SPDLOG_FMT_EXTERNAL FMT_HEADER_ONLY)
target_link_libraries(jn_deps INTERFACE Threads::Threads)
add_library(jn::deps ALIAS jn_deps)

find_package(OpenMP)
if(NOT OpenMP_CXX_FOUND)
  message(WARNING "jnerf: OpenMP not found; the CPU backend runs single-threaded")
endif()
