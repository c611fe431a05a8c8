import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import {
  axisKind,
  bestIndices,
  colorOf,
  DiffRow,
  diffRows,
  differsFromFirst,
  Direction,
  isMissing,
  metricDirection
} from '../charts';
import { NbmlopsModel } from '../model';
import { isSystemMetric } from '../systemMetrics';
import { Actions, RunDetail } from '../types';
import { EmptyState, ErrorLine, formatValue, StatusBadge, useTick } from './common';
import { CompareMedia } from './CompareMedia';
import { CompareSection } from './CompareSection';
import { MetricChart } from './MetricChart';
import { RunDiffView } from './RunDiffView';
import { Dimension, ParallelCoordinates } from './ParallelCoordinates';
import { ScatterPlot } from './ScatterPlot';

export interface CompareViewProps {
  model: NbmlopsModel;
  trans: TranslationBundle;
  actions: Actions;
  runIds: string[];
  /** JupyterLab's renderers, for nbdime's notebook diff in the Diff tab. */
  rendermime?: IRenderMimeRegistry | null;
}

/** A compared run with its display label (name, made unique with a short id when names repeat) and color. */
interface Compared {
  run: RunDetail;
  label: string;
  color: string;
}

/** Charts shown before the user picks: enough to be useful, few enough to load fast. */
const DEFAULT_CHARTS = 6;
const DEFAULT_AXES = 6;

function labelled(runs: RunDetail[]): Compared[] {
  const counts = new Map<string, number>();
  runs.forEach(run => counts.set(run.name, (counts.get(run.name) ?? 0) + 1));
  return runs.map((run, index) => ({
    run,
    label: !run.name
      ? run.run_id.slice(0, 8)
      : counts.get(run.name)! > 1
        ? `${run.name} (${run.run_id.slice(0, 8)})`
        : run.name,
    color: colorOf(index)
  }));
}

/** The sorted union of the keys of some records. */
function keysOf(records: Record<string, unknown>[]): string[] {
  const keys = new Set<string>();
  records.forEach(record => Object.keys(record).forEach(key => keys.add(key)));
  return Array.from(keys).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
}

/** Two or more runs side by side: params diff, metrics with the best highlighted, and charts. */
export function CompareView(props: CompareViewProps): React.ReactElement {
  const { model, trans, actions, runIds } = props;
  const [tab, setTab] = React.useState<'side' | 'diff'>('side');
  const [swapped, setSwapped] = React.useState(false);
  const [runs, setRuns] = React.useState<RunDetail[] | null>(null);
  const [errors, setErrors] = React.useState<string[]>([]);
  const [directions, setDirections] = React.useState<Record<string, Direction>>({});
  const busy = React.useRef(false);

  const load = React.useCallback(async () => {
    if (busy.current) {
      return;
    }
    busy.current = true;
    try {
      const settled = await Promise.allSettled(runIds.map(id => model.run(id)));
      const loaded: RunDetail[] = [];
      const failed: string[] = [];
      settled.forEach((result, i) => {
        if (result.status === 'fulfilled') {
          loaded.push(result.value);
        } else {
          const reason = result.reason instanceof Error ? result.reason.message : String(result.reason);
          failed.push(trans.__('Run %1 cannot be compared: %2', runIds[i], reason));
        }
      });
      // The server says which way each metric is better; without an answer every metric counts as 'max'.
      const experiments = Array.from(new Set(loaded.map(run => run.experiment)));
      const keys = loaded.length ? await model.keys(experiments).catch(() => null) : null;
      setRuns(loaded);
      setErrors(failed);
      setDirections(keys?.directions ?? {});
    } finally {
      busy.current = false;
    }
  }, [model, trans, runIds.join(',')]); // eslint-disable-line react-hooks/exhaustive-deps -- runIds by value

  React.useEffect(() => {
    if (runIds.length >= 2) {
      void load();
    }
  }, [load, runIds.length]);

  useTick(model, () => {
    if (runs?.some(run => run.status === 'RUNNING')) {
      void load();
    }
  });

  const compared = React.useMemo(() => labelled(runs ?? []), [runs]);

  if (runIds.length < 2) {
    return (
      <div className="jp-nbmlops-compare">
        <EmptyState
          title={trans.__('Nothing to compare')}
          hint={trans.__('Select two or more runs in the runs table and press Compare.')}
        />
      </div>
    );
  }

  return (
    <div className="jp-nbmlops-compare">
      <h2 className="jp-nbmlops-compare-title">{trans.__('Comparing %1 runs', compared.length || runIds.length)}</h2>
      {errors.map(error => (
        <ErrorLine key={error} error={error} />
      ))}
      {runs === null ? (
        <p className="jp-nbmlops-muted">{trans.__('Loading…')}</p>
      ) : compared.length < 2 ? (
        <EmptyState
          title={trans.__('Fewer than two of these runs exist')}
          hint={trans.__('Select two or more runs in the runs table and press Compare.')}
        />
      ) : (
        <>
          <RunsHeader trans={trans} actions={actions} compared={compared} />
          {compared.length === 2 ? (
            <div className="jp-nbmlops-tabs" role="tablist" aria-label={trans.__('Comparison views')}>
              <button role="tab" aria-selected={tab === 'side'} onClick={() => setTab('side')}>
                {trans.__('Side by side')}
              </button>
              <button
                role="tab"
                aria-selected={tab === 'diff'}
                title={trans.__(
                  'What changed from one run to the other: params, metrics, code, data, environment, git'
                )}
                onClick={() => setTab('diff')}
              >
                {trans.__('Diff')}
              </button>
            </div>
          ) : null}
          {compared.length === 2 && tab === 'diff' ? (
            <div role="tabpanel" aria-label={trans.__('Diff')}>
              <button className="jp-mod-styled" onClick={() => setSwapped(!swapped)}>
                {trans.__('Swap A and B')}
              </button>
              <RunDiffView
                key={String(swapped)}
                model={model}
                trans={trans}
                actions={actions}
                a={compared[swapped ? 1 : 0].run.run_id}
                b={compared[swapped ? 0 : 1].run.run_id}
                rendermime={props.rendermime ?? null}
              />
            </div>
          ) : (
            <SideBySide model={model} trans={trans} actions={actions} compared={compared} directions={directions} />
          )}
        </>
      )}
    </div>
  );
}

/** Params, metrics, charts, media, scatter and parallel coordinates of all the compared runs. */
function SideBySide(
  props: SectionProps & { model: NbmlopsModel; actions: Actions; directions: Record<string, Direction> }
): React.ReactElement {
  const { model, trans, actions, compared, directions } = props;
  return (
    <>
      <ParamsSection trans={trans} compared={compared} />
      <MetricsSection trans={trans} compared={compared} directions={directions} />
      <ChartsSection model={model} trans={trans} compared={compared} />
      <CompareMedia
        model={model}
        trans={trans}
        runs={compared.map(c => ({ runId: c.run.run_id, label: c.label, color: c.color }))}
        live={compared.some(c => c.run.status === 'RUNNING')}
      />
      <ScatterSection trans={trans} actions={actions} compared={compared} />
      <ParallelSection trans={trans} actions={actions} compared={compared} />
    </>
  );
}

interface SectionProps {
  trans: TranslationBundle;
  compared: Compared[];
}

function RunsHeader(props: SectionProps & { actions: Actions }): React.ReactElement {
  const { trans, actions, compared } = props;
  return (
    <ul className="jp-nbmlops-compare-runs" aria-label={trans.__('Compared runs')}>
      {compared.map(({ run, label, color }) => (
        <li key={run.run_id}>
          <span className="jp-nbmlops-swatch" style={{ background: color }} aria-hidden="true" />
          <button
            className="jp-nbmlops-link jp-nbmlops-compare-run"
            title={trans.__('Open run %1 (%2)', label, run.run_id)}
            onClick={() => actions.openRun(run.run_id)}
          >
            {label}
          </button>
          <StatusBadge status={run.status} />
          <span className="jp-nbmlops-muted" title={run.experiment}>
            {run.experiment}
          </span>
        </li>
      ))}
    </ul>
  );
}

/** A table with one column per run (names cut by CSS, whole in the tooltip) and `children` as its rows. */
function CompareTable(props: {
  label: string;
  first: string;
  compared: Compared[];
  children: React.ReactNode;
}): React.ReactElement {
  return (
    <div className="jp-nbmlops-compare-table-wrap">
      <table className="jp-nbmlops-compare-table" aria-label={props.label}>
        <thead>
          <tr>
            <th scope="col">{props.first}</th>
            {props.compared.map(({ run, label, color }) => (
              <th scope="col" key={run.run_id} title={label}>
                <span className="jp-nbmlops-swatch" style={{ background: color }} aria-hidden="true" />
                <span className="jp-nbmlops-compare-colname">{label}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}

/** A cell's value, a dash when the run has none, and a note for screen readers ("(best)", "(differs)"). */
function CellValue(props: { value: unknown; note?: string | null }): React.ReactElement {
  return (
    <>
      {props.value === undefined ? <span className="jp-nbmlops-muted">—</span> : formatValue(props.value)}
      {props.note ? <span className="jp-nbmlops-sr-only"> {props.note}</span> : null}
    </>
  );
}

function ParamsSection(props: SectionProps): React.ReactElement {
  const { trans, compared } = props;
  const id = React.useId();
  const [onlyDifferences, setOnlyDifferences] = React.useState(true);
  const rows = React.useMemo(() => diffRows(compared.map(c => c.run.params)), [compared]);
  const shown = onlyDifferences ? rows.filter(row => row.differs) : rows;
  const differing = rows.filter(row => row.differs).length;
  return (
    <CompareSection
      id={`${id}-params`}
      title={trans.__('Parameters')}
      tools={
        <label className="jp-nbmlops-compare-tool">
          <input
            type="checkbox"
            checked={onlyDifferences}
            onChange={event => setOnlyDifferences(event.target.checked)}
          />{' '}
          {trans.__('Only differences')}
        </label>
      }
    >
      <p className="jp-nbmlops-muted">{trans.__('%1 of %2 parameters differ.', differing, rows.length)}</p>
      {shown.length === 0 ? (
        <p className="jp-nbmlops-muted">
          {rows.length === 0 ? trans.__('These runs have no parameters.') : trans.__('All parameters are equal.')}
        </p>
      ) : (
        <CompareTable label={trans.__('Parameter differences')} first={trans.__('Parameter')} compared={compared}>
          {shown.map(row => (
            <tr key={row.key} className={row.differs ? 'jp-nbmlops-differs' : ''}>
              <th scope="row" title={row.key}>
                {row.key}
              </th>
              {row.values.map((value, i) => {
                const changed = row.differs && differsFromFirst(row, i);
                return (
                  <td
                    key={compared[i].run.run_id}
                    className={changed ? 'jp-nbmlops-changed' : ''}
                    title={formatValue(value)}
                  >
                    <CellValue value={value} note={changed ? trans.__('(differs)') : null} />
                  </td>
                );
              })}
            </tr>
          ))}
        </CompareTable>
      )}
    </CompareSection>
  );
}

function MetricsSection(props: SectionProps & { directions: Record<string, Direction> }): React.ReactElement {
  const { trans, compared, directions } = props;
  const id = React.useId();
  const [flipped, setFlipped] = React.useState<Record<string, Direction>>({});
  const keys = React.useMemo(() => keysOf(compared.map(c => c.run.metrics)), [compared]);
  return (
    <CompareSection id={`${id}-metrics`} title={trans.__('Metrics')}>
      {keys.length === 0 ? (
        <p className="jp-nbmlops-muted">{trans.__('These runs have logged no metrics.')}</p>
      ) : (
        <CompareTable label={trans.__('Metrics')} first={trans.__('Metric')} compared={compared}>
          {keys.map(key => {
            const direction = flipped[key] ?? metricDirection(directions, key);
            const values = compared.map(c => c.run.metrics[key]);
            const best = new Set(bestIndices(values, direction));
            const lower = direction === 'min';
            return (
              <tr key={key}>
                <th scope="row">
                  <span className="jp-nbmlops-compare-key" title={key}>
                    {key}
                  </span>
                  <button
                    className="jp-nbmlops-direction"
                    aria-label={
                      lower
                        ? trans.__('%1: lower is better; press for higher is better', key)
                        : trans.__('%1: higher is better; press for lower is better', key)
                    }
                    title={lower ? trans.__('Lower is better') : trans.__('Higher is better')}
                    onClick={() => setFlipped(previous => ({ ...previous, [key]: lower ? 'max' : 'min' }))}
                  >
                    {lower ? '↓' : '↑'}
                  </button>
                </th>
                {values.map((value, i) => (
                  <td
                    key={compared[i].run.run_id}
                    className={best.has(i) ? 'jp-nbmlops-best' : ''}
                    data-best={best.has(i) ? 'true' : undefined}
                  >
                    <CellValue value={value} note={best.has(i) ? trans.__('(best)') : null} />
                  </td>
                ))}
              </tr>
            );
          })}
        </CompareTable>
      )}
    </CompareSection>
  );
}

/** Checkboxes for a subset of `options`. */
function Chooser(props: {
  legend: string;
  options: string[];
  chosen: string[];
  onChange: (chosen: string[]) => void;
}): React.ReactElement {
  const chosen = new Set(props.chosen);
  return (
    <fieldset className="jp-nbmlops-chooser">
      <legend>{props.legend}</legend>
      {props.options.map(option => (
        <label key={option} title={option}>
          <input
            type="checkbox"
            checked={chosen.has(option)}
            onChange={event =>
              props.onChange(
                event.target.checked
                  ? props.options.filter(o => chosen.has(o) || o === option)
                  : props.chosen.filter(o => o !== option)
              )
            }
          />{' '}
          {option}
        </label>
      ))}
    </fieldset>
  );
}

function ChartsSection(props: SectionProps & { model: NbmlopsModel }): React.ReactElement {
  const { model, trans, compared } = props;
  const id = React.useId();
  const metrics = React.useMemo(() => keysOf(compared.map(c => c.run.metrics)), [compared]);
  const [chosen, setChosen] = React.useState<string[] | null>(null);
  // system/... samples (CPU, memory) are charted when chosen, not by default
  const charted = (chosen ?? metrics.filter(m => !isSystemMetric(m)).slice(0, DEFAULT_CHARTS)).filter(m =>
    metrics.includes(m)
  );
  const series = React.useMemo(() => compared.map(c => ({ runId: c.run.run_id, label: c.label })), [compared]);
  const live = compared.some(c => c.run.status === 'RUNNING');
  return (
    <CompareSection id={`${id}-charts`} title={trans.__('Charts')}>
      {metrics.length === 0 ? (
        <p className="jp-nbmlops-muted">{trans.__('No metric histories to chart.')}</p>
      ) : (
        <>
          <Chooser legend={trans.__('Metrics to chart')} options={metrics} chosen={charted} onChange={setChosen} />
          <div className="jp-nbmlops-chart-grid">
            {charted.map(metric => (
              <MetricChart key={metric} model={model} trans={trans} metric={metric} series={series} live={live} />
            ))}
          </div>
        </>
      )}
    </CompareSection>
  );
}

/** A select of params and metrics, values "param:key" / "metric:key". */
function FieldSelect(props: {
  label: string;
  value: string;
  params: string[];
  metrics: string[];
  trans: TranslationBundle;
  onChange: (value: string) => void;
}): React.ReactElement {
  return (
    <label className="jp-nbmlops-compare-tool">
      {props.label}{' '}
      <select value={props.value} onChange={event => props.onChange(event.target.value)}>
        {props.params.length > 0 ? (
          <optgroup label={props.trans.__('Parameters')}>
            {props.params.map(key => (
              <option key={key} value={`param:${key}`}>
                {key}
              </option>
            ))}
          </optgroup>
        ) : null}
        <optgroup label={props.trans.__('Metrics')}>
          {props.metrics.map(key => (
            <option key={key} value={`metric:${key}`}>
              {key}
            </option>
          ))}
        </optgroup>
      </select>
    </label>
  );
}

/** The value of a "param:key" / "metric:key" field in a run. */
function fieldValue(run: RunDetail, field: string): unknown {
  const [kind, ...rest] = field.split(':');
  const key = rest.join(':');
  return kind === 'param' ? run.params[key] : run.metrics[key];
}

/** Params that differ between the runs, numeric ones first, then those most runs have (the interesting axes). */
function differingParams(compared: Compared[]): string[] {
  const rank = (row: DiffRow): number =>
    (axisKind(row.values) === 'numeric' ? compared.length + 1 : 0) + row.values.filter(v => !isMissing(v)).length;
  return diffRows(compared.map(c => c.run.params))
    .filter(row => row.differs)
    .sort((a, b) => rank(b) - rank(a))
    .map(row => row.key);
}

function ScatterSection(props: SectionProps & { actions: Actions }): React.ReactElement {
  const { trans, actions, compared } = props;
  const id = React.useId();
  const params = React.useMemo(() => keysOf(compared.map(c => c.run.params)), [compared]);
  const metrics = React.useMemo(() => keysOf(compared.map(c => c.run.metrics)), [compared]);
  const suggested = differingParams(compared)[0] ?? params[0];
  const [x, setX] = React.useState<string | null>(null);
  const [y, setY] = React.useState<string | null>(null);
  const xField = x ?? (suggested !== undefined ? `param:${suggested}` : `metric:${metrics[0]}`);
  const yField = y ?? `metric:${metrics.find(m => `metric:${m}` !== xField && !isSystemMetric(m)) ?? metrics[0]}`;
  const points = React.useMemo(
    () =>
      compared.map(c => {
        const value = fieldValue(c.run, yField);
        return {
          id: c.run.run_id,
          label: c.label,
          color: c.color,
          x: fieldValue(c.run, xField),
          y: typeof value === 'number' ? value : undefined
        };
      }),
    [compared, xField, yField]
  );
  return (
    <CompareSection id={`${id}-scatter`} title={trans.__('Scatter')}>
      {metrics.length === 0 ? (
        <p className="jp-nbmlops-muted">{trans.__('A scatter needs a metric: these runs have none.')}</p>
      ) : (
        <>
          <div className="jp-nbmlops-compare-tools">
            <FieldSelect
              label={trans.__('X axis')}
              value={xField}
              params={params}
              metrics={metrics}
              trans={trans}
              onChange={setX}
            />
            <FieldSelect
              label={trans.__('Y axis')}
              value={yField}
              params={[]}
              metrics={metrics}
              trans={trans}
              onChange={setY}
            />
          </div>
          <ScatterPlot
            trans={trans}
            points={points}
            xLabel={xField.slice(xField.indexOf(':') + 1)}
            yLabel={yField.slice(yField.indexOf(':') + 1)}
            onActivate={runId => actions.openRun(runId)}
          />
        </>
      )}
    </CompareSection>
  );
}

function ParallelSection(props: SectionProps & { actions: Actions }): React.ReactElement {
  const { trans, actions, compared } = props;
  const id = React.useId();
  const params = React.useMemo(() => keysOf(compared.map(c => c.run.params)), [compared]);
  const metrics = React.useMemo(() => keysOf(compared.map(c => c.run.metrics)), [compared]);
  const [axes, setAxes] = React.useState<string[] | null>(null);
  const [metric, setMetric] = React.useState<string | null>(null);
  const suggested = differingParams(compared);
  const chosen = (axes ?? (suggested.length > 0 ? suggested : params).slice(0, DEFAULT_AXES)).filter(p =>
    params.includes(p)
  );
  const colorBy =
    metric !== null && metrics.includes(metric) ? metric : (metrics.find(m => !isSystemMetric(m)) ?? metrics[0]);
  const runs = React.useMemo(() => compared.map(c => ({ id: c.run.run_id, label: c.label })), [compared]);
  const chosenKey = chosen.join('\u0000');
  const dimensions = React.useMemo<Dimension[]>(
    () => [
      ...chosen.map(key => ({ key: `param:${key}`, label: key, values: compared.map(c => c.run.params[key]) })),
      ...(colorBy !== undefined
        ? [{ key: `metric:${colorBy}`, label: colorBy, values: compared.map(c => c.run.metrics[colorBy]) }]
        : [])
    ],
    [compared, chosenKey, colorBy] // eslint-disable-line react-hooks/exhaustive-deps -- chosen by value
  );
  return (
    <CompareSection id={`${id}-parallel`} title={trans.__('Parallel coordinates')}>
      {params.length === 0 && metrics.length === 0 ? (
        <p className="jp-nbmlops-muted">{trans.__('These runs have no parameters or metrics.')}</p>
      ) : (
        <>
          <div className="jp-nbmlops-compare-tools">
            {metrics.length > 0 ? (
              <label className="jp-nbmlops-compare-tool">
                {trans.__('Metric (last axis and color)')}{' '}
                <select value={colorBy} onChange={event => setMetric(event.target.value)}>
                  {metrics.map(key => (
                    <option key={key} value={key}>
                      {key}
                    </option>
                  ))}
                </select>
              </label>
            ) : null}
          </div>
          {params.length > 0 ? (
            <Chooser legend={trans.__('Parameter axes')} options={params} chosen={chosen} onChange={setAxes} />
          ) : null}
          {dimensions.length < 2 ? (
            <p className="jp-nbmlops-muted">{trans.__('Choose at least one parameter axis.')}</p>
          ) : (
            <ParallelCoordinates
              trans={trans}
              runs={runs}
              dimensions={dimensions}
              onActivate={runId => actions.openRun(runId)}
            />
          )}
        </>
      )}
    </CompareSection>
  );
}
