#pragma once
// Furniture made of primitives. Every function adds ONE labelled object (or one void
// group) through the builder. Object frames: origin on the floor (or on the supporting
// surface) at the object's centre, local +x is the object's front, yaw turns it about z.
#include <vector>

#include "builder.hpp"

namespace jnerf::synth {

// Walls (4 instances of `wall`, planes facing in), floor and ceiling of the box [lo, hi].
// wall_mats: materials for the walls at x = lo.x, x = hi.x, y = lo.y, y = hi.y.
void add_room_shell(SceneBuilder& b, V3 lo, V3 hi, const int wall_mats[4], int floor_mat,
                    int ceiling_mat);

// Table: size = (depth along x, width along y, height); four legs, round or square.
void add_table(SceneBuilder& b, int cls, V3 pos, float yaw, V3 size, int top_mat, int leg_mat,
               bool round_legs = true);
// Desk: a table with a drawer block on its right side.
void add_desk(SceneBuilder& b, int cls, V3 pos, float yaw, V3 size, int top_mat, int body_mat);
// Dining chair facing +x.
void add_chair(SceneBuilder& b, int cls, V3 pos, float yaw, int seat_mat, int leg_mat);
// Swivel office chair facing +x.
void add_office_chair(SceneBuilder& b, int cls, V3 pos, float yaw, int seat_mat, int metal_mat);
// Sofa facing +x, `width` along y.
void add_sofa(SceneBuilder& b, int cls, V3 pos, float yaw, float width, int fabric_mat, int leg_mat);
// Upright cushion (for sofas and beds).
void add_cushion(SceneBuilder& b, int cls, V3 pos, float yaw, V3 size, int mat);
void add_floor_lamp(SceneBuilder& b, int cls, V3 pos, int shade_mat, int metal_mat);
// Table lamp standing on a surface at pos.z.
void add_table_lamp(SceneBuilder& b, int cls, V3 pos, int shade_mat, int base_mat);
// Open shelf unit, back against local -x, `size` = (depth, width, height); returns the
// shelf heights (board tops) so books can be put on them.
std::vector<float> add_shelf(SceneBuilder& b, int cls, V3 pos, float yaw, V3 size, int boards,
                             int wood_mat);
// A void group of books standing on a board: along local y from -width/2 to +width/2.
void add_books(SceneBuilder& b, V3 pos, float yaw, float width, float depth,
               const std::vector<int>& mats, float fill = 0.8f);
void add_plant(SceneBuilder& b, int cls, V3 pos, float height, int pot_mat, int leaf_mat);
// Cabinet / chest of drawers: size = (depth, width, height), handles on the +x face.
void add_cabinet(SceneBuilder& b, int cls, V3 pos, float yaw, V3 size, int body_mat,
                 int handle_mat, int drawers = 2);
// Flat thing on a wall (picture, whiteboard, tv, door): size = (thickness, width, height),
// pos = centre of its back face on the wall, facing +x after yaw. frame_mat < 0: no frame.
void add_wall_panel(SceneBuilder& b, int cls, V3 pos, float yaw, V3 size, int face_mat,
                    int frame_mat = -1);
void add_rug(SceneBuilder& b, int cls, V3 pos, float yaw, float length, float width, int mat);
// Computer monitor on a desk surface at pos.z, facing +x.
void add_monitor(SceneBuilder& b, int cls, V3 pos, float yaw, int screen_mat, int body_mat);
// Waste bin (cylinder).
void add_bin(SceneBuilder& b, int cls, V3 pos, int mat);
// Bed with headboard at local -x: size = (length, width); mattress top at 0.55 m.
void add_bed(SceneBuilder& b, int cls, V3 pos, float yaw, float length, float width, int frame_mat,
             int mattress_mat);
// A small void item (cup, vase, box) to leave unlabelled pixels.
void add_void_item(SceneBuilder& b, Shape shape, V3 pos, V3 size, int mat, const char* name);

}  // namespace jnerf::synth
