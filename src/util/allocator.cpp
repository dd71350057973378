// glibc malloc tuning (allocator.h).
#include "unmask/util/allocator.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <limits>

namespace unmask {

bool keep_freed_memory() {
  const char* env = std::getenv("UNMASK_KEEP_FREED_MEMORY");
  if (env != nullptr && std::strcmp(env, "0") == 0) return false;
  // Blocks of any size come from the heap, and the heap is not trimmed back:
  // the next step's tensors reuse pages that are already mapped.
  mallopt(M_MMAP_THRESHOLD, std::numeric_limits<int>::max());  // its type's limit: about 2 GB
  mallopt(M_TRIM_THRESHOLD, -1);  // never: a threshold would still trim once a step frees more than it
  mallopt(M_TOP_PAD, 64 << 20);
  return true;
}

}  // namespace unmask
