// TreeItems for the Pairs view's nodes: pure mapping from a node and what is known of its pair.
import * as vscode from 'vscode';
import { formatBytes, sizeSummary, type ImageSize, type Pair } from '../../core';
import type { LastBuild } from '../builds';
import { pushedImageOf, type EngineNode, type PushedImage } from './nodes';

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
  /** The runtime image's push (default: this window's last push of the pair, if the runtime tag still names that image). */
  pushed?: PushedImage;
}

/** The push that belongs to the runtime image the row shows, if any. */
function pushedOf(pair: Pair, state: PairState): PushedImage | undefined {
  const pushed = state.pushed ?? pushedImageOf(pair.dir);
  return pushed && state.runtime && pushed.runtimeId === state.runtime.id ? pushed : undefined;
}

function pairDescription(state: PairState): string {
  const { builder, runtime, last, building } = state;
  if (building) return `building: ${building.replace('-', ' ')}…`;
  if (last && !last.ok && last.error?.code !== 'CANCELLED' && last.error?.code !== 'SKIPPED') return `last build failed: ${last.error?.code}`;
  if (builder && runtime) return sizeSummary(builder.size, runtime.size);
  if (!state.engineReachable) return 'engine unreachable';
  if (last?.error?.code === 'CANCELLED') return 'last build cancelled';
  if (last?.error?.code === 'SKIPPED') return `skipped: ${last.error.message}`;
  if (last && !last.ok) return `last build failed: ${last.error?.code}`;
  return 'not built yet';
}

export function pairItem(pair: Pair, state: PairState): vscode.TreeItem {
  const item = new vscode.TreeItem(pair.name, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = pair.dir;
  item.resourceUri = vscode.Uri.file(pair.dir);
  const pushed = pushedOf(pair, state);
  item.contextValue = state.building ? 'pair.building' : state.runtime ? (pushed ? 'pair.built.pushed' : 'pair.built') : 'pair';
  const description = pairDescription(state);
  // "…, 1.31 kB to pull" beside the sizes while the pushed image is the one the tag names.
  item.description =
    pushed?.pullSize !== undefined && !state.building && state.builder && description === sizeSummary(state.builder.size, state.runtime?.size ?? 0)
      ? `${description}, ${formatBytes(pushed.pullSize)} to pull`
      : description;
  const failed = state.last && !state.last.ok && state.last.error?.code !== 'CANCELLED' && state.last.error?.code !== 'SKIPPED';
  item.iconPath = new vscode.ThemeIcon(state.building ? 'sync~spin' : failed ? 'error' : 'package');
  // A failed row opens its output (the twistie still expands it).
  if (failed && !state.building) item.command = { command: 'dockerception.showOutput', title: 'Show Output' };
  const tooltip = new vscode.MarkdownString(`**${pair.name}** — \`${state.where}\`\n\n`);
  if (state.builder) tooltip.appendMarkdown(`- builder \`${state.builder.tag}\`: ${formatBytes(state.builder.size)}\n`);
  if (state.runtime) tooltip.appendMarkdown(`- runtime \`${state.runtime.tag}\`: ${formatBytes(state.runtime.size)}\n`);
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
  const tag = role === 'builder' ? state.builderTag : state.runtimeTag;
  const item = new vscode.TreeItem(role, vscode.TreeItemCollapsibleState.None);
  item.id = `${pair.dir}#${role}`;
  item.contextValue = `image.${role}${image ? '' : '.missing'}`;
  item.iconPath = new vscode.ThemeIcon(role === 'builder' ? 'tools' : 'rocket');
  item.description = image ? `${formatBytes(image.size)} · ${tag}` : `${tag} (not built)`;
  item.tooltip = image ? `${tag}\n${image.id}\nsize ${image.size} bytes\ncreated ${image.created ?? '?'}` : `No image tagged ${tag} yet`;
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
  item.iconPath = new vscode.ThemeIcon('warning');
  item.description = 'Retry, or choose another engine';
  item.tooltip = new vscode.MarkdownString(node.message);
  item.command = { command: 'dockerception.refresh', title: 'Retry' };
  return item;
}
