// glibc malloc tuning for the tensor commands. By default glibc serves every
// block above 32 MB (dynamic threshold) with its own mmap and returns it at
// free, so a loop that allocates and frees the same (N, L, V) logits every
// step page-faults all of them in again each time. The tensor commands keep
// freed memory in the heap instead (measured in docs/BENCHMARKS.md,
// "Allocator"). UNMASK_KEEP_FREED_MEMORY=0 leaves glibc's defaults.
#pragma once

namespace unmask {

// Sets M_MMAP_THRESHOLD to INT_MAX (larger blocks are still mmapped) and turns
// heap trimming off, so that freed blocks stay mapped; a no-op with
// UNMASK_KEEP_FREED_MEMORY=0. Returns whether it did.
bool keep_freed_memory();

}  // namespace unmask
