// For npm run bench: a 20 000-file workspace with 200 pairs opened in code-server; the scale suite
// measures pair discovery and the Pairs view there. Prints one JSON line.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runExtensionSuite } from '../support/extension-host';

function makeWorkspace(): { dir: string; files: number } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-scale-'));
  let files = 0;
  for (let a = 0; a < 40; a++) {
    for (let b = 0; b < 25; b++) {
      const sub = path.join(dir, `pkg${a}`, `mod${b}`);
      mkdirSync(sub, { recursive: true });
      for (let c = 0; c < 20; c++, files++) writeFileSync(path.join(sub, `f${c}.txt`), '');
      if (b % 5 === 0) {
        writeFileSync(path.join(sub, 'Dockerfile'), 'FROM busybox:1.36\nCMD ["tar", "-cf", "-", "-C", "/etc", "passwd"]\n');
        writeFileSync(path.join(sub, 'Dockerfile.run'), 'FROM scratch\nCOPY passwd /\n');
      }
    }
  }
  return { dir, files };
}

async function main(): Promise<void> {
  const { dir, files } = makeWorkspace();
  try {
    const outcome = await runExtensionSuite('scale', dir);
    if (outcome.exitCode !== 0) throw new Error(`scale run failed:\n${outcome.log.slice(-20).join('\n')}`);
    console.log(JSON.stringify({ files, ...Object.fromEntries(Object.entries(outcome.metrics).map(([k, v]) => [k, Number(v)])) }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
