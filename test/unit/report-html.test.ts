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
  doctor: [
    {
      code: 'MISSING_LOADER' as const,
      severity: 'error' as const,
      path: '/app',
      message: '/app is dynamically linked: it needs the loader /lib64/ld-linux-x86-64.so.2 <and> libc.so.6',
    },
  ],
};
const growth = {
  since: { runtimeId: 'sha256:old', size: 1_264_640, recordedAt: '2026-11-27T08:00:00.000Z' },
  sizeDelta: 3_200_000,
  changes: [
    { path: '/lib/libfoo.so', change: 'added' as const, before: 0, after: 3_200_000, delta: 3_200_000 },
    { path: '/app', change: 'shrunk' as const, before: 1_264_640, after: 1_264_000, delta: -640 },
  ],
  partial: false,
};

describe('size report', () => {
  it('marks a runtime that grew by more than 1% over the build before', () => {
    const h = (runtime: number) => ({ at: 0, builder: 1, runtime });
    assert.deepEqual(regressions([h(100), h(100), h(102), h(101), h(200)]), [2, 4]);
  });

  it('renders bars to scale, layers, files and history under a strict CSP', () => {
    const html = renderReport(
      {
        pairName: 'app<x>',
        inspection,
        growth,
        dockerfileSource: 'pair',
        history: [
          { at: 1, builder: 846e6, runtime: 4e6 },
          { at: 2, builder: 846e6, runtime: 4_464_640 },
        ],
      },
      'NONCE123',
      'vscode-resource:',
    );
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src vscode-resource: data:; style-src 'nonce-NONCE123';">/);
    assert.doesNotMatch(html, /<script|https?:\/\//);
    assert.match(html, /app&#60;x&#62;: where the bytes are/);
    assert.match(html, /<strong>189× smaller<\/strong> than its builder/);
    assert.match(html, /<rect class="bar builder" width="480\.0"/);
    assert.match(html, /<rect class="bar runtime" width="2\.5"/);
    assert.doesNotMatch(html, / style="/, 'the CSP blocks inline style attributes');
    assert.match(html, /<td class="num">4\.46 MB<\/td><td><code>COPY file:1234 in \/app<\/code>/);
    assert.match(html, /<code>\/app<\/code>/);
    assert.match(html, /the pair's <code>Dockerfile\.run<\/code>/);
    assert.match(html, /Runtime size regressions .*4 MB → 4\.46 MB/);
    assert.match(html, /class="regression"/);
    assert.match(
      html,
      /<h2 id="doctor">Doctor<\/h2>\n<table class="findings">.*<tr class="error"><td>error<\/td><td><code>MISSING_LOADER<\/code><\/td><td><code>\/app<\/code><\/td><td>\/app is dynamically linked: .*&#60;and&#62; libc\.so\.6/,
    );
    assert.match(html, /<strong>\+3\.2 MB<\/strong> in all/);
    assert.match(html, /<td class="num grew">\+3\.2 MB<\/td><td><code>\/lib\/libfoo\.so<\/code><\/td><td>added<\/td>/);
    assert.match(html, /<td class="num shrank">−640 B<\/td><td><code>\/app<\/code><\/td><td>shrunk/);
  });

  it('puts the pull size beside the runtime size: from the push, else an estimate said as one, else why not', () => {
    const render = (pull?: Parameters<typeof renderReport>[0]['pull']) =>
      renderReport({ pairName: 'app', inspection: { ...inspection, doctor: [] }, history: [], pull }, 'N', 'vscode-resource:');
    const pushed = render({ source: 'pushed', size: 1_900_000, canonical: '127.0.0.1:5000/app@sha256:<d>', pushedAt: '2026-11-30T10:00:00.000Z' });
    assert.match(
      pushed,
      /<p class="pull" id="pull-size"><strong>runtime 4\.46 MB, 1\.9 MB to pull<\/strong> \(pushed .* as <code>127\.0\.0\.1:5000\/app@sha256:&#60;d&#62;<\/code>: the registry's manifest\)/,
    );
    const estimated = render({ source: 'estimate', size: 1_912_345, ms: 420 });
    assert.match(
      estimated,
      /<strong>runtime 4\.46 MB, about 1\.91 MB to pull<\/strong> \(estimated: its layers gzipped as the engine pushes them, in 0\.4 s; Push Runtime Image gives the registry's figure\)/,
    );
    assert.match(render({ source: 'estimating' }), /runtime 4\.46 MB; estimating what a pull downloads…/);
    assert.match(render({ source: 'unknown', why: 'the engine <went> away' }), /the pull size is unknown: the engine &#60;went&#62; away/);
    assert.doesNotMatch(render(), /id="pull-size"/);
    // After the runtime bar, before the layers.
    assert.ok(pushed.indexOf('id="pull-size"') > pushed.indexOf('class="bar runtime"') && pushed.indexOf('id="pull-size"') < pushed.indexOf('Runtime layers'));
  });

  it('says when the doctor found nothing and when there is no earlier build', () => {
    const html = renderReport({ pairName: 'app', inspection: { ...inspection, doctor: [] }, history: [] }, 'N', 'vscode-resource:');
    assert.match(html, /<p class="ok">Nothing found/);
    assert.match(html, /No earlier build of this pair is recorded/);
  });

  it('colours the comparison green only for a runtime smaller than its builder that can start', () => {
    const render = (runtimeSize: number, doctor: typeof inspection.doctor) =>
      renderReport({ pairName: 'app', inspection: { ...inspection, runtime: { ...inspection.runtime, size: runtimeSize }, doctor }, history: [] }, 'N', 'r:');
    assert.match(render(4_464_640, []), /<p class="saving">The runtime image is <strong>189× smaller<\/strong> than its builder\.<\/p>/);
    assert.match(render(4_464_640, inspection.doctor), /<p class="saving muted">The runtime image is <strong>189× smaller<\/strong>/);
    assert.match(render(900_000_000, []), /<p class="saving muted">The runtime image is <strong>6\.4% larger<\/strong> than its builder\.<\/p>/);
    assert.match(render(846_000_000, []), /<p class="saving muted">The runtime image is <strong>the same size<\/strong> as its builder\.<\/p>/);
  });
});
