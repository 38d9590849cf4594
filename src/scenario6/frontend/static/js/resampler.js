// A streaming windowed-sinc resampler. The microphone arrives at the AudioContext's rate
// (44.1 or 48 kHz) but is encoded at 24 kHz; decoded Opus arrives at 48 kHz but plays at the
// context's rate. Chunks may have any length; state carries over between them.

const HALF_TAPS = 16;
const PHASES = 512;

export class StreamResampler {
  constructor(inRate, outRate) {
    this.inRate = inRate;
    this.outRate = outRate;
    this.step = inRate / outRate; // input samples per output sample
    this.passthrough = inRate === outRate;
    if (this.passthrough) return;
    // Below the lower Nyquist frequency, with a little room for the transition band.
    const cutoff = Math.min(1, outRate / inRate) * 0.92;
    this.kernels = buildKernels(cutoff);
    this.history = new Float32Array(HALF_TAPS); // zeros: the signal starts from silence
    this.position = HALF_TAPS; // index in history+input of the next output sample
  }

  /** Resamples one chunk; returns the output samples this chunk completes. */
  process(input) {
    if (this.passthrough) return input.slice();
    const buffer = new Float32Array(this.history.length + input.length);
    buffer.set(this.history, 0);
    buffer.set(input, this.history.length);
    // An output at position p reads up to floor(p) + HALF_TAPS, so p must stay below this.
    const limit = buffer.length - HALF_TAPS;
    const count = limit > this.position ? Math.ceil((limit - this.position) / this.step) : 0;
    const out = new Float32Array(count);
    let position = this.position;
    for (let n = 0; n < count; n++) {
      const base = Math.floor(position);
      const phase = Math.round((position - base) * PHASES);
      const kernel = this.kernels[phase];
      let sum = 0;
      const first = base - HALF_TAPS + 1;
      for (let k = 0; k < 2 * HALF_TAPS; k++) {
        const index = first + k;
        if (index >= 0) sum += buffer[index] * kernel[k];
      }
      out[n] = sum;
      position += this.step;
    }
    const keepFrom = Math.max(0, Math.floor(position) - HALF_TAPS + 1);
    this.history = buffer.slice(keepFrom);
    this.position = position - keepFrom;
    return out;
  }
}

/** Kernels for PHASES+1 fractional offsets, Blackman-windowed sinc with unity DC gain. */
function buildKernels(cutoff) {
  const kernels = [];
  for (let p = 0; p <= PHASES; p++) {
    const frac = p / PHASES;
    const kernel = new Float32Array(2 * HALF_TAPS);
    let sum = 0;
    for (let k = 0; k < 2 * HALF_TAPS; k++) {
      const x = k - HALF_TAPS + 1 - frac; // distance from the output position
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * cutoff * x) / (Math.PI * cutoff * x);
      const w = (x + HALF_TAPS) / (2 * HALF_TAPS);
      const blackman =
        w <= 0 || w >= 1 ? 0 : 0.42 - 0.5 * Math.cos(2 * Math.PI * w) + 0.08 * Math.cos(4 * Math.PI * w);
      kernel[k] = sinc * blackman;
      sum += kernel[k];
    }
    for (let k = 0; k < kernel.length; k++) kernel[k] /= sum;
    kernels.push(kernel);
  }
  return kernels;
}
