// The size report's HTML, from a fixed inspection (pure rendering: the numbers themselves come from a
// real build in pipeline.test.ts and the extension tests).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { regressions, renderReport } from '../../src/extension/report-html';

const inspection = {
  builder: { tag: 'app-builder:latest', id: 'sha256:b', size: 846_000_000 },
  runtime: {
    tag: 'app',
    id: 'sha256:r',
    size: 4_464_640,
    layers: [
      { step: 'COPY file:1234 in /app', size: 4_464_640 },
      { step: 'EXPOSE 8001', size: 0 },
    ],
    largestFiles: [{ path: '/app', size: 4_464_640 }],
  },
};

describe('size report', () => {
  it('marks a runtime that grew by more than 1% over the build before', () => {
    const h = (runtime: number) => ({ at: 0, builder: 1, runtime });
    assert.deepEqual(regressions([h(100), h(100), h(102), h(101), h(200)]), [2, 4]);
  });

  it('renders bars to scale, layers, files and history under a strict CSP', () => {
    const html = renderReport(
      { pairName: 'app<x>', inspection, dockerfileSource: 'pair', history: [{ at: 1, builder: 846e6, runtime: 4e6 }, { at: 2, builder: 846e6, runtime: 4_464_640 }] },
      'NONCE123',
      'vscode-resource:',
    );
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src vscode-resource: data:; style-src 'nonce-NONCE123';">/);
    assert.doesNotMatch(html, /<script|https?:\/\//);
    assert.match(html, /app&#60;x&#62;: where the bytes are/);
    assert.match(html, /<strong>99\.5%<\/strong> smaller/);
    assert.match(html, /<rect class="bar builder" width="480\.0"/);
    assert.match(html, /<rect class="bar runtime" width="2\.5"/);
    assert.doesNotMatch(html, / style="/, 'the CSP blocks inline style attributes');
    assert.match(html, /<td class="num">4\.46 MB<\/td><td><code>COPY file:1234 in \/app<\/code>/);
    assert.match(html, /<code>\/app<\/code>/);
    assert.match(html, /the pair's <code>Dockerfile\.run<\/code>/);
    assert.match(html, /Runtime size regressions .*4 MB → 4\.46 MB/);
    assert.match(html, /class="regression"/);
  });
});
