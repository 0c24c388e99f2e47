// The one output path of every pprsim command: traces, JSON, counterexamples, reports.
//
// What OUT names decides how it is written:
//   "-"                         standard output, streamed;
//   a regular file, or nothing  a temporary file beside it, renamed over it by commit(): OUT
//                               appears only when complete, keeps the mode (and, when allowed,
//                               the owner) of the file it replaces; without a commit nothing is
//                               left (the temporary file is removed, also on SIGINT, SIGTERM and
//                               SIGHUP: traces/temp_files.h);
//   a symbolic link             followed: its target is written as above, the link stays;
//   a character device or FIFO  written in place, streamed (never replaced by a file);
//   a socket, block device or directory: refused.
// OUT that is the same file as one of the command's inputs is refused before anything is
// touched. Every failure is one line in error(), naming OUT and the reason.
#pragma once

#include <sys/stat.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "traces/temp_files.h"

namespace pprsim {

class OutputFile {
 public:
  // Opens OUT (`path`; "-" is standard output). `inputs` are the files the command reads.
  // ok() is false, and error() says why, when OUT cannot be written.
  explicit OutputFile(std::string path, const std::vector<std::string>& inputs = {});
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }

  // Where to write. requires: ok().
  std::ostream& stream() { return *stream_; }

  // Flushes everything and, for a regular file, renames it over OUT. False (with error() set,
  // no temporary file left) when a write, the flush or the rename failed.
  bool commit();

  // Drops what was written to a regular file (removes the temporary file now).
  void discard();

  // Whether this and `other` write the same file, however each was spelt (./o.x and o.x, a
  // symbolic or hard link to it, "-" and the file standard output is): by device and inode when
  // the file exists, by the real path of its folder and its name when it does not yet.
  // Standard output is the same as itself; a character device (a terminal, /dev/null) is
  // written as a stream and never counts as the same file as another output.
  bool same_file(const OutputFile& other) const;

 private:
  class FdBuffer;
  enum class Kind { StandardOutput, Replaced, InPlace };

  void open(const std::vector<std::string>& inputs);
  void note_identity(const struct stat* st);
  bool fail(const std::string& message);
  std::string fmt_error(const std::string& what, int err) const;

  std::string path_;
  std::string what_;    // OUT as messages name it ("standard output" or the path)
  std::string target_;  // the file a replaced OUT's temporary file is renamed over
  std::string temp_;
  Kind kind_ = Kind::Replaced;
  int fd_ = -1;
  bool done_ = false;
  TempFileGuard guard_;
  std::unique_ptr<FdBuffer> buffer_;
  std::unique_ptr<std::ostream> stream_;
  std::string error_;
  // Which file OUT is, for same_file(): its device and inode, or where it will appear.
  bool has_inode_ = false;
  bool char_device_ = false;
  unsigned long long dev_ = 0, ino_ = 0;
  std::string where_;
};

// Whether standard output was closed by its reader (`| head`) while an OUT of "-" was written.
// Such an OUT drops the rest of its text and commits as if written, so that the command still
// writes its other outputs completely; the command then ends with the status of a broken pipe.
bool standard_output_closed();

// Writes `text` to OUT as OutputFile does ("JSON to FILE or -"). Returns "" on success, else
// the one-line error (without a "pprsim: " prefix).
std::string write_output(const std::string& path, const std::string& text,
                         const std::vector<std::string>& inputs = {});

}  // namespace pprsim
