import { nullTranslator } from '@jupyterlab/translation';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import * as React from 'react';

import { ApiError, requestAPI, requestBlob } from '../api';
import { RunDetailView } from '../components/RunDetailView';
import { NbmlopsModel } from '../model';
import { MediaItem, RunDetail, TablePage } from '../types';
import { actions } from './actionsFixture';

jest.mock('../api', () => ({
  ...jest.requireActual<typeof import('../api')>('../api'),
  requestAPI: jest.fn(),
  requestBlob: jest.fn()
}));

const api = requestAPI as jest.MockedFunction<typeof requestAPI>;
const blob = requestBlob as jest.MockedFunction<typeof requestBlob>;
const trans = nullTranslator.load('nbmlops');

const RUN: RunDetail = {
  run_id: 'feedc0ffee123456',
  name: 'vision',
  experiment: 'cnn',
  status: 'FINISHED',
  start_time: '2026-03-01T12:00:00.000000Z',
  end_time: '2026-03-01T12:01:05.000000Z',
  duration: 65,
  user: null,
  host: null,
  parent_run_id: null,
  notebook: null,
  params: {},
  metrics: {
    accuracy: 0.9,
    'system/cpu_percent': 41,
    'system/memory_used_mb': 1024,
    'system/gpu0_utilization': 80,
    'system/gpu1_utilization': 20
  },
  tags: {},
  error: null,
  artifacts: [],
  datasets: []
};

function media(kind: MediaItem['kind'], name: string, step: number | null, extra: Partial<MediaItem> = {}): MediaItem {
  const ext = kind === 'table' ? 'parquet' : kind === 'text' ? 'txt' : 'png';
  const file = step === null ? `${name}.${ext}` : `${name}/step-${step}.${ext}`;
  return { kind, name, step, path: `media/${kind}/${file}`, size: 100, sha256: 'ab', svg_path: null, ...extra };
}

const MEDIA: MediaItem[] = [
  media('figure', 'roc', null, { svg_path: 'media/figure/roc.svg' }),
  media('figure', 'pr', null),
  media('image', 'sample', 0),
  media('image', 'sample', 5),
  media('image', 'sample', 10),
  media('image', 'mask ✓', null),
  media('table', 'predictions', null),
  media('text', 'report', null),
  media('text', 'log', null)
];

/**
 * 250 rows: id, a score (0-100, each about twice; two nulls, a NaN as the server sends it among them) and
 * a label; a page of them as the server answers it, sorted first on the score when asked.
 */
function tablePage(params: URLSearchParams): TablePage {
  const offset = Number(params.get('offset'));
  const limit = Number(params.get('limit'));
  let all = Array.from({ length: 250 }, (_, i) => [i, i === 3 || i === 4 ? null : (i * 37) % 101, `row ${i}`]);
  if (params.get('sort') === 'score') {
    const sign = params.get('descending') === 'true' ? -1 : 1;
    const score = (row: unknown[]): number => (row[1] === null ? Infinity : sign * (row[1] as number));
    all = all.sort((a, b) => score(a) - score(b) || (a[0] as number) - (b[0] as number));
  }
  return {
    columns: [
      { name: 'id', dtype: 'int64' },
      { name: 'score', dtype: 'float64' },
      { name: 'label', dtype: 'object' }
    ],
    rows: all.slice(offset, offset + limit),
    total_rows: all.length
  };
}

const TEXTS: Record<string, string> = {
  'media/text/report.txt': 'precision 0.9\nrecall 0.8',
  'media/text/log.txt': Array.from({ length: 300 }, (_, i) => `epoch ${i}: ok`).join('\n')
};

function serve(run: RunDetail, items: MediaItem[] | ApiError): void {
  api.mockImplementation(async (path: string) => {
    const [route, search] = path.split('?');
    const parts = route.split('/').map(decodeURIComponent);
    const params = new URLSearchParams(search ?? '');
    if (parts[0] === 'runs' && parts[2] === 'media' && parts[3] === 'table') {
      return tablePage(params);
    }
    if (parts[0] === 'runs' && parts[2] === 'media') {
      if (items instanceof ApiError) {
        throw items;
      }
      return { media: items };
    }
    if (parts[0] === 'runs' && parts[2] === 'metrics') {
      return {
        key: parts[3],
        total: 3,
        downsampled: false,
        max_points: 4000,
        points: {
          step: [0, 1, 2],
          timestamp: ['2026-03-01T12:00:00Z', '2026-03-01T12:00:01Z', '2026-03-01T12:00:02Z'],
          value: [1, 2, 3]
        }
      };
    }
    if (parts[0] === 'lineage') {
      return { root: `run:${run.run_id}`, edges: [] };
    }
    if (parts[0] === 'runs' && parts.length === 2) {
      return run;
    }
    throw new ApiError(`unexpected ${path}`, 500);
  });
  blob.mockImplementation(async (path: string) => {
    const artifact = decodeURIComponent(path.split('/artifacts/')[1]);
    // jsdom's Blob has no text(): a stand-in with the one method the view reads
    return { text: async () => TEXTS[artifact] } as unknown as Blob;
  });
}

beforeAll(() => {
  // jsdom has no canvas: the charts render their DOM and skip drawing
  jest.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue(null);
});

describe('Run detail: Media and System', () => {
  let model: NbmlopsModel;

  beforeEach(() => {
    api.mockReset();
    blob.mockReset();
    model = new NbmlopsModel();
  });

  afterEach(() => {
    model.dispose();
  });

  async function open(run: RunDetail = RUN): Promise<HTMLElement> {
    render(<RunDetailView model={model} trans={trans} actions={actions()} runId={run.run_id} />);
    await screen.findByRole('heading', { name: run.name });
    return screen.findByRole('region', { name: 'Media' });
  }

  it('shows each image at the last step, and the slider moves all of them to another step', async () => {
    serve(RUN, MEDIA);
    await open();
    const images = await screen.findByRole('group', { name: 'Images' });
    const sample = within(images).getByRole<HTMLImageElement>('img', { name: 'sample at step 10' });
    expect(sample.getAttribute('loading')).toBe('lazy');
    expect(sample.getAttribute('width')).toBe('160');
    expect(sample.src).toContain('/nbmlops/api/runs/feedc0ffee123456/artifacts/media/image/sample/step-10.png');
    // an image logged without a step stays at every step; its name is URL-encoded
    const mask = within(images).getByRole<HTMLImageElement>('img', { name: 'mask ✓' });
    expect(mask.src).toContain('/artifacts/media/image/mask%20%E2%9C%93.png');

    const slider = within(images).getByRole('slider', { name: /Step/ });
    expect(slider.getAttribute('aria-valuetext')).toBe('step 10');
    fireEvent.change(slider, { target: { value: '1' } });
    expect(within(images).getByRole<HTMLImageElement>('img', { name: 'sample at step 5' }).src).toContain(
      'sample/step-5.png'
    );
    expect(within(images).queryByRole('img', { name: 'sample at step 10' })).toBeNull();
    expect(within(images).getByRole('img', { name: 'mask ✓' })).toBeTruthy();
  });

  it('shows a figure as SVG where there is one, as PNG otherwise', async () => {
    serve(RUN, MEDIA);
    await open();
    const figures = await screen.findByRole('group', { name: 'Figures' });
    expect(within(figures).getByRole<HTMLImageElement>('img', { name: 'roc' }).src).toMatch(/roc\.svg$/);
    expect(within(figures).getByRole<HTMLImageElement>('img', { name: 'pr' }).src).toMatch(/pr\.png$/);
    expect(within(figures).queryByRole('slider')).toBeNull(); // no steps: no slider
  });

  it('pages a table from the server, and a column header sorts the whole table there', async () => {
    serve(RUN, MEDIA);
    await open();
    const table = await screen.findByRole('table', { name: 'predictions' });
    expect(screen.getByText(/Rows 1–100 of 250/)).toBeTruthy();
    const column = (index: number): string[] =>
      within(table)
        .getAllByRole('row')
        .slice(1)
        .map(row => row.querySelectorAll('td')[index].textContent ?? '');
    expect(column(0).slice(0, 3)).toEqual(['0', '1', '2']);
    const tableCalls = (): string[] =>
      api.mock.calls.map(call => call[0]).filter(path => path.includes('/media/table'));

    // the server's answer is held back: meanwhile the page on screen is sorted in place
    const served = api.getMockImplementation()!;
    let release: () => void = () => undefined;
    api.mockImplementation(async (path: string, ...rest) => {
      if (path.includes('sort=')) {
        await new Promise<void>(resolve => (release = resolve));
      }
      return served(path, ...rest);
    });
    fireEvent.click(within(table).getByRole('button', { name: 'score' }));
    expect(within(table).getByRole('columnheader', { name: /score/ }).getAttribute('aria-sort')).toBe('ascending');
    expect(tableCalls().pop()).toBe(
      'runs/feedc0ffee123456/media/table?path=media%2Ftable%2Fpredictions.parquet&offset=0&limit=100&sort=score&descending=false'
    );
    expect(column(0).slice(0, 3)).toEqual(['0', '71', '41']); // page 1 only, in place
    expect(column(1).slice(-2)).toEqual(['null', 'null']);
    expect(table.getAttribute('aria-busy')).toBe('true');
    expect(screen.getByText(/loading…/)).toBeTruthy();
    await act(async () => release());
    await waitFor(() => expect(column(0).slice(0, 3)).toEqual(['0', '101', '202'])); // the whole table's order
    expect(column(1).slice(0, 4)).toEqual(['0', '0', '0', '1']);
    expect(table.getAttribute('aria-busy')).toBe('false');
    expect(screen.queryByText(/within this page|loading…/)).toBeNull();

    api.mockImplementation(served);
    fireEvent.click(within(table).getByRole('button', { name: /score/ }));
    await waitFor(() => expect(column(0).slice(0, 3)).toEqual(['30', '131', '232']));
    expect(column(1).slice(0, 3)).toEqual(['100', '100', '100']);
    expect(within(table).getByRole('columnheader', { name: /score/ }).getAttribute('aria-sort')).toBe('descending');
    expect(tableCalls().pop()).toContain('&offset=0&limit=100&sort=score&descending=true');

    // the pager keeps the order, to the last page where the missing scores are
    fireEvent.click(screen.getByRole('button', { name: 'Next rows' }));
    await screen.findByText(/Rows 101–200 of 250/);
    expect(tableCalls().pop()).toContain('&offset=100&limit=100&sort=score&descending=true');
    await waitFor(() => expect(column(0).slice(0, 4)).toEqual(['220', '48', '149', '78']));
    fireEvent.click(screen.getByRole('button', { name: 'Next rows' }));
    await screen.findByText(/Rows 201–250 of 250/);
    await waitFor(() => expect(column(0).slice(-5)).toEqual(['0', '101', '202', '3', '4']));
    expect(column(1).slice(-3)).toEqual(['0', 'null', 'null']);

    // another column starts its own order at the first page
    fireEvent.click(within(table).getByRole('button', { name: 'label' }));
    await screen.findByText(/Rows 1–100 of 250/);
    expect(tableCalls().pop()).toContain('&offset=0&limit=100&sort=label&descending=false');
    expect(within(table).getByRole('columnheader', { name: /score/ }).getAttribute('aria-sort')).toBe('none');
  });

  it('keeps the order when the step shows another table, and drops it when that table lacks the column', async () => {
    const steps = [0, 1, 2].map(step => media('table', 'scores', step));
    serve(RUN, steps);
    const served = api.getMockImplementation()!;
    api.mockImplementation(async (path: string, ...rest) => {
      if (path.includes('step-0.parquet') && path.includes('sort=score')) {
        throw new ApiError("table 'media/table/scores/step-0.parquet' has no column 'score'", 400);
      }
      return served(path, ...rest);
    });
    await open();
    const table = await screen.findByRole('table', { name: 'scores' });
    const ids = (): string[] =>
      within(table)
        .getAllByRole('row')
        .slice(1)
        .map(row => row.querySelectorAll('td')[0].textContent ?? '');
    fireEvent.click(within(table).getByRole('button', { name: 'score' }));
    await waitFor(() => expect(ids().slice(0, 3)).toEqual(['0', '101', '202']));

    fireEvent.change(screen.getByRole('combobox', { name: 'Step of scores' }), { target: { value: '1' } });
    await waitFor(() =>
      expect(api.mock.calls.map(call => call[0])).toContain(
        'runs/feedc0ffee123456/media/table?path=media%2Ftable%2Fscores%2Fstep-1.parquet&offset=0&limit=100&sort=score&descending=false'
      )
    );
    expect(ids().slice(0, 3)).toEqual(['0', '101', '202']);

    fireEvent.change(screen.getByRole('combobox', { name: 'Step of scores' }), { target: { value: '0' } });
    await waitFor(() => expect(ids().slice(0, 3)).toEqual(['0', '1', '2']));
    expect(api.mock.calls.map(call => call[0])).toContain(
      'runs/feedc0ffee123456/media/table?path=media%2Ftable%2Fscores%2Fstep-0.parquet&offset=0&limit=100'
    );
    expect(within(table).getByRole('columnheader', { name: /score/ }).getAttribute('aria-sort')).toBe('none');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('shows texts preformatted, a long one cut until asked', async () => {
    serve(RUN, MEDIA);
    await open();
    const report = await screen.findByLabelText('report');
    await waitFor(() => expect(report.textContent).toBe('precision 0.9\nrecall 0.8'));
    const log = await screen.findByLabelText('log');
    await waitFor(() => expect(log.textContent).toContain('epoch 0: ok'));
    expect(log.textContent).not.toContain('epoch 299: ok');
    fireEvent.click(screen.getByRole('button', { name: 'Show all of log (300 lines)' }));
    expect(screen.getByLabelText('log').textContent).toContain('epoch 299: ok');
  });

  it('does not load a text too large for the page, and says where to get it', async () => {
    serve(RUN, [media('text', 'dump', null, { size: 50 * 1024 * 1024 })]);
    const section = await open();
    expect(
      within(section).getByText(/dump is too large to show here \(50\.0 MB\): download media\/text\/dump\.txt/)
    ).toBeTruthy();
    expect(blob).not.toHaveBeenCalled();
  });

  it('shows an empty table with odd column names, and a page the server refuses as an error', async () => {
    serve(RUN, [media('table', 'empty', null), media('table', 'gone', null)]);
    const original = api.getMockImplementation()!;
    api.mockImplementation(async (path: string, ...rest) => {
      if (path.includes('media%2Ftable%2Fempty')) {
        return {
          columns: [
            { name: '', dtype: 'object' },
            { name: 'ünï ✓ <b>', dtype: 'category' }
          ],
          rows: [],
          total_rows: 0
        };
      }
      if (path.includes('media%2Ftable%2Fgone')) {
        throw new ApiError('table media/table/gone.parquet of run feedc0ff changed since it was logged', 409);
      }
      return original(path, ...rest);
    });
    const section = await open();
    const empty = await within(section).findByRole('table', { name: 'empty' });
    expect(within(empty).getByRole('button', { name: 'ünï ✓ <b>' })).toBeTruthy();
    expect(within(section).getByText('No rows.')).toBeTruthy();
    expect((await within(section).findByRole('alert')).textContent).toContain('changed since it was logged');
  });

  it('has no Media section when the run logged no media', async () => {
    serve(RUN, []);
    render(<RunDetailView model={model} trans={trans} actions={actions()} runId={RUN.run_id} />);
    await screen.findByRole('heading', { name: 'vision' });
    await waitFor(() => expect(api.mock.calls.some(call => call[0].endsWith('/media'))).toBe(true));
    expect(screen.queryByRole('region', { name: 'Media' })).toBeNull();
  });

  it('has no Media section when the server answers 404 for the media route', async () => {
    serve(RUN, new ApiError('the nbmlops server extension is not enabled', 404));
    render(<RunDetailView model={model} trans={trans} actions={actions()} runId={RUN.run_id} />);
    await screen.findByRole('region', { name: 'System' });
    await waitFor(() => expect(api.mock.calls.some(call => call[0].endsWith('/media'))).toBe(true));
    await act(() => new Promise(resolve => setTimeout(resolve, 10))); // the answer is handled
    expect(screen.queryByRole('region', { name: 'Media' })).toBeNull();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('says why when the media cannot be listed', async () => {
    serve(RUN, new ApiError('the media index of run feedc0ff is damaged: log the media again', 500));
    const section = await open();
    expect((await within(section).findByRole('alert')).textContent).toContain('damaged');
  });

  it('charts system metrics grouped by device and keeps them out of Metrics', async () => {
    serve(RUN, []);
    render(<RunDetailView model={model} trans={trans} actions={actions()} runId={RUN.run_id} />);
    const system = await screen.findByRole('region', { name: 'System' });
    const groups = within(system)
      .getAllByRole('group')
      .map(group => group.getAttribute('aria-label'));
    expect(groups).toEqual(['CPU', 'Memory', 'GPU 0', 'GPU 1']);
    expect(await within(system).findByRole('img', { name: 'History of system/cpu_percent' })).toBeTruthy();
    const metrics = screen.getByRole('table', { name: 'Latest metric values' });
    expect(within(metrics).getByText('accuracy')).toBeTruthy();
    expect(within(metrics).queryByText('system/cpu_percent')).toBeNull();
  });

  it('has no System section for a run without system metrics', async () => {
    serve({ ...RUN, metrics: { accuracy: 0.9 } }, []);
    render(<RunDetailView model={model} trans={trans} actions={actions()} runId={RUN.run_id} />);
    await screen.findByRole('region', { name: 'Metrics' });
    expect(screen.queryByRole('region', { name: 'System' })).toBeNull();
  });
});
