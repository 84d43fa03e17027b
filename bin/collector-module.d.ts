// Types for collector-module.js (plain JavaScript so that choosing the module costs no type stripping).
export interface CollectorModuleChoice {
  kind: 'bundle' | 'source';
  /** Absolute path of the module to import. */
  file: string;
  /** Why this one, for diagnostics. */
  reason: string;
}

/** The bundle dist/collector.mjs when it exists and nothing under collector/, proto/ or package.json is newer; else the sources. */
export function collectorModule(root: string): CollectorModuleChoice;
