// The few fsync rules that make "written" mean "survives a crash or power loss":
// data is fsynced before it is acknowledged, and a directory is fsynced after an entry is
// created, renamed or removed in it (POSIX leaves the entry itself volatile otherwise).
import { open, rename, type FileHandle } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `path` atomically: write a temporary file, fsync it, rename over, fsync the directory. */
export async function writeFileDurably(path: string, data: string | Buffer): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let handle: FileHandle | undefined = await open(temp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, path);
  } finally {
    await handle?.close();
  }
  await fsyncDir(dirname(path));
}
