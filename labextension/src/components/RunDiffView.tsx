import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { decodeNumber, NbmlopsModel } from '../model';
import { Actions, MetricChange, RunDiff, RunDiffSide } from '../types';
import { ErrorLine, formatDuration, formatNumber, StatusBadge } from './common';
import { CompareSection } from './CompareSection';
import { CodeChanges } from './RunDiffCode';
import { Arrow, ChangeTable, DataChanges, EnvironmentChanges, GitChanges, ModelChanges } from './RunDiffDetails';

export interface RunDiffViewProps {
  model: NbmlopsModel;
  trans: TranslationBundle;
  actions: Actions;
  /** Run A, the one compared against. */
  a: string;
  /** Run B. */
  b: string;
  /** JupyterLab's renderers, for nbdime's notebook diff view; without them notebook changes are unified diffs. */
  rendermime: IRenderMimeRegistry | null;
}

/** A run's name, or the start of its id when it has none. */
function nameOf(side: RunDiffSide): string {
  return side.name || side.run_id.slice(0, 8);
}

/**
 * Why run B differed from run A, section by section in the order of `nbmlops diff`: params, metrics, code,
 * data, environment, git, models, status and duration; empty sections are left out. The diff is loaded
 * first without the row-level data comparison (the slow part), which "Compare rows" then asks for.
 */
export function RunDiffView(props: RunDiffViewProps): React.ReactElement {
  const { model, trans, actions, a, b, rendermime } = props;
  const [diff, setDiff] = React.useState<RunDiff | null>(null);
  const [rows, setRows] = React.useState(false);
  const [loading, setLoading] = React.useState(true);
  const [error, setError] = React.useState<unknown>(null);

  React.useEffect(() => {
    let current = true;
    setLoading(true);
    setError(null);
    model.runDiff(a, b, rows).then(
      found => {
        if (current) {
          setDiff(found);
          setLoading(false);
        }
      },
      reason => {
        if (current) {
          setError(reason);
          setLoading(false);
        }
      }
    );
    return () => {
      current = false;
    };
  }, [model, a, b, rows]);

  if (!diff) {
    return (
      <div className="jp-nbmlops-diff" aria-busy={loading}>
        {error ? <ErrorLine error={error} /> : <p className="jp-nbmlops-muted">{trans.__('Loading the diff…')}</p>}
      </div>
    );
  }
  const data = diff.data ?? [];
  // Rows were not compared: some dataset changed between the runs and its row counts are unknown.
  const rowsLeftOut = !rows && data.some(entry => entry.changes && entry.changes.added === null);
  return (
    <div className="jp-nbmlops-diff" aria-busy={loading}>
      <ErrorLine error={error} />
      <p className="jp-nbmlops-diff-runs">
        {trans.__('Run A')}{' '}
        <button className="jp-nbmlops-link" title={diff.a.run_id} onClick={() => actions.openRun(diff.a.run_id)}>
          {nameOf(diff.a)}
        </button>{' '}
        → {trans.__('Run B')}{' '}
        <button className="jp-nbmlops-link" title={diff.b.run_id} onClick={() => actions.openRun(diff.b.run_id)}>
          {nameOf(diff.b)}
        </button>
      </p>
      {diff.params?.length ? (
        <DiffSection title={trans.__('Parameters')} id="params">
          <ChangeTable
            label={trans.__('Parameter changes')}
            keyTitle={trans.__('Parameter')}
            rows={diff.params}
            trans={trans}
          />
        </DiffSection>
      ) : null}
      {diff.metrics?.length ? (
        <DiffSection title={trans.__('Metrics')} id="metrics">
          <MetricChanges metrics={diff.metrics} trans={trans} />
        </DiffSection>
      ) : null}
      {diff.code ? (
        <DiffSection title={trans.__('Code')} id="code">
          <CodeChanges code={diff.code} rendermime={rendermime} trans={trans} />
        </DiffSection>
      ) : null}
      {data.length ? (
        <DiffSection
          title={trans.__('Data')}
          id="data"
          tools={
            rowsLeftOut ? (
              <button
                className="jp-mod-styled"
                disabled={loading}
                title={trans.__('Compare the dataset snapshots row by row (slow for big datasets)')}
                onClick={() => setRows(true)}
              >
                {trans.__('Compare rows')}
              </button>
            ) : rows && loading ? (
              <span className="jp-nbmlops-muted" role="status">
                {trans.__('Comparing rows…')}
              </span>
            ) : null
          }
        >
          <DataChanges data={data} trans={trans} />
        </DiffSection>
      ) : null}
      {diff.environment ? (
        <DiffSection title={trans.__('Environment')} id="environment">
          <EnvironmentChanges environment={diff.environment} trans={trans} />
        </DiffSection>
      ) : null}
      {diff.git ? (
        <DiffSection title={trans.__('Git')} id="git">
          <GitChanges git={diff.git} trans={trans} />
        </DiffSection>
      ) : null}
      {diff.models ? (
        <DiffSection title={trans.__('Models')} id="models">
          <ModelChanges models={diff.models} trans={trans} />
        </DiffSection>
      ) : null}
      <DiffSection title={trans.__('Status and duration')} id="status">
        <ul className="jp-nbmlops-diff-facts">
          <li>
            {trans.__('Status')} <StatusBadge status={diff.a.status} /> → <StatusBadge status={diff.b.status} />
          </li>
          <li>
            {trans.__('Duration')}{' '}
            <Arrow a={formatDuration(diff.a.duration) || null} b={formatDuration(diff.b.duration) || null} />
          </li>
        </ul>
      </DiffSection>
    </div>
  );
}

function DiffSection(props: {
  title: string;
  id: string;
  tools?: React.ReactNode;
  children: React.ReactNode;
}): React.ReactElement {
  const id = React.useId();
  return (
    <CompareSection id={`${id}-${props.id}`} title={props.title} tools={props.tools}>
      {props.children}
    </CompareSection>
  );
}

/** A metric value as the server sends it (numbers, "NaN", "Infinity"), or a dash when the run has none. */
function metricValue(value: MetricChange['a']): React.ReactNode {
  return value === null || value === undefined ? (
    <span className="jp-nbmlops-muted">—</span>
  ) : (
    formatNumber(decodeNumber(value))
  );
}

/** Final values of A and B, B - A, and whether B is better or worse by the metric's direction. */
function MetricChanges(props: { metrics: MetricChange[]; trans: TranslationBundle }): React.ReactElement {
  const { metrics, trans } = props;
  const verdicts: Record<MetricChange['verdict'], string> = {
    better: trans.__('better'),
    worse: trans.__('worse'),
    same: trans.__('same'),
    changed: trans.__('changed'),
    added: trans.__('only in B'),
    removed: trans.__('only in A')
  };
  return (
    <div className="jp-nbmlops-compare-table-wrap">
      <table className="jp-nbmlops-compare-table jp-nbmlops-diff-table" aria-label={trans.__('Metric changes')}>
        <thead>
          <tr>
            <th scope="col">{trans.__('Metric')}</th>
            <th scope="col">A</th>
            <th scope="col">B</th>
            <th scope="col">{trans.__('Difference')}</th>
            <th scope="col">{trans.__('B is')}</th>
          </tr>
        </thead>
        <tbody>
          {metrics.map(metric => {
            const lower = metric.direction === 'min';
            const difference = metric.difference;
            return (
              <tr key={metric.key} className={`jp-nbmlops-diff-${metric.verdict}`}>
                <th scope="row" title={metric.key}>
                  {metric.key}{' '}
                  <span
                    className="jp-nbmlops-muted"
                    title={lower ? trans.__('Lower is better') : trans.__('Higher is better')}
                  >
                    {lower ? '↓' : '↑'}
                  </span>
                </th>
                <td>{metricValue(metric.a)}</td>
                <td>{metricValue(metric.b)}</td>
                <td>
                  {difference === null || difference === undefined
                    ? ''
                    : `${difference > 0 ? '+' : ''}${formatNumber(difference)}`}
                </td>
                <td className={`jp-nbmlops-diff-verdict jp-nbmlops-diff-verdict-${metric.verdict}`}>
                  {verdicts[metric.verdict]}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
