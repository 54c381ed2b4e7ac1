// Is something accepting TCP connections on 127.0.0.1:<port>? Used to tell "our
// service is down" from "a process we did not start holds our port" (a hand-started
// broker, another worktree's stack), which would otherwise look like a hang.
import { connect } from 'node:net';

export function isPortOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
