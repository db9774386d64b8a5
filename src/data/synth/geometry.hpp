#pragma once
// Ray / primitive intersection and closest-hit / occlusion queries over a Scene.
// Rays are o + t d with any non-zero d (the camera uses z-depth directions, so the
// closest-hit t of a camera ray is the z-depth of the hit).
#include <limits>

#include "scene.hpp"
#include "vec.hpp"

namespace jnerf::synth {

constexpr float kNoHit = std::numeric_limits<float>::infinity();

struct TraceRay {
  V3 o, d, inv_d;
  TraceRay(V3 origin, V3 direction);
};

// Smallest t in (t_min, t_max) where the ray enters the part's visible surface, else kNoHit.
float intersect(const Part& part, const TraceRay& ray, float t_min, float t_max);

struct SurfacePoint {
  V3 normal;        // world, unit, facing the visible side
  V3 local;         // point in the part's local frame (texture coordinates)
  V3 local_normal;  // normal in the local frame
};
// Surface data at a world point p known to lie on the part.
SurfacePoint surface_at(const Part& part, V3 p);

struct Hit {
  float t = kNoHit;
  int part = -1;
};

// Closest hit over all parts.
Hit trace_closest(const Scene& scene, const TraceRay& ray, float t_min, float t_max);
// True when anything blocks the ray in (t_min, t_max).
bool trace_occluded(const Scene& scene, const TraceRay& ray, float t_min, float t_max);

// World bounding box of a bounded part (false for planes).
bool part_bounds(const Part& part, V3& lo, V3& hi);
// Object bounding boxes and the part hierarchy (call once the parts are final).
void build_acceleration(Scene& scene);

}  // namespace jnerf::synth
