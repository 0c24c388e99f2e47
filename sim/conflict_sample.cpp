#include "sim/conflict_sample.h"

#include <algorithm>

namespace pprsim {

void ConflictSample::add(Conflict c) {
  const std::uint64_t order = total_++;
  ++per_group_[static_cast<std::uint64_t>(c.group)];
  Bucket& b = buckets_[{c.first_task, c.second_task, static_cast<int>(c.cls)}];
  const std::uint64_t index = b.seen++;
  if (cap_ == 0 || index % b.stride != 0) return;
  b.kept.push_back({order, index, std::move(c)});
  if (++kept_ > cap_) thin();
}

void ConflictSample::thin() {
  while (kept_ > cap_) {
    // The pair keeping the most (the first such in key order): it loses every other one.
    Bucket* most = nullptr;
    for (auto& entry : buckets_) {
      if (most == nullptr || entry.second.kept.size() > most->kept.size()) most = &entry.second;
    }
    if (most == nullptr || most->kept.size() <= 1) return;  // one a pair: as thin as it gets
    most->stride *= 2;
    const std::size_t before = most->kept.size();
    const std::uint64_t stride = most->stride;
    std::erase_if(most->kept, [stride](const Kept& k) { return k.index % stride != 0; });
    kept_ -= before - most->kept.size();
  }
}

std::vector<Conflict> ConflictSample::kept() const {
  std::vector<const Kept*> all;
  all.reserve(kept_);
  for (const auto& entry : buckets_) {
    for (const Kept& k : entry.second.kept) all.push_back(&k);
  }
  std::sort(all.begin(), all.end(), [](const Kept* a, const Kept* b) { return a->order < b->order; });
  std::vector<Conflict> out;
  out.reserve(all.size());
  for (const Kept* k : all) out.push_back(k->c);
  return out;
}

std::vector<ConflictPairCount> ConflictSample::pairs() const {
  std::vector<ConflictPairCount> out;
  for (const auto& [key, b] : buckets_) {
    out.push_back({std::get<0>(key), std::get<1>(key), static_cast<Conflict::Class>(std::get<2>(key)), b.seen,
                   b.kept.size()});
  }
  return out;
}

}  // namespace pprsim
