// The hub's memory of recent events: a ring capped in events and in bytes. It serves resumes
// (a reconnect whose position it covers never touches Kafka) and each tick's fan-out (the
// events appended since the previous tick). Its `base` is, per partition, the first offset
// it still holds everything from: a position at or after base (and at most the head) is
// covered, because every run event of that partition at or after base is in the ring.
import type { Position } from './position.ts';
import type { LiveRun } from './run-summary.ts';

export interface WindowEntry {
  /** Appended-order number, contiguous: lets a tick find "everything since" in O(1). */
  seq: number;
  partition: number;
  offset: number;
  run: LiveRun;
  /** The summary's JSON, serialised once and shared by every client's frame. */
  json: string;
}

export class RetainedWindow {
  private entries: Array<WindowEntry | undefined>;
  private first = 0; // index of the oldest entry
  private count = 0;
  private nextSeq = 0;
  private bytesHeld = 0;
  private readonly baseByPartition: Map<number, number>;

  constructor(start: Position, private readonly maxEvents: number, private readonly maxBytes: number) {
    this.entries = new Array<WindowEntry | undefined>(maxEvents);
    this.baseByPartition = new Map(start);
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.bytesHeld;
  }

  /** The seq the next appended entry gets. */
  get endSeq(): number {
    return this.nextSeq;
  }

  get base(): Position {
    return this.baseByPartition;
  }

  append(partition: number, offset: number, run: LiveRun, json: string): WindowEntry {
    while (this.count > 0 && (this.count >= this.maxEvents || this.bytesHeld + json.length > this.maxBytes)) this.evictOldest();
    const entry: WindowEntry = { seq: this.nextSeq++, partition, offset, run, json };
    this.entries[(this.first + this.count) % this.maxEvents] = entry;
    this.count++;
    this.bytesHeld += json.length;
    return entry;
  }

  /** True when every run event at or after `position` (up to the head) is still held. */
  covers(position: Position): boolean {
    for (const [partition, base] of this.baseByPartition) {
      if ((position.get(partition) ?? 0) < base) return false;
    }
    return true;
  }

  /** Entries at or after `position`, in appended order (per partition, offset order). */
  since(position: Position): WindowEntry[] {
    const out: WindowEntry[] = [];
    for (let index = 0; index < this.count; index++) {
      const entry = this.entries[(this.first + index) % this.maxEvents]!;
      if (entry.offset >= (position.get(entry.partition) ?? 0)) out.push(entry);
    }
    return out;
  }

  /** Entries with seq ≥ `seq` that are still held. */
  fromSeq(seq: number): WindowEntry[] {
    const oldest = this.nextSeq - this.count;
    const out: WindowEntry[] = [];
    for (let s = Math.max(seq, oldest); s < this.nextSeq; s++) out.push(this.entries[(this.first + (s - oldest)) % this.maxEvents]!);
    return out;
  }

  private evictOldest(): void {
    const entry = this.entries[this.first]!;
    this.entries[this.first] = undefined;
    this.first = (this.first + 1) % this.maxEvents;
    this.count--;
    this.bytesHeld -= entry.json.length;
    this.baseByPartition.set(entry.partition, Math.max(entry.offset + 1, this.baseByPartition.get(entry.partition) ?? 0));
  }
}
