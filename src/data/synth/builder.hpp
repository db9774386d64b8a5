#pragma once
// Assembles a Scene: classes, seeded materials, and objects made of parts placed in the
// object's own frame (position + yaw about z). Instance ids are given in creation order.
#include <cstdint>
#include <map>
#include <string>

#include "rng.hpp"
#include "scene.hpp"

namespace jnerf::synth {

class SceneBuilder {
 public:
  SceneBuilder(std::string preset, std::uint64_t seed);

  // Class id for a name, added on first use ("void" is 0).
  int cls(const std::string& name);

  // A material whose colours and scale are jittered by the seed (a few per cent), so that
  // different seeds give different textures. Objects that share a material share exactly
  // the same albedo, whatever their class.
  int material(Material m, float colour_jitter = 0.06f);

  // Object placement jitter drawn from the seed.
  float jitter(float amplitude) { return layout_.jitter(amplitude); }

  // Starts an object of class `class_id` (0 = void: no instance) at `position` with `yaw`
  // (radians about z). Its name is "<class>_<k>" unless given.
  void begin(int class_id, V3 position, float yaw = 0.f, const std::string& name = "");
  // Parts, in the current object's frame. Sizes are full sizes (not half extents).
  void box(V3 centre, V3 size, int material, float yaw = 0.f);
  void sphere(V3 centre, float radius, int material);
  void cylinder(V3 base_centre, float radius, float height, int material);  // base at z
  // A one-sided plane in world coordinates (room shells).
  void plane(V3 point, V3 normal, int material);
  void end();

  Scene& scene() { return scene_; }
  std::uint64_t seed() const { return seed_; }
  // Finishes: bounds, instance count.
  Scene finish();

 private:
  V3 to_world(V3 local) const;
  void add_part(Part p);

  Scene scene_;
  std::uint64_t seed_;
  Stream materials_, layout_;
  std::map<int, int> per_class_count_;
  bool open_ = false;
  V3 origin_;
  float cos_ = 1.f, sin_ = 0.f, yaw_ = 0.f;
};

}  // namespace jnerf::synth
