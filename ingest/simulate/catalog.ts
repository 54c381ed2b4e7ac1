// The cast of a simulated tree: a few hundred job names, ~50 hosts, label values, and how
// a job's run keys look (`acct-000117.invoice-sync`).
import type { Random } from './random.ts';

const SUBJECTS = [
  'invoice', 'feed', 'ledger', 'payout', 'customer', 'inventory', 'price', 'order', 'email', 'report',
  'catalog', 'refund', 'tax', 'shipment', 'review', 'session', 'coupon', 'supplier', 'warehouse', 'subscription',
  'fraud', 'search', 'image', 'partner', 'audit',
] as const;
const VERBS = ['sync', 'import', 'export', 'rollup', 'cleanup', 'reindex', 'backfill', 'digest', 'refresh', 'reconcile', 'snapshot', 'notify'] as const;
const ENTITIES: Record<string, string> = { invoice: 'acct', customer: 'acct', payout: 'acct', feed: 'feed', partner: 'feed', order: 'store', inventory: 'store', warehouse: 'site' };

export const REGIONS = ['eu-west', 'eu-central', 'us-east', 'us-west', 'ap-south'] as const;
export const TIERS = ['gold', 'silver', 'bronze'] as const;
export const SOURCES = ['partner-ftp', 'api', 's3', 'sftp'] as const;
/** Offsets `started_at` is sometimes written with, instead of Z. */
export const OFFSETS = ['+01:00', '+02:00', '-05:00', '+05:30', '-08:00'] as const;

export interface Job {
  name: string;
  /** The key prefix of its runs: `acct` gives `acct-000117.invoice-sync`. */
  entity: string;
  /** Typical duration; runs vary around it. */
  typicalMs: number;
  /** Jobs fail at different rates. */
  failureWeight: number;
}

export interface Catalog {
  jobs: Job[];
  hosts: string[];
}

export function createCatalog(random: Random): Catalog {
  const jobs: Job[] = [];
  for (const subject of SUBJECTS) {
    for (const verb of VERBS) {
      jobs.push({
        name: `${subject}-${verb}`,
        entity: ENTITIES[subject] ?? subject.slice(0, 4),
        typicalMs: Math.round(200 * 2 ** random.int(0, 10)),
        failureWeight: random.pick([1, 2, 4, 8, 16]),
      });
    }
  }
  const hosts = [
    ...Array.from({ length: 40 }, (_, i) => `worker-${String(i + 1).padStart(2, '0')}`),
    ...Array.from({ length: 10 }, (_, i) => `batch-${String(i + 1).padStart(2, '0')}`),
  ];
  return { jobs, hosts };
}

export function runKeyFor(job: Job, entityNumber: number): string {
  return `${job.entity}-${String(entityNumber).padStart(6, '0')}.${job.name}`;
}
