#pragma once
// Running the jnerf program (and other commands) from tests (JNERF_CLI_PATH is set by tests/CMakeLists.txt).
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace jnerf::test {

struct CliResult {
  int code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command line, capturing stdout and stderr.
inline CliResult run_shell(const std::string& command) {
  CliResult r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe)) r.output += buf.data();
  const int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Runs `jnerf ARGS`; ARGS is quoted by the caller.
inline CliResult run_cli(const std::string& args) { return run_shell(std::string("'") + JNERF_CLI_PATH + "' " + args); }

// `jnerf synth` of a tiny room (room1 at 32 x 24, 12 frames) into `scene`.
inline CliResult synth_tiny_room(const std::string& scene) {
  return run_cli("synth --preset room1 --width 32 --height 24 --frames 12 --out '" + scene + "'");
}

// `--set` options for a 3-step hash-grid nerf stage on that room (4 levels, 2^10 tables,
// 8 + 8 samples, 64 rays, no validation).
inline const std::string kTinyHashGridRun =
    " --set model.type=hash_grid --set model.hash_grid.levels=4 --set model.hash_grid.log2_table_size=10"
    " --set sampler.coarse_samples=8 --set sampler.fine_samples=8 --set train.rays_per_batch=64"
    " --set train.iters=3 --set train.val_every=0";

}  // namespace jnerf::test
