// jnerf synth: generate a procedural benchmark scene in the Replica layout.
#include <iostream>

#include "commands.hpp"
#include "jnerf/data/synth.hpp"

namespace jnerf::cli {

void add_synth(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto* cmd = app.add_subcommand("synth", "generate a benchmark scene (Replica / Semantic-NeRF layout)");
  auto opts = std::make_shared<SynthOptions>();
  auto list = std::make_shared<bool>(false);
  cmd->add_option("--preset", opts->preset, "scene preset (see --list)");
  cmd->add_option("--out", opts->out, "output folder");
  cmd->add_option("--width", opts->width, "image width (default: the preset's)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--height", opts->height, "image height (default: the preset's)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--frames", opts->frames, "number of frames (default: the preset's)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", opts->seed, "random seed (textures, camera jitter)");
  cmd->add_flag("--preview", opts->preview, "also write preview.png, a contact sheet of RGB and labels");
  cmd->add_flag("--list", *list, "list the presets and exit");
  cmd->callback([cmd, opts, list, &global, &action] {
    if (*list) {
      action = [] {
        for (const auto& name : synth_preset_names()) std::cout << synth_preset_description(name) << "\n";
      };
      return;
    }
    if (opts->preset.empty()) throw CLI::RequiredError("--preset");
    if (opts->out.empty()) throw CLI::RequiredError("--out");
    (void)cmd;
    action = [opts, &global] {
      opts->threads = global.threads;
      const SynthSummary s = generate_scene(*opts);
      std::cout << "wrote " << s.frames << " frames of " << s.width << "x" << s.height << " to "
                << opts->out.string() << " in " << s.seconds << " s\n"
                << "classes: " << s.num_classes - 1 << " (+ void), instances: " << s.num_instances << "\n";
      if (opts->preview) std::cout << "preview: " << (opts->out / "preview.png").string() << "\n";
    };
  });
}

}  // namespace jnerf::cli
