// rollup_state: monotonic facts shared by every rollup writer, newest (highest) value wins.
//   generation     - the highest generation handed out; the next writer starts above it,
//                    so a writer whose clock is behind never writes rows that lose.
//   complete_until - the maintainer's watermark (Unix seconds): every batch the sink
//                    stored before it is reflected in every rollup tier.
import type { ClickHouseClient } from '@clickhouse/client';
import { toClickHouseError } from '../../clickhouse/clickhouse-error.ts';

export interface RollupState {
  generation: bigint;
  completeUntil: number;
}

export async function readRollupState(client: ClickHouseClient, database: string): Promise<RollupState> {
  try {
    const rows = await (await client.query({
      query: `SELECT toString(maxIf(value, name = 'generation')) AS generation, toString(maxIf(value, name = 'complete_until')) AS complete_until FROM ${database}.rollup_state`,
      format: 'JSONEachRow',
    })).json<{ generation: string; complete_until: string }>();
    return { generation: BigInt(rows[0]?.generation ?? '0'), completeUntil: Number(rows[0]?.complete_until ?? '0') };
  } catch (error) {
    throw toClickHouseError(error, 'reading rollup_state');
  }
}

export async function writeRollupState(client: ClickHouseClient, database: string, name: 'generation' | 'complete_until', value: bigint | number): Promise<void> {
  try {
    await client.insert({
      table: `${database}.rollup_state`,
      values: [{ name, value: value.toString() }],
      format: 'JSONEachRow',
      columns: ['name', 'value'],
    });
  } catch (error) {
    throw toClickHouseError(error, `writing rollup_state ${name}`);
  }
}

/** Hands out generations: above every generation ever used, and close to the clock. */
export class Generations {
  private highest: bigint | null = null;
  constructor(private readonly client: ClickHouseClient, private readonly database: string, private readonly now: () => number = Date.now) {}

  /** Forget what is cached: another writer may have held the lock meanwhile. */
  reset(): void {
    this.highest = null;
  }

  /** Reserves the next generation (persisted before it is used). */
  async next(): Promise<bigint> {
    if (this.highest === null) this.highest = (await readRollupState(this.client, this.database)).generation;
    const fromClock = BigInt(this.now());
    const next = fromClock > this.highest ? fromClock : this.highest + 1n;
    await writeRollupState(this.client, this.database, 'generation', next);
    this.highest = next;
    return next;
  }
}
