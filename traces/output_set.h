// The outputs of one command, opened together before any work: an output that cannot be
// written, that is one of the command's inputs, or that is the same file as another of its
// outputs under another spelling (./o.x and o.x, a link) is refused before anything runs or
// is touched, with one line that names the option, the path and the reason.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "traces/output_file.h"

namespace pprsim {

class OutputSet {
 public:
  // `inputs`: the files the command reads.
  explicit OutputSet(std::vector<std::string> inputs) : inputs_(std::move(inputs)) {}

  // Opens `path` as the output of `option` ("--json", "-o"). An empty path is no output
  // (nullptr, not an error). nullptr with error() set when refused; after a refusal every
  // later call returns nullptr.
  OutputFile* add(const std::string& option, const std::string& path);

  bool ok() const { return error_.empty(); }
  // "OPTION: reason", without a "pprsim: " prefix.
  const std::string& error() const { return error_; }

  // Drops every output (removes their temporary files).
  void discard();

 private:
  std::vector<std::string> inputs_;
  std::vector<std::pair<std::string, std::unique_ptr<OutputFile>>> files_;
  std::string error_;
};

}  // namespace pprsim
