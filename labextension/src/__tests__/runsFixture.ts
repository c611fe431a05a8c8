// A fake /nbmlops/api for the runs view's tests: `requestAPI` answers from a list of runs.
import { ApiError } from '../api';
import { RunRecord, RunStatus } from '../types';

/** `count` runs named run-0..., newest first; every 7th is RUNNING; params C and `batch size`, metric acc. */
export function makeRuns(count: number): RunRecord[] {
  const runs: RunRecord[] = [];
  for (let i = 0; i < count; i++) {
    const status: RunStatus = i % 7 === 0 ? 'RUNNING' : 'FINISHED';
    runs.push({
      run_id: `id${String(i).padStart(5, '0')}`,
      name: `run-${i}`,
      experiment: 'churn',
      status,
      start_time: new Date(Date.UTC(2026, 0, 1) - i * 60_000).toISOString(),
      end_time: null,
      duration: 10 + i,
      user: 'ada',
      host: 'lab',
      parent_run_id: null,
      notebook: 'work/notebooks/train.ipynb',
      params: { C: (i % 10) / 10, 'batch size': 32 },
      metrics: { acc: 0.5 + (i % 50) / 100 },
      tags: { team: 'a' }
    });
  }
  return runs;
}

export interface FakeServer {
  runs: RunRecord[];
  /** The runs requests seen, as URLSearchParams. */
  requests: URLSearchParams[];
  keysRequests: number;
  /** Answer runs requests with `where` equal to this with a 400 at `position`. */
  reject: { where: string; message: string; position: number } | null;
  handle(path: string): Promise<unknown>;
}

/** A fake server: `where` supports only `params.C = <number>` (anything else matches nothing). */
export function fakeServer(runs: RunRecord[]): FakeServer {
  const server: FakeServer = {
    runs,
    requests: [],
    keysRequests: 0,
    reject: null,
    async handle(path: string): Promise<unknown> {
      const [route, search = ''] = path.split('?');
      const params = new URLSearchParams(search);
      if (route === 'keys') {
        server.keysRequests++;
        return { params: ['C', 'batch size'], metrics: ['acc'], tags: ['team'], directions: { acc: 'max' } };
      }
      if (route !== 'runs') {
        throw new ApiError('not found', 404);
      }
      server.requests.push(params);
      const where = params.get('where') ?? '';
      if (server.reject && where === server.reject.where) {
        throw new ApiError(server.reject.message, 400, {
          error: server.reject.message,
          position: server.reject.position
        });
      }
      let matching = server.runs;
      const match = /^params\.C = ([\d.]+)$/.exec(where);
      if (match) {
        matching = matching.filter(run => run.params.C === Number(match[1]));
      } else if (where) {
        matching = [];
      }
      const order = params.get('order_by');
      if (order === 'params.C asc' || order === 'params.C desc') {
        const sign = order.endsWith('desc') ? -1 : 1;
        matching = [...matching].sort((a, b) => sign * ((a.params.C as number) - (b.params.C as number)));
      }
      const offset = Number(params.get('offset') ?? 0);
      const limit = Number(params.get('limit') ?? 100);
      return { runs: matching.slice(offset, offset + limit), total: matching.length, offset, limit };
    }
  };
  return server;
}
