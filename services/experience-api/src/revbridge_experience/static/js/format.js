// Money in minor units (as the API sends it) shown in major units with the currency's own digits.

const digitsCache = new Map();

export function minorDigits(currency) {
  if (!digitsCache.has(currency)) {
    let digits = 2;
    try {
      digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
    } catch {
      /* an unknown code: keep two */
    }
    digitsCache.set(currency, digits);
  }
  return digitsCache.get(currency);
}

export function major(minor, currency) {
  return minor / 10 ** minorDigits(currency);
}

export function money(minor, currency) {
  if (minor === null || minor === undefined) return "–";
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).format(major(minor, currency));
  } catch {
    return `${major(minor, currency).toFixed(2)} ${currency}`;
  }
}

export function seconds(value) {
  if (value === null || value === undefined) return "–";
  if (value < 90) return `${value.toFixed(1)} s`;
  if (value < 5400) return `${(value / 60).toFixed(1)} min`;
  if (value < 172800) return `${(value / 3600).toFixed(1)} h`;
  return `${(value / 86400).toFixed(1)} d`;
}

export function when(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace("T", " ").slice(0, 19) + "Z";
}

export function percent(rate) {
  return rate === null || rate === undefined ? "–" : `${(rate * 100).toFixed(1)} %`;
}
