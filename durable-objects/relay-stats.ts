// Counters a relay object keeps in memory (reset when the object is evicted or hibernates and wakes):
// what the tests read through GET /api/relay-stats to measure billable work for docs/cost.md.
export interface RelayStats {
  role: 'relay' | 'coordinator';
  name: string;
  /** Epoch ms when this instance was constructed (counters start there). */
  sinceMs: number;
  /** fetch() calls: WebSocket upgrades of viewers and hubs (each a billed request). */
  fetches: number;
  /** RPC calls received (each a billed request). */
  rpcCalls: number;
  /** Frames received on hub sockets (billed 20:1 as requests). */
  hubFramesIn: number;
  /** Frames viewers sent that reached the object (ignored; pings are answered without waking it). */
  viewerFramesIn: number;
  framesAccepted: number;
  framesRejected: number;
  /** Frames sent to viewers (not billed). */
  viewerFramesOut: number;
  broadcasts: number;
  viewerConnects: number;
  /** Viewer handshakes refused with 429 (per-address socket cap or connection rate). */
  viewersRefused: number;
  /** Viewer sockets closed for sending too much (read-only sockets), each counted once. */
  viewersClosedForAbuse: number;
  /** Acks viewers sent that acknowledged new frames (billed 20:1; the slow-viewer signal). */
  viewerAcks: number;
  /** Viewers paused for not acknowledging, resumed with a snapshot after catching up, closed (4408). */
  viewersPaused: number;
  viewersResumed: number;
  viewersClosedSlow: number;
  /** Viewer sockets closed for being slow that the runtime still holds (their peer has not read the close). */
  viewersClosing?: number;
  /** Hub deltas merged into a later viewer frame by the byte allowance (VIEWER_BYTES_PER_S). */
  deltasCoalesced?: number;
  hubConnects: number;
  viewers: number;
  hubs: number;
  machines: number;
  alarmsRun: number;
  alarmsSet: number;
  checkpoints: number;
  /** SQLite rows written by checkpoints, as reported by the cursors (billed per million). */
  rowsWritten: number;
  rowsRead: number;
  lastCheckpointChars: number;
  /** RPC calls this object made to shards (coordinator only). */
  rpcCallsOut: number;
  /** Calls to a shard that failed (coordinator only); each is followed by a snapshot from the hub. */
  shardFailures?: number;
}

export function emptyRelayStats(role: RelayStats['role'], name: string, sinceMs: number): RelayStats {
  return {
    role,
    name,
    sinceMs,
    fetches: 0,
    rpcCalls: 0,
    hubFramesIn: 0,
    viewerFramesIn: 0,
    framesAccepted: 0,
    framesRejected: 0,
    viewerFramesOut: 0,
    broadcasts: 0,
    viewerConnects: 0,
    viewersRefused: 0,
    viewersClosedForAbuse: 0,
    viewerAcks: 0,
    viewersPaused: 0,
    viewersResumed: 0,
    viewersClosedSlow: 0,
    hubConnects: 0,
    viewers: 0,
    hubs: 0,
    machines: 0,
    alarmsRun: 0,
    alarmsSet: 0,
    checkpoints: 0,
    rowsWritten: 0,
    rowsRead: 0,
    lastCheckpointChars: 0,
    rpcCallsOut: 0,
  };
}
