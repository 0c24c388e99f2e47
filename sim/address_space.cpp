#include "sim/address_space.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>
#include <utility>

#include "sim/pattern.h"
#include "sim/resident.h"

namespace pprsim {

namespace {

// 9 x 6 bits of page number: every 64-bit address. Narrow nodes make the path a task copies
// at its first write cheap (a node of 512 slots cost a 4 KiB copy and 512 reference counts per
// level: clone_node was 4.6% of a replay at G=8); the lookup caches absorb the deeper walk.
constexpr int kLevels = 9;
constexpr int kBits = 6;
constexpr std::size_t kFan = std::size_t{1} << kBits;
static_assert(AddressSpace::kTopLevel == kLevels - 1);

// Whether page `pn` lies under a root at `level`.
bool spans(int level, std::uint64_t pn) {
  const int bits = kBits * (kLevels - level);
  return bits >= 64 || (pn >> bits) == 0;
}

const AddressSpace::Page kZeroPage{};

// A page's own bytes, shared by the spaces that have not written it since a fork.
struct PageBuf {
  std::uint32_t refs = 1;
  AddressSpace::Page bytes;
};

// The pattern of one object's fill; shared by every page that fill covered whole.
struct PatternDesc {
  std::uint32_t refs;
  std::int64_t id;
  std::uint32_t stamp;
  Addr base;
};

constexpr std::uintptr_t kTagMask = 3;
constexpr std::uintptr_t kPatternTag = 2;

bool is_bytes(std::uintptr_t s) { return s > AddressSpace::kZero && (s & kTagMask) == 0; }
bool is_pattern(std::uintptr_t s) { return (s & kTagMask) == kPatternTag; }
PageBuf* as_bytes(std::uintptr_t s) { return reinterpret_cast<PageBuf*>(s); }
PatternDesc* as_pattern(std::uintptr_t s) { return reinterpret_cast<PatternDesc*>(s & ~kTagMask); }

std::size_t index(std::uint64_t pn, int level) {
  return static_cast<std::size_t>(pn >> (kBits * (kLevels - 1 - level))) & (kFan - 1);
}

// Page buffers and tree nodes come and go by the thousand in every group (the pages and paths
// the tasks copy). Each kind is kept on a free list of this thread for the next one instead of
// going back to malloc (4% of a replay went to malloc and free for them), up to a bound.
// Sanitizer builds skip the lists, so that a use after release shows.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kPooled = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kPooled = false;
#else
constexpr bool kPooled = true;
#endif
#else
constexpr bool kPooled = true;
#endif

// Blocks of `Size` bytes. The free list links through the blocks' first word. Plain
// thread-locals with nothing to destroy: a space released during exit still finds the list
// intact (the blocks left on it go with the process).
template <std::size_t Size, std::size_t MaxBlocks>
struct BlockPool {
  static_assert(Size >= sizeof(void*));
  static inline thread_local void* head = nullptr;
  static inline thread_local std::size_t blocks = 0;

  static void* take() {
    if (kPooled && head != nullptr) {
      void* b = head;
      std::memcpy(&head, b, sizeof head);
      --blocks;
      return b;
    }
    return ::operator new(Size);
  }

  static void give(void* b) {
    if (kPooled && blocks < MaxBlocks) {
      std::memcpy(b, &head, sizeof head);
      head = b;
      ++blocks;
    } else {
      ::operator delete(b);
    }
  }
};

using PagePool = BlockPool<sizeof(PageBuf), 4096>;  // 16 MiB at most

static_assert(alignof(PageBuf) <= alignof(std::max_align_t));

PageBuf* new_page() {
  ResidentMeter::current().take(sizeof(PageBuf));
  return new (PagePool::take()) PageBuf;
}

void retain_leaf(std::uintptr_t s) {
  if (is_bytes(s)) {
    ++as_bytes(s)->refs;
  } else if (is_pattern(s)) {
    ++as_pattern(s)->refs;
  }
}

void release_leaf(std::uintptr_t s) {
  if (is_bytes(s)) {
    PageBuf* p = as_bytes(s);
    if (--p->refs == 0) {
      p->~PageBuf();
      PagePool::give(p);
      ResidentMeter::current().give(sizeof(PageBuf));
    }
  } else if (is_pattern(s)) {
    PatternDesc* d = as_pattern(s);
    if (--d->refs == 0) {
      delete d;
      ResidentMeter::current().give(sizeof(PatternDesc));
    }
  }
}

void fill_page_pattern(std::uint8_t* out, std::uint64_t pn, const PatternDesc& d) {
  Pattern(d.id, d.stamp).write(pn * kPageSize - d.base, out, kPageSize);
}

}  // namespace

struct AddressSpace::Node {
  std::uint32_t refs = 1;
  std::uint32_t used = 0;  // non-empty slots
  std::array<std::uintptr_t, kFan> slot{};
};

namespace {

AddressSpace::Node* as_node(std::uintptr_t s) { return reinterpret_cast<AddressSpace::Node*>(s); }

static_assert(alignof(AddressSpace::Node) <= alignof(std::max_align_t));
using NodePool = BlockPool<sizeof(AddressSpace::Node), 16384>;  // 8 MiB at most

AddressSpace::Node* new_node() {
  ResidentMeter::current().take(sizeof(AddressSpace::Node));
  return new (NodePool::take()) AddressSpace::Node;
}

// The loops over a node's slots stop at its last used one: a task's copied path holds a few
// of 64, and releasing it scanned all of them.
void release_node(AddressSpace::Node* n, int level) {
  if (--n->refs != 0) return;
  std::uint32_t left = n->used;
  for (const std::uintptr_t s : n->slot) {
    if (left == 0) break;
    if (s == 0) continue;
    --left;
    if (level + 1 < kLevels) {
      release_node(as_node(s), level + 1);
    } else {
      release_leaf(s);
    }
  }
  n->~Node();
  NodePool::give(n);
  ResidentMeter::current().give(sizeof(AddressSpace::Node));
}

// A private copy of a shared node: its children gain a reference.
AddressSpace::Node* clone_node(AddressSpace::Node* n, int level) {
  AddressSpace::Node* c = new_node();
  c->slot = n->slot;
  c->used = n->used;
  std::uint32_t left = c->used;
  for (const std::uintptr_t s : c->slot) {
    if (left == 0) break;
    if (s == 0) continue;
    --left;
    if (level + 1 < kLevels) {
      ++as_node(s)->refs;
    } else {
      retain_leaf(s);
    }
  }
  --n->refs;  // was shared: never reaches 0 here
  return c;
}

std::size_t count_private(const AddressSpace::Node* n, int level) {
  if (n->refs != 1) return 0;
  std::size_t c = 0;
  for (const std::uintptr_t s : n->slot) {
    if (s == 0) continue;
    if (level + 1 < kLevels) {
      c += count_private(as_node(s), level + 1);
    } else if (is_bytes(s) && as_bytes(s)->refs == 1) {
      ++c;
    }
  }
  return c;
}

}  // namespace

MemoryFault::MemoryFault(Addr addr)
    : std::runtime_error(fmt::format("access to unmapped address {:#x}", addr)), addr_(addr) {}

AddressSpace::AddressSpace(AddressSpace&& o) noexcept { *this = std::move(o); }

AddressSpace& AddressSpace::operator=(AddressSpace&& o) noexcept {
  if (this == &o) return *this;
  if (root_ != 0) release_node(as_node(root_), top_);
  if (scratch_ != nullptr) {
    delete scratch_;
    ResidentMeter::current().give(sizeof(Page));
  }
  root_ = std::exchange(o.root_, 0);
  top_ = std::exchange(o.top_, kTopLevel);
  mapped_ = std::exchange(o.mapped_, 0);
  rcache_ = o.rcache_;
  dirty_.insert(dirty_.end(), o.dirty_.begin(), o.dirty_.end());  // written here or there: both count
  o.dirty_.clear();
  wcache_ = o.wcache_;
  scratch_pn_ = o.scratch_pn_;
  scratch_ = std::exchange(o.scratch_, nullptr);
  o.forget_cache();
  return *this;
}

AddressSpace::~AddressSpace() {
  if (root_ != 0) release_node(as_node(root_), top_);
  if (scratch_ != nullptr) {
    delete scratch_;
    ResidentMeter::current().give(sizeof(Page));
  }
}

AddressSpace AddressSpace::fork() {
  AddressSpace child;
  child.fork_from(*this);
  return child;
}

void AddressSpace::fork_from(AddressSpace& parent) {
  clear();
  // The parent's pages become shared: its next write must copy. What it reads stays valid.
  parent.wcache_.forget();
  root_ = parent.root_;
  top_ = parent.top_;
  if (root_ != 0) ++as_node(root_)->refs;
  mapped_ = parent.mapped_;
}

void AddressSpace::clear() {
  if (root_ != 0) release_node(as_node(root_), top_);
  root_ = 0;
  top_ = kTopLevel;
  mapped_ = 0;
  forget_cache();
  dirty_.clear();
}

std::uintptr_t AddressSpace::lookup(std::uint64_t pn) const {
  if (!spans(top_, pn)) return kUnmapped;
  std::uintptr_t s = root_;
  for (int level = top_; level < kLevels && s != 0; ++level) s = as_node(s)->slot[index(pn, level)];
  return s;
}

void AddressSpace::reach(std::uint64_t pn) {
  while (!spans(top_, pn)) {
    if (root_ != 0) {
      // The new root holds this space's reference to the old one (shared or not) in slot 0.
      Node* n = new_node();
      n->slot[0] = root_;
      n->used = 1;
      root_ = reinterpret_cast<std::uintptr_t>(n);
    }
    --top_;
  }
}

std::uintptr_t* AddressSpace::own_slot(std::uint64_t pn, bool create) {
  if (!spans(top_, pn)) {
    if (!create) return nullptr;
    reach(pn);
  }
  std::uintptr_t* cur = &root_;
  for (int level = top_;; ++level) {
    if (*cur == 0) {
      if (!create) return nullptr;
      *cur = reinterpret_cast<std::uintptr_t>(new_node());
    } else if (as_node(*cur)->refs > 1) {
      *cur = reinterpret_cast<std::uintptr_t>(clone_node(as_node(*cur), level));
    }
    Node* n = as_node(*cur);
    std::uintptr_t* next = &n->slot[index(pn, level)];
    if (level + 1 == kLevels) return next;
    if (*next == 0 && create) ++n->used;  // the child node created next fills this slot
    if (*next == 0 && !create) return nullptr;
    cur = next;
  }
}

void AddressSpace::map(Addr base, std::uint64_t bytes) {
  for (std::uint64_t pn = base / kPageSize; pn < (base + bytes) / kPageSize; ++pn) {
    std::uintptr_t* s = own_slot(pn, true);
    if (*s == kUnmapped) {
      *s = kZero;
      ++mapped_;
      // The leaf node's count of used slots.
      std::uintptr_t n = root_;
      for (int level = top_; level + 1 < kLevels; ++level) n = as_node(n)->slot[index(pn, level)];
      ++as_node(n)->used;
    }
  }
}

void AddressSpace::unmap(Addr base, std::uint64_t bytes) {
  forget_cache();
  for (std::uint64_t pn = base / kPageSize; pn < (base + bytes) / kPageSize; ++pn) {
    if (!spans(top_, pn)) break;  // this page and every one after it: never mapped
    // Walk down, making the path ours, and remember it to free nodes that become empty.
    std::array<std::uintptr_t*, kLevels> path{};
    std::uintptr_t* cur = &root_;
    bool present = true;
    for (int level = top_; level < kLevels; ++level) {
      if (*cur == 0) {
        present = false;
        break;
      }
      if (as_node(*cur)->refs > 1) *cur = reinterpret_cast<std::uintptr_t>(clone_node(as_node(*cur), level));
      path[static_cast<std::size_t>(level)] = cur;
      cur = &as_node(*cur)->slot[index(pn, level)];
    }
    if (!present || *cur == kUnmapped) continue;
    release_leaf(*cur);
    *cur = kUnmapped;
    --mapped_;
    for (int level = kLevels - 1; level >= top_; --level) {
      std::uintptr_t* at = path[static_cast<std::size_t>(level)];
      Node* n = as_node(*at);
      if (--n->used != 0) break;
      release_node(n, level);
      *at = 0;
    }
  }
}

std::size_t AddressSpace::private_pages() const { return root_ == 0 ? 0 : count_private(as_node(root_), top_); }

void AddressSpace::forget_cache() {
  rcache_.forget();
  wcache_.forget();
  scratch_pn_ = ~std::uint64_t{0};
}

const std::uint8_t* AddressSpace::rpage(std::uint64_t pn) {
  if (const std::uint8_t* cached = rcache_.find(pn)) return cached;
  if (pn == scratch_pn_) return scratch_->data();
  const std::uintptr_t s = lookup(pn);
  if (s == kUnmapped) throw MemoryFault(pn * kPageSize);
  if (is_pattern(s)) {
    if (scratch_ == nullptr) {
      ResidentMeter::current().take(sizeof(Page));
      scratch_ = new Page;
    }
    fill_page_pattern(scratch_->data(), pn, *as_pattern(s));
    scratch_pn_ = pn;
    return scratch_->data();
  }
  const std::uint8_t* bytes = s == kZero ? kZeroPage.data() : as_bytes(s)->bytes.data();
  rcache_.put(pn, bytes);
  return bytes;
}

std::uint8_t* AddressSpace::wpage(std::uint64_t pn) {
  if (std::uint8_t* cached = wcache_.find(pn)) return cached;
  std::uintptr_t* s = own_slot(pn, false);
  if (s == nullptr || *s == kUnmapped) throw MemoryFault(pn * kPageSize);
  if (*s == kZero) {
    PageBuf* p = new_page();
    p->bytes.fill(0);
    *s = reinterpret_cast<std::uintptr_t>(p);
  } else if (is_pattern(*s)) {
    PageBuf* p = new_page();
    fill_page_pattern(p->bytes.data(), pn, *as_pattern(*s));
    release_leaf(*s);
    *s = reinterpret_cast<std::uintptr_t>(p);
  } else if (as_bytes(*s)->refs > 1) {
    PageBuf* p = new_page();
    p->bytes = as_bytes(*s)->bytes;
    release_leaf(*s);
    *s = reinterpret_cast<std::uintptr_t>(p);
  }
  if (pn == scratch_pn_) scratch_pn_ = ~std::uint64_t{0};
  dirty_.push_back(pn);
  std::uint8_t* bytes = as_bytes(*s)->bytes.data();
  wcache_.put(pn, bytes);
  rcache_.put(pn, bytes);
  return bytes;
}

void AddressSpace::read(Addr a, void* out, std::uint64_t n) {
  auto* dst = static_cast<std::uint8_t*>(out);
  while (n > 0) {
    const std::uint64_t off = a % kPageSize;
    const std::uint64_t chunk = std::min(n, kPageSize - off);
    std::memcpy(dst, rpage(a / kPageSize) + off, chunk);
    a += chunk;
    dst += chunk;
    n -= chunk;
  }
}

void AddressSpace::write(Addr a, const void* in, std::uint64_t n) {
  const auto* src = static_cast<const std::uint8_t*>(in);
  while (n > 0) {
    const std::uint64_t off = a % kPageSize;
    const std::uint64_t chunk = std::min(n, kPageSize - off);
    std::memcpy(wpage(a / kPageSize) + off, src, chunk);
    a += chunk;
    src += chunk;
    n -= chunk;
  }
}

void AddressSpace::zero(Addr a, std::uint64_t n) {
  while (n > 0) {
    const std::uint64_t off = a % kPageSize;
    const std::uint64_t chunk = std::min(n, kPageSize - off);
    std::memset(wpage(a / kPageSize) + off, 0, chunk);
    a += chunk;
    n -= chunk;
  }
}

void AddressSpace::fill_pattern(Addr a, std::uint64_t n, std::int64_t id, std::uint32_t stamp, Addr base) {
  PatternDesc* desc = nullptr;
  const Pattern pattern(id, stamp);
  // The slots of the leaf node that holds the last whole page: the next 63 pages' slots are
  // beside it, owned already (nothing below changes the tree's nodes), no walk from the root.
  std::uintptr_t* leaf = nullptr;
  std::uint64_t leaf_first = 0;
  while (n > 0) {
    const std::uint64_t off = a % kPageSize;
    const std::uint64_t chunk = std::min(n, kPageSize - off);
    if (chunk == kPageSize && stamp != 0) {
      // A whole page: the pattern itself, no bytes.
      const std::uint64_t pn = a / kPageSize;
      std::uintptr_t* s = nullptr;
      if (leaf != nullptr && pn - leaf_first < kFan) {
        s = leaf + (pn - leaf_first);
      } else if ((s = own_slot(pn, false)) != nullptr) {
        leaf = s - pn % kFan;
        leaf_first = pn - pn % kFan;
      }
      if (s == nullptr || *s == kUnmapped) throw MemoryFault(a);
      if (desc == nullptr) {
        ResidentMeter::current().take(sizeof(PatternDesc));
        desc = new PatternDesc{0, id, stamp, base};
      }
      ++desc->refs;
      release_leaf(*s);
      *s = reinterpret_cast<std::uintptr_t>(desc) | kPatternTag;
      rcache_.drop(pn);
      wcache_.drop(pn);
      if (scratch_pn_ == pn) scratch_pn_ = ~std::uint64_t{0};
      dirty_.push_back(pn);
    } else {
      pattern.write(a - base, wpage(a / kPageSize) + off, chunk);
    }
    a += chunk;
    n -= chunk;
  }
}

std::vector<std::uint64_t> AddressSpace::take_dirty() {
  // Later writes must pass through wpage again to be seen.
  wcache_.forget();
  std::vector<std::uint64_t> out = std::move(dirty_);
  dirty_.clear();
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void AddressSpace::share_page(const AddressSpace& from, std::uint64_t pn) {
  const std::uintptr_t theirs = from.lookup(pn);
  std::uintptr_t* s = own_slot(pn, false);
  if (theirs == kUnmapped || s == nullptr || *s == kUnmapped) throw MemoryFault(pn * kPageSize);
  retain_leaf(theirs);
  release_leaf(*s);
  *s = theirs;
  rcache_.drop(pn);
  wcache_.drop(pn);
  if (scratch_pn_ == pn) scratch_pn_ = ~std::uint64_t{0};
  dirty_.push_back(pn);
}

bool AddressSpace::pattern_of(std::uint64_t pn, PatternRef& out) const {
  // The read cache never holds a pattern page (those are materialised into the scratch page):
  // a hit answers without walking the tree, as the heap check asks this of every page.
  if (rcache_.find(pn) != nullptr) return false;
  const std::uintptr_t s = lookup(pn);
  if (!is_pattern(s)) return false;
  const PatternDesc& d = *as_pattern(s);
  out = {d.id, d.stamp, d.base};
  return true;
}

std::uint64_t AddressSpace::load64(Addr a) {
  std::uint64_t v;
  if (a % kPageSize <= kPageSize - 8) {
    std::memcpy(&v, rpage(a / kPageSize) + a % kPageSize, 8);
  } else {
    read(a, &v, 8);
  }
  return v;
}

void AddressSpace::store64(Addr a, std::uint64_t v) {
  if (a % kPageSize <= kPageSize - 8) {
    std::memcpy(wpage(a / kPageSize) + a % kPageSize, &v, 8);
  } else {
    write(a, &v, 8);
  }
}

}  // namespace pprsim
