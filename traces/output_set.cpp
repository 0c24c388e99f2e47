#include "traces/output_set.h"

namespace pprsim {

OutputFile* OutputSet::add(const std::string& option, const std::string& path) {
  if (!ok() || path.empty()) return nullptr;
  auto file = std::make_unique<OutputFile>(path, inputs_);
  if (!file->ok()) {
    error_ = option + ": " + file->error();
    discard();
    return nullptr;
  }
  for (const auto& [other_option, other] : files_) {
    if (!file->same_file(*other)) continue;
    error_ = path == other->path()
                 ? option + " and " + other_option + " name the same output '" + path + "'"
                 : option + ": " + path + " is the same file as " + other_option + " " + other->path() +
                       ": refusing to write both";
    file->discard();
    discard();
    return nullptr;
  }
  files_.emplace_back(option, std::move(file));
  return files_.back().second.get();
}

void OutputSet::discard() {
  for (auto& entry : files_) entry.second->discard();
}

}  // namespace pprsim
