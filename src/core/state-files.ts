// Files of Dockerception's own state (build records, each pair's builds), written so that readers never see
// half a file, two writers never share a temporary file, and a writer killed mid-write leaves nothing that
// outlives it.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

const TEMPORARY = /\.(\d+)\.[0-9a-f]{12}\.tmp$/;
/** A temporary file this old is abandoned whatever its writer's pid says (pids are reused). */
const ABANDONED_MS = 10 * 60_000;
/** Younger than this, a temporary file is never swept: its writer may live in another pid namespace (a
 * container sharing the state folder), where its pid means nothing here. A write takes milliseconds. */
const IN_FLIGHT_MS = 60_000;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes `file` whole or not at all: a temporary name unique to this writer, then a rename. */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await fs.writeFile(temporary, content);
    await fs.rename(temporary, file);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw error;
  }
}

/** Removes temporary files in `dir` whose writer is gone (killed mid-write) or that are long abandoned. */
export async function sweepTemporaryFiles(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return 0;
  }
  const now = Date.now();
  const swept = await Promise.all(
    names.map(async (name) => {
      const match = TEMPORARY.exec(name);
      if (!match) return false;
      const file = path.join(dir, name);
      const stat = await fs.stat(file).catch(() => undefined);
      const age = stat ? now - stat.mtimeMs : 0;
      if (!stat || age < IN_FLIGHT_MS || (alive(Number(match[1])) && age < ABANDONED_MS)) return false;
      await fs.rm(file, { force: true });
      return true;
    }),
  );
  return swept.filter(Boolean).length;
}
