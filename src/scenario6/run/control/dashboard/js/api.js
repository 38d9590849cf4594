// The control API as the page uses it: same origin, so the session cookie goes along.

export class ApiError extends Error {}

export async function getJson(path) {
  const reply = await fetch(path, { headers: { Accept: "application/json" } });
  if (!reply.ok) throw new ApiError(`${path}: ${reply.status}`);
  return reply.json();
}

// Runs one of start, stop, restart, rebuild; resolves to the resource's new view.
export async function command(name, verb) {
  const path = `/api/v1/resources/${encodeURIComponent(name)}/${verb}`;
  const reply = await fetch(path, { method: "POST" });
  const body = await reply.json().catch(() => ({}));
  if (!reply.ok) throw new ApiError(body.error || `${verb} ${name}: ${reply.status}`);
  return body;
}

export async function stopRun() {
  const reply = await fetch("/api/v1/stop", { method: "POST" });
  if (!reply.ok) throw new ApiError(`stop: ${reply.status}`);
}

// An EventSource whose named events go to handlers[name](data); it reconnects by itself.
export function stream(path, handlers, onState = () => {}) {
  const source = new EventSource(path);
  for (const [event, handle] of Object.entries(handlers)) {
    source.addEventListener(event, (message) => handle(JSON.parse(message.data)));
  }
  source.onopen = () => onState(true);
  source.onerror = () => onState(false);
  return source;
}
