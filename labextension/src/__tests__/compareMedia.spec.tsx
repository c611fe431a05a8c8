import { nullTranslator } from '@jupyterlab/translation';
import { act, fireEvent, render, screen, within } from '@testing-library/react';
import * as React from 'react';

import { ApiError, requestAPI } from '../api';
import { CompareView } from '../components/CompareView';
import { NbmlopsModel } from '../model';
import { MediaItem, RunDetail } from '../types';
import { actions } from './actionsFixture';

jest.mock('../api', () => ({
  ...jest.requireActual<typeof import('../api')>('../api'),
  requestAPI: jest.fn()
}));

const api = requestAPI as jest.MockedFunction<typeof requestAPI>;
const trans = nullTranslator.load('nbmlops');

function run(id: string, name: string, metrics: Record<string, number>): RunDetail {
  return {
    run_id: id,
    name,
    experiment: 'cnn',
    status: 'FINISHED',
    start_time: '2026-01-01T00:00:00Z',
    end_time: '2026-01-01T00:01:00Z',
    duration: 60,
    user: null,
    host: null,
    parent_run_id: null,
    notebook: null,
    params: { lr: id === 'r1' ? 0.1 : 0.01 },
    metrics,
    tags: {},
    error: null,
    artifacts: [],
    datasets: []
  };
}

const RUNS: Record<string, RunDetail> = {
  r1: run('r1', 'small', { accuracy: 0.8, loss: 0.4, margin: -2, 'system/cpu_percent': 50 }),
  r2: run('r2', 'large 🚀', { accuracy: 0.9, loss: 0.3, margin: NaN, 'system/cpu_percent': 70 })
};

/** accuracy and margin are logged once per run, loss and the CPU every step. */
const HISTORIES: Record<string, Record<string, number[]>> = {
  r1: { accuracy: [0.8], loss: [0.9, 0.6, 0.4], margin: [-2], 'system/cpu_percent': [40, 50] },
  r2: { accuracy: [0.9], loss: [0.8, 0.5, 0.3], 'system/cpu_percent': [60, 70] }
};

function image(name: string, step: number): MediaItem {
  return {
    kind: 'image',
    name,
    step,
    path: `media/image/${name}/step-${step}.png`,
    size: 10,
    sha256: 'ab',
    svg_path: null
  };
}

const MEDIA: Record<string, MediaItem[]> = {
  r1: [image('sample', 0), image('sample', 10), image('confusion', 10)],
  r2: [image('sample', 0), image('sample', 5), image('sample', 10)]
};

function serve(media: Record<string, MediaItem[]> = MEDIA): void {
  api.mockImplementation(async (path: string) => {
    const parts = path.split('?')[0].split('/').map(decodeURIComponent);
    if (parts[0] === 'keys') {
      return { params: ['lr'], metrics: [], tags: [], directions: {} };
    }
    if (parts[0] !== 'runs' || !RUNS[parts[1]]) {
      throw new ApiError(`no ${path}`, 404);
    }
    if (parts.length === 2) {
      return RUNS[parts[1]];
    }
    if (parts[2] === 'media' && media[parts[1]]) {
      return { media: media[parts[1]] };
    }
    const values = parts[2] === 'metrics' ? HISTORIES[parts[1]][parts.slice(3).join('/')] : undefined;
    if (!values) {
      throw new ApiError(`no ${path}`, 404);
    }
    return {
      key: parts[3],
      total: values.length,
      downsampled: false,
      max_points: 4000,
      points: {
        step: values.map((_, i) => i),
        timestamp: values.map(() => '2026-01-01T00:00:00Z'),
        value: values
      }
    };
  });
}

beforeAll(() => {
  // jsdom has no canvas: the charts render their DOM and skip drawing
  jest.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue(null);
});

afterEach(() => {
  api.mockReset();
});

async function renderCompare(): Promise<NbmlopsModel> {
  const model = new NbmlopsModel();
  await act(async () => {
    render(<CompareView model={model} trans={trans} actions={actions()} runIds={['r1', 'r2']} />);
  });
  return model;
}

describe('CompareView: bars and images', () => {
  it('draws a metric logged once per run as one labelled bar per run in its colour, a history as lines', async () => {
    serve();
    await renderCompare();
    const bars = await screen.findByRole('list', { name: 'accuracy, one value per run' });
    const items = within(bars).getAllByRole('listitem');
    expect(items.map(item => item.title)).toEqual(['small: 0.8', 'large 🚀: 0.9']);
    const fills = items.map(item => item.querySelector('.jp-nbmlops-bar-fill') as HTMLElement);
    expect(fills.map(fill => fill.style.background)).toEqual(['rgb(91, 143, 214)', 'rgb(242, 142, 43)']);
    expect(fills[1].style.top).toBe('0%'); // the larger value reaches the top
    // no x axis, log scale or smoothing for bars
    const figure = bars.closest('figure') as HTMLElement;
    expect(within(figure).queryByRole('slider')).toBeNull();

    expect(await screen.findByRole('img', { name: 'History of loss' })).toBeTruthy();
    expect(screen.queryByRole('list', { name: 'loss, one value per run' })).toBeNull();
  });

  it('draws a negative bar below zero and a run without a finite value as a label with no bar', async () => {
    serve();
    await renderCompare();
    const chooser = screen.getByRole('group', { name: 'Metrics to chart' });
    expect(within(chooser).getByRole<HTMLInputElement>('checkbox', { name: 'margin' }).checked).toBe(true);
    const bars = await screen.findByRole('list', { name: 'margin, one value per run' });
    const [negative, missing] = within(bars).getAllByRole('listitem');
    const fill = negative.querySelector('.jp-nbmlops-bar-fill') as HTMLElement;
    expect(fill.style.top).toBe('0%');
    expect(negative.title).toBe('small: -2');
    expect(missing.title).toBe('large 🚀: —'); // r2 never logged margin (its latest is NaN)
    expect(missing.querySelector('.jp-nbmlops-bar-fill')).toBeNull();
  });

  it('leaves system metrics out of the default charts but offers them', async () => {
    serve();
    await renderCompare();
    const chooser = screen.getByRole('group', { name: 'Metrics to chart' });
    const cpu = within(chooser).getByRole<HTMLInputElement>('checkbox', { name: 'system/cpu_percent' });
    expect(cpu.checked).toBe(false);
    expect(within(chooser).getByRole<HTMLInputElement>('checkbox', { name: 'accuracy' }).checked).toBe(true);
    fireEvent.click(cpu);
    expect(await screen.findByRole('img', { name: 'History of system/cpu_percent' })).toBeTruthy();
  });

  it('shows images of the same name side by side at one shared step', async () => {
    serve();
    await renderCompare();
    const table = await screen.findByRole('table', { name: 'Images side by side' });
    const headers = within(table)
      .getAllByRole('columnheader')
      .map(cell => cell.textContent);
    expect(headers).toEqual(['Image', 'small', 'large 🚀']);
    const row = (name: string): HTMLElement => within(table).getByRole('row', { name: new RegExp(`^${name}`) });
    const sources = (name: string): string[] =>
      Array.from(row(name).querySelectorAll('img')).map(img => decodeURIComponent(img.src));
    expect(sources('sample')).toEqual([
      expect.stringMatching(/runs\/r1\/artifacts\/media\/image\/sample\/step-10\.png$/),
      expect.stringMatching(/runs\/r2\/artifacts\/media\/image\/sample\/step-10\.png$/)
    ]);
    // only the first run logged "confusion": the other column says so
    expect(within(row('confusion')).getByText('—')).toBeTruthy();

    const section = screen.getByRole('region', { name: 'Images' });
    const slider = within(section).getByRole('slider', { name: /Step/ });
    fireEvent.change(slider, { target: { value: '1' } }); // steps 0, 5, 10: step 5
    expect(sources('sample')).toEqual([
      expect.stringMatching(/r1\/.*step-0\.png$/), // r1 logged no step 5: its last image before it
      expect.stringMatching(/r2\/.*step-5\.png$/)
    ]);
  });

  it('shows the images a running run logs after the view opened', async () => {
    RUNS.r2 = { ...RUNS.r2, status: 'RUNNING' };
    try {
      serve();
      const model = await renderCompare();
      const table = await screen.findByRole('table', { name: 'Images side by side' });
      expect(within(table).queryByRole('row', { name: /^attention/ })).toBeNull();
      serve({ ...MEDIA, r2: [...MEDIA.r2, image('attention', 11)] });
      await act(async () => {
        (model.tick as unknown as { emit(): void }).emit();
      });
      const row = await within(table).findByRole('row', { name: /^attention/ });
      expect(within(row).getByRole('img', { name: 'attention (step 11) of large 🚀' })).toBeTruthy();
    } finally {
      RUNS.r2 = { ...RUNS.r2, status: 'FINISHED' };
    }
  });

  it('has no Images section when no run logged images', async () => {
    serve({});
    await renderCompare();
    await screen.findByRole('heading', { name: 'Charts' });
    expect(screen.queryByRole('table', { name: 'Images side by side' })).toBeNull();
    expect(screen.queryByRole('heading', { name: 'Images' })).toBeNull();
  });
});
