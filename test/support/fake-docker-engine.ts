// A fake Docker Engine API on a unix socket the test makes: answers GET /version, /containers/json,
// /containers/{id}/json and /containers/{id}/stats from the recordings in test/fixtures/docker (or
// from what the test puts in `answers`), and counts the requests so tests can check the cadence.
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

export const DOCKER_FIXTURES = path.join(import.meta.dirname, '../fixtures/docker');

export interface FakeDockerEngine {
  socketPath: string;
  /** Path (without the query) → JSON answer; edit to change what the engine says. */
  answers: Map<string, unknown>;
  /** Every request path with its query, in order. */
  requests: string[];
  close(): Promise<void>;
}

export function recordedDockerAnswers(options: { podman?: boolean } = {}): Map<string, unknown> {
  const read = (file: string) => JSON.parse(readFileSync(path.join(DOCKER_FIXTURES, file), 'utf8')) as unknown;
  const answers = new Map<string, unknown>();
  answers.set('/version', read(options.podman ? 'podman-version.json' : 'version.json'));
  answers.set('/containers/json', read('containers.json'));
  for (const f of readdirSync(path.join(DOCKER_FIXTURES, 'inspect'))) answers.set(`/containers/${f.replace('.json', '')}/json`, read(`inspect/${f}`));
  for (const f of readdirSync(path.join(DOCKER_FIXTURES, 'stats'))) answers.set(`/containers/${f.replace('.json', '')}/stats`, read(`stats/${f}`));
  return answers;
}

export async function startFakeDockerEngine(socketPath: string, answers = recordedDockerAnswers()): Promise<FakeDockerEngine> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    requests.push(url);
    // Real clients may prefix the API version: /v1.47/containers/json
    const plain = url.split('?')[0].replace(/^\/v\d+\.\d+/, '');
    const body = req.method === 'GET' ? answers.get(plain) : undefined;
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: `No such object: ${plain}` }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'api-version': '1.47', server: 'Docker/27.3.1 (linux)' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    socketPath,
    answers,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
