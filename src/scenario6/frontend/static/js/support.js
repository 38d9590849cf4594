// What this browser can do. The client needs WebCodecs Opus both ways, AudioWorklet,
// getUserMedia (secure pages only) and WebSockets.

export function secureContextProblem() {
  return globalThis.isSecureContext ? null : "The microphone needs https:// or http://localhost.";
}

export async function missingFeatures() {
  const missing = [];
  if (!globalThis.AudioEncoder || !globalThis.AudioDecoder) missing.push("WebCodecs audio (AudioEncoder/AudioDecoder)");
  if (!globalThis.AudioWorkletNode) missing.push("AudioWorklet");
  if (!navigator.mediaDevices?.getUserMedia) missing.push("microphone access (getUserMedia)");
  if (!globalThis.WebSocket) missing.push("WebSocket");
  if (globalThis.AudioDecoder) {
    const config = { codec: "opus", sampleRate: 48000, numberOfChannels: 1 };
    const { supported } = await AudioDecoder.isConfigSupported(config).catch(() => ({ supported: false }));
    if (!supported) missing.push("Opus decoding in WebCodecs");
  }
  return missing;
}

/** A sentence for a getUserMedia failure that tells the user what to do. */
export function microphoneProblem(error) {
  switch (error?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "Microphone access was denied. Allow the microphone for this site (the icon in the address bar) and press Start again.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No microphone was found. Connect one and press Start again.";
    case "NotReadableError":
      return "The microphone is in use by another application or could not be opened.";
    default:
      return `The microphone could not be started: ${error?.message ?? error}`;
  }
}
