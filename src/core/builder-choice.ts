// Which of the engine's builders builds a pair: BuildKit or the legacy builder. 'auto' follows the engine
// (its /_ping says which builder it defaults to) and switches to BuildKit when a Dockerfile uses syntax
// only BuildKit understands.
import type Docker from 'dockerode';
import { DockerfileParser } from 'dockerfile-ast';
import { freshPing } from './engine/connect';

export type BuilderSetting = 'auto' | 'buildkit' | 'legacy';
export type EngineBuilder = 'buildkit' | 'legacy';
/** What /_ping says the engine builds with by default: Podman's compat API always builds with Buildah. */
export type EngineDefault = EngineBuilder | 'buildah';

export const BUILDER_SETTINGS: readonly BuilderSetting[] = ['auto', 'buildkit', 'legacy'];

export function isBuilderSetting(value: string): value is BuilderSetting {
  return (BUILDER_SETTINGS as readonly string[]).includes(value);
}

export interface BuilderChoice {
  builder: EngineBuilder;
  /** Why, for the output: "the engine's default", "Dockerfile uses RUN --mount", "--builder legacy". */
  reason: string;
}

/** BuildKit-only syntax a Dockerfile uses, named as a user would recognise it (e.g. 'RUN --mount'). */
export function buildKitSyntax(dockerfile: string): string[] {
  const found = new Set<string>();
  const parsed = DockerfileParser.parse(dockerfile);
  if (parsed.getDirectives().some((d) => d.getName().toLowerCase() === 'syntax')) found.add('a # syntax= line');
  for (const instruction of parsed.getInstructions()) {
    const keyword = instruction.getKeyword();
    const flags = 'getFlags' in instruction ? (instruction as unknown as { getFlags(): Array<{ getName(): string }> }).getFlags() : [];
    for (const flag of flags) {
      const name = flag.getName();
      if (
        (keyword === 'RUN' && ['mount', 'network', 'security'].includes(name)) ||
        ((keyword === 'COPY' || keyword === 'ADD') && ['chmod', 'link', 'parents', 'exclude'].includes(name))
      ) {
        found.add(`${keyword} --${name}`);
      }
    }
    const heredocs = 'getHeredocs' in instruction ? (instruction as unknown as { getHeredocs(): unknown[] }).getHeredocs() : [];
    if (heredocs.length > 0) found.add('heredocs');
  }
  return [...found];
}

/** The engine's default builder: BuildKit when /_ping answers `Builder-Version: 2`, Buildah when it
 * carries Podman's `Libpod-Buildah-Version`. */
export async function engineDefaultBuilder(docker: Docker): Promise<EngineDefault> {
  const headers = await freshPing(docker);
  if (headers['libpod-buildah-version']) return 'buildah';
  return headers['builder-version'] === '2' ? 'buildkit' : 'legacy';
}

/** The builder for a pair, from the setting, the engine's default and what its Dockerfiles use. */
export function chooseBuilder(setting: BuilderSetting, engineDefault: EngineDefault, dockerfiles: Array<{ label: string; text: string }>): BuilderChoice {
  if (engineDefault === 'buildah') {
    // Its build endpoint speaks the legacy builder's progress stream whatever is asked for.
    const ignored = setting === 'auto' ? '' : `; the builder setting (${setting}) does not apply there`;
    return { builder: 'legacy', reason: `the engine is Podman, which builds with Buildah${ignored}` };
  }
  if (setting !== 'auto') return { builder: setting, reason: `the builder setting says ${setting}` };
  if (engineDefault === 'buildkit') return { builder: 'buildkit', reason: "the engine's default builder" };
  for (const { label, text } of dockerfiles) {
    const syntax = buildKitSyntax(text);
    if (syntax.length > 0) return { builder: 'buildkit', reason: `${label} uses ${syntax.join(', ')}` };
  }
  return { builder: 'legacy', reason: "the engine's default builder; nothing here needs BuildKit" };
}
