// Light, dark or the system's choice, remembered across visits.
const KEY = "scenario6.theme";

export function setupTheme(select) {
  const saved = localStorage.getItem(KEY);
  const theme = ["light", "dark", "system"].includes(saved) ? saved : "system";
  document.documentElement.dataset.theme = theme;
  select.value = theme;
  select.addEventListener("change", () => {
    document.documentElement.dataset.theme = select.value;
    localStorage.setItem(KEY, select.value);
  });
}
