// Data is fsynced before it is acknowledged, and a directory is fsynced after an entry is
// created or removed in it: POSIX leaves the entry itself volatile otherwise.
import { open } from 'node:fs/promises';

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
