#pragma once
// The config's "data" section -> loader options, validated (InputError names the key).
#include "jnerf/core/config.hpp"
#include "jnerf/data/dataset.hpp"

namespace jnerf {

LoadOptions load_options_from_config(const Json& config);
// One-paragraph human summary of a loaded dataset (views, sizes, splits, classes, range).
std::string describe_dataset(const Dataset& dataset);

}  // namespace jnerf
