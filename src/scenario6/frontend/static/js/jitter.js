// The playback jitter buffer. Network audio arrives in bursts; the speaker takes 128 samples
// at a steady pace. Playback starts once `target` is buffered, the target grows after each
// underrun and relaxes again after a quiet spell, the oldest audio is dropped when too much
// piles up (at once on a big burst; and when the buffer never dipped below half the target
// for half a second, since that cushion only adds latency), and every stop, start and drop
// gets a short fade so it does not click.

export class JitterBuffer {
  constructor(
    sampleRate,
    { startMs = 80, growMs = 40, maxTargetMs = 400, overflowMs = 300, slackMs = 20, fadeMs = 4, relaxS = 10 } = {},
  ) {
    this.sampleRate = sampleRate;
    this.startTarget = Math.round((startMs / 1000) * sampleRate);
    this.target = this.startTarget;
    this.grow = Math.round((growMs / 1000) * sampleRate);
    this.maxTarget = Math.round((maxTargetMs / 1000) * sampleRate);
    this.overflow = Math.round((overflowMs / 1000) * sampleRate);
    this.slack = Math.round((slackMs / 1000) * sampleRate);
    this.fade = Math.max(1, Math.round((fadeMs / 1000) * sampleRate));
    this.relax = Math.round(relaxS * sampleRate);
    this.window = Math.round(sampleRate / 2);
    this.reset();
    this.played = 0;
    this.underruns = 0;
    this.dropped = 0;
  }

  reset() {
    this.chunks = []; // {samples, offset, tag}
    this.buffered = 0;
    this.playing = false;
    this.fadeIn = 0; // samples of fade-in still to apply
    this.target = this.startTarget;
    this.windowMin = Infinity; // the lowest level seen while playing in the current window
    this.windowLeft = this.window;
    this.calm = 0; // samples played since the last underrun
  }

  push(samples, tag = null) {
    if (samples.length === 0) return;
    this.chunks.push({ samples, offset: 0, tag });
    this.buffered += samples.length;
    // Too far behind: drop the oldest audio down to the target and fade back in.
    if (this.buffered > this.target + this.overflow) {
      this.#skip(this.buffered - this.target);
      this.fadeIn = this.fade;
    }
  }

  /** Fills `out`; returns the tags of chunks whose first sample was written, with offsets. */
  render(out) {
    const started = [];
    if (!this.playing) {
      if (this.buffered < this.target || this.buffered === 0) {
        out.fill(0);
        return started;
      }
      this.playing = true;
      this.fadeIn = this.fade;
    }
    let written = 0;
    while (written < out.length && this.chunks.length) {
      const chunk = this.chunks[0];
      if (chunk.offset === 0 && chunk.tag !== null) started.push({ tag: chunk.tag, offset: written });
      const n = Math.min(out.length - written, chunk.samples.length - chunk.offset);
      out.set(chunk.samples.subarray(chunk.offset, chunk.offset + n), written);
      chunk.offset += n;
      written += n;
      if (chunk.offset === chunk.samples.length) this.chunks.shift();
    }
    this.buffered -= written;
    this.played += written;
    this.#applyFadeIn(out, written);
    if (written === out.length) this.#settle(out);
    if (written < out.length) {
      // Ran dry: fade out what we have, wait for `target` again, and ask for more next time.
      fadeOut(out, written, this.fade);
      out.fill(0, written);
      this.playing = false;
      this.underruns += 1;
      this.target = Math.min(this.maxTarget, this.target + this.grow);
      this.calm = 0;
      this.windowMin = Infinity;
      this.windowLeft = this.window;
    }
    return started;
  }

  // Latency creep: a cushion that never ran down during a whole window is trimmed to half
  // the target; after a long run without underruns the target comes back down a step.
  #settle(out) {
    this.windowMin = Math.min(this.windowMin, this.buffered);
    this.windowLeft -= out.length;
    this.calm += out.length;
    if (this.calm >= this.relax && this.target > this.startTarget) {
      this.target = Math.max(this.startTarget, this.target - this.grow);
      this.calm = 0;
    }
    if (this.windowLeft > 0) return;
    const cushion = Math.round(this.target / 2);
    if (this.windowMin > cushion + this.slack) {
      fadeOut(out, out.length, this.fade);
      this.#skip(this.windowMin - cushion);
      this.fadeIn = this.fade;
    }
    this.windowMin = Infinity;
    this.windowLeft = this.window;
  }

  get bufferedMs() {
    return (this.buffered / this.sampleRate) * 1000;
  }

  get targetMs() {
    return (this.target / this.sampleRate) * 1000;
  }

  #applyFadeIn(out, written) {
    const n = Math.min(this.fadeIn, written);
    for (let i = 0; i < n; i++) out[i] *= (this.fade - this.fadeIn + i + 1) / (this.fade + 1);
    this.fadeIn -= n;
  }

  #skip(count) {
    this.dropped += count;
    this.buffered -= count;
    while (count > 0 && this.chunks.length) {
      const chunk = this.chunks[0];
      const n = Math.min(count, chunk.samples.length - chunk.offset);
      chunk.offset += n;
      count -= n;
      if (chunk.offset === chunk.samples.length) this.chunks.shift();
    }
  }
}

function fadeOut(out, end, length) {
  const n = Math.min(length, end);
  for (let i = 0; i < n; i++) out[end - n + i] *= (n - i) / (n + 1);
}
