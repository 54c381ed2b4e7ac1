// Which shard a row of a sharded table goes to: the Distributed table's sharding key.
//
// The one rule that matters: for an engine that folds rows by their sorting key
// (Replacing, Collapsing, Summing, Aggregating), the sharding key must be a function of
// the sorting key. Then every version of one identity is written to the same shard,
// whichever sink wrote it and after any consumer rebalance, and the engine (or FINAL)
// replaces it there; a Distributed read unions shards that never share an identity.
//
// - runs, ORDER BY (run_date, key): sipHash64(run_date, key), the run identity.
// - rollups, ORDER BY (…, bucket, …, run_date): one recompute unit is (run_date, hour),
//   so cityHash64(run_date, toStartOfHour(bucket)) keeps a unit's rows of every tier on
//   one shard, where the maintainer's INSERT … SELECT lands as one block.
// - other folding tables: a hash of the whole sorting key.
// - plain MergeTree (facts, never replaced): rand(), the most even spread.
export interface ShardingInput {
  engine: string;
  /** Top-level expressions of ORDER BY. */
  orderBy: readonly string[];
}

export function shardingKeyFor({ engine, orderBy }: ShardingInput): string {
  const columns = new Set(orderBy);
  if (orderBy.length === 2 && orderBy[0] === 'run_date' && orderBy[1] === 'key') return 'sipHash64(run_date, key)';
  if (columns.has('run_date') && columns.has('bucket')) return 'cityHash64(run_date, toStartOfHour(bucket))';
  const folds = engine !== 'MergeTree';
  if (!folds || orderBy.length === 0 || (orderBy.length === 1 && orderBy[0] === 'tuple()')) return 'rand()';
  return `cityHash64(${orderBy.join(', ')})`;
}
