import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { ApiError } from '../api';
import { NbmlopsModel } from '../model';
import { NOTEBOOK_ARTIFACTS } from '../notebooks';
import { isSystemMetric } from '../systemMetrics';
import { Actions, RunDetail } from '../types';
import {
  ErrorLine,
  formatDuration,
  formatNumber,
  formatValue,
  StatusBadge,
  timeAgo,
  useLiveData,
  useTick
} from './common';
import { LineageGraph } from './LineageGraph';
import { RunArtifacts } from './RunArtifacts';
import { RunDatasets } from './RunDatasets';
import { RunDiffView } from './RunDiffView';
import { RunEnvironment, SYSTEM_TAGS } from './RunEnvironment';
import { RunMedia } from './RunMedia';
import { RunPairs, RunSection } from './RunSection';
import { RunStudy } from './RunStudy';
import { RunCharts, RunSystem } from './RunSystem';

export interface RunDetailViewProps {
  model: NbmlopsModel;
  trans: TranslationBundle;
  actions: Actions;
  runId: string;
  /** JupyterLab's renderers, for nbdime's notebook diff in "Diff against parent". */
  rendermime?: IRenderMimeRegistry | null;
}

/** Charts drawn before the user asks for all of them (each one fetches a history). */
const FIRST_CHARTS = 12;

/**
 * One run: failure, header, study (an Optuna sweep's parent), params, metrics with charts, media, system metrics, tags, datasets, lineage,
 * environment, artifacts.
 */
export function RunDetailView(props: RunDetailViewProps): React.ReactElement {
  const { model, trans, actions, runId } = props;
  const [now, setNow] = React.useState(Date.now());
  const [diffing, setDiffing] = React.useState(false);
  const running = (data: RunDetail | null): boolean => data?.status === 'RUNNING';
  const { data: run, error } = useLiveData(model, runId, () => model.run(runId), running);
  useTick(model, () => {
    if (running(run)) {
      setNow(Date.now());
    }
  });

  const gone = error instanceof ApiError && error.status === 404;
  if (gone) {
    return (
      <div className="jp-nbmlops-run">
        <ErrorLine
          error={trans.__(
            'Run %1 is gone: it was deleted from the store, or the server now serves another store.',
            runId
          )}
        />
      </div>
    );
  }
  if (!run) {
    return (
      <div className="jp-nbmlops-run">
        {error ? <ErrorLine error={error} /> : <p className="jp-nbmlops-muted">{trans.__('Loading run…')}</p>}
      </div>
    );
  }

  return (
    <div className="jp-nbmlops-run" aria-busy={run.status === 'RUNNING'}>
      <ErrorLine error={error} />
      {run.status === 'FAILED' || run.error ? <RunFailure run={run} trans={trans} /> : null}
      <RunHeader run={run} trans={trans} actions={actions} now={now} />
      <RunDiffAgainst
        run={run}
        trans={trans}
        model={model}
        actions={actions}
        rendermime={props.rendermime ?? null}
        open={diffing}
        onToggle={() => setDiffing(!diffing)}
      />
      <RunStudy model={model} run={run} trans={trans} actions={actions} />
      <RunParams run={run} trans={trans} />
      <RunMetrics run={run} trans={trans} model={model} />
      <RunMedia model={model} run={run} trans={trans} />
      <RunSystem model={model} run={run} trans={trans} />
      <RunTags run={run} trans={trans} />
      <RunDatasets datasets={run.datasets} trans={trans} />
      <RunSection id="lineage" title={trans.__('Lineage')}>
        <LineageGraph model={model} trans={trans} actions={actions} subject={`run:${run.run_id}`} />
      </RunSection>
      <RunEnvironment model={model} run={run} trans={trans} />
      <RunArtifacts model={model} run={run} trans={trans} />
    </div>
  );
}

interface RunPartProps {
  run: RunDetail;
  trans: TranslationBundle;
}

/** The run this one is best compared with: the run it reproduced, else its parent; null when neither. */
export function diffTarget(run: RunDetail): { runId: string; reproduced: boolean } | null {
  const reproduced = run.tags['reproduces'];
  if (reproduced && reproduced !== run.run_id) {
    return { runId: reproduced, reproduced: true };
  }
  return run.parent_run_id ? { runId: run.parent_run_id, reproduced: false } : null;
}

/** "Diff against parent" / "Diff against reproduced run": a button, and the diff (A the other run, B this one). */
function RunDiffAgainst(
  props: RunPartProps & {
    model: NbmlopsModel;
    actions: Actions;
    rendermime: IRenderMimeRegistry | null;
    open: boolean;
    onToggle: () => void;
  }
): React.ReactElement | null {
  const { run, trans, open } = props;
  const target = diffTarget(run);
  if (!target) {
    return null;
  }
  const title = target.reproduced ? trans.__('Diff against reproduced run') : trans.__('Diff against parent');
  const button = (
    <button
      className="jp-mod-styled"
      aria-expanded={open}
      title={trans.__('What changed from run %1 to this run', target.runId)}
      onClick={props.onToggle}
    >
      {open ? trans.__('Hide the diff') : title}
    </button>
  );
  if (!open) {
    return <div className="jp-nbmlops-run-diff-against">{button}</div>;
  }
  return (
    <RunSection id="diff" title={title} actions={button}>
      <RunDiffView
        model={props.model}
        trans={trans}
        actions={props.actions}
        a={target.runId}
        b={run.run_id}
        rendermime={props.rendermime}
      />
    </RunSection>
  );
}

function RunFailure(props: RunPartProps): React.ReactElement {
  const { run, trans } = props;
  const cell = run.tags['runner.failed_cell'];
  const headingId = React.useId();
  return (
    <section className="jp-nbmlops-run-failure" aria-labelledby={headingId}>
      <h3 id={headingId}>
        {cell !== undefined ? trans.__('The run failed in cell %1', cell) : trans.__('The run failed')}
      </h3>
      {run.error ? (
        <pre className="jp-nbmlops-run-traceback" tabIndex={0} aria-label={trans.__('Traceback')}>
          {run.error}
        </pre>
      ) : (
        <p className="jp-nbmlops-muted">{trans.__('No traceback was recorded for this run.')}</p>
      )}
    </section>
  );
}

function RunHeader(props: RunPartProps & { actions: Actions; now: number }): React.ReactElement {
  const { run, trans, actions, now } = props;
  const hasNotebook = !!run.notebook || run.artifacts.some(a => NOTEBOOK_ARTIFACTS.includes(a.path));
  const who = [run.user, run.host].filter(Boolean).join('@');
  return (
    <header className="jp-nbmlops-run-header">
      <div className="jp-nbmlops-run-title">
        <h2>{run.name || run.run_id}</h2>
        <StatusBadge status={run.status} />
        {hasNotebook ? (
          <button
            className="jp-mod-styled jp-mod-accept jp-nbmlops-run-open"
            onClick={() => actions.openNotebook(run.run_id)}
          >
            {trans.__('Open notebook')}
          </button>
        ) : null}
      </div>
      <dl className="jp-nbmlops-run-facts">
        <dt>{trans.__('Run id')}</dt>
        <dd>
          <code>{run.run_id}</code>
        </dd>
        <dt>{trans.__('Experiment')}</dt>
        <dd>
          <button className="jp-nbmlops-link" onClick={() => actions.openRuns(run.experiment)}>
            {run.experiment}
          </button>
        </dd>
        <dt>{trans.__('Started')}</dt>
        <dd title={run.start_time}>
          {new Date(run.start_time).toLocaleString()}{' '}
          <span className="jp-nbmlops-muted">({timeAgo(run.start_time, now)})</span>
        </dd>
        <dt>{trans.__('Duration')}</dt>
        <dd>
          {formatDuration(run.duration)}
          {run.status === 'RUNNING' ? <span className="jp-nbmlops-muted"> {trans.__('so far')}</span> : null}
        </dd>
        {run.parent_run_id && run.tags['sweep.trial'] !== undefined ? (
          <>
            <dt>{trans.__('Trial')}</dt>
            <dd>{trans.__('%1 of the sweep (its parent run)', run.tags['sweep.trial'])}</dd>
          </>
        ) : null}
        {run.status === 'PRUNED' ? (
          <>
            <dt>{trans.__('Pruned')}</dt>
            <dd>
              {run.tags['sweep.pruned_at_step'] !== undefined
                ? trans.__("at step %1, by the sweep's pruner", run.tags['sweep.pruned_at_step'])
                : trans.__("by the sweep's pruner")}
            </dd>
          </>
        ) : null}
        {who ? (
          <>
            <dt>{trans.__('User')}</dt>
            <dd>{who}</dd>
          </>
        ) : null}
        {run.parent_run_id ? (
          <>
            <dt>{trans.__('Parent run')}</dt>
            <dd>
              <button
                className="jp-nbmlops-link"
                onClick={() => actions.openRun(run.parent_run_id as string)}
                title={trans.__('Open the parent run %1', run.parent_run_id)}
              >
                {run.parent_run_id.slice(0, 8)}
              </button>
            </dd>
          </>
        ) : null}
        {run.notebook ? (
          <>
            <dt>{trans.__('Notebook')}</dt>
            <dd className="jp-nbmlops-run-path">{run.notebook}</dd>
          </>
        ) : null}
      </dl>
    </header>
  );
}

function byKey<T>(record: Record<string, T>): [string, T][] {
  return Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
}

function RunParams(props: RunPartProps): React.ReactElement {
  const { run, trans } = props;
  const rows = byKey(run.params);
  return (
    <RunSection id="params" title={trans.__('Parameters')} count={rows.length}>
      {rows.length ? (
        <RunPairs
          label={trans.__('Parameters')}
          rows={rows.map(([key, value]) => [key, <code key={key}>{formatValue(value)}</code>])}
        />
      ) : (
        <p className="jp-nbmlops-muted">{trans.__('No parameters: log them with nbmlops.log_params({...}).')}</p>
      )}
    </RunSection>
  );
}

function RunMetrics(props: RunPartProps & { model: NbmlopsModel }): React.ReactElement {
  const { run, trans, model } = props;
  const [allCharts, setAllCharts] = React.useState(false);
  // system/... metrics have a section of their own
  const rows = byKey(run.metrics).filter(([key]) => !isSystemMetric(key));
  const charted = allCharts ? rows : rows.slice(0, FIRST_CHARTS);
  return (
    <RunSection id="metrics" title={trans.__('Metrics')} count={rows.length}>
      {rows.length ? (
        <>
          <RunPairs
            label={trans.__('Latest metric values')}
            rows={rows.map(([key, value]) => [key, formatNumber(value)])}
          />
          <RunCharts model={model} run={run} trans={trans} keys={charted.map(([key]) => key)} height={160} />
          {rows.length > charted.length ? (
            <button className="jp-mod-styled" onClick={() => setAllCharts(true)}>
              {trans.__('Show all %1 charts', rows.length)}
            </button>
          ) : null}
        </>
      ) : (
        <p className="jp-nbmlops-muted">{trans.__('No metrics: log them with nbmlops.log_metric("name", value).')}</p>
      )}
    </RunSection>
  );
}

function RunTags(props: RunPartProps): React.ReactElement {
  const { run, trans } = props;
  const rows = byKey(run.tags).filter(([key]) => !SYSTEM_TAGS.includes(key));
  return (
    <RunSection id="tags" title={trans.__('Tags')} count={rows.length}>
      {rows.length ? (
        <RunPairs label={trans.__('Tags')} rows={rows} />
      ) : (
        <p className="jp-nbmlops-muted">{trans.__('No tags besides the system ones (see Environment and git).')}</p>
      )}
    </RunSection>
  );
}
