import { nullTranslator } from '@jupyterlab/translation';
import { fireEvent, render, screen, within } from '@testing-library/react';
import * as React from 'react';

import { ApiError, requestAPI } from '../api';
import { LineageGraph } from '../components/LineageGraph';
import { crossings, layoutLineage, orderColumns } from '../lineageLayout';
import { NbmlopsModel } from '../model';
import { LineageEdge, LineageGraph as LineageData } from '../types';
import { actions } from './actionsFixture';

jest.mock('../api', () => ({
  ...jest.requireActual<typeof import('../api')>('../api'),
  requestAPI: jest.fn()
}));

const api = requestAPI as jest.MockedFunction<typeof requestAPI>;
const trans = nullTranslator.load('nbmlops');

function edge(source: string, target: string, kind: LineageEdge['kind'], detail: string | null = null): LineageEdge {
  const type = (id: string) => id.split(':')[0] as LineageEdge['source_type'];
  const label = (id: string) =>
    id.startsWith('run:')
      ? `train-${id.slice(4, 6)} (${id.slice(4)}, FINISHED)`
      : id.startsWith('alias:')
        ? id.slice(6)
        : id.slice(id.indexOf(':') + 1).replace(/[@/](\d+)$/, ' v$1');
  return {
    source,
    target,
    kind,
    detail,
    source_type: type(source),
    target_type: type(target),
    source_label: label(source),
    target_label: label(target)
  };
}

/** churn v1 trained on customers (train) and holdout (test), promoted to production. */
const promoted: LineageData = {
  root: 'run:r1aaaaaa',
  edges: [
    edge('dataset:customers@1', 'run:r1aaaaaa', 'used', 'train'),
    edge('dataset:holdout@1', 'run:r1aaaaaa', 'used', 'test'),
    edge('run:r1aaaaaa', 'model:churn/1', 'registered'),
    edge('model:churn/1', 'alias:churn@production', 'alias', 'production')
  ]
};

describe('layoutLineage', () => {
  it('puts datasets, runs, models and aliases in columns left to right', () => {
    const layout = layoutLineage(promoted);
    expect(layout.columns.map(c => c.type)).toEqual(['dataset', 'run', 'model', 'alias']);
    const x = (id: string) => layout.nodes.find(n => n.id === id)?.x as number;
    expect(x('dataset:customers@1')).toBe(x('dataset:holdout@1'));
    expect(x('dataset:customers@1')).toBeLessThan(x('run:r1aaaaaa'));
    expect(x('run:r1aaaaaa')).toBeLessThan(x('model:churn/1'));
    expect(x('model:churn/1')).toBeLessThan(x('alias:churn@production'));
    expect(layout.nodes.filter(n => n.root).map(n => n.id)).toEqual(['run:r1aaaaaa']);
    for (const node of layout.nodes) {
      expect(node.x + 180).toBeLessThanOrEqual(layout.width);
      expect(node.y + 32).toBeLessThanOrEqual(layout.height);
    }
  });

  it('leaves out empty columns and merges the roles of one dataset used twice', () => {
    const layout = layoutLineage({
      root: 'model:churn/2',
      edges: [
        edge('dataset:customers@2', 'run:r2bbbbbb', 'used', 'train'),
        edge('dataset:customers@2', 'run:r2bbbbbb', 'used', 'test'),
        edge('run:r2bbbbbb', 'model:churn/2', 'registered')
      ]
    });
    expect(layout.columns.map(c => c.type)).toEqual(['dataset', 'run', 'model']);
    expect(layout.edges).toHaveLength(2);
    expect(layout.edges[0].details).toEqual(['train', 'test']);
  });

  it('orders each column so that edges do not cross when they need not', () => {
    // by label the runs start as [r-a, r-b], but r-a used the second dataset and r-b the first
    const graph: LineageData = {
      root: 'dataset:alpha@1',
      edges: [
        { ...edge('dataset:alpha@1', 'run:bb', 'used', 'train'), target_label: 'r-b' },
        { ...edge('dataset:beta@1', 'run:aa', 'used', 'train'), target_label: 'r-a' },
        { ...edge('run:aa', 'model:m/1', 'registered'), source_label: 'r-a' },
        { ...edge('run:bb', 'model:m/2', 'registered'), source_label: 'r-b' }
      ]
    };
    const links: [string, string][] = graph.edges.map(e => [e.source, e.target]);
    expect(
      crossings(
        [
          ['dataset:alpha@1', 'dataset:beta@1'],
          ['run:aa', 'run:bb'],
          ['model:m/1', 'model:m/2']
        ],
        links
      )
    ).toBe(1);
    const layout = layoutLineage(graph);
    const column = (type: string) =>
      layout.nodes
        .filter(n => n.type === type)
        .sort((a, b) => a.row - b.row)
        .map(n => n.id);
    expect(column('run')).toEqual(['run:bb', 'run:aa']);
    expect(crossings([column('dataset'), column('run'), column('model')], links)).toBe(0);
  });

  it('keeps the order it was given when nothing crosses', () => {
    const columns = [
      ['a', 'b'],
      ['c', 'd']
    ];
    expect(
      orderColumns(columns, [
        ['a', 'c'],
        ['b', 'd']
      ])
    ).toEqual(columns);
  });

  it('draws retrains back to the runs column and reproduces within it, both curved', () => {
    const layout = layoutLineage({
      root: 'model:churn/1',
      edges: [
        edge('run:r1aaaaaa', 'model:churn/1', 'registered'),
        edge('model:churn/1', 'run:r2bbbbbb', 'retrains'),
        edge('run:r2bbbbbb', 'model:churn/2', 'registered'),
        edge('run:r1aaaaaa', 'run:r3cccccc', 'reproduces')
      ]
    });
    expect(layout.columns.map(c => c.type)).toEqual(['run', 'model']);
    const shape = (kind: string) => layout.edges.find(e => e.kind === kind)?.shape;
    expect(shape('registered')).toBe('forward');
    expect(shape('retrains')).toBe('backward');
    expect(shape('reproduces')).toBe('loop');
    for (const e of layout.edges) {
      expect(e.path).toMatch(/^M[\d.]+,[\d.]+ C/);
    }
  });
});

describe('LineageGraph', () => {
  let model: NbmlopsModel;

  beforeEach(() => {
    api.mockReset();
    model = new NbmlopsModel();
  });

  afterEach(() => {
    model.dispose();
  });

  function serve(answer: LineageData | ApiError): void {
    api.mockImplementation(async (path: string) => {
      if (!path.startsWith('lineage?')) {
        throw new ApiError(`unexpected ${path}`, 500);
      }
      if (answer instanceof ApiError) {
        throw answer;
      }
      return answer;
    });
  }

  it('draws the nodes with their labels and emphasizes the root', async () => {
    serve(promoted);
    render(<LineageGraph model={model} trans={trans} actions={actions()} subject="run:r1aaaaaa" />);
    const graph = await screen.findByRole('group', { name: 'Lineage of train-r1 (r1aaaaaa, FINISHED)' });
    expect(api.mock.calls[0][0]).toBe('lineage?ref=run%3Ar1aaaaaa');
    for (const text of [
      'customers v1',
      'holdout v1',
      'churn v1',
      'churn@production',
      'Datasets',
      'Aliases',
      'train',
      'test'
    ]) {
      expect(within(graph).getByText(text, { selector: 'text' })).toBeTruthy();
    }
    const run = within(graph).getByRole('link', { name: 'Open run train-r1 (r1aaaaaa, FINISHED)' });
    expect(run.getAttribute('aria-current')).toBe('true');
    expect(run.getAttribute('class')).toContain('jp-mod-root');
    // the label is cut to fit its box; the whole of it is in the tooltip
    expect(run.querySelector('text')?.textContent).toBe('train-r1 (r1aaaaaa, FINI…');
    expect(run.querySelector('title')?.textContent).toBe('train-r1 (r1aaaaaa, FINISHED)');
    expect(within(graph).getByRole('img', { name: 'Dataset customers v1' }).getAttribute('tabindex')).toBeNull();
  });

  it('opens runs on click and models with Enter', async () => {
    serve(promoted);
    const acts = actions();
    render(<LineageGraph model={model} trans={trans} actions={acts} subject="run:r1aaaaaa" />);
    fireEvent.click(await screen.findByRole('link', { name: /^Open run train-r1/ }));
    expect(acts.openRun).toHaveBeenCalledWith('r1aaaaaa');
    const alias = screen.getByRole('link', { name: 'Open churn@production in the models view' });
    expect(alias.getAttribute('tabindex')).toBe('0');
    fireEvent.keyDown(alias, { key: 'Enter' });
    expect(acts.openModels).toHaveBeenCalledWith('churn');
    fireEvent.keyDown(screen.getByRole('link', { name: 'Open churn v1 in the models view' }), { key: 'Enter' });
    expect(acts.openModels).toHaveBeenCalledTimes(2);
  });

  it("shows the server's message for an unknown ref", async () => {
    serve(new ApiError("'nope' is no model alias, model version, run or dataset in this store", 404));
    render(<LineageGraph model={model} trans={trans} actions={actions()} subject="nope" />);
    expect((await screen.findByRole('alert')).textContent).toMatch(/'nope' is no model alias/);
  });

  it('says how to get lineage when there is none', async () => {
    serve({ root: 'run:r9', edges: [] });
    render(<LineageGraph model={model} trans={trans} actions={actions()} subject="run:r9" />);
    expect(
      await screen.findByText(
        'No lineage yet: log a dataset with nbmlops.log_dataset and a model with nbmlops.log_model in the same run'
      )
    ).toBeTruthy();
    expect(screen.queryByRole('group')).toBeNull();
  });
});
