import { userInfo } from 'node:os';
import path from 'node:path';

/**
 * Where the lab keeps downloads and built images: $XDG_CACHE_HOME/memregion/lab, else
 * ~/.cache/memregion/lab. Only absolute values count (the XDG rule for its variables, and the only sane
 * reading of HOME): a relative or empty HOME, as `sudo` or a careless `env` can leave, made the cache a
 * folder below the current directory; then the home folder is the account's own (passwd).
 */
export function labCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)
      ? env.XDG_CACHE_HOME
      : path.join(homeDir(env), '.cache');
  return path.join(base, 'memregion', 'lab');
}

function homeDir(env: NodeJS.ProcessEnv): string {
  if (env.HOME && path.isAbsolute(env.HOME)) return env.HOME;
  const account = userInfo().homedir;
  return path.isAbsolute(account) ? account : '/';
}
