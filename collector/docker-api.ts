// A minimal client of the Docker Engine API (which Podman also serves) over its unix socket: GET
// requests with JSON answers, each bounded in time and size. The container source asks it for the
// list of containers and their details at a slow cadence; the numbers come from cgroup files.
// node:http is taken with process.getBuiltinModule when the client is made, not imported: an ESM
// import of node:http reads every export, and its WebSocket getter loads undici (5 MiB resident).
import type * as NodeHttp from 'node:http';

export interface DockerApi {
  readonly socketPath: string;
  get<T = unknown>(path: string): Promise<T>;
}

/** An answer larger than this is refused: the list of 1,000 containers stays well below it. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export class DockerApiError extends Error {
  override name = 'DockerApiError';
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.status = status;
  }
}

export function createDockerApi(socketPath: string, options: { timeoutMs?: number } = {}): DockerApi {
  const timeoutMs = options.timeoutMs ?? 5000;
  const http = process.getBuiltinModule('node:http') as typeof NodeHttp;
  // One kept-alive connection for the requests of a refresh, closed when idle.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4, timeout: 10_000 });
  return {
    socketPath,
    get<T>(path: string): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const req = http.get({ socketPath, path, agent, headers: { host: 'docker', accept: 'application/json' }, timeout: timeoutMs }, (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              req.destroy(new DockerApiError(`${path}: answer larger than ${MAX_RESPONSE_BYTES} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if ((res.statusCode ?? 0) >= 300) {
              reject(new DockerApiError(`${path}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`, res.statusCode));
              return;
            }
            try {
              resolve(JSON.parse(text) as T);
            } catch {
              reject(new DockerApiError(`${path}: the answer is not JSON`));
            }
          });
        });
        req.on('timeout', () => req.destroy(new DockerApiError(`${path}: no answer within ${timeoutMs} ms`)));
        req.on('error', reject);
      });
    },
  };
}
