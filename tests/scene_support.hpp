#pragma once
// A small generated room for tests, made once per test process (ctest runs the tests of
// one file in parallel processes, so each process has its own folder).
#include <unistd.h>

#include <filesystem>
#include <string>

#include "jnerf/data/synth.hpp"

namespace jnerf::test {

inline std::filesystem::path generated_room(const std::string& tag, int width = 40, int height = 30,
                                            int frames = 30, const std::string& preset = "room0") {
  const auto dir = std::filesystem::temp_directory_path() / "jnerf_tests" / (tag + "." + std::to_string(getpid()));
  SynthOptions o;
  o.preset = preset;
  o.out = dir;
  o.width = width;
  o.height = height;
  o.frames = frames;
  generate_scene(o);
  return dir;
}

}  // namespace jnerf::test
