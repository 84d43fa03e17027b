// Types for entry-points.js (plain JavaScript so that choosing the files costs no type stripping).
export interface EntryPoints {
  mode: 'built' | 'sources';
  /** Absolute paths of the modules to import. */
  hub: string;
  collector: string;
  /** Modules exporting hubHelp/hubOptions and collectorHelp/collectorOptions (help without the rest). */
  hubUsage: string;
  collectorUsage: string;
  /** Why this mode, for diagnostics. */
  reason: string;
}

/** The built files (dist/) under node_modules or when the sources are absent; else the sources. */
export function entryPoints(root: string, exists: (file: string) => boolean): EntryPoints;
