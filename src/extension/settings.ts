import * as vscode from 'vscode';
import {
  BUILDER_SETTINGS,
  DEFAULT_BUILDER_NETWORK,
  DockerceptionError,
  expandTags,
  isShipError,
  parseSize,
  tagTemplatesOf,
  tagVariablesSync,
  templatesNeedGit,
  type BuilderSetting,
  type Pair,
} from '../core';

export type RevealOutput = 'always' | 'onFailure' | 'never';
export type DoctorStrict = 'off' | 'errors' | 'warnings';

/** dockerception.doctor.strict: "off" | "errors" | "warnings"; the old true/false read as "errors"/"off". */
export function doctorStrictOf(value: unknown): DoctorStrict {
  if (value === true) return 'errors';
  return value === 'errors' || value === 'warnings' ? value : 'off';
}

/** The `dockerception.*` settings, read fresh for every build so that a change applies at once. */
export interface Settings {
  host: string | undefined;
  /** dockerception.runtimeTag as a list (a string is a list of one): the first is the tag the build gives. */
  runtimeTagTemplates: string[];
  buildArgs: Record<string, string>;
  noCache: boolean;
  builder: BuilderSetting;
  builderNetwork: string;
  builderTimeoutSeconds: number;
  keepBuilderImage: boolean;
  revealOutput: RevealOutput;
  maxRuntimeSize: number | undefined;
  maxGrowth: number | undefined;
  /** Which doctor findings refuse an image: none, errors, or warnings too. */
  doctorStrict: DoctorStrict;
  /** Show a notification when a build finds nothing changed (dockerception.notifyUpToDate). */
  notifyUpToDate: boolean;
  /** CodeLens above each pair's Dockerfiles (dockerception.codeLens). */
  codeLens: boolean;
}

export function readSettings(scope?: vscode.Uri): Settings {
  const config = vscode.workspace.getConfiguration('dockerception', scope);
  const budget = config.get<string>('maxRuntimeSize', '').trim();
  const growth = config.get<string>('maxGrowth', '').trim();
  return {
    host: config.get<string>('host', '').trim() || undefined,
    runtimeTagTemplates: tagTemplatesOf(config.get<unknown>('runtimeTag', '${name}')),
    buildArgs: config.get<Record<string, string>>('buildArgs', {}),
    noCache: config.get<boolean>('noCache', false),
    // BUILDER_SETTINGS, a plain list, is in the extension's start-up bundle; isBuilderSetting would load the core's.
    builder: BUILDER_SETTINGS.includes(config.get<string>('builder', 'auto') as BuilderSetting) ? config.get<BuilderSetting>('builder', 'auto') : 'auto',
    builderNetwork: config.get<string>('builderNetwork', DEFAULT_BUILDER_NETWORK).trim() || DEFAULT_BUILDER_NETWORK,
    builderTimeoutSeconds: config.get<number>('builderTimeout', 0),
    keepBuilderImage: config.get<boolean>('keepBuilderImage', true),
    revealOutput: config.get<RevealOutput>('revealOutput', 'onFailure'),
    maxRuntimeSize: budget ? parseSize(budget) : undefined,
    maxGrowth: growth ? parseSize(growth) : undefined,
    doctorStrict: doctorStrictOf(config.get<unknown>('doctor.strict', 'off')),
    notifyUpToDate: config.get<boolean>('notifyUpToDate', true),
    codeLens: config.get<boolean>('codeLens', true),
  };
}

/**
 * Every tag the pair's runtime image carries: each template of dockerception.runtimeTag expanded by the core's
 * rule (the CLI's --tag): ${name}, ${folder}, ${gitSha}, ${gitBranch}, ${date}. The first is the primary tag
 * (the one the build gives and the view shows). Throws a DockerceptionError that says what to change when a
 * template cannot be expanded.
 */
export function runtimeTagsFor(pair: Pair, settings: Settings): string[] {
  const templates = settings.runtimeTagTemplates;
  try {
    return expandTags(templates, tagVariablesSync(pair.dir, pair.name, templates));
  } catch (error) {
    if (!isShipError(error)) throw error;
    throw new DockerceptionError('NO_PAIR', `The setting dockerception.runtimeTag for ${pair.name}: ${error.message}`, 'discover', { cause: error });
  }
}

/** The primary tags shown lately, by folder and templates: git runs when a template names it (tens of ms under load). */
const shown = new Map<string, { at: number; tag: string }>();
const SHOWN_FOR_MS = 5000;

/**
 * The primary runtime tag for a pair (the first of runtimeTagsFor), for what shows it; with a git variable it
 * is kept for 5 s, so that drawing the view does not run git for every row each time (a build or a push
 * expands afresh). When a template cannot be expanded it is the first template with ${name} filled in; a
 * build then fails saying why (runtimeTagsFor).
 */
export function runtimeTagFor(pair: Pair, settings: Settings): string {
  const templates = settings.runtimeTagTemplates;
  const key = `${pair.dir}\0${pair.name}\0${templates.join('\0')}`;
  const cached = shown.get(key);
  if (cached && Date.now() - cached.at < SHOWN_FOR_MS) return cached.tag;
  let tag: string;
  try {
    tag = runtimeTagsFor(pair, settings)[0];
  } catch {
    tag = templates[0].replace(/\$\{name\}/g, pair.name);
  }
  if (templatesNeedGit(templates)) {
    if (shown.size > 1000) shown.clear();
    shown.set(key, { at: Date.now(), tag });
  }
  return tag;
}
