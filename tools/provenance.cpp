#include "tools/provenance.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string>

namespace pprsim {

namespace {

std::string& command_line() {
  static std::string line;
  return line;
}

// An argument as a shell would need it: quoted when it holds anything but plain characters.
std::string quoted(const std::string& a) {
  if (!a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") ==
                        std::string::npos) {
    return a;
  }
  std::string out = "'";
  for (const char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string date_now() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  if (const char* fixed = std::getenv("SOURCE_DATE_EPOCH"); fixed != nullptr && *fixed != '\0') {
    char* end = nullptr;
    const long long v = std::strtoll(fixed, &end, 10);
    if (end != nullptr && *end == '\0' && v >= 0) t = static_cast<std::time_t>(v);
  }
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", tm);
}

}  // namespace

void set_command_line(int argc, char** argv) {
  std::string line = "pprsim";
  for (int i = 1; i < argc; ++i) line += " " + quoted(argv[i]);
  command_line() = std::move(line);
}

nlohmann::ordered_json provenance_json() {
  return {{"version", std::string("pprsim ") + PPRSIM_VERSION}, {"command", command_line()}, {"date", date_now()}};
}

}  // namespace pprsim
