// Removes the build-cache records made since a moment (seconds since the epoch): what a test run's
// BuildKit builds left (layers of throw-away pairs), and nothing older. The engine's prune takes one id
// per call; newer records go first, since they may depend on older ones.
//   node scripts/prune-build-cache.cjs SINCE_EPOCH_SECONDS
const Docker = require('dockerode');

const since = Number(process.argv[2]) * 1000;
const docker = new Docker();
const prune = (id) =>
  new Promise((resolve) =>
    docker.modem.dial(
      // all: whatever its type (a layer an image shares included: the image keeps its own copy).
      { path: '/build/prune?', method: 'POST', options: { all: true, filters: JSON.stringify({ id: [id] }) }, statusCodes: { 200: true, 400: 'bad', 500: 'error' } },
      (error, data) => resolve(error ? 0 : (data?.CachesDeleted ?? []).length),
    ),
  );

(async () => {
  let removed = 0;
  for (let pass = 0; pass < 3; pass++) {
    const records = ((await docker.df()).BuildCache ?? []).filter((r) => Date.parse(r.CreatedAt) >= since && !r.InUse);
    if (records.length === 0) break;
    records.sort((a, b) => Date.parse(b.CreatedAt) - Date.parse(a.CreatedAt));
    for (const record of records) removed += await prune(record.ID);
  }
  console.log(`removed ${removed} build-cache record(s) the tests made`);
})().catch((error) => console.log(`build cache not pruned: ${error.message}`));
