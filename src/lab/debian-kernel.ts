import { unavailableError } from '../core/errors.js';
import { PrivateApt } from './debian-apt.js';
import { type KernelFiles, unpackedKernel } from './kernel-files.js';
import type { LabArch } from './options.js';

export interface DebianKernelRequest {
  arch: LabArch;
  /** `sid` (the newest suite: the default) or an older one such as `bookworm`. */
  suite: string;
  /** Only kernels of this series, e.g. `6.1` (default: the newest of the suite). */
  series?: string;
  cacheDir: string;
  onProgress?: (text: string) => void;
}

/** Orders "7.2.13+deb14" against "7.10.1+deb14" by their numbers. */
export function compareKernelVersions(a: string, b: string): number {
  const na = a.match(/\d+/g)?.map(Number) ?? [];
  const nb = b.match(/\d+/g)?.map(Number) ?? [];
  for (let i = 0; i < Math.max(na.length, nb.length); i++) {
    const d = (na[i] ?? -1) - (nb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The packages of the newest generic kernel among `names` (no cloud, rt or 16k flavour). Debian 7.x splits
 * a kernel into linux-binary-<v>-<arch> (the image), linux-modules-<v>-<arch> and linux-base-<v>-<arch>
 * (config, modules.builtin); older suites ship linux-image-<v>-<arch>-unsigned with all of it.
 */
export function chooseKernelPackages(names: string[], arch: string, series?: string): string[] | null {
  const inSeries = (v: string) =>
    !series || v === series || v.startsWith(`${series}.`) || v.startsWith(`${series}-`);
  const newest = (re: RegExp) =>
    names
      .map((n) => re.exec(n)?.[1])
      .filter((v): v is string => v !== undefined && inSeries(v))
      .sort(compareKernelVersions)
      .pop();
  const split = newest(new RegExp(`^linux-binary-(\\d+\\.\\d+[^-]*)-${arch}$`));
  if (split) {
    const base = `linux-base-${split}-${arch}`;
    return [
      `linux-binary-${split}-${arch}`,
      `linux-modules-${split}-${arch}`,
      ...(names.includes(base) ? [base] : []),
    ];
  }
  const whole = newest(new RegExp(`^linux-image-(\\d+\\.\\d+[^-]*-\\d+)-${arch}-unsigned$`));
  return whole ? [`linux-image-${whole}-${arch}-unsigned`] : null;
}

/** Debian's kernel for the lab: the newest of the suite (or of a series), cached under the cache folder. */
export async function debianKernel(request: DebianKernelRequest): Promise<KernelFiles> {
  const apt = new PrivateApt(request.cacheDir, request.suite, request.arch);
  await apt.prepare(request.onProgress);
  const packages = chooseKernelPackages(await apt.names('linux-'), apt.arch, request.series);
  if (!packages) {
    throw unavailableError(
      `no kernel packages${request.series ? ` of Linux ${request.series}` : ''} for ${apt.arch} in Debian ${request.suite}`,
    );
  }
  const key = packages[0]!.replace(/^linux-(binary|image)-/, '');
  const unpacked = await apt.unpack(packages, key, request.onProgress);
  return unpackedKernel(unpacked, { kind: 'debian', packages, suite: request.suite });
}

/** busybox-static of the guest's architecture (the guest's only shell and tools). */
export async function debianBusybox(
  cacheDir: string,
  arch: LabArch,
  onProgress?: (text: string) => void,
): Promise<string> {
  const apt = new PrivateApt(cacheDir, 'sid', arch);
  await apt.prepare(onProgress);
  const unpacked = await apt.unpack(['busybox-static'], 'busybox-static', onProgress);
  return `${unpacked}/usr/bin/busybox`;
}
