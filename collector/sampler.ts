// The Sampler interface both samplers implement (/proc on Linux, systeminformation elsewhere) and the
// plain shape of one machine sample: the metric part of a Report, without identity, seq or timestamp,
// which the collector adds. Field names match report.proto so a sample spreads straight into a Report.

export interface CpuSample {
  totalPercent: number;
  perCorePercent: number[];
  userPercent: number;
  systemPercent: number;
  iowaitPercent: number;
  stealPercent: number;
  coreCount: number;
}

export interface MemorySample {
  totalBytes: number;
  usedBytes: number;
  availableBytes: number;
  usedPercent: number;
  swapTotalBytes: number;
  swapUsedBytes: number;
  swapPercent: number;
}

export interface LoadSample {
  load1m: number;
  load5m: number;
  load15m: number;
}

export interface FilesystemSample {
  mount: string;
  device: string;
  fsType: string;
  sizeBytes: number;
  usedBytes: number;
  usedPercent: number;
}

export interface DiskIoSample {
  device: string;
  readBytesPerSec: number;
  writeBytesPerSec: number;
  readOpsPerSec: number;
  writeOpsPerSec: number;
}

export interface NetworkSample {
  name: string;
  recvBytesPerSec: number;
  sentBytesPerSec: number;
  recvBytesTotal: number;
  sentBytesTotal: number;
  recvErrorsPerSec: number;
  sentErrorsPerSec: number;
}

export interface TemperatureSample {
  sensor: string;
  celsius: number;
}

export interface MachineSample {
  cpu: CpuSample;
  memory: MemorySample;
  load: LoadSample;
  filesystems: FilesystemSample[];
  disks: DiskIoSample[];
  network: NetworkSample[];
  processCount: number;
  uptimeSeconds: number;
  temperatures: TemperatureSample[];
}

// The sources beside the sampler (extra-sources.ts): containers, top processes, GPUs, disk health and
// services, each detected at start and absent where the machine has none.

/** What the engine API says of a container (the list and inspect calls), shared by the sample. */
export interface ContainerIdentity {
  id: string;
  name: string;
  image: string;
  state: string;
  health: string;
  restartCount: number;
}

export interface ContainerSample extends ContainerIdentity {
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  memoryPercent: number;
  netRecvBytesPerSec: number;
  netSentBytesPerSec: number;
  blockReadBytesPerSec: number;
  blockWriteBytesPerSec: number;
}

export interface ProcessSample {
  pid: number;
  name: string;
  user: string;
  cpuPercent: number;
  rssBytes: number;
  state: string;
}

export interface GpuSample {
  /** nvidia and amd on Linux (nvidia-smi, sysfs); off Linux whatever systeminformation names (si-extra-parsers.ts). */
  vendor: 'nvidia' | 'amd' | 'intel' | 'apple';
  index: number;
  name: string;
  utilizationPercent: number;
  memoryUsedBytes: number;
  memoryTotalBytes: number;
  temperatureCelsius: number;
  hasTemperature: boolean;
  powerWatts: number;
}

export interface DiskHealthSample {
  device: string;
  model: string;
  passed: boolean;
  temperatureCelsius: number;
  powerOnHours: number;
  reallocatedSectors: number;
  pendingSectors: number;
  percentageUsed: number;
  checkedAtMs: bigint;
}

export interface ServiceSample {
  name: string;
  activeState: string;
  subState: string;
  restarts: number;
  memoryBytes: number;
}

/** The part of a Report the extra sources fill; a field is left out when its source is absent or not due. */
export interface ExtraSample {
  containers?: ContainerSample[];
  topProcesses?: ProcessSample[];
  gpus?: GpuSample[];
  diskHealth?: DiskHealthSample[];
  services?: ServiceSample[];
}

/** What the Hello tells the hub about the machine, gathered once at start. */
export interface MachineInfo {
  os: string;
  kernel: string;
  arch: string;
  cpuModel: string;
}

export interface Sampler {
  readonly kind: 'proc' | 'systeminformation';
  /** Reads the counters once so the first sample has rates over a real interval. */
  prime(): Promise<void>;
  /** One sample; rates are over the time since the previous call (or prime()). */
  sample(): Promise<MachineSample>;
  describe(): Promise<MachineInfo>;
}

/** The sources beside the machine's metrics (containers, top processes, GPUs, disk health, services),
 *  read by /proc, /sys and the engine API on Linux (extra-sources.ts) or systeminformation elsewhere. */
export interface ExtraSources {
  /** Detects every source (logged once each). */
  start(): Promise<void>;
  /** What the sources have for this report; a field is absent when its source is off or not due. */
  sample(): Promise<ExtraSample>;
  close(): Promise<void>;
  /** The names of the sources found at start. */
  readonly active: readonly string[];
}
