#pragma once
// The camera trajectory: one smooth closed loop around the room. The camera moves on a
// perturbed ellipse at varying height and looks across the room at points of a larger
// ellipse that swing left and right of the opposite side, so every object is seen from
// several positions. Everything is a closed-form function of (frame / frames, seed).
#include <array>
#include <cstdint>
#include <vector>

#include "scene.hpp"

namespace jnerf::synth {

// Camera-to-world, row-major 3x4 [R | t], OpenCV camera axes (x right, y down, z forward).
using Pose = std::array<float, 12>;

// OpenCV look-at pose in a z-up world, with a roll (radians) about the viewing axis.
Pose look_at(V3 eye, V3 target, float roll = 0.f);

std::vector<Pose> camera_path(const CameraRegion& region, int frames, std::uint64_t seed);

}  // namespace jnerf::synth
