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

}  // namespace jnerf::test
