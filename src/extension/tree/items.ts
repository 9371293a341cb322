// TreeItems for the Pairs view's nodes: pure mapping from a node and what is known of its pair.
import * as vscode from 'vscode';
import { comparedWithBuilder, formatBytes, runtimeFirst, sizeChange, type ImageSize, type Pair } from '../../core';
import type { LastBuild } from '../builds';
import { pushedImageOf, shownTag, type EngineNode, type PushedImage } from './nodes';

/** What is known of a pair when its item is drawn. */
export interface PairState {
  builder: ImageSize | undefined;
  runtime: ImageSize | undefined;
  last: LastBuild | undefined;
  /** The phase of a running build. */
  building: string | undefined;
  runtimeTag: string;
  builderTag: string;
  /** Where the pair is, for people (relative to the workspace). */
  where: string;
  engineReachable: boolean;
  /** While the engine is unreachable: when the sizes shown were last seen (ms since the epoch). */
  lastSeen?: number;
  /** The runtime image's push (default: this window's last push of the pair, if the runtime tag still names that image). */
  pushed?: PushedImage;
}

/** What a row shows at a glance, one icon each. */
export type PairRowState = 'building' | 'unreachable' | 'failed' | 'doctor-error' | 'up-to-date' | 'built' | 'cancelled' | 'not-built';

/** The icon of each state: distinct shapes, coloured where the state is good or bad news. */
const ICONS: Record<PairRowState, [string, string | undefined]> = {
  building: ['sync~spin', undefined],
  unreachable: ['debug-disconnect', 'disabledForeground'],
  failed: ['error', 'testing.iconFailed'],
  'doctor-error': ['warning', 'problemsWarningIcon.foreground'],
  'up-to-date': ['pass', 'testing.iconPassed'],
  built: ['package', 'testing.iconPassed'],
  cancelled: ['circle-slash', undefined],
  'not-built': ['circle-large-outline', undefined],
};

/** "02:41" today, else the date and time: when the sizes were last seen. */
function when(at: number): string {
  const date = new Date(at);
  const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return date.toDateString() === new Date().toDateString() ? time : `${date.toLocaleDateString()} ${time}`;
}

/** The push that belongs to the runtime image the row shows, if any. */
function pushedOf(pair: Pair, state: PairState): PushedImage | undefined {
  const pushed = state.pushed ?? pushedImageOf(pair.dir);
  return pushed && state.runtime && pushed.runtimeId === state.runtime.id ? pushed : undefined;
}

/** A build that failed (not cancelled, not skipped; not an engine that has since come back). */
function failedBuild(state: PairState): boolean {
  const code = state.last && !state.last.ok ? state.last.error?.code : undefined;
  if (!state.last || state.last.ok || code === 'CANCELLED' || code === 'SKIPPED') return false;
  return !(code === 'ENGINE_UNREACHABLE' && state.engineReachable);
}

/** The doctor's errors about the runtime image the row shows (from the build that made it). */
function doctorErrors(state: PairState) {
  const { last, runtime } = state;
  if (!last?.ok || !runtime || last.runtime?.id !== runtime.id) return [];
  return (last.doctor ?? []).filter((finding) => finding.severity === 'error');
}

export function pairRowState(state: PairState): PairRowState {
  if (state.building) return 'building';
  if (!state.engineReachable) return 'unreachable';
  if (failedBuild(state)) return 'failed';
  if (state.builder && state.runtime) {
    if (doctorErrors(state).length > 0) return 'doctor-error';
    return state.last?.ok && state.last.upToDate && state.last.runtime?.id === state.runtime.id ? 'up-to-date' : 'built';
  }
  if (state.last && !state.last.ok && state.last.error?.code !== 'ENGINE_UNREACHABLE') return 'cancelled';
  return 'not-built';
}

/** ", 1.31 kB to pull" beside the sizes while the pushed image is the one the tag names. */
const pullOf = (pushed: PushedImage | undefined) => (pushed?.pullSize !== undefined ? `, ${formatBytes(pushed.pullSize)} to pull` : '');

/** The row's description: the runtime size first ("4.46 MB ← 846 MB …"), then what else the state says. */
function pairDescription(row: PairRowState, state: PairState, pushed: PushedImage | undefined): string {
  const { builder, runtime, last, building } = state;
  const sizes = builder && runtime ? runtimeFirst(builder.size, runtime.size) : undefined;
  switch (row) {
    case 'building':
      return `${sizes ? `${sizes} · ` : ''}building: ${building?.replace('-', ' ')}…`;
    case 'unreachable':
      return sizes && state.lastSeen !== undefined ? `${sizes} · engine unreachable; last seen ${when(state.lastSeen)}` : 'engine unreachable';
    case 'failed':
      return `${sizes ? `${sizes} · ` : ''}last build failed: ${last?.error?.code}`;
    case 'doctor-error':
      return `${sizes} · cannot start${pullOf(pushed)}`;
    case 'up-to-date':
    case 'built':
      return `${sizes} (${sizeChange(builder?.size ?? 0, runtime?.size ?? 0)})${pullOf(pushed)}`;
    case 'cancelled':
      return last?.error?.code === 'SKIPPED' ? `skipped: ${last.error.message}` : 'last build cancelled';
    case 'not-built':
      return 'not built yet';
  }
}

/** The tooltip's first line: the state in words. */
function stateLine(row: PairRowState, state: PairState): string {
  const errors = doctorErrors(state);
  switch (row) {
    case 'building':
      return `Building: ${state.building?.replace('-', ' ')}.`;
    case 'unreachable':
      return state.lastSeen !== undefined
        ? `The engine is unreachable: the sizes are those last seen, ${new Date(state.lastSeen).toLocaleString()}. The view checks again every few seconds; Refresh checks now.`
        : 'The engine is unreachable and has not been seen by this window. Refresh checks again.';
    case 'failed':
      return `The last build failed (${state.last?.error?.code}): ${state.last?.error?.message ?? ''} Click the row for the output.`;
    case 'doctor-error':
      return `The runtime image cannot start: ${errors[0].code}: ${errors[0].message}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`;
    case 'up-to-date':
      return 'Up to date: nothing changed since the images were built.';
    case 'built':
      return `Built: the runtime image is ${comparedWithBuilder(state.builder?.size ?? 0, state.runtime?.size ?? 0)}.`;
    case 'cancelled':
      return state.last?.error?.code === 'SKIPPED' ? `Skipped: ${state.last.error.message}` : 'The last build was cancelled.';
    case 'not-built':
      return 'Not built yet.';
  }
}

export function pairItem(pair: Pair, state: PairState): vscode.TreeItem {
  const item = new vscode.TreeItem(pair.name, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = pair.dir;
  item.resourceUri = vscode.Uri.file(pair.dir);
  const pushed = pushedOf(pair, state);
  const row = pairRowState(state);
  item.contextValue = state.building ? 'pair.building' : state.runtime ? (pushed ? 'pair.built.pushed' : 'pair.built') : 'pair';
  item.description = pairDescription(row, state, pushed);
  const [icon, colour] = ICONS[row];
  item.iconPath = new vscode.ThemeIcon(icon, colour ? new vscode.ThemeColor(colour) : undefined);
  // A failed row opens its output (the twistie still expands it).
  if (row === 'failed') item.command = { command: 'dockerception.showOutput', title: 'Show Output' };
  const tooltip = new vscode.MarkdownString(`**${pair.name}** — \`${state.where}\`\n\n`);
  tooltip.appendText(`${stateLine(row, state)}\n\n`);
  if (state.builder) tooltip.appendMarkdown(`- builder \`${shownTag(state.builder.tag)}\`: ${formatBytes(state.builder.size)}\n`);
  if (state.runtime) tooltip.appendMarkdown(`- runtime \`${shownTag(state.runtime.tag)}\`: ${formatBytes(state.runtime.size)}\n`);
  if (pushed) {
    const pull = pushed.pullSize !== undefined ? `: ${formatBytes(pushed.pullSize)} to pull` : '';
    tooltip.appendMarkdown(`- pushed \`${pushed.canonical}\`${pull} (${new Date(pushed.at).toLocaleString()})\n`);
  }
  if (state.last) {
    tooltip.appendMarkdown(`\nLast build ${new Date(state.last.at).toLocaleString()}: ${state.last.ok ? 'succeeded' : `failed (${state.last.error?.code})`}`);
  }
  item.tooltip = tooltip;
  return item;
}

export function imageItem(pair: Pair, role: 'builder' | 'runtime', state: PairState): vscode.TreeItem {
  const image = role === 'builder' ? state.builder : state.runtime;
  const tag = shownTag(role === 'builder' ? state.builderTag : state.runtimeTag);
  const item = new vscode.TreeItem(role, vscode.TreeItemCollapsibleState.None);
  item.id = `${pair.dir}#${role}`;
  item.contextValue = `image.${role}${image ? '' : '.missing'}`;
  item.iconPath = new vscode.ThemeIcon(role === 'builder' ? 'tools' : 'rocket');
  const away = !state.engineReachable;
  const seen = state.lastSeen !== undefined ? `last seen ${when(state.lastSeen)}` : 'not seen yet';
  if (image) {
    item.description = `${formatBytes(image.size)} · ${tag}${away ? ` · engine unreachable; ${seen}` : ''}`;
    item.tooltip = `${tag}\n${image.id}\nsize ${image.size} bytes\ncreated ${image.created ?? '?'}${away ? `\n\nThe engine is unreachable: as ${seen}.` : ''}`;
  } else {
    item.description = away ? `${tag} (engine unreachable)` : `${tag} (not built)`;
    item.tooltip = away ? `The engine is unreachable: whether ${tag} exists is not known.` : `No image tagged ${tag} yet`;
  }
  return item;
}

export function lastBuildItem(pair: Pair, last: LastBuild): vscode.TreeItem {
  const item = new vscode.TreeItem('last build', vscode.TreeItemCollapsibleState.None);
  item.id = `${pair.dir}#last`;
  item.contextValue = 'lastBuild';
  item.iconPath = new vscode.ThemeIcon(last.ok ? 'pass' : 'error');
  item.description = `${last.ok ? 'succeeded' : `failed: ${last.error?.code}`} in ${(last.ms / 1000).toFixed(1)} s, ${new Date(last.at).toLocaleTimeString()}`;
  item.tooltip = last.ok ? `Built ${new Date(last.at).toLocaleString()}` : last.error?.message;
  item.command = { command: 'dockerception.showOutput', title: 'Show Output' };
  return item;
}

export function engineItem(node: EngineNode): vscode.TreeItem {
  const item = new vscode.TreeItem('Docker engine unreachable', vscode.TreeItemCollapsibleState.None);
  item.id = 'engine';
  item.contextValue = 'engine.unreachable';
  item.iconPath = new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('problemsWarningIcon.foreground'));
  // The same word as the row's button and the view's title button (the Refresh command).
  item.description = 'Refresh, or choose another engine';
  const tooltip = new vscode.MarkdownString(node.message);
  tooltip.appendText('\n\nThe view checks again every few seconds; click to Refresh now, or open the setting to choose another engine.');
  item.tooltip = tooltip;
  item.command = { command: 'dockerception.refresh', title: 'Refresh' };
  return item;
}
