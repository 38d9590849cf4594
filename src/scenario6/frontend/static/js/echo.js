// How long your own sound takes to come back, found by lining up two RMS envelopes: the
// microphone's and the speaker's, both stamped on the AudioContext clock. Robust to speech
// of any shape; only meaningful when the server echoes (the loopback backend).

const STEP = 0.005; // seconds per envelope window
const KEEP = 6; // seconds of envelope kept
const SPAN = 3; // seconds of the speaker's envelope compared
const MAX_LAG = 1.5; // seconds

export class EchoDelay {
  constructor({ minCorrelation = 0.6 } = {}) {
    this.minCorrelation = minCorrelation;
    this.mic = new Map(); // window index → rms
    this.speaker = new Map();
  }

  addMic(points) {
    add(this.mic, points);
  }

  addSpeaker(points) {
    add(this.speaker, points);
  }

  reset() {
    this.mic.clear();
    this.speaker.clear();
  }

  /** The echo delay in ms, or null when the two envelopes do not line up convincingly. */
  estimate() {
    if (this.speaker.size === 0) return null;
    const end = Math.max(...this.speaker.keys());
    const span = Math.round(SPAN / STEP);
    const maxLag = Math.round(MAX_LAG / STEP);
    const speaker = series(this.speaker, end - span + 1, span);
    if (speaker === null || variance(speaker) < 1e-8) return null;
    // The microphone's windows from `maxLag` before the speaker's span to its end, read once.
    const mic = series(this.mic, end - span + 1 - maxLag, span + maxLag);
    if (mic === null) return null;
    const scores = [];
    for (let lag = 0; lag <= maxLag; lag++) {
      scores.push(pearson(speaker, mic.subarray(maxLag - lag, maxLag - lag + span)));
    }
    let best = 0;
    for (let lag = 1; lag < scores.length; lag++) if (scores[lag] > scores[best]) best = lag;
    if (scores[best] < this.minCorrelation) return null;
    // Refine between windows with a parabola through the peak and its neighbours.
    let offset = 0;
    if (best > 0 && best < scores.length - 1) {
      const [a, b, c] = [scores[best - 1], scores[best], scores[best + 1]];
      const denominator = a - 2 * b + c;
      if (denominator < 0) offset = (0.5 * (a - c)) / denominator;
    }
    return { ms: (best + offset) * STEP * 1000, correlation: scores[best] };
  }
}

function add(map, points) {
  for (const [time, rms] of points) map.set(Math.round(time / STEP), rms);
  if (map.size > (KEEP / STEP) * 1.2) {
    const newest = Math.max(...map.keys());
    for (const key of map.keys()) if (key < newest - KEEP / STEP) map.delete(key);
  }
}

// `count` consecutive windows from `first`, or null when too many are missing.
function series(map, first, count) {
  const out = new Float64Array(count);
  let missing = 0;
  for (let i = 0; i < count; i++) {
    const value = map.get(first + i);
    if (value === undefined) missing += 1;
    else out[i] = value;
  }
  return missing > count * 0.1 ? null : out;
}

function variance(x) {
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  return x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
}

function pearson(x, y) {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : -1;
}
