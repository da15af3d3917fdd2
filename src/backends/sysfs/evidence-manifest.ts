import { isKernelName, type KernelNameKind } from '../../core/names.js';

/**
 * Every path the sysfs backend reads, relative to `--root` and spelled as the kernel spells it (DESIGN §6).
 * The readers take their paths from here, and `collect` walks EVIDENCE_TREE below, which is built from
 * the same names: a path a reader uses that the tree does not cover is a test failure
 * (test/unit/sysfs-evidence-manifest.test.ts), so an archive always holds what probe and regions read.
 */

/** proc/sys/kernel/osrelease and arch; proc/cpuinfo for the x86 hypervisor flag (and arch when arch is missing). */
export const PLATFORM_FILES = {
  osrelease: 'proc/sys/kernel/osrelease',
  arch: 'proc/sys/kernel/arch',
  cpuinfo: 'proc/cpuinfo',
} as const;

/** CONFIG_IKCONFIG_PROC, else the config a distribution installs next to the kernel. */
export const KERNEL_CONFIG_GZ = 'proc/config.gz';
/** A release as osrelease prints it may become part of this path only when it has this shape. */
export const RELEASE_NAME = /^[A-Za-z0-9._+~-]+$/;
export const bootConfig = (release: string): string => `boot/config-${release}`;

/** The kernel log ring (records `prio,seq,usec,flags;text`); a plain file in a test tree or an archive. */
export const KMSG = 'dev/kmsg';
export const KALLSYMS = 'proc/kallsyms';
export const IOMEM = 'proc/iomem';

/** drivers/firmware/psci/psci.c, psci_debugfs_read(). */
export const PSCI_DEBUGFS = 'sys/kernel/debug/psci';
/** The device tree as procfs links it, and where sysfs has it. */
export const DEVICE_TREES = ['proc/device-tree', 'sys/firmware/devicetree/base'] as const;
export const PSCI_METHOD = 'psci/method';
/** Present on ACPI machines (the PSCI conduit then comes from the FADT). */
export const ACPI_TABLES = 'sys/firmware/acpi/tables';

/** SoC devices (drivers/base/soc.c): the SMCCC SOC_ID driver registers one of them. */
export const SOC_PARENT = 'sys/devices';
export const SOC_DEVICE = /^soc\d+$/;
export const SOC_ATTRIBUTES = ['soc_id', 'family', 'revision', 'machine'] as const;

/** Every device bound to the HiSilicon HHA driver registered a provider instance. */
export const HISI_HHA_DRIVER = 'sys/bus/platform/drivers/hisi_soc_hha';
export const DRIVER_CONTROL_FILES = ['bind', 'unbind', 'uevent', 'module'] as const;

export const LOCKDOWN = 'sys/kernel/security/lockdown';

/** Where tracefs is mounted: its own mount point, else inside debugfs (older setups). */
export const TRACEFS_MOUNTS = ['sys/kernel/tracing', 'sys/kernel/debug/tracing'] as const;
export const KPROBE_EVENTS = 'kprobe_events';
export const TRACE_FILE = 'trace';

/** CXL objects as `Documentation/ABI/testing/sysfs-bus-cxl` describes them. */
export const CXL_DEVICES = 'sys/bus/cxl/devices';
export const CXL_REGION_FILES = {
  resource: 'resource',
  size: 'size',
  interleaveWays: 'interleave_ways',
  mode: 'mode',
  commit: 'commit',
  /** Since Linux 7.1: 0444, `%d\n` (drivers/cxl/core/region.c locked_show()). */
  locked: 'locked',
} as const;
export const cxlRegionTarget = (position: number): string => `target${position}`;
export const CXL_TARGET = /^target[0-9]+$/;
export const DAX_REGION = /^dax_region[0-9]+$/;
export const PMEM_REGION = /^pmem_region[0-9]+$/;
export const CXL_MEMDEV_FILES = {
  ramSize: 'ram/size',
  pmemSize: 'pmem/size',
  serial: 'serial',
  securityState: 'security/state',
} as const;
/** Write-only triggers: their presence says which erase methods the device has. */
export const CXL_MEMDEV_TRIGGERS = { sanitize: 'security/sanitize', erase: 'security/erase' } as const;
export const CXL_ENDPOINT_FILES = { uport: 'uport', decodersCommitted: 'decoders_committed' } as const;
/** The link whose basename names the bound driver. */
export const DRIVER_LINK = 'driver';

/** NVDIMM bus objects (`Documentation/ABI/testing/sysfs-bus-nvdimm`). */
export const ND_DEVICES = 'sys/bus/nd/devices';
export const ND_DIMM_FILES = ['security', 'state', 'flags'] as const;
export const ND_REGION_FILES = {
  resource: 'resource',
  size: 'size',
  mappings: 'mappings',
  nstype: 'nstype',
} as const;
export const ndMapping = (position: number): string => `mapping${position}`;
export const ND_MAPPING = /^mapping[0-9]+$/;

/** Memory hotplug blocks (`Documentation/ABI/testing/sysfs-devices-memory`): the "in use" check of a region. */
export const MEMORY_BLOCKS = 'sys/devices/system/memory';
export const MEMORY_BLOCK_SIZE = 'block_size_bytes';
export const MEMORY_BLOCK_STATE = 'state';

/** Which entry names a child spec applies to: a RegExp, or a kernel-name check (core/names.ts). */
export interface NameMatch {
  test(name: string): boolean;
}

/**
 * What `collect` records under one directory. Paths inside are relative to it; a name the readers build
 * from a number (`target3`) is a pattern over the directory's entries.
 */
export interface TreeSpec {
  /** Files read for their content. */
  files?: readonly string[];
  /** Entries read for their content when their name matches. */
  filePatterns?: readonly RegExp[];
  /** Links the readers only read (readlink): recorded as links, never followed. */
  links?: readonly string[];
  /** Paths whose existence alone is evidence: recorded empty. */
  presence?: readonly string[];
  /** The directory's entry names are evidence (counted or filtered): each recorded empty, links as links. */
  listed?: boolean;
  /** Sub-directories by name, each with its own spec. */
  children?: readonly { match: NameMatch; spec: TreeSpec }[];
}

/** One item of the evidence: a file, the kernel log ring, or a directory tree. */
export type EvidenceItem =
  | { kind: 'file'; path: string }
  | { kind: 'ring'; path: string }
  | { kind: 'tree'; path: string; spec: TreeSpec };

const named = (kind: KernelNameKind): NameMatch => ({ test: (name) => isKernelName(kind, name) });

const CXL_TREE: TreeSpec = {
  children: [
    {
      match: named('region'),
      spec: {
        files: Object.values(CXL_REGION_FILES),
        filePatterns: [CXL_TARGET],
        links: [DRIVER_LINK],
        children: [
          {
            match: DAX_REGION,
            spec: { children: [{ match: named('dax'), spec: { links: [DRIVER_LINK] } }] },
          },
          { match: PMEM_REGION, spec: { links: [DRIVER_LINK] } },
        ],
      },
    },
    {
      match: named('endpoint'),
      spec: { files: [CXL_ENDPOINT_FILES.decodersCommitted], links: [CXL_ENDPOINT_FILES.uport] },
    },
    {
      match: named('memdev'),
      spec: { files: Object.values(CXL_MEMDEV_FILES), presence: Object.values(CXL_MEMDEV_TRIGGERS) },
    },
  ],
};

const ND_TREE: TreeSpec = {
  children: [
    { match: named('nmem'), spec: { files: ND_DIMM_FILES } },
    {
      match: named('region'),
      spec: { files: Object.values(ND_REGION_FILES), filePatterns: [ND_MAPPING], links: [DRIVER_LINK] },
    },
  ],
};

/**
 * Everything the sysfs backend reads, in the order `collect` records it. `boot/config-<release>` depends
 * on osrelease and is added by the collector (bootConfig above).
 */
export const EVIDENCE: readonly EvidenceItem[] = [
  ...Object.values(PLATFORM_FILES).map((path) => ({ kind: 'file' as const, path })),
  { kind: 'file', path: KERNEL_CONFIG_GZ },
  { kind: 'ring', path: KMSG },
  { kind: 'file', path: KALLSYMS },
  { kind: 'file', path: IOMEM },
  { kind: 'file', path: PSCI_DEBUGFS },
  ...DEVICE_TREES.map((path) => ({
    kind: 'tree' as const,
    path,
    spec: { listed: true, files: [PSCI_METHOD] },
  })),
  { kind: 'tree', path: ACPI_TABLES, spec: {} },
  {
    kind: 'tree',
    path: SOC_PARENT,
    spec: { children: [{ match: SOC_DEVICE, spec: { files: SOC_ATTRIBUTES } }] },
  },
  { kind: 'tree', path: HISI_HHA_DRIVER, spec: { listed: true } },
  { kind: 'file', path: LOCKDOWN },
  ...TRACEFS_MOUNTS.map((path) => ({
    kind: 'tree' as const,
    path,
    spec: { listed: true, presence: [KPROBE_EVENTS, TRACE_FILE] },
  })),
  { kind: 'tree', path: CXL_DEVICES, spec: CXL_TREE },
  { kind: 'tree', path: ND_DEVICES, spec: ND_TREE },
  {
    kind: 'tree',
    path: MEMORY_BLOCKS,
    spec: {
      files: [MEMORY_BLOCK_SIZE],
      children: [{ match: named('memoryBlock'), spec: { files: [MEMORY_BLOCK_STATE] } }],
    },
  },
];
