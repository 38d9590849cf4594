// The conversation settings: voice picker, persona presets and the editable persona with its
// character counter. Choices are remembered in this browser.
import * as view from "./ui.js";

const KEYS = { voice: "scenario6.voice", persona: "scenario6.persona" };

export class SettingsForm {
  /** `onChange` runs after every edit; `config` is the frontend's /api/config answer. */
  constructor(ui, config, onChange) {
    this.ui = ui;
    this.max = config.limits.persona_max_chars;
    this.presets = config.personas.presets;
    ui.persona.maxLength = this.max;
    view.fillVoices(ui.voice, config.voices, localStorage.getItem(KEYS.voice) ?? config.voices.default);
    ui.persona.value = localStorage.getItem(KEYS.persona) ?? config.personas.default;
    view.fillPresets(ui.presets, this.presets, (preset) => {
      ui.persona.value = preset.prompt;
      this.#edited(onChange);
    });
    ui.persona.addEventListener("input", () => this.#edited(onChange));
    ui.voice.addEventListener("change", () => {
      localStorage.setItem(KEYS.voice, ui.voice.value);
      onChange();
    });
    this.#show();
  }

  /** What a session is started with: the voice name and the trimmed persona. */
  values() {
    return { voice: this.ui.voice.value, persona: this.ui.persona.value.trim() };
  }

  get complete() {
    return this.values().persona !== "";
  }

  #edited(onChange) {
    localStorage.setItem(KEYS.persona, this.ui.persona.value);
    this.#show();
    onChange();
  }

  #show() {
    view.showCount(this.ui.personaCount, this.ui.persona.value.length, this.max);
    view.markPreset(this.ui.presets, this.presets, this.ui.persona.value);
  }
}
