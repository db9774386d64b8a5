#pragma once
// The in-memory description of one synthetic room: primitives grouped into labelled
// objects, materials, lights and the region the camera path may use. World frame: z up,
// metres.
#include <cstdint>
#include <string>
#include <vector>

#include "texture.hpp"
#include "vec.hpp"

namespace jnerf::synth {

enum class Shape : std::uint8_t { Box, Sphere, Cylinder, Plane };

// One analytic primitive.
//   Box:      centre, half extents in its local frame, rotated about z by yaw (cos_a, sin_a).
//   Sphere:   centre, radius = half.x.
//   Cylinder: vertical axis through centre, radius = half.x, z in [centre.z - half.z, centre.z + half.z].
//   Plane:    through centre with unit normal `normal`; one-sided (seen from the normal side).
struct Part {
  Shape shape = Shape::Box;
  V3 centre, half;
  float cos_a = 1.f, sin_a = 0.f;
  V3 normal{0.f, 0.f, 1.f};
  int material = 0;
  int object = 0;
};

// A labelled group of parts (a chair = seat + back + legs). Void objects have class 0 and
// instance 0. Unbounded objects (planes) have no box.
struct Object {
  std::string name;
  int class_id = 0;
  int instance_id = 0;
  int first_part = 0, num_parts = 0;
  bool bounded = true;
  V3 lo, hi;  // world-space bounding box of the parts
};

// A rectangular area light facing down: points centre + a * edge_u + b * edge_v, a, b in
// [-0.5, 0.5]. Emits with a cosine lobe around `facing`; intensity falls off gently.
struct Light {
  V3 centre, edge_u, edge_v;
  V3 facing{0.f, 0.f, -1.f};
  float intensity = 1.f;
  bool shadows = true;  // false: a cheap unshadowed fill light
};

// The camera path stays inside an ellipse at camera height and looks at points of a larger
// ellipse on the far side of the room (see camera_path.hpp).
struct CameraRegion {
  V3 centre;              // ellipse centre (z ignored)
  float ax = 1.f, ay = 1.f;   // semi-axes of the camera ellipse
  float z_lo = 1.2f, z_hi = 1.7f;
  float tx = 2.f, ty = 2.f;   // semi-axes of the look-at ellipse
  float tz_lo = 0.4f, tz_hi = 1.2f;
};

// A bounding volume hierarchy over the bounded parts. Leaves (count > 0) hold the parts
// bvh_parts[first, first + count); inner nodes (count == 0) have children first, first + 1.
struct BvhNode {
  V3 lo, hi;
  int first = 0, count = 0;
};

struct Scene {
  std::string preset;
  std::vector<std::string> class_names;  // [0] = "void"
  std::vector<Object> objects;
  std::vector<Part> parts;
  std::vector<Material> materials;
  std::vector<Light> lights;
  float ambient = 0.3f;
  V3 room_min, room_max;  // the room's interior box (walls, floor, ceiling)
  CameraRegion camera;
  int num_instances = 0;  // instance ids are 1..num_instances
  // Acceleration (geometry.cpp: build_acceleration).
  std::vector<BvhNode> bvh;
  std::vector<int> bvh_parts;
  std::vector<int> planes;  // unbounded parts, tested one by one
};

}  // namespace jnerf::synth
