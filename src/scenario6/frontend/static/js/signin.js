// The sign-in page: trades an invitation code for the server's HTTP-only session cookie,
// then opens the app. The cookie itself is never visible to scripts.
import { setupTheme } from "./theme.js";

const form = document.getElementById("signin-form");
const code = document.getElementById("code");
const error = document.getElementById("signin-error");
const submit = document.getElementById("signin-submit");

function showError(message) {
  error.textContent = message;
  error.hidden = false;
}

async function signIn(event) {
  event.preventDefault();
  error.hidden = true;
  submit.disabled = true;
  try {
    const response = await fetch("/api/signin", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: code.value }),
      credentials: "same-origin",
    });
    if (response.ok) {
      location.replace("/");
      return;
    }
    const body = await response.json().catch(() => ({}));
    const detail = typeof body.detail === "string" ? body.detail : `sign-in failed (${response.status})`;
    showError(`${detail.charAt(0).toUpperCase()}${detail.slice(1)}.`);
    code.select();
  } catch (failure) {
    showError(`The server is unreachable (${failure.message}).`);
  } finally {
    submit.disabled = false;
  }
}

setupTheme(document.getElementById("theme"));
form.addEventListener("submit", signIn);
