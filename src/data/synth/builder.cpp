#include "builder.hpp"

#include "geometry.hpp"

#include <cmath>
#include <stdexcept>

namespace jnerf::synth {

SceneBuilder::SceneBuilder(std::string preset, std::uint64_t seed)
    : seed_(seed),
      materials_(seed, hash_name("synth/materials")),
      layout_(seed, hash_name("synth/layout")) {
  scene_.preset = std::move(preset);
  scene_.class_names.push_back("void");
}

int SceneBuilder::cls(const std::string& name) {
  for (std::size_t i = 0; i < scene_.class_names.size(); ++i)
    if (scene_.class_names[i] == name) return static_cast<int>(i);
  scene_.class_names.push_back(name);
  return static_cast<int>(scene_.class_names.size()) - 1;
}

int SceneBuilder::material(Material m, float colour_jitter) {
  // One brightness factor and a small per-channel tint for both colours; albedo stays < 0.9.
  const float gain = 1.f + materials_.jitter(colour_jitter);
  V3 tint{1.f + materials_.jitter(colour_jitter * 0.5f), 1.f + materials_.jitter(colour_jitter * 0.5f),
          1.f + materials_.jitter(colour_jitter * 0.5f)};
  auto clampc = [](V3 c) { return vmin(vmax(c, V3{0.f, 0.f, 0.f}), V3{0.9f, 0.9f, 0.9f}); };
  m.a = clampc(m.a * tint * gain);
  m.b = clampc(m.b * tint * gain);
  m.scale *= 1.f + materials_.jitter(0.12f);
  m.key = materials_.bits();
  scene_.materials.push_back(m);
  return static_cast<int>(scene_.materials.size()) - 1;
}

void SceneBuilder::begin(int class_id, V3 position, float yaw, const std::string& name) {
  if (open_) throw std::logic_error("synth: begin() inside an open object");
  open_ = true;
  origin_ = position;
  yaw_ = yaw;
  cos_ = std::cos(yaw);
  sin_ = std::sin(yaw);
  Object obj;
  obj.class_id = class_id;
  obj.first_part = static_cast<int>(scene_.parts.size());
  if (class_id > 0) {
    obj.instance_id = ++scene_.num_instances;
    const int k = per_class_count_[class_id]++;
    obj.name = name.empty() ? scene_.class_names[class_id] + "_" + std::to_string(k) : name;
  } else {
    obj.name = name.empty() ? "void" : name;
  }
  scene_.objects.push_back(obj);
}

V3 SceneBuilder::to_world(V3 local) const { return origin_ + rot_z(local, cos_, sin_); }

void SceneBuilder::add_part(Part p) {
  if (!open_) throw std::logic_error("synth: part outside an object");
  p.object = static_cast<int>(scene_.objects.size()) - 1;
  scene_.parts.push_back(p);
  scene_.objects.back().num_parts++;
}

void SceneBuilder::box(V3 centre, V3 size, int material, float yaw) {
  Part p;
  p.shape = Shape::Box;
  p.centre = to_world(centre);
  p.half = size * 0.5f;
  const float a = yaw_ + yaw;
  p.cos_a = std::cos(a);
  p.sin_a = std::sin(a);
  // Axis-aligned boxes take the fast path (a half turn is the same box).
  if (std::fabs(p.sin_a) < 1e-6f) { p.sin_a = 0.f; p.cos_a = 1.f; }
  p.material = material;
  add_part(p);
}

void SceneBuilder::sphere(V3 centre, float radius, int material) {
  Part p;
  p.shape = Shape::Sphere;
  p.centre = to_world(centre);
  p.half = {radius, radius, radius};
  p.material = material;
  add_part(p);
}

void SceneBuilder::cylinder(V3 base_centre, float radius, float height, int material) {
  Part p;
  p.shape = Shape::Cylinder;
  p.centre = to_world(base_centre + V3{0.f, 0.f, height * 0.5f});
  p.half = {radius, radius, height * 0.5f};
  p.material = material;
  add_part(p);
}

void SceneBuilder::plane(V3 point, V3 normal, int material) {
  Part p;
  p.shape = Shape::Plane;
  p.centre = point;
  p.normal = normalize(normal);
  p.material = material;
  add_part(p);
}

void SceneBuilder::end() {
  if (!open_) throw std::logic_error("synth: end() without begin()");
  open_ = false;
}

Scene SceneBuilder::finish() {
  if (open_) throw std::logic_error("synth: finish() with an open object");
  build_acceleration(scene_);
  return std::move(scene_);
}

}  // namespace jnerf::synth
