import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { barDomain, barExtent } from '../charts';
import { formatNumber } from './common';

/** One run's bar: its label, color and value (undefined when the run never logged the metric). */
export interface Bar {
  runId: string;
  label: string;
  color: string;
  value: number | undefined;
}

/**
 * A metric logged once per run as one bar per run, in the run's color, with its label and value; a
 * zero line when values have both signs. A run without a finite value gets its label and "—", NaN
 * or ∞, and no bar.
 */
export function MetricBars(props: {
  trans: TranslationBundle;
  metric: string;
  bars: Bar[];
  height: number;
}): React.ReactElement {
  const { trans, metric, bars, height } = props;
  const domain = barDomain(bars.map(bar => bar.value));
  const zero = domain[1] / 2 / (domain[1] / 2 - domain[0] / 2);
  return (
    <ul className="jp-nbmlops-bars" aria-label={trans.__('%1, one value per run', metric)}>
      {bars.map(bar => {
        const extent = barExtent(bar.value, domain);
        const text = bar.value === undefined ? '—' : formatNumber(bar.value);
        return (
          <li key={bar.runId} className="jp-nbmlops-bar" title={`${bar.label}: ${text}`}>
            <span className="jp-nbmlops-bar-value">{text}</span>
            <span className="jp-nbmlops-bar-plot" style={{ height }} aria-hidden="true">
              <span className="jp-nbmlops-bar-zero" style={{ top: `${zero * 100}%` }} />
              {extent ? (
                <span
                  className="jp-nbmlops-bar-fill"
                  style={{
                    top: `${extent.top * 100}%`,
                    height: `max(1px, ${extent.height * 100}%)`,
                    background: bar.color
                  }}
                />
              ) : null}
            </span>
            <span className="jp-nbmlops-bar-label">
              <span className="jp-nbmlops-swatch" style={{ background: bar.color }} aria-hidden="true" />
              <span className="jp-nbmlops-bar-name">{bar.label}</span>
            </span>
          </li>
        );
      })}
    </ul>
  );
}
