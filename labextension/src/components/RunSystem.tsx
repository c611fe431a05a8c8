import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { NbmlopsModel } from '../model';
import { SystemGroup, systemGroups } from '../systemMetrics';
import { RunDetail } from '../types';
import { MetricChart } from './MetricChart';
import { RunSection } from './RunSection';

/** A group's heading: "CPU", "Memory", ..., "GPU 0". */
function groupTitle(group: SystemGroup, trans: TranslationBundle): string {
  switch (group.id) {
    case 'cpu':
      return trans.__('CPU');
    case 'memory':
      return trans.__('Memory');
    case 'disk':
      return trans.__('Disk');
    case 'network':
      return trans.__('Network');
    case 'other':
      return trans.__('Other');
    default:
      return trans.__('GPU %1', group.gpu ?? '');
  }
}

/** Charts of some of a run's metrics over its steps, in a grid, live while the run runs. */
export function RunCharts(props: {
  model: NbmlopsModel;
  run: RunDetail;
  trans: TranslationBundle;
  keys: string[];
  height: number;
}): React.ReactElement {
  const { model, run, trans, keys, height } = props;
  const series = React.useMemo(
    () => [{ runId: run.run_id, label: run.name || run.run_id.slice(0, 8) }],
    [run.run_id, run.name]
  );
  return (
    <div className="jp-nbmlops-run-charts">
      {keys.map(key => (
        <div key={key} className="jp-nbmlops-run-chart">
          <MetricChart
            model={model}
            trans={trans}
            metric={key}
            series={series}
            height={height}
            live={run.status === 'RUNNING'}
          />
        </div>
      ))}
    </div>
  );
}

/**
 * The run's `system/...` metrics (CPU, memory, disk, network, each GPU) charted over time, one
 * group per device; nothing at all when the run has none.
 */
export function RunSystem(props: {
  model: NbmlopsModel;
  run: RunDetail;
  trans: TranslationBundle;
}): React.ReactElement | null {
  const { model, run, trans } = props;
  const keys = Object.keys(run.metrics);
  const groups = React.useMemo(() => systemGroups(keys), [keys.join('\u0000')]); // eslint-disable-line react-hooks/exhaustive-deps -- keys by value
  if (groups.length === 0) {
    return null;
  }
  const count = groups.reduce((sum, group) => sum + group.keys.length, 0);
  return (
    <RunSection id="system" title={trans.__('System')} count={count}>
      {groups.map(group => (
        <div key={group.id} className="jp-nbmlops-run-system-group" role="group" aria-label={groupTitle(group, trans)}>
          <h4>{groupTitle(group, trans)}</h4>
          <RunCharts model={model} run={run} trans={trans} keys={group.keys} height={140} />
        </div>
      ))}
    </RunSection>
  );
}
