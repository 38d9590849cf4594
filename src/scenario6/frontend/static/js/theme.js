// Light, dark or the system's choice, remembered across visits. The stylesheet keys on
// data-scheme, the scheme in effect, so "system" follows the system as it changes.
const KEY = "scenario6.theme";
const systemDark = matchMedia("(prefers-color-scheme: dark)");

function apply(theme) {
  const dark = theme === "dark" || (theme === "system" && systemDark.matches);
  document.documentElement.dataset.theme = theme;
  document.documentElement.dataset.scheme = dark ? "dark" : "light";
}

export function setupTheme(select) {
  const saved = localStorage.getItem(KEY);
  const theme = ["light", "dark", "system"].includes(saved) ? saved : "system";
  apply(theme);
  select.value = theme;
  select.addEventListener("change", () => {
    apply(select.value);
    localStorage.setItem(KEY, select.value);
  });
  systemDark.addEventListener("change", () => apply(select.value));
}
