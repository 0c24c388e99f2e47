// The text of a JSON value, as every pprsim output writes it. Strings in pprsim's JSON carry
// file names, which are bytes and need not be UTF-8 (`bad\xff.trace`); JSON text must be. A
// byte that is not part of valid UTF-8 is written as U+FFFD, so that dumping never throws and
// a run's JSON is never lost to the name of its trace.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace pprsim {

// `indent` as for nlohmann's dump(): -1 one line, n >= 0 indented by n spaces.
template <typename Json>
std::string json_text(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace pprsim
