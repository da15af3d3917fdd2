/**
 * Whether `--profile` names a JSON file rather than a built-in profile: anything with a `/` or ending in
 * `.json` (no built-in name has either). Its own module so that the command line can tell without loading
 * the profiles.
 */
export const isProfileFileName = (name: string): boolean => name.includes('/') || name.endsWith('.json');
