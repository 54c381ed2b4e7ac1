// The tick's fan-out helpers. With 10,000 clients the work must scale with the number of
// distinct subscriptions, not of clients: clients are grouped by subscription key, each
// group's runs are selected (and its frame serialised) once per tick, and a job filter looks
// its runs up in a per-tick index instead of testing every run of the tick.
import type { WindowEntry } from './retained-window.ts';
import { matches, type Subscription } from './subscription.ts';

/** Clients grouped by `subscription.key`; a group disappears with its last client. */
export class SubscriptionGroups<C extends { subscription: Subscription }> {
  private readonly groups = new Map<string, { subscription: Subscription; clients: Set<C> }>();

  add(client: C): void {
    const key = client.subscription.key;
    let group = this.groups.get(key);
    if (!group) {
      group = { subscription: client.subscription, clients: new Set() };
      this.groups.set(key, group);
    }
    group.clients.add(client);
  }

  delete(client: C): void {
    const group = this.groups.get(client.subscription.key);
    if (!group?.clients.delete(client)) return;
    if (group.clients.size === 0) this.groups.delete(client.subscription.key);
  }

  /** Distinct subscriptions. */
  get size(): number {
    return this.groups.size;
  }

  /** Each group once; deleting a client (or a whole group) while iterating is safe. */
  values(): IterableIterator<{ readonly subscription: Subscription; readonly clients: Set<C> }> {
    return this.groups.values();
  }
}

/** The runs of one tick, with a lazily built index by job. */
export class TickRuns {
  private byJob: Map<string, WindowEntry[]> | null = null;

  constructor(readonly entries: readonly WindowEntry[]) {}

  /** The entries `subscription` matches, in appended order. */
  matching(subscription: Subscription): WindowEntry[] {
    if (this.entries.length === 0) return [];
    let candidates: readonly WindowEntry[] = this.entries;
    if (subscription.jobs) {
      const index = (this.byJob ??= indexByJob(this.entries));
      const lists: WindowEntry[][] = [];
      for (const job of subscription.jobs) {
        const list = index.get(job);
        if (list) lists.push(list);
      }
      if (lists.length === 0) return [];
      candidates = lists.length === 1 ? lists[0]! : lists.flat().sort((a, b) => a.seq - b.seq);
    }
    return candidates.filter((entry) => matches(subscription, entry.run));
  }
}

function indexByJob(entries: readonly WindowEntry[]): Map<string, WindowEntry[]> {
  const index = new Map<string, WindowEntry[]>();
  for (const entry of entries) {
    const list = index.get(entry.run.job);
    if (list) list.push(entry);
    else index.set(entry.run.job, [entry]);
  }
  return index;
}
