import { ApiError, requestAPI } from '../api';
import { NbmlopsModel } from '../model';

jest.mock('../api', () => {
  const actual = jest.requireActual<typeof import('../api')>('../api');
  return { ...actual, requestAPI: jest.fn(), requestBlob: jest.fn() };
});

const api = { requestAPI: jest.mocked(requestAPI) };

const experiment = {
  name: 'churn',
  runs: 2,
  running: 1,
  created_at: '2026-01-01T00:00:00Z',
  last_activity: '2026-01-01T00:01:00Z'
};

function run(id: string, metrics: Record<string, unknown>): Record<string, unknown> {
  return {
    run_id: id,
    name: id,
    experiment: 'churn',
    status: 'FINISHED',
    start_time: '2026-01-01T00:00:00Z',
    end_time: null,
    duration: 1,
    user: null,
    host: null,
    parent_run_id: null,
    notebook: null,
    params: {},
    metrics,
    tags: {}
  };
}

describe('NbmlopsModel', () => {
  let model: NbmlopsModel;

  beforeEach(() => {
    api.requestAPI.mockReset();
    model = new NbmlopsModel({ interval: 60_000 });
  });

  afterEach(() => model.dispose());

  it('asks for runs with the filter, order and page in the query string, and decodes non-finite metrics', async () => {
    api.requestAPI.mockResolvedValue({ runs: [run('a', { loss: 'NaN', acc: 0.5, top: 'Infinity' })], total: 1 });
    const page = await model.runs({
      experiments: ['churn', 'ünï code'],
      where: ' metrics.acc > 0.5 ',
      orderBy: 'params.C desc',
      limit: 50,
      offset: 100
    });
    const [path] = api.requestAPI.mock.calls[0];
    expect(path).toBe(
      'runs?experiment=churn&experiment=%C3%BCn%C3%AF+code&where=metrics.acc+%3E+0.5&order_by=params.C+desc&limit=50&offset=100'
    );
    expect(page.runs[0].metrics.loss).toBeNaN();
    expect(page.runs[0].metrics.top).toBe(Infinity);
    expect(page.runs[0].metrics.acc).toBe(0.5);
  });

  it('encodes metric keys and model names as single path segments', async () => {
    api.requestAPI.mockResolvedValue({
      key: 'train/loss',
      total: 2,
      downsampled: false,
      max_points: 10,
      points: { step: [0, 1], timestamp: ['', ''], value: [1, '-Infinity'] }
    });
    const history = await model.metricHistory('r1', 'train/loss', 10);
    expect(api.requestAPI.mock.calls[0][0]).toBe('runs/r1/metrics/train%2Floss?max_points=10');
    expect(history.points.value).toEqual([1, -Infinity]);

    api.requestAPI.mockResolvedValue({ name: 'a b', aliases: {}, versions: [] });
    await model.model('a b');
    expect(api.requestAPI.mock.calls[1][0]).toBe('models/a%20b');
  });

  it('sends only the fields given when promoting, and checks a promotion without changing anything', async () => {
    api.requestAPI.mockResolvedValue({ name: 'clf', alias: 'production', version: 2, gate: null });
    await model.promote('clf', { version: 2, alias: 'production', gate: '  ', reason: ' better ' });
    const [path, init] = api.requestAPI.mock.calls[0];
    expect(path).toBe('models/clf/aliases');
    expect(init?.method).toBe('POST');
    expect(JSON.parse(init?.body as string)).toEqual({ version: 2, alias: 'production', reason: 'better' });

    api.requestAPI.mockResolvedValue({ allowed: false });
    await model.checkPromotion('clf', 3, 'production', 'metrics.acc >= champion.metrics.acc');
    expect(api.requestAPI.mock.lastCall?.[0]).toBe(
      'models/clf/promotion?version=3&alias=production&gate=metrics.acc+%3E%3D+champion.metrics.acc'
    );
  });

  it('tells views when experiments change, and ticks on every refresh', async () => {
    api.requestAPI.mockResolvedValue({ experiments: [experiment] });
    const changed = jest.fn();
    const ticked = jest.fn();
    model.changed.connect(changed);
    model.tick.connect(ticked);
    await model.refresh();
    await model.refresh();
    expect(model.experiments).toEqual([experiment]);
    expect(changed).toHaveBeenCalledTimes(1);
    expect(ticked).toHaveBeenCalledTimes(2);

    api.requestAPI.mockResolvedValue({ experiments: [{ ...experiment, runs: 3, running: 0 }] });
    await model.refresh();
    expect(changed).toHaveBeenCalledTimes(2);
    expect(model.experiments[0].runs).toBe(3);
  });

  it('keeps the last experiments and exposes the error when the server fails', async () => {
    api.requestAPI.mockResolvedValueOnce({ experiments: [experiment] });
    await model.refresh();
    api.requestAPI.mockRejectedValue(new ApiError('the nbmlops server extension is not enabled', 404));
    const changed = jest.fn();
    model.changed.connect(changed);
    await model.refresh();
    expect(model.error?.message).toContain('not enabled');
    expect(model.experiments).toEqual([experiment]);
    expect(changed).toHaveBeenCalledTimes(1);
  });
});
