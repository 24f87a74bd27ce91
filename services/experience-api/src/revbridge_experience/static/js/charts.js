// Chart.js (vendored, window.Chart) set-up shared by the dashboard's charts.

export const FIGURES = [
  { key: "bookings", label: "Bookings", color: "#6366f1" },
  { key: "billings", label: "Billings", color: "#0ea5e9" },
  { key: "collections", label: "Collections", color: "#10b981" },
  { key: "recognized", label: "Recognized revenue", color: "#f59e0b" },
];

export const AGE_BUCKETS = [
  { key: "lt_1h", label: "< 1 h", color: "#93c5fd" },
  { key: "1h_24h", label: "1–24 h", color: "#60a5fa" },
  { key: "1d_7d", label: "1–7 d", color: "#f59e0b" },
  { key: "gt_7d", label: "> 7 d", color: "#dc2626" },
];

/** Draw (or redraw) a chart on the canvas with this id; returns the Chart instance. */
export function draw(canvasId, config) {
  const canvas = document.getElementById(canvasId);
  const previous = window.Chart.getChart(canvas);
  if (previous) previous.destroy();
  const options = config.options || {};
  return new window.Chart(canvas, {
    ...config,
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: { duration: 250 },
      plugins: { legend: { position: "bottom" }, ...(options.plugins || {}) },
      ...options,
    },
  });
}
