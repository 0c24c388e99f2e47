#include "sim/findings.h"

namespace pprsim {

namespace {

constexpr std::array<FindingKindInfo, kFindingKinds> kInfo{{
    {"allocator-induced", "allocator-induced conflict", true, false},
    {"true-dependence", "true dependence", false, false},
    {"lost-block", "lost block", true, false},
    {"double-allocation", "double allocation", true, false},
    {"overlap", "overlap", true, false},
    {"content-mismatch", "content mismatch", true, false},
    {"live-after-free", "freed block still marked live", true, false},
    {"outside-slice", "system memory outside a task's slice", true, false},
    {"request-failed", "failed request", true, true},
    {"bad-result", "bad result", true, true},
    {"fault", "memory fault", true, true},
    {"crashed", "crash", true, true},
    {"hung", "hang", true, true},
    {"invariant-broken", "broken invariant", true, true},
    {"left-handed-out", "blocks left handed out", true, false},
    {"stopped", "run stopped", true, true},
    {"unexplained", "unexplained", false, false},
}};

constexpr bool heap_kind(FindingKind k) {
  return k == FindingKind::LostBlock || k == FindingKind::DoubleAllocation || k == FindingKind::Overlap ||
         k == FindingKind::ContentMismatch || k == FindingKind::LiveAfterFree;
}

}  // namespace

const FindingKindInfo& finding_info(FindingKind k) { return kInfo[static_cast<std::size_t>(k)]; }

void Findings::add(Finding f, std::uint64_t n, std::size_t keep_at_most) {
  tally(f.kind, n);
  if (kept_.size() < keep_at_most) kept_.push_back(std::move(f));
}

void Findings::take(Findings&& other, std::size_t keep_at_most, std::int64_t group) {
  for (std::size_t k = 0; k < kFindingKinds; ++k) counts_[k] += other.counts_[k];
  for (Finding& f : other.kept_) {
    if (kept_.size() >= keep_at_most) break;
    if (f.group < 0) f.group = group;
    kept_.push_back(std::move(f));
  }
}

bool Findings::falsified() const {
  for (std::size_t k = 0; k < kFindingKinds; ++k) {
    if (counts_[k] != 0 && kInfo[k].falsifies) return true;
  }
  return false;
}

std::vector<FindingKind> Findings::falsifying_kinds() const {
  std::vector<FindingKind> out;
  for (std::size_t k = 0; k < kFindingKinds; ++k) {
    if (counts_[k] != 0 && kInfo[k].falsifies) out.push_back(static_cast<FindingKind>(k));
  }
  return out;
}

bool Findings::heap_wrong() const {
  for (std::size_t k = 0; k < kFindingKinds; ++k) {
    if (counts_[k] != 0 && heap_kind(static_cast<FindingKind>(k))) return true;
  }
  return false;
}

}  // namespace pprsim
