// The floor of a Node CLI for the ship goals: what any `node` process must spend to do the work, without
// Dockerception's bundle, its engine resolution, pair discovery or checks. Run by scripts/bench.mjs beside the
// CLI and the docker CLI, one process per run, as the CLI runs.
//
//   node bench/ship-floor.cjs estimate IMAGE  one GET /images/IMAGE/get on the default socket, the whole export
//                                             deflated by the estimate's own ParallelGzipSize (no tar parsing);
//                                             prints the gzip size
//   node bench/ship-floor.cjs push REF        one POST /images/REF/push (empty credentials), its progress read
//                                             to the end; prints the digest, or exits 1 on the engine's error
const http = require('node:http');
const path = require('node:path');

const [mode, ref] = process.argv.slice(2);
function fail(message) {
  console.error(`ship-floor: ${message}`);
  process.exit(1);
}

const host = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
if (!host.startsWith('unix://')) fail(`DOCKER_HOST is ${host}: the floor talks to a local unix socket only; unset it or point it at one`);
const socketPath = host.slice('unix://'.length);

if (mode === 'estimate' && ref) {
  const { ParallelGzipSize } = require(path.join(__dirname, '..', 'out', 'src', 'core', 'ship', 'estimate.js'));
  http
    .get({ socketPath, path: `/images/${encodeURIComponent(ref)}/get` }, (response) => {
      if (response.statusCode !== 200) fail(`the engine answered ${response.statusCode} to the export of ${ref}`);
      const counter = new ParallelGzipSize(6);
      response.pipe(counter).on('finish', () => console.log(counter.bytes));
    })
    .on('error', (error) => fail(error.message));
} else if (mode === 'push' && ref) {
  const at = ref.lastIndexOf(':');
  const [name, tag] = at > ref.lastIndexOf('/') ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, 'latest'];
  const request = http.request(
    {
      socketPath,
      method: 'POST',
      path: `/images/${encodeURIComponent(name)}/push?tag=${encodeURIComponent(tag)}`,
      headers: { 'X-Registry-Auth': Buffer.from('{}').toString('base64') },
    },
    (response) => {
      if (response.statusCode !== 200) fail(`the engine answered ${response.statusCode} to the push of ${ref}`);
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => {
        const error = /"error":\s*"([^"]*)"/.exec(text);
        if (error) fail(`the push of ${ref} failed: ${error[1]}`);
        const digest = /digest: (sha256:[0-9a-f]{64})/.exec(text);
        if (!digest) fail(`the push of ${ref} ended without a digest`);
        console.log(digest[1]);
      });
    },
  );
  request.on('error', (error) => fail(error.message));
  request.end();
} else {
  fail('usage: node bench/ship-floor.cjs estimate IMAGE | push REF');
}
