// Small string helpers: edit distance for "did you mean" suggestions, joins,
// human-readable sizes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace unmask {

std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `word` by edit distance ("" when there is none
// within half the word's length plus two edits).
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

std::string join(const std::vector<std::string>& items, const std::string& sep);

// A number for logs and reports: fixed-point with `digits` decimals, or
// scientific with 2 (learning rates).
std::string number_text(double v, int digits = 4, bool scientific = false);

// The shortest decimal text that reads back as exactly `v` ("1e-12", "0.1",
// "3"): numbers in error messages, where "0.000000" would hide the value.
std::string shortest_number(double v);

// "1.5 MB", "320 B": decimal units, as in MB/s throughput figures.
std::string human_bytes(double bytes);

}  // namespace unmask
