// room1: an open office with two rows of desks.
#include "furniture.hpp"
#include "presets.hpp"

namespace jnerf::synth {

namespace {
constexpr float kPi = 3.14159265358979f;
}  // namespace

Scene build_office(std::uint64_t seed) {
  SceneBuilder b("room1", seed);
  const V3 lo{-3.5f, -2.5f, 0.f}, hi{3.5f, 2.5f, 3.0f};

  // Shared on purpose: the grey metal makes the desk bodies, the filing cabinets and the
  // bins; the white laminate is the desk tops and the whiteboard; one oak makes the
  // bookshelf and the door; walls and ceiling tiles are near-identical off-whites.
  const int paint = b.material(plain(srgb(214, 214, 208)));
  const int tiles = b.material(pattern(Pattern::Checker, srgb(226, 226, 220), srgb(208, 208, 202), 0.6f));
  const int carpet = b.material(pattern(Pattern::Noise, srgb(86, 92, 104), srgb(60, 66, 78), 0.03f));
  const int laminate = b.material(plain(srgb(232, 230, 224)));
  const int steel = b.material(plain(srgb(128, 134, 140)));
  const int oak = b.material(pattern(Pattern::Stripes, srgb(196, 160, 112), srgb(180, 144, 98), 0.05f, 1, 1.0f));
  const int seat = b.material(pattern(Pattern::Noise, srgb(40, 60, 110), srgb(28, 40, 80), 0.04f));
  const int black = b.material(plain(srgb(30, 30, 33)));
  const int screen = b.material(emissive(pattern(Pattern::Stripes, srgb(70, 110, 160), srgb(200, 210, 225), 0.04f, 1), 0.5f));
  const int shade = b.material(emissive(plain(srgb(230, 80, 60)), 0.3f));
  const int pot = b.material(plain(srgb(220, 220, 214)));
  const int leaves = b.material(pattern(Pattern::Noise, srgb(70, 140, 60), srgb(30, 90, 40), 0.06f));
  const int paper = b.material(plain(srgb(246, 246, 240)));
  const int mug = b.material(plain(srgb(200, 60, 40)));
  const std::vector<int> books = {b.material(plain(srgb(30, 70, 140))), b.material(plain(srgb(200, 170, 60))),
                                  b.material(plain(srgb(150, 40, 50))), b.material(plain(srgb(230, 230, 220)))};

  const int walls[4] = {paint, paint, paint, paint};
  add_room_shell(b, lo, hi, walls, carpet, tiles);

  const int desk = b.cls("desk"), monitor = b.cls("monitor"), chair = b.cls("chair"), lamp = b.cls("lamp"),
            cabinet = b.cls("cabinet"), whiteboard = b.cls("whiteboard"), bookshelf = b.cls("bookshelf"),
            bin = b.cls("bin"), plant = b.cls("plant"), door = b.cls("door");

  // Two rows of two desks against the walls y = -2.5 (facing +y) and y = +2.5 (facing -y).
  const float xs[2] = {-1.6f, 0.9f};
  for (int row = -1; row <= 1; row += 2) {
    const float wall_y = row * 2.5f;
    const float yaw = row < 0 ? kPi / 2 : -kPi / 2;  // local +x (front) points into the room
    for (int k = 0; k < 2; ++k) {
      const float x = xs[k] + b.jitter(0.06f);
      add_desk(b, desk, {x, wall_y - row * 0.4f, 0.f}, yaw, {0.75f, 1.4f, 0.74f}, laminate, steel);
      const float mx = x + b.jitter(0.06f);
      const float myaw = yaw + b.jitter(0.15f);
      add_monitor(b, monitor, {mx, wall_y - row * 0.26f, 0.74f}, myaw, screen, black);
      // Keyboard and a mug: small unlabelled things.
      add_void_item(b, Shape::Box, {mx, wall_y - row * 0.55f, 0.74f}, {0.44f, 0.15f, 0.025f}, black, "keyboard");
      add_void_item(b, Shape::Cylinder, {x + 0.5f * row, wall_y - row * 0.5f, 0.74f}, {0.045f, 0.045f, 0.1f}, mug,
                    "mug");
      const float cx = x + b.jitter(0.15f);
      const float cy = wall_y - row * (1.2f + b.jitter(0.08f));
      const float cyaw = -yaw + b.jitter(0.35f);  // facing the desk
      add_office_chair(b, chair, {cx, cy, 0.f}, cyaw, seat, steel);
    }
  }
  add_table_lamp(b, lamp, {-2.2f, -2.3f, 0.74f}, shade, black);
  add_table_lamp(b, lamp, {1.5f, 2.3f, 0.74f}, shade, black);
  add_void_item(b, Shape::Box, {0.3f, -2.15f, 0.74f}, {0.3f, 0.22f, 0.03f}, paper, "papers");

  // Filing cabinets and a whiteboard on the wall x = 3.5 (facing -x).
  add_cabinet(b, cabinet, {3.22f, -1.2f, 0.f}, kPi, {0.5f, 0.5f, 1.1f}, steel, black, 3);
  add_cabinet(b, cabinet, {3.22f, -0.6f, 0.f}, kPi, {0.5f, 0.5f, 1.1f}, steel, black, 3);
  add_void_item(b, Shape::Box, {3.22f, -0.9f, 1.1f}, {0.3f, 0.35f, 0.22f}, paper, "box");
  add_wall_panel(b, whiteboard, {3.5f, 0.95f, 1.5f}, kPi, {0.025f, 1.6f, 1.0f}, laminate, steel);

  // Bookshelf and door on the wall x = -3.5 (facing +x).
  const V3 sp{-3.3f, b.jitter(0.1f), 0.f};
  const auto boards = add_shelf(b, bookshelf, sp, 0.f, {0.38f, 1.6f, 2.0f}, 5, oak);
  for (std::size_t k = 1; k < boards.size(); ++k)
    add_books(b, {sp.x, sp.y, boards[k - 1]}, 0.f, 1.5f, 0.32f, books, 0.5f + 0.12f * static_cast<float>(k % 3));
  add_wall_panel(b, door, {-3.5f, 1.75f, 1.02f}, 0.f, {0.05f, 0.9f, 2.04f}, oak);

  add_bin(b, bin, {-0.35f, -2.22f, 0.f}, steel);
  add_bin(b, bin, {-0.35f, 2.22f, 0.f}, steel);
  add_plant(b, plant, {3.1f, 2.1f, 0.f}, 1.1f, pot, leaves);
  add_plant(b, plant, {-3.1f, -2.1f, 0.f}, 0.8f, pot, leaves);

  Scene& s = b.scene();
  s.room_min = lo;
  s.room_max = hi;
  s.ambient = 0.3f;
  // A long ceiling panel (soft shadows) and an unshadowed fill.
  s.lights = {Light{{0.f, 0.f, 2.96f}, {4.0f, 0, 0}, {0, 0.8f, 0}, {0, 0, -1}, 1.6f},
              Light{{0.f, -1.2f, 2.9f}, {1.0f, 0, 0}, {0, 1.0f, 0}, {0, 0, -1}, 0.45f, false}};
  s.camera.centre = {0.f, 0.f, 0.f};
  s.camera.ax = 2.1f;
  s.camera.ay = 0.65f;
  s.camera.z_lo = 1.45f;
  s.camera.z_hi = 1.9f;
  s.camera.tx = 3.1f;
  s.camera.ty = 2.2f;
  s.camera.tz_lo = 0.4f;
  s.camera.tz_hi = 1.4f;
  return b.finish();
}

}  // namespace jnerf::synth
