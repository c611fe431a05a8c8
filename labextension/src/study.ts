// What the Study section of an Optuna sweep's parent run shows, kept free of the DOM so jest can check it:
// the study's settings from the parent's tags, its trials and parameter importances from the two tables
// the sweep logs on the parent (sweep.trials, sweep.importances), counts by state, the best trial and the
// best value so far, trial by trial.
import { decodeNumber } from './model';
import { MediaItem, RunDetail, RunRecord, TablePage } from './types';

/** The media names of the two tables an Optuna sweep logs on its parent run. */
export const TRIALS_TABLE = 'sweep.trials';
export const IMPORTANCES_TABLE = 'sweep.importances';

/** Whether the study maximizes or minimizes its objective. */
export type StudyDirection = 'maximize' | 'minimize';

/** How a trial ended, as Optuna names it: COMPLETE, PRUNED or FAIL (another name a newer sweep writes is kept). */
export type TrialState = string;

/** The study's settings and best trial, as the parent run's tags and metrics record them. */
export interface StudyInfo {
  sampler: string;
  pruner: string;
  direction: StudyDirection;
  metric: string;
  study: string;
  /** Trials asked for (`sweep.trials`); null when the tag is missing or not a number. */
  requested: number | null;
  bestRun: string | null;
  bestTrial: number | null;
  /** `best_<metric>` on the parent; null when not logged (yet). */
  bestValue: number | null;
}

/** One trial: a row of sweep.trials. `value` is NaN when the trial has none (failed, pruned early). */
export interface Trial {
  trial: number;
  runId: string | null;
  state: TrialState;
  value: number;
  durationS: number;
  /** The swept parameters (the `params.<name>` columns), by name. */
  params: Record<string, unknown>;
}

/** One parameter's importance (a row of sweep.importances). */
export interface Importance {
  param: string;
  importance: number;
}

/** Trials by how they ended. */
export interface StateCounts {
  complete: number;
  pruned: number;
  failed: number;
  running: number;
  /** Trials in another state (WAITING, a name this panel does not know). */
  other: number;
}

/** A run is the parent of an Optuna sweep when it carries the sampler tag. */
export function isStudyRun(run: RunDetail): boolean {
  return typeof run.tags['sweep.sampler'] === 'string';
}

/** An integer from a tag's text; null when missing or not one. */
function intTag(text: string | undefined): number | null {
  if (text === undefined || text.trim() === '') {
    return null;
  }
  const value = Number(text);
  return Number.isInteger(value) ? value : null;
}

/** The direction a tag names; Optuna's default, minimize, for anything but "maximize". */
export function studyDirection(text: string | undefined): StudyDirection {
  return (text ?? '').trim().toLowerCase() === 'maximize' ? 'maximize' : 'minimize';
}

/** The study's settings from a sweep parent's tags and its `best_<metric>` metric. */
export function studyInfo(run: RunDetail): StudyInfo {
  const tags = run.tags;
  const metric = tags['sweep.metric'] ?? '';
  const best = metric ? run.metrics[`best_${metric}`] : undefined;
  return {
    sampler: tags['sweep.sampler'] ?? '',
    pruner: tags['sweep.pruner'] ?? 'none',
    direction: studyDirection(tags['sweep.direction']),
    metric,
    study: tags['sweep.study'] ?? '',
    requested: intTag(tags['sweep.trials']),
    bestRun: tags['sweep.best_run'] || null,
    bestTrial: intTag(tags['sweep.best_trial']),
    bestValue: typeof best === 'number' && Number.isFinite(best) ? best : null
  };
}

/** The latest step of the table named `name` among a run's media; null when it has none. */
export function latestTable(items: readonly MediaItem[], name: string): MediaItem | null {
  let found: MediaItem | null = null;
  for (const item of items) {
    if (item.kind === 'table' && item.name === name && (found === null || (item.step ?? -1) >= (found.step ?? -1))) {
      found = item;
    }
  }
  return found;
}

/** A table page's rows as objects keyed by column name. */
function records(page: TablePage): Record<string, unknown>[] {
  const names = page.columns.map(column => column.name);
  return page.rows.map(row => Object.fromEntries(names.map((name, i) => [name, row[i]])));
}

/** A cell as a finite number or NaN (the server sends NaN and infinities as null). */
function numberOf(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') {
    return NaN;
  }
  const number = decodeNumber(value);
  return Number.isFinite(number) ? number : NaN;
}

/** The trials of sweep.trials pages (in any order, rows without a trial number left out), sorted by trial. */
export function trialsFrom(pages: readonly TablePage[]): Trial[] {
  const trials: Trial[] = [];
  for (const page of pages) {
    for (const row of records(page)) {
      const trial = numberOf(row['trial']);
      if (!Number.isFinite(trial)) {
        continue;
      }
      const params: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(row)) {
        if (key.startsWith('params.')) {
          params[key.slice('params.'.length)] = value;
        }
      }
      const runId = row['run_id'];
      trials.push({
        trial,
        runId: typeof runId === 'string' && runId ? runId : null,
        state: typeof row['state'] === 'string' ? row['state'].toUpperCase() : 'FAIL',
        value: numberOf(row['value']),
        durationS: numberOf(row['duration_s']),
        params
      });
    }
  }
  return trials.sort((a, b) => a.trial - b.trial);
}

/**
 * The trials of a sweep still running, from its child runs (the sweep logs sweep.trials when its
 * session ends): the trial number from the `sweep.trial` tag (runs without one left out), the state
 * from the run's status as Optuna would tell it (a finished run without a finite `metric` is a
 * FAIL), the value its latest `metric` (a pruned or running trial's is an intermediate one).
 */
export function trialsFromRuns(runs: readonly RunRecord[], metric: string): Trial[] {
  const trials: Trial[] = [];
  for (const run of runs) {
    const trial = intTag(run.tags['sweep.trial']);
    if (trial === null) {
      continue;
    }
    const value = numberOf(run.metrics[metric]);
    const state =
      run.status === 'FINISHED'
        ? Number.isFinite(value)
          ? 'COMPLETE'
          : 'FAIL'
        : run.status === 'PRUNED' || run.status === 'RUNNING'
          ? run.status
          : 'FAIL';
    trials.push({ trial, runId: run.run_id, state, value, durationS: numberOf(run.duration), params: run.params });
  }
  return trials.sort((a, b) => a.trial - b.trial);
}

/** The importances of sweep.importances pages, largest first; rows without a finite importance left out. */
export function importancesFrom(pages: readonly TablePage[]): Importance[] {
  const found: Importance[] = [];
  for (const page of pages) {
    for (const row of records(page)) {
      const importance = numberOf(row['importance']);
      const param = row['param'];
      if (param !== null && param !== undefined && Number.isFinite(importance)) {
        found.push({ param: typeof param === 'string' ? param : JSON.stringify(param), importance });
      }
    }
  }
  return found.sort((a, b) => b.importance - a.importance || a.param.localeCompare(b.param));
}

/** Whether `a` is a better objective value than `b` in `direction`. */
function better(a: number, b: number, direction: StudyDirection): boolean {
  return direction === 'maximize' ? a > b : a < b;
}

/** Whether a trial's value counts for the best: a COMPLETE trial with a finite value. */
function counts(trial: Trial): boolean {
  return trial.state === 'COMPLETE' && Number.isFinite(trial.value);
}

/**
 * The best objective value up to each trial (NaN before the first COMPLETE one): only complete trials
 * count, since a pruned trial's value is an intermediate one and a failed trial has none.
 */
export function bestSoFar(trials: readonly Trial[], direction: StudyDirection): number[] {
  let best = NaN;
  return trials.map(trial => {
    if (counts(trial) && (Number.isNaN(best) || better(trial.value, best, direction))) {
      best = trial.value;
    }
    return best;
  });
}

/** The best complete trial (the first one on a tie); null when no trial completed. */
export function bestTrial(trials: readonly Trial[], direction: StudyDirection): Trial | null {
  let best: Trial | null = null;
  for (const trial of trials) {
    if (counts(trial) && (best === null || better(trial.value, best.value, direction))) {
      best = trial;
    }
  }
  return best;
}

/** How many trials completed, were pruned, failed or are in another state. */
export function stateCounts(trials: readonly Trial[]): StateCounts {
  const result: StateCounts = { complete: 0, pruned: 0, failed: 0, running: 0, other: 0 };
  for (const trial of trials) {
    if (trial.state === 'COMPLETE') {
      result.complete++;
    } else if (trial.state === 'PRUNED') {
      result.pruned++;
    } else if (trial.state === 'FAIL') {
      result.failed++;
    } else if (trial.state === 'RUNNING') {
      result.running++;
    } else {
      result.other++;
    }
  }
  return result;
}

/** The best trial the summary names: the parent's tags when they say, else the best of the table. */
export function summaryBest(
  info: StudyInfo,
  trials: readonly Trial[]
): { trial: number | null; runId: string | null; value: number | null } {
  const computed = bestTrial(trials, info.direction);
  if (info.bestTrial !== null || info.bestRun !== null) {
    const row = trials.find(t => t.trial === info.bestTrial) ?? null;
    return {
      trial: info.bestTrial ?? row?.trial ?? null,
      runId: info.bestRun ?? row?.runId ?? null,
      value: info.bestValue ?? (row && Number.isFinite(row.value) ? row.value : null)
    };
  }
  return computed
    ? { trial: computed.trial, runId: computed.runId, value: info.bestValue ?? computed.value }
    : { trial: null, runId: null, value: info.bestValue };
}
