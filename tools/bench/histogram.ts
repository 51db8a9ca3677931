/**
 * A log-linear latency histogram in microseconds: exact below 32 µs, then 32
 * buckets per power of two (at most 3% relative error), so memory stays fixed
 * whatever the number of samples. Mergeable across processes.
 */

const SUB_BITS = 5;
const SUB = 1 << SUB_BITS; // 32
const MAX_EXPONENT = 31;
/** Number of buckets. */
export const BUCKETS: number = SUB + (MAX_EXPONENT - SUB_BITS + 1) * SUB;

/** The bucket of a latency in microseconds (negative counts as 0). */
export function bucketOf(micros: number): number {
  const v = micros <= 0 ? 0 : Math.min(Math.floor(micros), 0x7fff_ffff);
  if (v < SUB) return v;
  const exponent = 31 - Math.clz32(v); // >= SUB_BITS
  const shift = exponent - SUB_BITS;
  return SUB + shift * SUB + ((v >>> shift) - SUB);
}

/** The highest latency (µs) a bucket holds. */
export function bucketUpperMicros(bucket: number): number {
  if (bucket < SUB) return bucket;
  const shift = Math.floor((bucket - SUB) / SUB);
  const mantissa = SUB + ((bucket - SUB) % SUB);
  return ((mantissa + 1) << shift) - 1;
}

/** Counts of latencies, with the exact maximum. */
export class LatencyHistogram {
  readonly counts: Float64Array = new Float64Array(BUCKETS);
  total = 0;
  maxMicros = 0;

  /** Records one latency. */
  record(micros: number): void {
    this.counts[bucketOf(micros)]!++;
    this.total++;
    if (micros > this.maxMicros) this.maxMicros = micros;
  }

  /** Adds another histogram's counts. */
  merge(other: SparseHistogram): void {
    for (const [bucket, count] of other.buckets) {
      this.counts[bucket]! += count;
      this.total += count;
    }
    this.maxMicros = Math.max(this.maxMicros, other.maxMicros);
  }

  /** The latency (µs, upper bound of its bucket) under which `share` of samples fall; null when empty. */
  percentile(share: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.max(1, Math.ceil(share * this.total));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.counts[bucket]!;
      if (seen >= rank) return Math.min(bucketUpperMicros(bucket), this.maxMicros);
    }
    return this.maxMicros;
  }

  /** The non-empty buckets, for sending as JSON. */
  toSparse(): SparseHistogram {
    const buckets: [number, number][] = [];
    this.counts.forEach((count, bucket) => {
      if (count > 0) buckets.push([bucket, count]);
    });
    return { buckets, maxMicros: this.maxMicros };
  }

  /** Forgets every sample. */
  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.maxMicros = 0;
  }
}

/** A histogram as JSON: [bucket, count] pairs and the maximum. */
export interface SparseHistogram {
  buckets: [number, number][];
  maxMicros: number;
}
