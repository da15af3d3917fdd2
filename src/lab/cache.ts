import { homedir } from 'node:os';
import path from 'node:path';

/** Where the lab keeps downloads and built images: $XDG_CACHE_HOME/memregion/lab, else ~/.cache/memregion/lab. */
export function labCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)
      ? env.XDG_CACHE_HOME
      : path.join(homedir(), '.cache');
  return path.join(base, 'memregion', 'lab');
}
