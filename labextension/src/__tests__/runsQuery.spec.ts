import { ApiError, requestAPI } from '../api';
import { NbmlopsModel } from '../model';
import { columnOf, orderByText, reference } from '../runsColumns';
import { RunsQuery } from '../runsQuery';
import { FakeServer, fakeServer, makeRuns } from './runsFixture';

jest.mock('../api', () => ({ ...jest.requireActual<typeof import('../api')>('../api'), requestAPI: jest.fn() }));

const mockedRequest = requestAPI as jest.MockedFunction<typeof requestAPI>;

let server: FakeServer;
let model: NbmlopsModel;

function newQuery(storage: Storage | null = null): RunsQuery {
  return new RunsQuery({ model, experiments: ['churn'], blockSize: 100, fetchDelay: 0, freshFor: 0, storage });
}

function lastRequest(): URLSearchParams {
  return server.requests[server.requests.length - 1];
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await new Promise(resolve => setTimeout(resolve, 0));
  }
}

beforeEach(() => {
  server = fakeServer(makeRuns(10_000));
  mockedRequest.mockReset();
  mockedRequest.mockImplementation((path: string) => server.handle(path));
  model = new NbmlopsModel();
});

afterEach(() => model.dispose());

describe('RunsQuery', () => {
  it('loads the first block and the total, not all runs', async () => {
    const query = newQuery();
    await query.start();
    expect(query.total).toBe(10_000);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0].get('limit')).toBe('100');
    expect(server.requests[0].get('offset')).toBe('0');
    expect(server.requests[0].getAll('experiment')).toEqual(['churn']);
    expect(query.rowAt(0)?.name).toBe('run-0');
    expect(query.rowAt(150)).toBeUndefined();
  });

  it('fetches only the blocks a range needs, once', async () => {
    const query = newQuery();
    await query.start();
    query.ensureRange(5020, 5060);
    query.ensureRange(5020, 5061);
    await settle();
    expect(server.requests.map(r => r.get('offset'))).toEqual(['0', '5000']);
    expect(query.rowAt(5030)?.name).toBe('run-5030');
    query.ensureRange(5090, 5110); // spans blocks 50 and 51: only 51 is missing
    await settle();
    expect(server.requests.map(r => r.get('offset'))).toEqual(['0', '5000', '5100']);
  });

  it('keeps a bounded cache', async () => {
    const query = new RunsQuery({
      model,
      experiments: null,
      blockSize: 100,
      maxBlocks: 3,
      fetchDelay: 0,
      storage: null
    });
    await query.start();
    for (const start of [1000, 2000, 3000, 4000]) {
      query.ensureRange(start, start + 50);
      await settle();
    }
    expect(query.rowAt(4010)).toBeDefined();
    expect(query.rowAt(0)).toBeUndefined();
  });

  it('sorts on the server, toggling the direction, and quotes odd keys', async () => {
    const query = newQuery();
    await query.start();
    expect(query.order).toEqual({ column: 'start_time', descending: true });
    await query.sortBy('params.C');
    expect(lastRequest().get('order_by')).toBe('params.C asc');
    expect(query.rowAt(0)?.params.C).toBe(0);
    await query.sortBy('params.C');
    expect(lastRequest().get('order_by')).toBe('params.C desc');
    expect(query.rowAt(0)?.params.C).toBe(0.9);
    expect(orderByText({ column: 'params.batch size', descending: true })).toBe('params.`batch size` desc');
    expect(reference(columnOf('metrics.a`b'))).toBe('metrics.`a``b`');
    expect(reference(columnOf('metrics.val-loss/x'))).toBe('metrics.val-loss/x');
  });

  it('applies a filter, and keeps the previous rows when the server rejects one', async () => {
    const query = newQuery();
    await query.start();
    expect(await query.setWhere('  params.C = 0.5 ')).toBe(true);
    expect(query.where).toBe('params.C = 0.5');
    expect(query.total).toBe(1000);
    server.reject = { where: 'metrics.acc >', message: 'bad filter at column 14: expected a value', position: 13 };
    expect(await query.setWhere('metrics.acc >')).toBe(false);
    expect(query.filterError?.text).toBe('metrics.acc >');
    expect(query.filterError?.error.position).toBe(13);
    expect(query.where).toBe('params.C = 0.5');
    expect(query.total).toBe(1000);
    expect(query.rowAt(0)?.params.C).toBe(0.5);
    expect(await query.setWhere('')).toBe(true);
    expect(query.filterError).toBeNull();
    expect(query.total).toBe(10_000);
  });

  it('selects runs one by one and by shift-range, across reordering', async () => {
    const query = newQuery();
    await query.start();
    query.toggle(2);
    query.toggle(5, true);
    expect(query.selection).toEqual(['id00002', 'id00003', 'id00004', 'id00005']);
    query.toggle(3, true); // the anchor is 5, row 3 is selected: unselect 3..5
    expect(query.selection).toEqual(['id00002']);
    await query.sortBy('params.C');
    expect(query.isSelected('id00002')).toBe(true);
    query.clearSelection();
    query.selectRange(0, 3);
    expect(query.selection).toHaveLength(3);
  });

  it('refreshes only the blocks in view, and picks up live changes', async () => {
    const query = newQuery();
    await query.start();
    query.ensureRange(3000, 3040);
    await settle();
    const before = server.requests.length;
    server.runs[3005] = { ...server.runs[3005], status: 'FINISHED', duration: 99 };
    server.runs[3010] = { ...server.runs[3010], status: 'FAILED' };
    const changed = jest.fn();
    query.changed.connect(changed);
    await query.refresh();
    expect(server.requests.slice(before).map(r => r.get('offset'))).toEqual(['3000']);
    expect(query.rowAt(3005)?.duration).toBe(99);
    expect(query.rowAt(3010)?.status).toBe('FAILED');
    expect(changed).toHaveBeenCalled();
  });

  it('does not refresh blocks that just arrived or are still loading', async () => {
    const query = new RunsQuery({
      model,
      experiments: null,
      blockSize: 100,
      fetchDelay: 0,
      freshFor: 60_000,
      storage: null
    });
    await query.start();
    await query.refresh();
    expect(server.requests).toHaveLength(1);
  });

  it('drops out-of-view blocks and reloads keys when the total changes', async () => {
    const query = newQuery();
    await query.start();
    query.ensureRange(3000, 3040);
    await settle();
    server.runs = makeRuns(10_001);
    const keys = server.keysRequests;
    await query.refresh();
    expect(query.total).toBe(10_001);
    expect(query.rowAt(0)).toBeUndefined();
    expect(query.rowAt(3000)).toBeDefined();
    expect(server.keysRequests).toBe(keys + 1);
  });

  it('shows all params and metrics by default and remembers the choice per experiment', async () => {
    const storage = window.localStorage;
    storage.clear();
    const query = newQuery(storage);
    await query.start();
    expect(query.columns.map(c => c.id)).toEqual([
      'status',
      'name',
      'start_time',
      'duration',
      'notebook',
      'params.C',
      'params.batch size',
      'metrics.acc'
    ]);
    query.toggleColumn('tags.team');
    query.toggleColumn('params.C');
    const again = newQuery(storage);
    await again.start();
    expect(again.columns.map(c => c.id).slice(5)).toEqual(['params.batch size', 'metrics.acc', 'tags.team']);
    const other = new RunsQuery({ model, experiments: ['other'], storage });
    expect(other.chosenColumns().has('tags.team')).toBe(false);
    const all = new RunsQuery({ model, experiments: null, storage });
    expect(all.columns.map(c => c.id).slice(0, 3)).toEqual(['status', 'name', 'experiment']);
  });

  it('leaves system metrics out of the default columns, and shows one when chosen', async () => {
    mockedRequest.mockImplementation((path: string) =>
      path.startsWith('keys')
        ? Promise.resolve({
            params: ['C'],
            metrics: ['acc', 'system/cpu_percent', 'system/gpu0_utilization'],
            tags: [],
            directions: {}
          })
        : server.handle(path)
    );
    const query = newQuery();
    await query.start();
    expect(query.columns.map(c => c.id).slice(5)).toEqual(['params.C', 'metrics.acc']);
    query.toggleColumn('metrics.system/cpu_percent');
    expect(query.columns.map(c => c.id).slice(5)).toEqual(['params.C', 'metrics.acc', 'metrics.system/cpu_percent']);
  });

  it('reports a server that went away, and recovers', async () => {
    const query = newQuery();
    await query.start();
    mockedRequest.mockImplementation(() => Promise.reject(new ApiError('cannot reach the Jupyter server', 0)));
    query.ensureRange(4000, 4010);
    await settle();
    expect(query.error?.message).toMatch(/cannot reach/);
    mockedRequest.mockImplementation((path: string) => server.handle(path));
    await query.refresh(); // the next tick retries the rows in view
    await settle();
    expect(query.error).toBeNull();
    expect(query.rowAt(4005)).toBeDefined();
  });

  it('retries the first page on the next refresh when the server was away', async () => {
    mockedRequest.mockImplementation(() => Promise.reject(new ApiError('cannot reach the Jupyter server', 0)));
    const query = newQuery();
    await query.start();
    expect(query.loaded).toBe(false);
    expect(query.error?.status).toBe(0);
    mockedRequest.mockImplementation((path: string) => server.handle(path));
    await query.refresh();
    expect(query.loaded).toBe(true);
    expect(query.error).toBeNull();
    expect(query.total).toBe(10_000);
  });
});
