// The size report's HTML: pure (no vscode import), so it is tested on its own. No scripts and no remote
// resources: everything is inline SVG and CSS that uses the theme's colours.
import { comparedWithBuilder, formatBytes, type Finding, type Growth, type PairInspection } from '../core';

export interface SizePoint {
  at: number;
  builder: number;
  runtime: number;
}

export interface ReportModel {
  pairName: string;
  inspection: PairInspection;
  dockerfileSource?: 'builder-output' | 'pair';
  history: SizePoint[];
  /** What changed, file by file, since the pair's build before the tagged image. */
  growth?: Growth;
  /** What a pull of the runtime image downloads: from its last push, else estimated (or on its way). */
  pull?: PullSizeView;
}

/** The pull size beside the runtime size: pushed (the registry's manifest), estimated, being estimated, or why not. */
export type PullSizeView =
  | { source: 'pushed'; size: number; canonical: string; pushedAt: string }
  | { source: 'estimate'; size: number; ms: number }
  | { source: 'estimating' }
  | { source: 'unknown'; why: string };

/** "runtime 4.46 MB, 1.9 MB to pull" and where the second figure comes from. */
function pullHtml(runtimeSize: number, pull: PullSizeView | undefined): string {
  if (!pull) return '';
  const runtime = `runtime ${formatBytes(runtimeSize)}`;
  switch (pull.source) {
    case 'pushed':
      return `<p class="pull" id="pull-size"><strong>${runtime}, ${formatBytes(pull.size)} to pull</strong> (pushed ${escape(new Date(pull.pushedAt).toLocaleString())} as <code>${escape(pull.canonical)}</code>: the registry's manifest).</p>`;
    case 'estimate':
      return `<p class="pull" id="pull-size"><strong>${runtime}, about ${formatBytes(pull.size)} to pull</strong> (estimated: its layers gzipped as the engine pushes them, in ${(pull.ms / 1000).toFixed(1)} s; Push Runtime Image gives the registry's figure).</p>`;
    case 'estimating':
      return `<p class="pull" id="pull-size">${runtime}; estimating what a pull downloads…</p>`;
    case 'unknown':
      return `<p class="pull" id="pull-size">${runtime}; the pull size is unknown: ${escape(pull.why)}</p>`;
  }
}

/** A build whose runtime image grew by more than this share over the build before it is a regression. */
export const REGRESSION_THRESHOLD = 0.01;

export function regressions(history: SizePoint[]): number[] {
  const marked: number[] = [];
  for (let i = 1; i < history.length; i++) {
    if (history[i].runtime > history[i - 1].runtime * (1 + REGRESSION_THRESHOLD)) marked.push(i);
  }
  return marked;
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** One image's sizes across builds as an SVG line, regressions as red dots. */
function chart(title: string, values: number[], marked: number[]): string {
  const width = 420;
  const height = 90;
  const max = Math.max(...values, 1);
  const min = Math.min(...values, max);
  const span = max - min || max;
  const x = (i: number) => (values.length === 1 ? width / 2 : 10 + (i * (width - 20)) / (values.length - 1));
  const y = (v: number) => height - 12 - ((v - (max === min ? 0 : min)) / span) * (height - 24);
  const points = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const dots = values
    .map(
      (v, i) =>
        `<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="${marked.includes(i) ? 4 : 2.5}" class="${marked.includes(i) ? 'regression' : 'dot'}"><title>${formatBytes(v)}</title></circle>`,
    )
    .join('');
  return `<figure><figcaption>${escape(title)}: ${formatBytes(values[values.length - 1] ?? 0)} now, ${formatBytes(min)}–${formatBytes(max)} over ${values.length} build${values.length === 1 ? '' : 's'}</figcaption>
<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escape(title)} across builds"><polyline points="${points}" class="line"/>${dots}</svg></figure>`;
}

const signed = (n: number) => (n > 0 ? `+${formatBytes(n)}` : n < 0 ? `−${formatBytes(-n)}` : '±0 B');

/** The doctor's findings: each names the file and the fix. */
function doctorHtml(findings: readonly Finding[]): string {
  if (findings.length === 0) return '<p class="ok">Nothing found: the ENTRYPOINT is there and executable, and every binary has what it needs to start.</p>';
  const rows = findings
    .map(
      (f) =>
        `<tr class="${f.severity}"><td>${f.severity}</td><td><code>${escape(f.code)}</code></td><td><code>${escape(f.path)}</code></td><td>${escape(f.message)}</td></tr>`,
    )
    .join('');
  return `<table class="findings"><thead><tr><th>severity</th><th>code</th><th>file</th><th>what happens, and the fix</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** A doctor error leads the report: an image that cannot start is not a success, whatever its size. */
function cannotStart(findings: readonly Finding[]): string {
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length === 0) return '';
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more: see <a href="#doctor">Doctor</a>)` : '';
  return `<p class="cannot-start" role="alert"><strong>This runtime image cannot start</strong>: <code>${escape(errors[0].code)}</code> ${escape(errors[0].message)}${more}</p>\n`;
}

const GROWTH_ROWS = 20;

/** What grew since the build before, largest change first. */
function growthHtml(growth: Growth | undefined): string {
  if (!growth) return '<p>No earlier build of this pair is recorded on this machine: the next build is compared with this one.</p>';
  const rows = growth.changes
    .slice(0, GROWTH_ROWS)
    .map(
      (c) =>
        `<tr><td class="num ${c.delta > 0 ? 'grew' : 'shrank'}">${signed(c.delta)}</td><td><code>${escape(c.path)}</code></td><td>${c.change}</td><td class="num">${formatBytes(c.before)} → ${formatBytes(c.after)}</td></tr>`,
    )
    .join('');
  const more = growth.changes.length > GROWTH_ROWS ? `<p>… and ${growth.changes.length - GROWTH_ROWS} more changes.</p>` : '';
  const partial = growth.partial ? '<p>A listing keeps only the largest files: small changes may be missing.</p>' : '';
  return `<p>Since the build of ${escape(new Date(growth.since.recordedAt).toLocaleString())} (${formatBytes(growth.since.size)}): <strong>${signed(growth.sizeDelta)}</strong> in all.</p>
${rows ? `<table class="growth"><tbody>${rows}</tbody></table>` : '<p>No file changed size.</p>'}${more}${partial}`;
}

export function renderReport(model: ReportModel, nonce: string, cspSource: string): string {
  const { builder, runtime } = model.inspection;
  const builderSize = builder?.size ?? 0;
  const scale = Math.max(builderSize, runtime.size, 1);
  // SVG rects, not CSS widths: the CSP allows no inline style attributes.
  const BAR_WIDTH = 480;
  const bar = (label: string, tag: string, size: number, kind: string) =>
    `<div class="bar-row"><span class="bar-label">${label}</span><svg class="track" width="${BAR_WIDTH}" height="18" role="img" aria-label="${label} ${formatBytes(size)}"><rect class="bar ${kind}" width="${Math.max((size / scale) * BAR_WIDTH, 2).toFixed(1)}" height="18" rx="2"/></svg><span class="bar-value">${formatBytes(size)} <code>${escape(tag)}</code></span></div>`;
  const layerRows = runtime.layers.map((l) => `<tr><td class="num">${formatBytes(l.size)}</td><td><code>${escape(l.step)}</code></td></tr>`).join('');
  const fileRows = runtime.largestFiles.map((f) => `<tr><td class="num">${formatBytes(f.size)}</td><td><code>${escape(f.path)}</code></td></tr>`).join('');
  const marked = regressions(model.history);
  const source =
    model.dockerfileSource === 'pair'
      ? "the pair's <code>Dockerfile.run</code> (the builder's tar had no Dockerfile)"
      : model.dockerfileSource === 'builder-output'
        ? "the builder's output (its tar carried a <code>Dockerfile</code>)"
        : 'unknown (not built from this window)';
  const historyHtml =
    model.history.length > 0
      ? `${chart(
          'Runtime image',
          model.history.map((h) => h.runtime),
          marked,
        )}${chart(
          'Builder image',
          model.history.map((h) => h.builder),
          [],
        )}
${marked.length > 0 ? `<p class="warning">Runtime size regressions (more than ${REGRESSION_THRESHOLD * 100}% larger than the build before): ${marked.map((i) => `${new Date(model.history[i].at).toLocaleString()} (${formatBytes(model.history[i - 1].runtime)} → ${formatBytes(model.history[i].runtime)})`).join('; ')}</p>` : '<p>No runtime size regressions.</p>'}`
      : '<p>No builds recorded in this workspace yet.</p>';

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${cspSource} data:; style-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Sizes: ${escape(model.pairName)}</title>
<style nonce="${nonce}">
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 0 20px 20px; }
h1 { font-size: 1.4em; font-weight: 600; } h2 { font-size: 1.1em; margin-top: 1.6em; }
.saving { font-size: 1.2em; } .saving strong { color: var(--vscode-charts-green); } .saving.muted strong { color: inherit; } /* green only for a runtime smaller than its builder that can start */
.cannot-start { font-size: 1.2em; padding: 8px 12px; border-left: 4px solid var(--vscode-editorError-foreground); background: var(--vscode-inputValidation-errorBackground); }
.bar-row { display: flex; align-items: center; gap: 10px; margin: 6px 0; }
.bar-label { width: 64px; flex: none; } .track { flex: none; }
.bar.builder { fill: var(--vscode-charts-orange); } .bar.runtime { fill: var(--vscode-charts-green); }
.bar-value { white-space: nowrap; } code { font-family: var(--vscode-editor-font-family); }
table { border-collapse: collapse; } td { padding: 2px 12px 2px 0; vertical-align: top; } td.num { text-align: right; white-space: nowrap; }
svg .line { fill: none; stroke: var(--vscode-charts-blue); stroke-width: 2; } svg .dot { fill: var(--vscode-charts-blue); }
svg .regression { fill: var(--vscode-charts-red); } figure { margin: 8px 0; } figcaption { margin-bottom: 4px; }
.warning, tr.warning td:first-child { color: var(--vscode-editorWarning-foreground); }
tr.error td:first-child { color: var(--vscode-editorError-foreground); font-weight: 600; } .ok { color: var(--vscode-charts-green); }
th { text-align: left; padding: 2px 12px 2px 0; } .grew { color: var(--vscode-charts-red); } .shrank { color: var(--vscode-charts-green); }
</style></head>
<body>
<h1>${escape(model.pairName)}: where the bytes are</h1>
${cannotStart(model.inspection.doctor)}<p class="saving${model.inspection.doctor.some((f) => f.severity === 'error') || runtime.size >= builderSize ? ' muted' : ''}">The runtime image is <strong>${comparedWithBuilder(builderSize, runtime.size).replace(/^(.*?) (than|as) its builder$/, '$1</strong> $2 its builder')}.</p>
${builder ? bar('builder', builder.tag, builder.size, 'builder') : '<p>No builder image is tagged.</p>'}
${bar('runtime', runtime.tag, runtime.size, 'runtime')}
${pullHtml(runtime.size, model.pull)}
<p>Runtime Dockerfile from ${source}.</p>
<h2>Runtime layers</h2>
<table><tbody>${layerRows}</tbody></table>
<h2>Largest files in the runtime image</h2>
<table><tbody>${fileRows || '<tr><td>(no files)</td></tr>'}</tbody></table>
<h2 id="doctor">Doctor</h2>
${doctorHtml(model.inspection.doctor)}
<h2 id="what-grew">What grew</h2>
${growthHtml(model.growth)}
<h2>Sizes across builds</h2>
${historyHtml}
</body></html>`;
}
