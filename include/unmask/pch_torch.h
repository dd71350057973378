// Precompiled header of the LibTorch side (never spdlog/fmt: torch bundles its own fmt).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>
