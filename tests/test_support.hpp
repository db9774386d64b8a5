#pragma once
// Helpers shared by the tests: where the real datasets are, scratch folders.
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "jnerf/core/error.hpp"

namespace jnerf::test {

// ../shared/data beside the project, or $JNERF_DATA. Empty path when absent.
inline std::filesystem::path shared_data_dir() {
  if (const char* env = std::getenv("JNERF_DATA"); env && *env) return env;
  const std::filesystem::path beside = std::filesystem::path(JNERF_SOURCE_DIR) / ".." / "shared" / "data";
  if (std::filesystem::is_directory(beside)) return std::filesystem::weakly_canonical(beside);
  return {};
}

// Skips the calling test with a message when a real dataset folder is absent.
#define JN_REQUIRE_SHARED_DATA(var, sub)                                                   \
  const std::filesystem::path var = ::jnerf::test::shared_data_dir() / (sub);                \
  if (::jnerf::test::shared_data_dir().empty() || !std::filesystem::exists(var))              \
    GTEST_SKIP() << "dataset '" << (sub) << "' not found (set JNERF_DATA or place it in ../shared/data)";

// A fresh, empty folder under the system temp dir, unique per test.
inline std::filesystem::path scratch_dir(const std::string& tag) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "jnerf_tests" /
      (std::string(info->test_suite_name()) + "." + info->name() + "." + tag);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// The InputError message thrown by f ("" when it throws none).
inline std::string input_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace jnerf::test
