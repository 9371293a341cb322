import { execFile, execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { imageNameFor } from '../pairs';
import { isValidReference } from '../pipeline';
import { ShipError } from './errors';

/** The values a tag template may name. gitSha/gitBranch are undefined outside a git work tree (or, for
 * the branch, on a detached HEAD); a template that names one then fails, saying why. */
export interface TagVariables {
  name: string;
  folder: string;
  gitSha?: string;
  gitBranch?: string;
  date: string;
}

export const TAG_VARIABLES = ['name', 'folder', 'gitSha', 'gitBranch', 'date'] as const;

/** Docker's tag grammar: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/**
 * A value made safe for a tag: every character outside [A-Za-z0-9_.-] becomes '-', a first character
 * that may not start a tag ('.' or '-') becomes '_', and it is cut to 128 characters.
 * "feature/Login#2" → "feature-Login-2", ".hidden" → "_hidden".
 */
export function tagSafe(value: string): string {
  const safe = value
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .replace(/^[.-]/, '_')
    .slice(0, 128);
  return safe || '_';
}

/** Whether a string is a valid tag by Docker's grammar. */
export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

/** `${date}`: the UTC day as YYYYMMDD (a valid tag and a valid name component). */
export function dateVariable(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10).replace(/-/g, '');
}

/** The git commands behind ${gitSha} (git's own short hash) and ${gitBranch} (undefined on a detached HEAD). */
const GIT_SHA = ['rev-parse', '--short', 'HEAD'];
const GIT_BRANCH = ['symbolic-ref', '--quiet', '--short', 'HEAD'];

function git(dir: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd: dir, timeout: 10_000 }, (error, stdout) => resolve(error ? undefined : stdout.trim() || undefined));
  });
}

function gitSync(dir: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: dir, timeout: 10_000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function variables(dir: string, name: string, now: Date, gitSha: string | undefined, gitBranch: string | undefined): TagVariables {
  return { name, folder: imageNameFor(path.basename(path.resolve(dir))), gitSha, gitBranch, date: dateVariable(now) };
}

/**
 * The variables for a pair: its name (the pairs rule), its folder's name made a valid repository name,
 * the short commit (`git rev-parse --short HEAD`, git's own abbreviation) and the branch
 * (`git symbolic-ref --short HEAD`, undefined when detached) of the work tree that holds `dir`, and the date.
 */
export async function tagVariables(dir: string, name: string, now: Date = new Date()): Promise<TagVariables> {
  const [gitSha, gitBranch] = await Promise.all([git(dir, GIT_SHA), git(dir, GIT_BRANCH)]);
  return variables(dir, name, now, gitSha, gitBranch);
}

/** Whether any template names ${gitSha} or ${gitBranch} (only then is git asked). */
export function templatesNeedGit(templates: readonly string[]): boolean {
  return templates.some((template) => /\$\{git(Sha|Branch)\}/.test(template));
}

/**
 * tagVariables, synchronously, for callers that cannot wait (VS Code's tree and settings): the same values
 * by the same git commands, which run only when a template names a git variable.
 */
export function tagVariablesSync(dir: string, name: string, templates: readonly string[], now: Date = new Date()): TagVariables {
  const needGit = templatesNeedGit(templates);
  return variables(dir, name, now, needGit ? gitSync(dir, GIT_SHA) : undefined, needGit ? gitSync(dir, GIT_BRANCH) : undefined);
}

/** Whether a tag template names any variable. */
export function isTemplate(template: string): boolean {
  return /\$\{[^}]*\}/.test(template);
}

/**
 * Expands `${name}`, `${folder}`, `${gitSha}`, `${gitBranch}`, `${date}` in one tag template. A variable
 * in the tag part (after the last ':' that follows the last '/') is made safe for a tag (tagSafe); in the
 * repository part, a valid name component (imageNameFor). The result must be a valid reference.
 */
export function expandTag(template: string, vars: TagVariables): string {
  const slash = template.lastIndexOf('/');
  const colon = template.lastIndexOf(':');
  const tagStart = colon > slash ? colon + 1 : template.length;
  const result = template.replace(/\$\{([^}]*)\}/g, (_match, key: string, offset: number) => {
    if (!(TAG_VARIABLES as readonly string[]).includes(key)) {
      throw new ShipError(
        'BAD_TAG',
        `The tag template '${template}' names \${${key}}, which is not a variable: use ${TAG_VARIABLES.map((v) => `\${${v}}`).join(', ')}.`,
      );
    }
    const value = vars[key as keyof TagVariables];
    if (value === undefined) {
      const why =
        key === 'gitBranch'
          ? 'the pair is not in a git work tree, or HEAD is detached (no branch is checked out)'
          : 'the pair is not in a git work tree with a commit';
      throw new ShipError('BAD_TAG', `The tag template '${template}' names \${${key}}, but ${why}. Check out a branch or commit first, or use another tag.`);
    }
    return offset >= tagStart ? tagSafe(value) : imageNameFor(value);
  });
  if (!isValidReference(result)) {
    throw new ShipError(
      'BAD_TAG',
      `The tag template '${template}' gives '${result}', which is not a valid image name: use lower-case letters, digits and . _ - in the name, and [A-Za-z0-9_.-] (at most 128) in the tag.`,
    );
  }
  return result;
}

/** A tag setting (a string or a list of strings, as dockerception.runtimeTag) as templates; blanks dropped; none gives `${name}`. */
export function tagTemplatesOf(value: unknown): string[] {
  const templates = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string').map((v) => v.trim());
  return templates.some((v) => v.length > 0) ? templates.filter((v) => v.length > 0) : ['${name}'];
}

/** Every template expanded, duplicates dropped, in order. */
export function expandTags(templates: readonly string[], vars: TagVariables): string[] {
  return [...new Set(templates.map((template) => expandTag(template, vars)))];
}
