import type { Logger } from '../../core/log.js';
import { formatRemoval, replayKprobeEvents, type Tracefs } from './tracefs.js';

/** `memregion_<pid>`: the event group a trace session names after its process (tracefs.ts groupName). */
const OUR_GROUP = /^memregion_([1-9][0-9]{0,9})$/;

/** True while a process with this pid exists (EPERM: it exists, owned by someone else). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the kprobe groups (and their tracing instances) that a memregion killed without a chance to
 * clean up (SIGKILL, a crash, a power cut of the session) left behind: those whose owner pid no longer
 * runs. Says so on stderr. Best effort: a group that cannot be removed is reported and left.
 */
export async function removeDeadSessions(tracefs: Tracefs, log: Logger): Promise<string[]> {
  let text: string;
  try {
    text = await tracefs.readProbes();
  } catch {
    return [];
  }
  const byGroup = new Map<string, string[]>();
  for (const name of replayKprobeEvents(text)) {
    const [group, event] = name.split('/') as [string, string];
    const match = OUR_GROUP.exec(group);
    if (!match || Number(match[1]) === process.pid || isAlive(Number(match[1]))) continue;
    byGroup.set(group, [...(byGroup.get(group) ?? []), event]);
  }
  const removed: string[] = [];
  for (const [group, events] of byGroup) {
    const instance = `instances/${group}`;
    // Disabled everywhere first: the kernel refuses to remove an enabled event (EBUSY).
    for (const enable of [`${instance}/events/${group}/enable`, `events/${group}/enable`])
      await tracefs.write(enable, '0').catch(() => {});
    await tracefs.rmdir(instance).catch(() => {});
    const failed: string[] = [];
    for (const event of events) {
      await tracefs.appendProbe(formatRemoval(group, event)).catch((error: NodeJS.ErrnoException) => {
        failed.push(`${event}: ${error.code ?? 'error'}`);
      });
    }
    const pid = group.slice('memregion_'.length);
    if (failed.length === 0) {
      log.warn(`removed kprobe group ${group}, left behind by memregion pid ${pid}, which no longer runs`);
      removed.push(group);
    } else {
      log.warn(
        `cannot remove kprobe group ${group} of memregion pid ${pid}, which no longer runs (${failed.join(', ')})`,
      );
    }
  }
  return removed;
}
