// An output file that appears only when complete: written to a temporary file beside its path
// and renamed over it by commit(). Streams, so a trace of any length can be written without
// holding it in memory. Without a successful commit() the temporary file is removed and the
// path is left as it was (absent, or the old file).
#pragma once

#include <fstream>
#include <string>

namespace pprsim {

class AtomicFile {
 public:
  // Creates the temporary file. ok() is false (and error() says why) when that fails.
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }

  // Where to write. requires: ok().
  std::ostream& stream() { return out_; }

  // Flushes, closes and renames the temporary file over the path. False (with error() set,
  // nothing left behind) when a write or the rename failed.
  bool commit();

  // Drops what was written: removes the temporary file now.
  void discard();

 private:
  std::string path_;
  std::string temp_;
  std::ofstream out_;
  std::string error_;
  bool done_ = false;
};

}  // namespace pprsim
