// The microphone: getUserMedia with the browser's voice processing on, into the capture
// worklet, which hands back 20 ms frames with their RMS envelope; each is stamped with
// performance.now() as it arrives here (the microphone → wire figure starts there).

export const MIC_CONSTRAINTS = {
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
};

export class Microphone {
  constructor(context, { onFrame, onOnset }) {
    this.context = context;
    this.onFrame = onFrame;
    this.onOnset = onOnset;
    this.stream = null;
  }

  async start() {
    this.stream = await navigator.mediaDevices.getUserMedia(MIC_CONSTRAINTS);
    this.source = this.context.createMediaStreamSource(this.stream);
    // No outputs: the node is a sink, so it is processed without reaching the speaker.
    this.node = new AudioWorkletNode(this.context, "scenario6-capture", {
      numberOfInputs: 1,
      numberOfOutputs: 0,
      channelCount: 1,
      channelCountMode: "explicit",
    });
    this.node.port.onmessage = ({ data }) => {
      if (data.type === "frame") this.onFrame(data, performance.now());
      else if (data.type === "onset") this.onOnset(data.event);
    };
    this.source.connect(this.node);
    const track = this.stream.getAudioTracks()[0];
    return { label: track?.label ?? "microphone", settings: track?.getSettings?.() ?? {} };
  }

  stop() {
    this.source?.disconnect();
    this.node?.port.close();
    this.node?.disconnect();
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = this.source = this.node = null;
  }
}

/** Root mean square of a frame, as a 0..1 meter value on a -60..0 dBFS scale. */
export function meterLevel(samples) {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  const db = 10 * Math.log10(sum / Math.max(1, samples.length) + 1e-12);
  return Math.min(1, Math.max(0, (db + 60) / 60));
}
