import { readFile } from 'node:fs/promises';
import type { Tracefs } from './tracefs.js';
import { replayKprobeEvents } from './tracefs.js';

/** Whether a process with this pid still exists (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the probes and the tracing instance of memregion runs that died without cleaning up (SIGKILL
 * leaves no chance to): groups `memregion_<pid>` whose process is gone. Each probe is removed as the
 * kernel requires (Documentation/trace/kprobetrace.rst): not enabled anywhere, so the instance that
 * enabled it goes first, then `-:<group>/<event>`. Returns the groups swept; what cannot be removed stays.
 */
export async function sweepDeadSessions(tracefs: Tracefs, ownGroup: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(tracefs.path('kprobe_events'), 'utf8');
  } catch {
    return [];
  }
  const byGroup = new Map<string, string[]>();
  for (const name of replayKprobeEvents(text)) {
    const [group, event] = name.split('/') as [string, string];
    const pid = /^memregion_(\d+)$/.exec(group)?.[1];
    if (!pid || group === ownGroup || alive(Number(pid))) continue;
    byGroup.set(group, [...(byGroup.get(group) ?? []), event]);
  }
  const swept: string[] = [];
  for (const [group, events] of byGroup) {
    await tracefs.rmdir(`instances/${group}`).catch(() => {});
    let removed = true;
    for (const event of events) {
      await tracefs.write(`events/${group}/${event}/enable`, '0').catch(() => {});
      await tracefs.appendProbe(`-:${group}/${event}`).catch(() => {
        removed = false;
      });
    }
    if (removed) swept.push(group);
  }
  return swept;
}
