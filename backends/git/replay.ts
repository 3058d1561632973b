/**
 * Replays journal effects on a tree (the live overlay, and the committer on the branch tip). An effect
 * is absolute ("put this slot at that path"), so replay cannot fail a guard: a missing parent folder
 * is made, a file in the way of a folder is replaced (and logged), removing what is not there does
 * nothing. The journal's value wins for the paths it names, whatever tip it lands on.
 */
import { joinPath } from '../backend.js';
import type { Effect, StoredSlot } from './journal/record.js';
import { dirSlot, segments, type Slot, type TreeEditor } from './tree.js';

export function slotOfStored(s: StoredSlot): Slot {
  return s.kind === 'dir' ? dirSlot(s.oid) : { kind: 'file', mode: s.mode, oid: s.oid };
}

/** Applies effects in order; never throws for content (what it had to force is reported through `log`). */
export async function replayEffects(editor: TreeEditor, effects: readonly Effect[], log: (msg: string) => void = warn): Promise<void> {
  for (const effect of effects) {
    const segs = segments(effect.path);
    if (segs.length === 0) {
      if (effect.slot?.kind === 'dir') await editor.set('/', slotOfStored(effect.slot));
      else log(`journal replay: ignored a change of the root to ${effect.slot ? 'a file' : 'nothing'}`);
      continue;
    }
    if (!(await parentsFor(editor, segs, effect.slot !== null, log))) continue;
    await editor.set(effect.path, effect.slot && slotOfStored(effect.slot));
  }
}

/** Makes the folders above a path exist; false when nothing needs doing (removing under a missing folder). */
async function parentsFor(editor: TreeEditor, segs: string[], placing: boolean, log: (msg: string) => void): Promise<boolean> {
  let at = '/';
  for (const seg of segs.slice(0, -1)) {
    at = joinPath(at, seg);
    const slot = await editor.get(at);
    if (slot?.kind === 'dir') continue;
    if (!placing) return false;
    if (slot) log(`journal replay: the file ${at} was replaced by a folder the journal writes into`);
    await editor.set(at, { kind: 'dir', entries: new Map() });
  }
  return true;
}

function warn(msg: string): void {
  console.warn(msg);
}
