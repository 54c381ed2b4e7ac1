// Serialises async critical sections in one process (appends, commits and reads of a
// spool; the publisher's "spool or send" decision). FIFO, so callers keep their order.
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(() => {}, () => {});
    return result;
  }
}
