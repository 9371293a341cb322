// Removes the build-cache records made since a moment (seconds since the epoch): what a test or bench run's
// BuildKit builds left (layers of throw-away pairs), and nothing older. Newer records go first, since
// they may depend on older ones. Uses the compiled core (npm test compiles it first).
//   node scripts/prune-build-cache.cjs SINCE_EPOCH_SECONDS
const path = require('node:path');
const { buildCacheRecords, pruneRecord } = require(path.join(__dirname, '..', 'out', 'src', 'core', 'buildkit-cache.js'));
const Docker = require('dockerode');

const since = Number(process.argv[2]) * 1000;
const docker = new Docker();

(async () => {
  let removed = 0;
  for (let pass = 0; pass < 3; pass++) {
    const records = (await buildCacheRecords(docker)).filter((r) => Date.parse(r.CreatedAt ?? '') >= since && !r.InUse);
    if (records.length === 0) break;
    records.sort((a, b) => Date.parse(b.CreatedAt ?? '') - Date.parse(a.CreatedAt ?? ''));
    for (const record of records) removed += await pruneRecord(docker, record.ID, { all: true }).catch(() => 0);
  }
  console.log(`removed ${removed} build-cache record(s) made since ${new Date(since).toISOString()}`);
})().catch((error) => console.log(`build cache not pruned: ${error.message}`));
