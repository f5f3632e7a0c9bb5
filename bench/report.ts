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

/** mulberry32: a small seeded PRNG, so that a run (its zaps, its generated file) can be repeated. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
