// Fake `nvidia-smi`, `smartctl` and `systemctl` executables for a bin directory put first on PATH:
// shell scripts printing the recordings in test/fixtures (real output formats) and appending each
// invocation to <bin>/calls.log, so tests can check what ran and how often.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const FIXTURES = path.join(import.meta.dirname, '../fixtures');

function script(bin: string, name: string, body: string): void {
  const file = path.join(bin, name);
  writeFileSync(file, `#!/bin/sh\necho "${name} $*" >> "${bin}/calls.log"\nF="${FIXTURES}"\n${body}\n`);
  chmodSync(file, 0o755);
}

export function writeFakeExecutables(bin: string): { bin: string; calls(): string[] } {
  mkdirSync(bin, { recursive: true });
  // nvidia-smi --query-gpu=… --format=csv,noheader,nounits -l N: the recording every N seconds.
  script(bin, 'nvidia-smi', `N=1
while [ $# -gt 0 ]; do [ "$1" = "-l" ] && N="$2"; shift; done
while true; do cat "$F/nvidia-smi/query.csv"; sleep "$N"; done`);
  // smartctl -j --scan | smartctl -j -a -n standby -d TYPE /dev/X (exits with the recording's exit_status).
  script(bin, 'smartctl', `for a in "$@"; do [ "$a" = "--scan" ] && exec cat "$F/smartctl/scan.json"; last="$a"; done
file="$F/smartctl/$(basename "$last").json"
[ -f "$file" ] || file="$F/smartctl/permission-denied.json"
cat "$file"
exit $(sed -n 's/.*"exit_status": *\\([0-9]*\\).*/\\1/p' "$file" | head -n 1)`);
  script(bin, 'systemctl', `case "$1" in
  list-units) cat "$F/systemctl/list-units.txt" ;;
  show) cat "$F/systemctl/show.txt" ;;
  *) echo "unknown command $1" >&2; exit 1 ;;
esac`);
  return {
    bin,
    calls() {
      try {
        return readFileSync(path.join(bin, 'calls.log'), 'utf8').trim().split('\n').filter(Boolean);
      } catch {
        return [];
      }
    },
  };
}
