// dmmalloc's own invariants (the PprVerify part of alloc/ppr_allocator.h), checked after every
// call at the paranoid level: the free lists well formed and disjoint, every listed block with a
// free header of its list's class, the kept regions and the top with their headers, a task's
// deferred frees naming blocks it may not free at once. Definitions of DmMalloc's members;
// included at the end of alloc/dmmalloc.h, and only there (it needs the class, and includes
// nothing itself so that the two headers do not include each other).
#pragma once

namespace pprsim {

template <Memory Mem>
std::string DmMalloc<Mem>::verify() {
  struct Seen {
    Addr block;
    std::size_t list;  // index into names
    int size_class;
  };
  std::vector<Seen> seen;
  std::vector<std::string> names;
  std::string err;
  auto check = [&](const List& l, int c, const std::string& name, std::size_t index) {
    if ((l.head == 0) != (l.count == 0) || (l.tail == 0) != (l.head == 0)) {
      err = fmt::format("{} list of class {}: head {:#x}, tail {:#x} and count {} disagree", name, c,
                        l.head, l.tail, l.count);
      return false;
    }
    Addr b = l.head;
    Addr last = 0;
    for (std::uint64_t i = 0; i < l.count; ++i) {
      if (b == 0) {
        err = fmt::format("{} list of class {}: ends after {} of its {} blocks", name, c, i, l.count);
        return false;
      }
      const std::uint64_t w0 = (b & 15) == 0 ? mem_->load64(b) : 0;
      if ((w0 & dm::kMagicMask) != dm::kMagic || (w0 & (dm::kLive | dm::kLarge | dm::kShim | dm::kJoin | dm::kJoined)) != 0 ||
          (w0 & dm::kClassMask) != static_cast<std::uint64_t>(c)) {
        err = fmt::format("{} list of class {}: block {:#x} has no free class-{} header (word {:#x})",
                          name, c, b, c, w0);
        return false;
      }
      seen.push_back(Seen{b, index, c});
      last = b;
      b = mem_->load64(b + 8);
    }
    if (l.count != 0 && last != l.tail) {
      err = fmt::format("{} list of class {}: tail is {:#x} but block {} is {:#x}", name, c, l.tail,
                        l.count, last);
      return false;
    }
    if (l.count != 0 && b != 0) {
      err = fmt::format("{} list of class {}: holds more than its count {} (the tail links to {:#x})",
                        name, c, l.count, b);
      return false;
    }
    return true;
  };
  auto check_all = [&](const Lists& lists, std::string name) {
    names.push_back(std::move(name));
    for (int c = 0; c < dm::kClasses; ++c) {
      if (!check(lists[ci(c)], c, names.back(), names.size() - 1)) return false;
    }
    return true;
  };
  if (!check_all(global_, "shared")) return err;
  for (int c = 0; c < dm::kClasses; ++c) {
    if (global_[ci(c)].head != 0 && (listed_ & (std::uint64_t{1} << c)) == 0) {
      return fmt::format("the shared list of class {} holds blocks but is not marked listed", c);
    }
  }
  if (mode_ == Mode::Task && !check_all(mine_, "task's own")) return err;
  for (std::size_t k = 0; k < carve_.size(); ++k) {
    // A task's own partition as carved is stale: it lives on as the task's list.
    if (mode_ == Mode::Task && static_cast<int>(k) == task_) continue;
    if (!check_all(carve_[k], fmt::format("partition {}", k))) return err;
  }
  names.emplace_back("kept large regions");
  std::uint64_t kept = 0;
  for (int i = 0; i < kept_.count(); ++i) {
    const dm::KeptRegions::Region& e = kept_[i];
    const std::uint64_t w0 = mem_->load64(e.base);
    if (w0 != (dm::kMagic | dm::kLarge | dm::kClassMask) || mem_->load64(e.base + 8) != e.size) {
      return fmt::format("kept large region {:#x} has no free large-region header of {} bytes (words {:#x} {:#x})",
                         e.base, e.size, w0, mem_->load64(e.base + 8));
    }
    seen.push_back(Seen{e.base, names.size() - 1, -1});
    kept += e.size;
  }
  if (kept != kept_.bytes()) {
    return fmt::format("kept large regions hold {} bytes, the count says {}", kept, kept_.bytes());
  }
  if (top_ != 0) {
    const std::uint64_t w0 = mem_->load64(top_);
    if (top_end_ <= top_ || w0 != (dm::kMagic | dm::kTop) || mem_->load64(top_ + 8) != top_end_ - top_) {
      return fmt::format("the top {:#x} has no top header of {} bytes (words {:#x} {:#x})", top_, top_end_ - top_,
                         w0, mem_->load64(top_ + 8));
    }
    names.emplace_back("top");
    seen.push_back(Seen{top_, names.size() - 1, -1});
  }
  std::stable_sort(seen.begin(), seen.end(), [](const Seen& a, const Seen& b) { return a.block < b.block; });
  for (std::size_t i = 1; i < seen.size(); ++i) {
    if (seen[i].block == seen[i - 1].block) {
      return fmt::format("block {:#x} is on two free lists: the {} list of class {} and the {} list of class {}",
                         seen[i].block, names[seen[i - 1].list], seen[i - 1].size_class, names[seen[i].list],
                         seen[i].size_class);
    }
  }
  if (mode_ == Mode::Task) {
    std::vector<Addr> deferred = deferred_;
    std::sort(deferred.begin(), deferred.end());
    for (std::size_t i = 0; i < deferred.size(); ++i) {
      const Addr b = deferred[i];
      if (i > 0 && deferred[i - 1] == b) return fmt::format("block {:#x} is deferred twice", b);
      const std::uint64_t w0 = mem_->load64(b);
      if ((w0 & dm::kMagicMask) != dm::kMagic || (w0 & dm::kLive) == 0 || (w0 & dm::kShim) != 0) {
        return fmt::format("deferred free of {:#x}, which is no live block (word {:#x})", b, w0);
      }
      if ((w0 & dm::kLarge) == 0 && mem_->load64(b + 8) == tag()) {
        return fmt::format("deferred free of {:#x}, a block this task owns (it is freed at once)", b);
      }
      const auto it = std::lower_bound(seen.begin(), seen.end(), b,
                                       [](const Seen& s, Addr a) { return s.block < a; });
      if (it != seen.end() && it->block == b) return fmt::format("deferred block {:#x} is on a free list", b);
    }
  }
  return "";
}
}  // namespace pprsim
