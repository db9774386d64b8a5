#pragma once
// Error types and the process exit codes they map to.
//   InputError  -> exit 2: the user's input (file, key, value) is wrong; the message names it.
//   anything else (std::exception) -> exit 1.
#include <cstdio>
#include <stdexcept>
#include <string>

namespace jnerf {

enum ExitCode : int { kExitOk = 0, kExitFailure = 1, kExitBadInput = 2 };

// A number as messages quote it (%g).
inline std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A feature that is part of the command-line contract but whose work is not built yet.
// Reported as bad input (exit 2) so scripts never mistake it for success.
class NotAvailableError : public InputError {
 public:
  using InputError::InputError;
};

}  // namespace jnerf
