import { nullTranslator } from '@jupyterlab/translation';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import * as React from 'react';

import { ApiError, requestAPI } from '../api';
import { ModelsView } from '../components/ModelsView';
import { NbmlopsModel } from '../model';
import { AuditEntry, GateResult, ModelDetail, ModelSummary, PromotionCheck } from '../types';
import { actions } from './actionsFixture';

jest.mock('../api', () => ({
  ...jest.requireActual<typeof import('../api')>('../api'),
  requestAPI: jest.fn()
}));

const api = requestAPI as jest.MockedFunction<typeof requestAPI>;
const trans = nullTranslator.load('nbmlops');

const summary: ModelSummary = {
  name: 'churn',
  latest_version: 3,
  versions: 3,
  aliases: { production: 2 },
  created_at: '2026-03-01T10:00:00Z',
  updated_at: '2026-03-01T12:00:00Z'
};

const version = (n: number, acc: number, aliases: string[] = []): ModelDetail['versions'][number] => ({
  version: n,
  run_id: `run${n}00000000`,
  run_name: `train-${n}`,
  model_class: 'sklearn.ensemble.RandomForestClassifier',
  flavor: 'sklearn',
  aliases,
  created_at: '2026-03-01T11:00:00Z',
  user: 'ada',
  metrics: { accuracy: acc }
});

const detail: ModelDetail = {
  name: 'churn',
  aliases: { production: 2 },
  versions: [version(3, 0.9), version(2, 0.92, ['production']), version(1, 0.85)]
};

const history: AuditEntry[] = [
  {
    changed_at: '2026-03-01T12:00:00Z',
    user: 'ada',
    alias: 'production',
    from_version: null,
    to_version: 2,
    reason: 'first model',
    gate: null,
    gate_outcome: null
  }
];

/** The gate as the server would evaluate it for the fixture: v3 (0.9) against v2 (0.92). */
function evaluate(gate: string): GateResult {
  const passed = !gate.includes('champion') || gate.includes('<=');
  return {
    passed,
    expression: gate,
    explanation: `metrics.accuracy = 0.9 ${passed ? '<=' : '>='} champion.metrics.accuracy = 0.92: ${passed ? 'true' : 'false'}`,
    values: { 'metrics.accuracy': 0.9, 'champion.metrics.accuracy': 0.92 }
  };
}

let posted: { path: string; body: unknown }[] = [];

function serve(
  models: ModelSummary[] = [summary],
  promote?: () => unknown,
  directions: Record<string, 'min' | 'max'> = { accuracy: 'max' }
): void {
  api.mockImplementation(async (path: string, init: RequestInit = {}) => {
    const [route, search] = path.split('?');
    const params = new URLSearchParams(search ?? '');
    if (route === 'keys') {
      return { params: [], metrics: Object.keys(directions), tags: [], directions };
    }
    if (route === 'models') {
      return { models };
    }
    if (route === 'models/churn') {
      return detail;
    }
    if (route === 'models/churn/history') {
      return { name: 'churn', history };
    }
    if (route === 'lineage') {
      const [, n] = (params.get('ref') as string).split('/');
      const run = `run:run${n}00000000`;
      const edges = [
        {
          source: 'dataset:customers@1',
          target: run,
          kind: 'used',
          detail: 'train',
          source_label: 'customers v1',
          target_label: `train-${n}`
        },
        {
          source: run,
          target: `model:churn/${n}`,
          kind: 'registered',
          detail: null,
          source_label: `train-${n}`,
          target_label: `churn v${n}`
        }
      ];
      return {
        root: `model:churn/${n}`,
        edges: edges.map(e => ({ ...e, source_type: e.source.split(':')[0], target_type: e.target.split(':')[0] }))
      };
    }
    if (route === 'models/churn/promotion') {
      const gate = params.get('gate');
      if (gate && gate.includes('%%')) {
        throw new ApiError("gate syntax error at 9: unexpected '%'", 400, { position: 9 });
      }
      const alias = params.get('alias') as string;
      const check: PromotionCheck = {
        name: 'churn',
        alias,
        version: Number(params.get('version')),
        current: detail.aliases[alias] ?? null,
        gate: gate ? evaluate(gate) : null,
        allowed: gate ? evaluate(gate).passed : true
      };
      return check;
    }
    if (route === 'models/churn/aliases' && init.method === 'POST') {
      posted.push({ path, body: JSON.parse(init.body as string) });
      if (promote) {
        return promote();
      }
      return { name: 'churn', alias: 'production', version: 3, gate: null };
    }
    if (route === 'models/churn/aliases/production' && init.method === 'DELETE') {
      posted.push({ path, body: null });
      return undefined;
    }
    throw new ApiError(`unexpected ${init.method ?? 'GET'} ${path}`, 500);
  });
}

/** Render the view on churn, open the promote dialog of `n` and type `gate` when given. */
async function openPromote(model: NbmlopsModel, n: number, gate?: string): Promise<HTMLElement> {
  render(<ModelsView model={model} trans={trans} actions={actions()} name="churn" />);
  const promote = await screen.findByRole('button', { name: `Promote version ${n}` });
  // the dialog asks the server for metric directions on opening: let that answer land
  await act(async () => {
    fireEvent.click(promote);
  });
  const dialog = screen.getByRole('dialog');
  if (gate !== undefined) {
    fireEvent.change(within(dialog).getByLabelText('Gate'), { target: { value: gate } });
  }
  return dialog;
}

/** The dialog's Confirm button once it is enabled. */
async function enabledConfirm(dialog: HTMLElement): Promise<HTMLButtonElement> {
  const confirm = within(dialog).getByRole<HTMLButtonElement>('button', { name: 'Confirm promotion' });
  await waitFor(() => expect(confirm.disabled).toBe(false));
  return confirm;
}

describe('ModelsView', () => {
  let model: NbmlopsModel;

  beforeEach(() => {
    api.mockReset();
    posted = [];
    model = new NbmlopsModel();
  });

  afterEach(() => {
    model.dispose();
  });

  it('tells what to do when no model is registered', async () => {
    serve([]);
    render(<ModelsView model={model} trans={trans} actions={actions()} name={null} />);
    expect(await screen.findByText('No registered models yet')).toBeTruthy();
    expect(screen.getByText(/nbmlops\.log_model\(model, "name"\)/)).toBeTruthy();
  });

  it('lists models, versions with runs and aliases, lineage and the audit log', async () => {
    serve();
    const acts = actions();
    render(<ModelsView model={model} trans={trans} actions={acts} name={null} />);
    const list = await screen.findByRole('navigation', { name: 'Registered models' });
    expect(within(list).getByText('churn')).toBeTruthy();
    expect(within(list).getByText('production: v2')).toBeTruthy();

    const versions = await screen.findByRole('table', { name: 'Versions of churn' });
    const rows = within(versions).getAllByRole('row');
    expect(rows).toHaveLength(4); // header + 3 versions, newest first
    expect(within(rows[1]).getByRole('rowheader').textContent).toBe('v3');
    expect(within(rows[2]).getByText('production')).toBeTruthy();
    expect(within(rows[2]).getByText('0.92')).toBeTruthy();
    fireEvent.click(within(rows[2]).getByRole('button', { name: 'train-2' }));
    expect(acts.openRun).toHaveBeenCalledWith('run200000000');

    // the lineage of the latest version, and of another one when picked
    const lineage = await screen.findByRole('group', { name: 'Lineage of churn v3' });
    expect(within(lineage).getByRole('img', { name: 'Dataset customers v1' })).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Lineage of version'), { target: { value: '2' } });
    fireEvent.click(await screen.findByRole('link', { name: 'Open run train-2' }));
    expect(acts.openRun).toHaveBeenLastCalledWith('run200000000');
    expect(api.mock.calls.map(call => call[0])).toContain('lineage?ref=model%3Achurn%2F2');

    const audit = screen.getByRole('table', { name: 'Alias history of churn' });
    expect(within(audit).getByText('first model')).toBeTruthy();
    expect(within(audit).getByText(/new → v2/)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Remove alias production' })).toBeTruthy();
  });

  it('suggests a gate that keeps a metric the server calls lower-is-better from rising', async () => {
    serve([summary], undefined, { accuracy: 'min' });
    const dialog = await openPromote(model, 3);
    const gate = within(dialog).getByLabelText<HTMLInputElement>('Gate');
    await waitFor(() => expect(gate.value).toBe('metrics.accuracy <= champion.metrics.accuracy'));
  });

  it('shows the gate evaluated by the server and disables Confirm while it fails', async () => {
    serve();
    const dialog = await openPromote(model, 3);
    expect(screen.getByRole('dialog', { name: 'Promote churn' })).toBe(dialog);
    expect(within(dialog).getByLabelText<HTMLInputElement>('Alias').value).toBe('production');
    // production has a holder: the suggested gate compares with it
    const gate = within(dialog).getByLabelText<HTMLInputElement>('Gate');
    expect(gate.value).toBe('metrics.accuracy >= champion.metrics.accuracy');
    expect(await within(dialog).findByText('Gate fails')).toBeTruthy();
    expect(within(dialog).getByText('production is now v2')).toBeTruthy();
    expect(within(dialog).getByText(/champion\.metrics\.accuracy = 0\.92/)).toBeTruthy();
    const confirm = within(dialog).getByRole<HTMLButtonElement>('button', { name: 'Confirm promotion' });
    expect(confirm.disabled).toBe(true);

    fireEvent.change(gate, { target: { value: 'metrics.accuracy <= champion.metrics.accuracy' } });
    expect(await within(dialog).findByText('Gate passes')).toBeTruthy();
    expect(await enabledConfirm(dialog)).toBe(confirm);

    fireEvent.change(gate, { target: { value: 'metrics.%% >' } });
    expect((await within(dialog).findByRole('alert')).textContent).toContain('gate syntax error');
    expect(confirm.disabled).toBe(true);
  });

  it('says when the alias is not set yet', async () => {
    serve();
    const dialog = await openPromote(model, 1);
    fireEvent.change(within(dialog).getByLabelText('Alias'), { target: { value: 'staging' } });
    expect(await within(dialog).findByText('staging is not set')).toBeTruthy();
    expect(within(dialog).getByLabelText<HTMLInputElement>('Gate').value).toBe('');
  });

  it('posts the promotion and closes', async () => {
    serve();
    const dialog = await openPromote(model, 3, 'metrics.accuracy <= champion.metrics.accuracy');
    fireEvent.change(within(dialog).getByLabelText('Reason'), { target: { value: 'smaller model' } });
    fireEvent.click(await enabledConfirm(dialog));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(posted).toEqual([
      {
        path: 'models/churn/aliases',
        body: {
          version: 3,
          alias: 'production',
          gate: 'metrics.accuracy <= champion.metrics.accuracy',
          reason: 'smaller model'
        }
      }
    ]);
    expect(screen.getByText('production now points at v3.')).toBeTruthy();
  });

  it('shows the gate explanation when a promotion races and fails with 409', async () => {
    const failed = evaluate('metrics.accuracy >= champion.metrics.accuracy');
    serve([summary], () => {
      throw new ApiError('gate failed', 409, { gate: failed });
    });
    const dialog = await openPromote(model, 3, 'metrics.accuracy <= champion.metrics.accuracy');
    const confirm = await enabledConfirm(dialog);
    fireEvent.click(confirm);
    expect(await within(dialog).findByText('Gate fails')).toBeTruthy();
    expect(within(dialog).getByText(failed.explanation)).toBeTruthy();
    expect(confirm.disabled).toBe(true);
  });

  it('closes the dialog with Escape', async () => {
    serve();
    const dialog = await openPromote(model, 2);
    expect(document.activeElement).toBe(within(dialog).getByLabelText('Alias'));
    fireEvent.keyDown(dialog, { key: 'Escape' });
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('removes an alias after confirmation, with the reason', async () => {
    serve();
    render(<ModelsView model={model} trans={trans} actions={actions()} name="churn" />);
    fireEvent.click(await screen.findByRole('button', { name: 'Remove alias production' }));
    const dialog = screen.getByRole('dialog', { name: 'Remove alias production?' });
    fireEvent.change(within(dialog).getByLabelText('Reason'), { target: { value: 'retired' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Confirm removal' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(posted).toEqual([{ path: 'models/churn/aliases/production?reason=retired', body: null }]);
  });
});
