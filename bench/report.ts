/**
 * What every benchmark's report shares: table cells and the nearest-rank
 * percentile of an unsorted sample.
 */

/** A table cell `w` wide: missing values and NaN as "—", Infinity as "∞". */
export function cell(v: unknown, w: number): string {
  const s = v === undefined || v === null || (typeof v === 'number' && Number.isNaN(v)) ? '—' : v === Infinity ? '∞' : String(v);
  return s.padStart(w);
}

/** Nearest-rank percentile of an unsorted sample (NaN when empty). */
export function pct(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
