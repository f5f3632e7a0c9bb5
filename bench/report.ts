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

/**
 * Phases A (the data plane alone) and B (under a load) alternated, A B A B …
 * (bench/admin-api.ts, bench/hls.ts): each phase's figure `key` averaged per
 * kind — the mean of the phases' own values, not a pooled median, which jumps
 * to whichever phase has most windows when the machine's background changes —
 * their difference B − A against `toleranceMs`, each B against the A before
 * it, and whether the verdict stands given how much the A phases differ among
 * themselves (the machine's own drift).
 */
export function abCompare(rows: readonly Record<string, unknown>[], key: string, toleranceMs: number) {
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  const byKind = (k: 'A' | 'B') => rows.filter((x) => String(x.phase).startsWith(k));
  const meanOf = (k: 'A' | 'B', field: string): number => {
    const v = byKind(k).map((x) => x[field] as number);
    return v.length ? r3(v.reduce((s, x) => s + x, 0) / v.length) : NaN;
  };
  const spread = (k: 'A' | 'B', field: string): number | null => {
    const v = byKind(k).map((x) => x[field] as number);
    return v.length > 1 ? r3(Math.max(...v) - Math.min(...v)) : null;
  };
  const aMs = meanOf('A', key);
  const bMs = meanOf('B', key);
  const diffMs = r3(bMs - aMs);
  const aDrift = spread('A', key);
  return {
    byKind,
    meanOf,
    spread,
    aDrift,
    criterion: {
      aMs,
      bMs,
      diffMs,
      toleranceMs,
      holds: Math.abs(diffMs) <= toleranceMs,
      /** B_i − A_i, each B against the A before it. */
      pairDiffsMs: byKind('B').map((x, i) => r3((x[key] as number) - (byKind('A')[i]?.[key] as number))),
      /** The verdict would stand if B − A moved by as much as the A phases differ among themselves. */
      resolved: aDrift === null || Math.abs(Math.abs(diffMs) - toleranceMs) > aDrift,
    },
  };
}
