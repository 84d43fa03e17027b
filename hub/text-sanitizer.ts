// The one place that decides which characters a collector-sent name or label may hold, used by the
// report validation (refuse) and by ingest (neutralise) alike:
// - C0/C1 control characters (NUL, newline, ESC of ANSI sequences, DEL ...) are refused: they forge
//   log lines and terminal output, and no real name holds them.
// - Invisible formatting characters — bidirectional overrides and isolates (U+202A–U+202E,
//   U+2066–U+2069, U+200E/U+200F, U+061C) and zero-width characters (U+200B–U+200D, U+2060, U+FEFF) —
//   are removed: "safe\u202Eexe.txt" would show as "safetxt.exe", and a zero-width space makes two
//   names look alike. Real hostnames and labels can carry them by accident (copied text), so they
//   are dropped instead of refusing the report.
// Pure apart from neutralizeHello/neutralizeReport, which rewrite a freshly decoded message in place.
// Never throws.
import type { Hello } from '../proto/gen/sysmonstm/v1/ingest_pb.js';
import type { Report } from '../proto/gen/sysmonstm/v1/report_pb.js';

/** C0 and C1 control characters (NUL, newline, escape ...). */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** Bidi overrides/isolates/marks and zero-width characters. */
const INVISIBLE_FORMATTING = /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

export function hasControlCharacters(text: string): boolean {
  return CONTROL_CHARACTERS.test(text);
}

/** `text` without bidi controls and zero-width characters (the same string when it has none). */
export function neutralizeText(text: string): string {
  INVISIBLE_FORMATTING.lastIndex = 0;
  return INVISIBLE_FORMATTING.test(text) ? text.replace(INVISIBLE_FORMATTING, '') : text;
}

/** A label map with keys and values neutralised (a key that becomes empty or collides is dropped). */
export function neutralizeLabels(labels: Record<string, string>): Record<string, string> {
  let changed = false;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    const key = neutralizeText(k);
    const value = neutralizeText(v);
    if (key !== k || value !== v) changed = true;
    if (key === '' || Object.hasOwn(out, key)) continue;
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return changed ? out : labels;
}

/** Neutralises the names and labels of a hello in place. */
export function neutralizeHello(hello: Hello): void {
  hello.hostname = neutralizeText(hello.hostname);
  hello.displayName = neutralizeText(hello.displayName);
  hello.labels = neutralizeLabels(hello.labels);
}

/** Neutralises every name and label of a report in place (control characters were refused before). */
export function neutralizeReport(report: Report): void {
  report.hostname = neutralizeText(report.hostname);
  report.displayName = neutralizeText(report.displayName);
  report.labels = neutralizeLabels(report.labels);
  for (const fs of report.filesystems) {
    fs.mount = neutralizeText(fs.mount);
    fs.device = neutralizeText(fs.device);
    fs.fsType = neutralizeText(fs.fsType);
  }
  for (const d of report.disks) d.device = neutralizeText(d.device);
  for (const n of report.network) n.name = neutralizeText(n.name);
  for (const t of report.temperatures) t.sensor = neutralizeText(t.sensor);
  for (const c of report.containers) {
    c.id = neutralizeText(c.id);
    c.name = neutralizeText(c.name);
    c.state = neutralizeText(c.state);
    c.image = neutralizeText(c.image);
    c.health = neutralizeText(c.health);
  }
  for (const p of report.topProcesses) {
    p.name = neutralizeText(p.name);
    p.user = neutralizeText(p.user);
  }
  for (const g of report.gpus) g.name = neutralizeText(g.name);
  for (const d of report.diskHealth) {
    d.device = neutralizeText(d.device);
    d.model = neutralizeText(d.model);
  }
  for (const v of report.services) v.name = neutralizeText(v.name);
}
