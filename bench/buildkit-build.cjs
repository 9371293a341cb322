// One BuildKit build of DIR (its Dockerfile) through the Engine API, for the multi-stage comparison:
// the docker CLI here has no buildx, so `DOCKER_BUILDKIT=1 docker build` cannot run.
//   node bench/buildkit-build.cjs DIR TAG [--no-cache]
const path = require('node:path');
const core = require(path.join(__dirname, '..', 'out', 'src', 'core', 'index.js'));

(async () => {
  const [dir, tag, flag] = process.argv.slice(2);
  const { docker } = await core.connectEngine();
  await core.buildImage(docker, core.packContext(dir), { role: 'builder', builder: 'buildkit', tag, noCache: flag === '--no-cache', dockerfileHint: dir });
})().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
