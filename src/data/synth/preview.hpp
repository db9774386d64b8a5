#pragma once
// preview.png: a contact sheet of a few frames spread over the sequence; rows are RGB,
// colour-coded classes and colour-coded instances (jnerf::colourise_labels).
#include <filesystem>
#include <vector>

#include "renderer.hpp"

namespace jnerf::synth {

// Which frames go on the sheet: up to `count` indices spread evenly over [0, frames).
std::vector<int> preview_frames(int frames, int count = 6);

ImageU8 contact_sheet(const std::vector<const FrameImages*>& frames);
void write_preview(const std::filesystem::path& file, const std::vector<const FrameImages*>& frames);

}  // namespace jnerf::synth
