#include "furniture.hpp"

#include <cmath>

namespace jnerf::synth {

void add_room_shell(SceneBuilder& b, V3 lo, V3 hi, const int wall_mats[4], int floor_mat,
                    int ceiling_mat) {
  const int wall = b.cls("wall"), floor = b.cls("floor"), ceiling = b.cls("ceiling");
  const V3 normals[4] = {{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}};
  const V3 points[4] = {lo, hi, lo, hi};
  for (int k = 0; k < 4; ++k) {
    b.begin(wall, {0, 0, 0});
    b.plane(points[k], normals[k], wall_mats[k]);
    b.end();
  }
  b.begin(floor, {0, 0, 0});
  b.plane(lo, {0, 0, 1}, floor_mat);
  b.end();
  b.begin(ceiling, {0, 0, 0});
  b.plane(hi, {0, 0, -1}, ceiling_mat);
  b.end();
}

void add_table(SceneBuilder& b, int cls, V3 pos, float yaw, V3 size, int top_mat, int leg_mat,
               bool round_legs) {
  const float top = 0.04f, inset = 0.07f;
  b.begin(cls, pos, yaw);
  b.box({0, 0, size.z - top * 0.5f}, {size.x, size.y, top}, top_mat);
  const float lx = size.x * 0.5f - inset, ly = size.y * 0.5f - inset, lh = size.z - top;
  for (int sx = -1; sx <= 1; sx += 2)
    for (int sy = -1; sy <= 1; sy += 2) {
      if (round_legs) b.cylinder({sx * lx, sy * ly, 0}, 0.025f, lh, leg_mat);
      else b.box({sx * lx, sy * ly, lh * 0.5f}, {0.05f, 0.05f, lh}, leg_mat);
    }
  b.end();
}

void add_desk(SceneBuilder& b, int cls, V3 pos, float yaw, V3 size, int top_mat, int body_mat) {
  const float top = 0.035f;
  b.begin(cls, pos, yaw);
  b.box({0, 0, size.z - top * 0.5f}, {size.x, size.y, top}, top_mat);
  const float lh = size.z - top;
  // Drawer block on the right (local -y), a panel leg on the left.
  b.box({0, -size.y * 0.5f + 0.22f, lh * 0.5f}, {size.x - 0.04f, 0.42f, lh}, body_mat);
  b.box({0, size.y * 0.5f - 0.03f, lh * 0.5f}, {size.x - 0.04f, 0.04f, lh}, body_mat);
  b.end();
}

void add_chair(SceneBuilder& b, int cls, V3 pos, float yaw, int seat_mat, int leg_mat) {
  const float s = 0.44f, seat_h = 0.45f;
  b.begin(cls, pos, yaw);
  b.box({0, 0, seat_h}, {s, s, 0.05f}, seat_mat);
  b.box({-s * 0.5f + 0.025f, 0, seat_h + 0.25f}, {0.05f, s, 0.42f}, seat_mat);
  const float l = s * 0.5f - 0.035f;
  for (int sx = -1; sx <= 1; sx += 2)
    for (int sy = -1; sy <= 1; sy += 2) b.cylinder({sx * l, sy * l, 0}, 0.022f, seat_h - 0.025f, leg_mat);
  b.end();
}

void add_office_chair(SceneBuilder& b, int cls, V3 pos, float yaw, int seat_mat, int metal_mat) {
  b.begin(cls, pos, yaw);
  b.cylinder({0, 0, 0}, 0.3f, 0.05f, metal_mat);    // star base, as a disc
  b.cylinder({0, 0, 0.05f}, 0.03f, 0.38f, metal_mat);
  b.box({0, 0, 0.47f}, {0.5f, 0.5f, 0.08f}, seat_mat);
  b.box({-0.23f, 0, 0.82f}, {0.06f, 0.46f, 0.55f}, seat_mat);
  b.end();
}

void add_sofa(SceneBuilder& b, int cls, V3 pos, float yaw, float width, int fabric_mat, int leg_mat) {
  const float depth = 0.9f;
  b.begin(cls, pos, yaw);
  b.box({0.02f, 0, 0.27f}, {depth - 0.04f, width - 0.3f, 0.3f}, fabric_mat);          // seat
  b.box({-depth * 0.5f + 0.1f, 0, 0.5f}, {0.2f, width, 0.76f}, fabric_mat);           // back
  for (int s = -1; s <= 1; s += 2)
    b.box({0.02f, s * (width * 0.5f - 0.08f), 0.36f}, {depth - 0.04f, 0.16f, 0.48f}, fabric_mat);  // arms
  for (int sx = -1; sx <= 1; sx += 2)
    for (int sy = -1; sy <= 1; sy += 2)
      b.cylinder({sx * (depth * 0.5f - 0.08f), sy * (width * 0.5f - 0.08f), 0}, 0.03f, 0.12f, leg_mat);
  b.end();
}

void add_cushion(SceneBuilder& b, int cls, V3 pos, float yaw, V3 size, int mat) {
  b.begin(cls, pos, yaw);
  b.box({0, 0, size.z * 0.5f}, size, mat);
  b.end();
}

void add_floor_lamp(SceneBuilder& b, int cls, V3 pos, int shade_mat, int metal_mat) {
  b.begin(cls, pos, 0.f);
  b.cylinder({0, 0, 0}, 0.16f, 0.03f, metal_mat);
  b.cylinder({0, 0, 0.03f}, 0.018f, 1.35f, metal_mat);
  b.cylinder({0, 0, 1.32f}, 0.21f, 0.3f, shade_mat);
  b.end();
}

void add_table_lamp(SceneBuilder& b, int cls, V3 pos, int shade_mat, int base_mat) {
  b.begin(cls, pos, 0.f);
  b.sphere({0, 0, 0.09f}, 0.09f, base_mat);
  b.cylinder({0, 0, 0.17f}, 0.012f, 0.16f, base_mat);
  b.cylinder({0, 0, 0.3f}, 0.14f, 0.2f, shade_mat);
  b.end();
}

std::vector<float> add_shelf(SceneBuilder& b, int cls, V3 pos, float yaw, V3 size, int boards,
                             int wood_mat) {
  const float t = 0.03f;
  std::vector<float> tops;
  b.begin(cls, pos, yaw);
  b.box({-size.x * 0.5f + 0.01f, 0, size.z * 0.5f}, {0.02f, size.y, size.z}, wood_mat);  // back
  for (int s = -1; s <= 1; s += 2)
    b.box({0, s * (size.y * 0.5f - t * 0.5f), size.z * 0.5f}, {size.x, t, size.z}, wood_mat);
  for (int k = 0; k < boards; ++k) {
    const float z = 0.06f + (size.z - 0.06f - t) * static_cast<float>(k) / static_cast<float>(boards - 1);
    b.box({0, 0, z + t * 0.5f}, {size.x, size.y - 2 * t, t}, wood_mat);
    tops.push_back(z + t);
  }
  b.end();
  return tops;
}

void add_books(SceneBuilder& b, V3 pos, float yaw, float width, float depth,
               const std::vector<int>& mats, float fill) {
  b.begin(0, pos, yaw, "books");
  float y = -width * 0.5f;
  int k = 0;
  while (true) {
    const float thick = 0.025f + 0.025f * (0.5f + b.jitter(0.5f));
    if (y + thick > -width * 0.5f + width * fill) break;
    const float h = 0.17f + 0.08f * (0.5f + b.jitter(0.5f));
    const float d = depth * (0.75f + 0.2f * (0.5f + b.jitter(0.5f)));
    b.box({depth * 0.5f - d * 0.5f - 0.01f, y + thick * 0.5f, h * 0.5f}, {d, thick, h},
          mats[static_cast<std::size_t>(k++) % mats.size()]);
    y += thick + 0.003f;
  }
  b.end();
}

void add_plant(SceneBuilder& b, int cls, V3 pos, float height, int pot_mat, int leaf_mat) {
  b.begin(cls, pos, 0.f);
  b.cylinder({0, 0, 0}, 0.17f, 0.32f, pot_mat);
  const float r = 0.1f + 0.22f * height;
  b.sphere({0, 0, 0.32f + height * 0.5f}, r, leaf_mat);
  b.sphere({0.12f, 0.06f, 0.32f + height * 0.72f}, r * 0.75f, leaf_mat);
  b.sphere({-0.1f, -0.08f, 0.32f + height * 0.85f}, r * 0.6f, leaf_mat);
  b.end();
}

void add_cabinet(SceneBuilder& b, int cls, V3 pos, float yaw, V3 size, int body_mat,
                 int handle_mat, int drawers) {
  b.begin(cls, pos, yaw);
  b.box({0, 0, size.z * 0.5f + 0.03f}, {size.x, size.y, size.z - 0.06f}, body_mat);
  b.box({0, 0, 0.015f}, {size.x - 0.04f, size.y - 0.04f, 0.03f}, handle_mat);  // plinth
  for (int k = 0; k < drawers; ++k) {
    const float z = 0.03f + (size.z - 0.06f) * (static_cast<float>(k) + 0.75f) / static_cast<float>(drawers);
    b.box({size.x * 0.5f + 0.01f, 0, z}, {0.02f, std::fmin(0.3f, size.y * 0.4f), 0.025f}, handle_mat);
  }
  b.end();
}

void add_wall_panel(SceneBuilder& b, int cls, V3 pos, float yaw, V3 size, int face_mat, int frame_mat) {
  b.begin(cls, pos, yaw);
  if (frame_mat >= 0) {
    b.box({size.x * 0.5f, 0, 0}, {size.x, size.y, size.z}, frame_mat);
    b.box({size.x + 0.004f, 0, 0}, {0.008f, size.y - 0.08f, size.z - 0.08f}, face_mat);
  } else {
    b.box({size.x * 0.5f, 0, 0}, size, face_mat);
  }
  b.end();
}

void add_rug(SceneBuilder& b, int cls, V3 pos, float yaw, float length, float width, int mat) {
  b.begin(cls, pos, yaw);
  b.box({0, 0, 0.006f}, {length, width, 0.012f}, mat);
  b.end();
}

void add_monitor(SceneBuilder& b, int cls, V3 pos, float yaw, int screen_mat, int body_mat) {
  b.begin(cls, pos, yaw);
  b.box({-0.05f, 0, 0.01f}, {0.2f, 0.25f, 0.02f}, body_mat);   // foot
  b.box({-0.08f, 0, 0.13f}, {0.04f, 0.06f, 0.22f}, body_mat);  // neck
  b.box({-0.03f, 0, 0.38f}, {0.04f, 0.6f, 0.36f}, body_mat);   // casing
  b.box({-0.005f, 0, 0.385f}, {0.012f, 0.56f, 0.32f}, screen_mat);
  b.end();
}

void add_bin(SceneBuilder& b, int cls, V3 pos, int mat) {
  b.begin(cls, pos, 0.f);
  b.cylinder({0, 0, 0}, 0.15f, 0.38f, mat);
  b.end();
}

void add_bed(SceneBuilder& b, int cls, V3 pos, float yaw, float length, float width, int frame_mat,
             int mattress_mat) {
  b.begin(cls, pos, yaw);
  b.box({0, 0, 0.17f}, {length, width, 0.26f}, frame_mat);                             // base
  b.box({0.03f, 0, 0.42f}, {length - 0.1f, width - 0.06f, 0.24f}, mattress_mat);      // mattress
  b.box({-length * 0.5f + 0.04f, 0, 0.55f}, {0.08f, width + 0.04f, 1.1f}, frame_mat);  // headboard
  for (int sx = -1; sx <= 1; sx += 2)
    for (int sy = -1; sy <= 1; sy += 2)
      b.box({sx * (length * 0.5f - 0.06f), sy * (width * 0.5f - 0.06f), 0.02f}, {0.08f, 0.08f, 0.04f}, frame_mat);
  b.end();
}

void add_void_item(SceneBuilder& b, Shape shape, V3 pos, V3 size, int mat, const char* name) {
  b.begin(0, pos, 0.f, name);
  switch (shape) {
    case Shape::Sphere: b.sphere({0, 0, size.x}, size.x, mat); break;
    case Shape::Cylinder: b.cylinder({0, 0, 0}, size.x, size.z, mat); break;
    default: b.box({0, 0, size.z * 0.5f}, size, mat); break;
  }
  b.end();
}

}  // namespace jnerf::synth
