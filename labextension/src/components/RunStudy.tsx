import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { NbmlopsModel } from '../model';
import {
  bestSoFar,
  Importance,
  importancesFrom,
  IMPORTANCES_TABLE,
  isStudyRun,
  latestTable,
  stateCounts,
  studyInfo,
  StudyInfo,
  summaryBest,
  Trial,
  trialsFrom,
  trialsFromRuns,
  TRIALS_TABLE
} from '../study';
import { Actions, RunDetail, TablePage } from '../types';
import { ErrorLine, formatNumber, useLiveData } from './common';
import { RunSection } from './RunSection';
import { BEST_COLOR, markOf, StudyChart } from './StudyChart';

/** Rows asked per page of a study's table (the server's largest page). */
const PAGE_ROWS = 1000;
/** Trials drawn at most; a bigger study shows its first ones and says so. */
export const MAX_TRIALS = 20_000;
/** Child runs asked for while a sweep runs (the runs listing's largest page). */
const MAX_TRIAL_RUNS = 10_000;

/** A study's tables as the section shows them; a table that could not be read has its error message instead. */
export interface StudyData {
  trials: Trial[] | null;
  /** Where the trials come from: the sweep's table, or its child runs while it has none yet. */
  source: 'table' | 'runs';
  /** Rows of sweep.trials, drawn or not. */
  totalTrials: number;
  trialsError: string | null;
  /** null when the sweep logged no importances (or they could not be read: see importancesError). */
  importances: Importance[] | null;
  importancesError: string | null;
}

/** Every page of a logged table, up to `max` rows. */
async function readTable(model: NbmlopsModel, runId: string, path: string, max: number): Promise<TablePage[]> {
  const first = await model.mediaTable(runId, path, 0, PAGE_ROWS);
  const offsets: number[] = [];
  for (let offset = PAGE_ROWS; offset < Math.min(first.total_rows, max); offset += PAGE_ROWS) {
    offsets.push(offset);
  }
  const rest = await Promise.all(offsets.map(offset => model.mediaTable(runId, path, offset, PAGE_ROWS)));
  return [first, ...rest];
}

function message(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

/** The trials of a sweep without a trials table yet, from its child runs (null when it has none). */
async function trialRuns(model: NbmlopsModel, run: RunDetail, metric: string): Promise<Trial[] | null> {
  if (!/^[\w.-]+$/.test(run.run_id)) {
    return null; // not an id the filter can quote
  }
  const page = await model.runs({
    experiments: [run.experiment],
    where: `parent_run_id = '${run.run_id}'`,
    limit: MAX_TRIAL_RUNS
  });
  const trials = trialsFromRuns(page.runs, metric);
  return trials.length ? trials : null;
}

/**
 * The study's trials and importances from the parent run's media; without a trials table yet (a
 * sweep still running), its trials from its child runs. A failed media listing rejects.
 */
export async function loadStudy(model: NbmlopsModel, run: RunDetail): Promise<StudyData> {
  const runId = run.run_id;
  const media = await model.media(runId);
  const trialsItem = latestTable(media, TRIALS_TABLE);
  const importancesItem = latestTable(media, IMPORTANCES_TABLE);
  const [trials, importances] = await Promise.allSettled([
    trialsItem ? readTable(model, runId, trialsItem.path, MAX_TRIALS) : Promise.resolve(null),
    importancesItem ? readTable(model, runId, importancesItem.path, PAGE_ROWS) : Promise.resolve(null)
  ]);
  if (!trialsItem) {
    const live = await trialRuns(model, run, studyInfo(run).metric);
    return {
      trials: live,
      source: 'runs',
      totalTrials: live?.length ?? 0,
      trialsError: null,
      importances: null,
      importancesError: null
    };
  }
  return {
    trials: trials.status === 'fulfilled' && trials.value ? trialsFrom(trials.value).slice(0, MAX_TRIALS) : null,
    source: 'table',
    totalTrials: trials.status === 'fulfilled' && trials.value ? trials.value[0].total_rows : 0,
    trialsError: trials.status === 'rejected' ? message(trials.reason) : null,
    importances: importances.status === 'fulfilled' && importances.value ? importancesFrom(importances.value) : null,
    importancesError: importances.status === 'rejected' ? message(importances.reason) : null
  };
}

/** "tpe sampler · median pruner · maximize accuracy · 20 trials: 15 complete / 4 pruned / 1 failed · best 0.93 at trial 7". */
function StudySummary(props: {
  trans: TranslationBundle;
  actions: Actions;
  info: StudyInfo;
  trials: Trial[];
}): React.ReactElement {
  const { trans, actions, info, trials } = props;
  const counts = stateCounts(trials);
  const best = summaryBest(info, trials);
  const total =
    info.requested !== null && info.requested !== trials.length
      ? trans.__('%1 of %2 trials', trials.length, info.requested)
      : trans._n('%1 trial', '%1 trials', trials.length);
  const states = [
    trans.__('%1 complete', counts.complete),
    trans.__('%1 pruned', counts.pruned),
    trans.__('%1 failed', counts.failed),
    ...(counts.running ? [trans.__('%1 running', counts.running)] : []),
    ...(counts.other ? [trans.__('%1 other', counts.other)] : [])
  ].join(' / ');
  const trialLabel = best.trial !== null ? trans.__('trial %1', best.trial) : trans.__('its run');
  return (
    <p className="jp-nbmlops-study-summary">
      <span>{trans.__('%1 sampler', info.sampler)}</span>
      <span>{trans.__('%1 pruner', info.pruner)}</span>
      <span>
        {info.direction === 'maximize' ? trans.__('maximize %1', info.metric) : trans.__('minimize %1', info.metric)}
      </span>
      <span>
        {total}: {states}
      </span>
      {best.value !== null || best.trial !== null ? (
        <span>
          {trans.__('best %1 at', best.value !== null ? formatNumber(best.value) : '—')}{' '}
          {best.runId ? (
            <button
              className="jp-nbmlops-link"
              onClick={() => actions.openRun(best.runId as string)}
              title={trans.__('Open the run of the best trial, %1', best.runId)}
            >
              {trialLabel}
            </button>
          ) : (
            trialLabel
          )}
        </span>
      ) : (
        <span className="jp-nbmlops-muted">{trans.__('no complete trial yet')}</span>
      )}
    </p>
  );
}

/** The chart's key: a mark per state and the best-so-far line. */
function StudyLegend(props: { trans: TranslationBundle; running: boolean }): React.ReactElement {
  const { trans } = props;
  const entries: [string, string][] = [
    ['COMPLETE', trans.__('complete')],
    ['PRUNED', trans.__('pruned')],
    ['FAIL', trans.__('failed')],
    ...(props.running ? [['RUNNING', trans.__('running')] as [string, string]] : [])
  ];
  return (
    <ul className="jp-nbmlops-study-legend" aria-label={trans.__('Legend')}>
      {entries.map(([state, label]) => (
        <li key={state}>
          <span
            className={`jp-nbmlops-study-mark jp-nbmlops-study-mark-${markOf(state).shape}`}
            style={{ color: markOf(state).color }}
            aria-hidden="true"
          />
          {label}
        </li>
      ))}
      <li>
        <span className="jp-nbmlops-study-line" style={{ background: BEST_COLOR }} aria-hidden="true" />
        {trans.__('best so far')}
      </li>
    </ul>
  );
}

/** Parameter importances as horizontal bars, the largest first, each as long as its share of the largest. */
export function StudyImportances(props: { trans: TranslationBundle; importances: Importance[] }): React.ReactElement {
  const { trans, importances } = props;
  const max = Math.max(0, ...importances.map(i => i.importance));
  return (
    <ul className="jp-nbmlops-importances" aria-label={trans.__('Parameter importances')}>
      {importances.map(({ param, importance }) => (
        <li key={param} className="jp-nbmlops-importance" title={`${param}: ${formatNumber(importance)}`}>
          <span className="jp-nbmlops-importance-name">{param}</span>
          <span className="jp-nbmlops-importance-track" aria-hidden="true">
            <span
              className="jp-nbmlops-importance-fill"
              style={{ width: `${max > 0 ? Math.max(0, (importance / max) * 100) : 0}%` }}
            />
          </span>
          <span className="jp-nbmlops-importance-value">{formatNumber(Number(importance.toPrecision(3)))}</span>
        </li>
      ))}
    </ul>
  );
}

/** The body of the section once the tables are read. */
function StudyBody(props: {
  trans: TranslationBundle;
  actions: Actions;
  info: StudyInfo;
  data: StudyData;
}): React.ReactElement {
  const { trans, actions, info, data } = props;
  const trials = React.useMemo(() => data.trials ?? [], [data.trials]);
  const best = React.useMemo(() => bestSoFar(trials, info.direction), [trials, info.direction]);
  if (data.trialsError) {
    return <ErrorLine error={trans.__('The study’s trials table could not be read: %1', data.trialsError)} />;
  }
  if (!data.trials) {
    return (
      <p className="jp-nbmlops-muted">
        {trans.__(
          'No trials yet: they show here as the sweep starts them, and its %1 table when its session ends.',
          TRIALS_TABLE
        )}
      </p>
    );
  }
  return (
    <>
      <StudySummary trans={trans} actions={actions} info={info} trials={trials} />
      {data.source === 'runs' ? (
        <p className="jp-nbmlops-muted">
          {trans.__(
            'From the trial runs so far: the sweep logs %1 (and the parameter importances) when its session ends.',
            TRIALS_TABLE
          )}
        </p>
      ) : null}
      {data.totalTrials > trials.length ? (
        <p className="jp-nbmlops-muted">
          {trans.__('The first %1 of %2 trials are drawn.', trials.length, data.totalTrials)}
        </p>
      ) : null}
      <h4>{trans.__('Objective over trials')}</h4>
      <StudyLegend trans={trans} running={trials.some(trial => trial.state === 'RUNNING')} />
      <StudyChart
        trans={trans}
        trials={trials}
        best={best}
        metric={info.metric}
        onOpen={runId => actions.openRun(runId)}
      />
      {data.importancesError ? (
        <ErrorLine error={trans.__('The parameter importances could not be read: %1', data.importancesError)} />
      ) : data.importances && data.importances.length ? (
        <>
          <h4>{trans.__('Parameter importances')}</h4>
          <StudyImportances trans={trans} importances={data.importances} />
        </>
      ) : null}
    </>
  );
}

/**
 * The Study section of an Optuna sweep's parent run: its settings and counts by state, the best trial
 * (a link to its run), the objective over trials with the best so far, and parameter importances;
 * nothing for any other run. Refreshed while the sweep runs.
 */
export function RunStudy(props: {
  model: NbmlopsModel;
  run: RunDetail;
  trans: TranslationBundle;
  actions: Actions;
}): React.ReactElement | null {
  return isStudyRun(props.run) ? <StudySection {...props} /> : null;
}

function StudySection(props: {
  model: NbmlopsModel;
  run: RunDetail;
  trans: TranslationBundle;
  actions: Actions;
}): React.ReactElement {
  const { model, run, trans, actions } = props;
  const runId = run.run_id;
  const running = run.status === 'RUNNING';
  const { data, error } = useLiveData(
    model,
    `study:${runId}`,
    () => loadStudy(model, run),
    () => running
  );
  const info = React.useMemo(() => studyInfo(run), [run]);
  return (
    <RunSection id="study" title={trans.__('Study')} count={data?.trials?.length}>
      {data ? (
        <>
          <ErrorLine error={error} />
          <StudyBody trans={trans} actions={actions} info={info} data={data} />
        </>
      ) : error ? (
        <ErrorLine error={trans.__('The study could not be read: %1', message(error))} />
      ) : (
        <p className="jp-nbmlops-muted">{trans.__('Loading the study…')}</p>
      )}
    </RunSection>
  );
}
