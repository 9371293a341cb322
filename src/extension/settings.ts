import * as vscode from 'vscode';
import { BUILDER_SETTINGS, DEFAULT_BUILDER_NETWORK, parseSize, type BuilderSetting, type Pair } from '../core';

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
  runtimeTagTemplate: string;
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
    runtimeTagTemplate: config.get<string>('runtimeTag', '${name}'),
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

/** The runtime image tag for a pair: the template with ${name} (the pair's image name) filled in. */
export function runtimeTagFor(pair: Pair, settings: Settings): string {
  return settings.runtimeTagTemplate.replace(/\$\{name\}/g, pair.name);
}
