// For npm run bench: the extension's activation time (bundle load + activate()) inside code-server,
// median of 5 fresh windows, printed as one JSON line.
import { runExtensionSuite } from '../support/extension-host';

async function main(): Promise<void> {
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const outcome = await runExtensionSuite('activation');
    const ms = Number(outcome.metrics.activationMs);
    if (outcome.exitCode !== 0 || !Number.isFinite(ms)) throw new Error(`activation run failed:\n${outcome.log.slice(-20).join('\n')}`);
    runs.push(ms);
  }
  const sorted = [...runs].sort((a, b) => a - b);
  console.log(JSON.stringify({ activationMs: sorted[2], activationRunsMs: runs }));
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
