#pragma once
// The two applications of a shaped NeRF (docs/APPLICATIONS.md), on one or a few clicks:
//
// Selection. The clicks' mean Jacobian is one class direction g (class_directions with a
//   single class). In a view, the entity is where the response to W += t g exceeds a
//   threshold, the response post-processed as label propagation does: 2D modes through
//   postprocess_response (clip, blur, normalise, absent rule), 3D modes divided by their
//   maximum over the view.
//
// Editing (recolouring). The click's per-channel Jacobian blocks (JacobianChannels::Blocks)
//   g[k, :] = dC_k / dW[k, :] give one direction per colour channel k; the fine RGB head
//   moves as W[k, :] += t_k g[k, 0..V-1] (and b[k] += t_k g[k, V] with the bias). Moving
//   W[k, :] changes channel k only, so each t_k solves the one-dimensional equation
//   C_k(t_k) = goal_k for the clicked pixel. To first order C_k + t_k <g_k, g_k> = goal_k;
//   the solve is exact instead: the click's fine samples (compositing weights w_i and head
//   inputs h_i) do not depend on the head, so
//       C_k(t) = C_k + sum_i w_i (sigmoid(z_ik + t a_ik) - sigmoid(z_ik)),
//       z_ik = W[k, :] h_i + b_k,  a_ik = g[k, :] . [h_i, 1],
//   is solved by bracketing and bisection. The pre-sigmoid colours of the click's samples
//   may move by at most `max_logit_change`; a goal beyond that (or one the head cannot
//   produce at all, such as exactly 0 or 1) is met within half the tolerance by the
//   smallest step that does so, or else clamped to the nearest reachable colour and
//   reported. The edited
//   model's clicked pixel is then re-rendered, and Newton corrections
//   t_k += (goal_k - C_k') / C_k'(t_k) follow, re-rendering each time, while the rendered
//   colour is further than `tolerance` from the goal.
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "jnerf/core/config.hpp"
#include "jnerf/data/dataset.hpp"
#include "jnerf/io/image.hpp"
#include "jnerf/propagate/propagation.hpp"
#include "jnerf/train/nerf_engine.hpp"
#include "jnerf/train/run_dir.hpp"

namespace jnerf {

struct PixelPos {
  int x = 0, y = 0;
  bool operator==(const PixelPos& o) const { return x == o.x && y == o.y; }
};

// ---- input ----------------------------------------------------------------------------

// "X,Y" (integers). InputError naming the text otherwise.
PixelPos parse_pixel(const std::string& text);
// "R,G,B": three numbers in [0, 1], or three integers in 0..255 (then divided by 255; a
// text whose values all lie in [0, 1] is read as 0..1). InputError naming the text.
std::array<double, 3> parse_colour(const std::string& text);
// InputError naming the click and the view when the pixel is outside the view.
void check_pixel(const Frame& frame, PixelPos pixel);
// InputError naming the colour when a channel is outside [0, 1] or not finite.
void check_colour(const std::array<double, 3>& colour);

// The index into dataset.frames of the frame with source id `id`; InputError when absent.
int frame_index_by_id(const Dataset& dataset, int id);
// The clicked view: a frame id (view_id >= 0), or a training-view index (train_index >= 0);
// exactly one of them. InputError otherwise.
int clicked_view_index(const Dataset& dataset, int view_id, int train_index);
// "test", "train" or "all" (train then test), at most max_views of them evenly spread
// (0 = all). InputError for another name or an empty list.
std::vector<int> split_view_indices(const Dataset& dataset, const std::string& which, int max_views = 0);

// A run folder's model, ready for clicks: its dataset, an engine on `device` and the newest
// shape checkpoint (else the newest nerf checkpoint), or `checkpoint` when given.
struct LoadedRun {
  Json config;
  Dataset dataset;
  std::unique_ptr<NerfEngine> engine;
  std::filesystem::path checkpoint;
  long long step = 0;
  bool shaped = false;  // a shape checkpoint (by file name) was loaded
  int chunk = 4096;     // output.render_chunk
};
LoadedRun load_run_model(const RunDir& run, const Json& config, const std::string& device,
                         const std::filesystem::path& checkpoint = {});

// ---- helpers --------------------------------------------------------------------------

// One class direction from the clicks on `view`: their mean Jacobian (label 1).
ClassDirections entity_direction(NerfEngine& engine, const Frame& view, const std::vector<PixelPos>& clicks,
                                 const JacobianSpec& spec, int chunk);
// The instance ids under the clicks (sorted, each once); empty when the view has no
// instance map.
std::vector<int> clicked_instances(const Frame& view, const std::vector<PixelPos>& clicks);
// 1 where the view's instance id is one of `ids`, else 0; empty without an instance map.
std::vector<std::uint8_t> instance_region(const Frame& view, const std::vector<int>& ids);
// |a & b| / |a | b| over non-zero entries; NaN when the union is empty. InputError when the
// sizes differ.
double mask_iou(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b);
// The image with the mask tinted red and the marks drawn as small green crosses.
ImageU8 mask_overlay(const ImageF& rgb, const std::vector<std::uint8_t>& mask, const std::vector<PixelPos>& marks = {});
// The rendered colour of one pixel of a view (a 1 x 1 view through that pixel's ray).
std::array<double, 3> render_pixel(NerfEngine& engine, const Frame& view, PixelPos pixel, int chunk);

// ---- selection ------------------------------------------------------------------------

// How a view's response map is scaled before the threshold:
//   view    as label propagation does, per view: 2D modes through postprocess_response,
//           3D modes divided by the view's maximum (every view's strongest responders are
//           selected, even where the entity is absent; 2D modes' absent rule blanks those);
//   clicks  the raw map (2D modes blurred when response.blur) divided by the mean raw
//           response at the clicks in the clicked view, the same scale for every view: the
//           clicks score 1 and a view without the entity scores low everywhere.
enum class SelectScale { View, Clicks };
SelectScale parse_select_scale(const std::string& name);  // "view" or "clicks"; InputError names the value
const char* to_string(SelectScale scale);

struct SelectSettings {
  ResponseMode mode = ResponseMode::Linear3D;
  SelectScale scale = SelectScale::View;
  double threshold = 0.5;           // on the scaled response, in [0, 1)
  double step = 0.1;                // t of the perturbation
  ResponseSettings response;        // 2D post-processing
  JacobianChannels channels = JacobianChannels::Mean;
  bool bias = false;
  int chunk = 4096;

  // mode, step, response, channels and bias from a run config (the "propagate" and
  // "shape" sections, as label propagation reads them), chunk from output.render_chunk.
  static SelectSettings from_config(const Json& config);
};

struct EntityMask {
  int width = 0, height = 0;
  std::vector<float> response;      // W*H, post-processed
  std::vector<std::uint8_t> mask;   // W*H, 1 where response > threshold
  double fraction = 0;              // of the view's pixels in the mask
};
// With reference > 0 the map is scaled as SelectScale::Clicks (divided by `reference`), else
// as SelectScale::View.
EntityMask entity_mask(NerfEngine& engine, const Frame& view, const ClassDirections& direction,
                       const SelectSettings& settings, double reference = 0);
// The scale of SelectScale::Clicks: the mean raw (2D: blurred) response at the clicks.
double click_reference(NerfEngine& engine, const Frame& view, const std::vector<PixelPos>& clicks,
                       const ClassDirections& direction, const SelectSettings& settings);

struct SelectedView {
  int index = 0;  // into dataset.frames
  int id = 0;
  std::string name;
  double fraction = 0;
  double iou = 0;         // with the clicked instances; NaN without instance maps or when undefined
  int clicks_inside = 0;  // the clicked view only: clicks inside the mask
};

struct Selection {
  ClassDirections direction;
  double reference = 0;             // SelectScale::Clicks: the clicks' raw response (else 0)
  std::vector<int> instances;       // under the clicks; empty without instance maps
  SelectedView clicked;             // the clicked view (always computed)
  std::vector<SelectedView> views;  // the selected views, in order
  double mean_fraction = 0;         // over the selected views
  double mean_iou = 0;              // over the selected views with an IoU; NaN when none
};

// Called for the clicked view first, then for each selected view (the clicked view again
// only if it is selected), with its mask.
using SelectionVisitor = std::function<void(const Frame& view, const EntityMask& mask, bool clicked_view)>;

// InputError for a click outside the clicked view, no clicks, a threshold outside [0, 1)
// or a step <= 0 (each naming the value).
Selection select_entity(NerfEngine& engine, const Dataset& dataset, int clicked_index,
                        const std::vector<PixelPos>& clicks, const std::vector<int>& views,
                        const SelectSettings& settings, const SelectionVisitor& visit = {});

Json selection_to_json(const Selection& selection, const Dataset& dataset, const std::vector<PixelPos>& clicks,
                       const SelectSettings& settings);

// ---- editing --------------------------------------------------------------------------

struct EditSettings {
  double strength = 1.0;          // the goal is before + strength (target - before), clamped to [0, 1]
  int iterations = 5;             // Newton corrections with re-rendering, at most
  double tolerance = 2e-3;        // per channel, on the re-rendered clicked pixel
  double max_logit_change = 12;   // bound on |t_k a_ik| over the click's samples
  bool bias = false;              // also move the bias along its Jacobian
  int chunk = 4096;
};

struct EditResult {
  PixelPos click;
  JacobianSpec spec;                    // Blocks
  std::vector<double> direction;        // 3 x Dk: the click's Jacobian blocks
  std::array<double, 3> target{};       // as asked
  std::array<double, 3> goal{};         // after strength (and [0, 1] clamping)
  std::array<double, 3> steps{};        // t_k
  std::array<double, 3> before{};       // the clicked pixel, rendered
  std::array<double, 3> after{};        // the clicked pixel, rendered with the edit
  std::array<bool, 3> clamped{};        // the channel's goal was out of reach (beyond tolerance)
  std::array<double, 3> reachable_lo{}, reachable_hi{};  // within max_logit_change
  bool reached = false;                 // every channel within tolerance of its goal
  int corrections = 0;                  // re-render corrections done
  std::vector<float> original_params;   // restore with engine.set_params(original_params)
  std::vector<float> edited_params;
};

// Solves and applies the edit: on return the engine holds edited_params. InputError for a
// click outside the view, a colour outside [0, 1], strength <= 0 or not finite,
// iterations < 0, tolerance or max_logit_change <= 0 (each naming the value).
EditResult edit_entity(NerfEngine& engine, const Frame& view, PixelPos click, const std::array<double, 3>& colour,
                       const EditSettings& settings);

// W[k, :] += steps[k] direction[k, 0..V-1] on the segment "fine.rgb_linear.weight", and
// b[k] += steps[k] direction[k, V] on "fine.rgb_linear.bias" when spec.bias; nothing else
// changes. InputError when the sizes do not match the layout.
void apply_head_edit(std::vector<float>& params, const ParamLayout& layout, const JacobianSpec& spec,
                     const std::vector<double>& direction, const std::array<double, 3>& steps);

// The mean per-pixel colour change (mean over channels of |after - before|) inside the
// region (non-zero entries) and outside it; NaN for an empty side. InputError when sizes
// differ.
struct ColourChange {
  double inside = 0, outside = 0;
  std::size_t inside_pixels = 0, outside_pixels = 0;
};
ColourChange colour_change(const ImageF& before, const ImageF& after, const std::vector<std::uint8_t>& region);

Json edit_to_json(const EditResult& result);

}  // namespace jnerf
