// Remove Images: every tag the pair's runtime image is given (dockerception.runtimeTag, each template
// expanded today) and its builder's, after asking. What the engine would not remove is said, with why.
import * as vscode from 'vscode';
import { builderTagFor, messageOf } from '../../core';
import { readSettings, runtimeTagsFor } from '../settings';
import { pairOf, requireTrust, tagsOf, type CommandContext, type Target } from './context';

export async function removeImages(context: CommandContext, target: Target): Promise<void> {
  if (!requireTrust('Removing images')) return;
  const pair = await pairOf(context, target, 'Remove Images');
  if (!pair) return;
  let runtimeTags: string[];
  try {
    runtimeTags = runtimeTagsFor(pair, readSettings(vscode.Uri.file(pair.dir)));
  } catch {
    // A template that cannot be expanded (no git here): the tag the view shows.
    runtimeTags = [tagsOf(pair).runtime];
  }
  const tags = [...new Set([...runtimeTags, builderTagFor(runtimeTags[0])])];
  const listed = tags.length > 2 ? `${tags.slice(0, -1).join(', ')} and ${tags[tags.length - 1]}` : tags.join(' and ');
  const choice = await vscode.window.showWarningMessage(`Remove ${listed} from the engine?`, { modal: true }, 'Remove');
  if (choice !== 'Remove') return;
  const { docker } = await context.builds.connect();
  const removed: string[] = [];
  const kept: string[] = [];
  for (const tag of tags) {
    try {
      await docker.getImage(tag).remove();
      removed.push(tag);
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 404) continue; // not there: nothing to say
      const said = messageOf(error).replace(/^\(HTTP code \d+\) [a-z ]+ - /, '');
      kept.push(`${tag} (${said}${status === 409 ? ": remove that container first ('docker ps -a')" : ''})`);
    }
  }
  context.tree.refresh();
  const summary = removed.length > 0 ? `removed ${removed.join(', ')}` : 'there was nothing to remove';
  if (kept.length > 0) void vscode.window.showWarningMessage(`Dockerception: ${summary}; the engine kept ${kept.join('; ')}.`);
  else void vscode.window.showInformationMessage(`Dockerception: ${summary}.`);
}
