// Finds where sound starts and stops in a stream of audio blocks. Used on the microphone
// and on what the speaker plays, in the same AudioContext clock, to measure how long a
// sound takes to come back (loopback echo) or how long the model takes to answer.

export class OnsetDetector {
  constructor({ onDb = -36, offDb = -46, minSilenceMs = 200, hangMs = 300 } = {}) {
    this.on = 10 ** (onDb / 20);
    this.off = 10 ** (offDb / 20);
    this.minSilence = minSilenceMs / 1000;
    this.hang = hangMs / 1000;
    this.active = false;
    this.silentSince = -Infinity; // the signal has been quiet since the stream began
    this.lastLoud = 0;
  }

  /** Feeds one block starting at `time` seconds; returns [{type: 'on'|'off', time}]. */
  process(block, time, sampleRate) {
    let sum = 0;
    for (let i = 0; i < block.length; i++) sum += block[i] * block[i];
    const rms = Math.sqrt(sum / Math.max(1, block.length));
    const events = [];
    if (!this.active) {
      if (rms >= this.on && time - this.silentSince >= this.minSilence) {
        this.active = true;
        this.lastLoud = time;
        events.push({ type: "on", time: time + firstLoud(block, this.on) / sampleRate });
      } else if (rms >= this.off) {
        this.silentSince = time; // not quiet enough to count as silence
      }
    } else if (rms >= this.off) {
      this.lastLoud = time;
    } else if (time - this.lastLoud >= this.hang) {
      this.active = false;
      this.silentSince = this.lastLoud;
      events.push({ type: "off", time: this.lastLoud + block.length / sampleRate });
    }
    return { rms, events };
  }
}

// The first sample whose magnitude reaches the threshold: sharper than the block start.
function firstLoud(block, threshold) {
  for (let i = 0; i < block.length; i++) if (Math.abs(block[i]) >= threshold) return i;
  return 0;
}

/** The RMS envelope of a stream in short windows, each stamped with its start time. */
export class Envelope {
  constructor(sampleRate, windowMs = 5) {
    this.size = Math.max(1, Math.round((sampleRate * windowMs) / 1000));
    this.sampleRate = sampleRate;
    this.sum = 0;
    this.count = 0;
    this.start = 0;
  }

  /** Feeds a block starting at `time`; returns the windows it completed as [time, rms]. */
  push(block, time) {
    const done = [];
    for (let i = 0; i < block.length; i++) {
      if (this.count === 0) this.start = time + i / this.sampleRate;
      this.sum += block[i] * block[i];
      this.count += 1;
      if (this.count === this.size) {
        done.push([this.start, Math.sqrt(this.sum / this.size)]);
        this.sum = 0;
        this.count = 0;
      }
    }
    return done;
  }
}
