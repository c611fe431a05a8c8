import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { Actions, ModelDetail } from '../types';
import { formatNumber, timeAgo } from './common';

/** Metric columns shown in the versions table. */
const KEY_METRICS = 4;

/** The metric keys most versions have, most common first (ties in first-seen order). */
export function keyMetrics(detail: ModelDetail, count = KEY_METRICS): string[] {
  const seen = new Map<string, number>();
  for (const version of detail.versions) {
    for (const key of Object.keys(version.metrics)) {
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  }
  return [...seen.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key]) => key);
}

/** An alias as a chip, with a remove button when `onRemove` is given. */
export function ModelAliasChip(props: {
  alias: string;
  version?: number;
  trans: TranslationBundle;
  onRemove?: (alias: string) => void;
}): React.ReactElement {
  const { alias, version, trans, onRemove } = props;
  return (
    <span className="jp-nbmlops-model-chip">
      <span className="jp-nbmlops-model-chip-text">{version === undefined ? alias : `${alias}: v${version}`}</span>
      {onRemove ? (
        <button
          className="jp-nbmlops-model-chip-remove"
          aria-label={trans.__('Remove alias %1', alias)}
          title={trans.__('Remove alias %1', alias)}
          onClick={() => onRemove(alias)}
        >
          ×
        </button>
      ) : null}
    </span>
  );
}

/** A model's versions, newest first: run, class, flavor, aliases, key metrics and a Promote button. */
export function ModelVersions(props: {
  detail: ModelDetail;
  trans: TranslationBundle;
  actions: Actions;
  now: number;
  onPromote: (version: number) => void;
}): React.ReactElement {
  const { detail, trans, actions, now, onPromote } = props;
  const metrics = React.useMemo(() => keyMetrics(detail), [detail]);
  return (
    <div className="jp-nbmlops-model-scroll">
      <table
        className="jp-nbmlops-run-table jp-nbmlops-model-table jp-nbmlops-model-versions"
        aria-label={trans.__('Versions of %1', detail.name)}
      >
        <thead>
          <tr>
            <th scope="col">{trans.__('Version')}</th>
            <th scope="col">{trans.__('Created')}</th>
            <th scope="col">{trans.__('Run')}</th>
            <th scope="col">{trans.__('Model class')}</th>
            <th scope="col">{trans.__('Flavor')}</th>
            <th scope="col">{trans.__('Aliases')}</th>
            {metrics.map(key => (
              <th scope="col" key={key} className="jp-nbmlops-num" title={key}>
                {key}
              </th>
            ))}
            <th scope="col" aria-label={trans.__('Actions')} />
          </tr>
        </thead>
        <tbody>
          {detail.versions.map(version => (
            <tr key={version.version}>
              <th scope="row">v{version.version}</th>
              <td title={version.created_at}>
                {timeAgo(version.created_at, now)}
                {version.user ? <span className="jp-nbmlops-muted"> · {version.user}</span> : null}
              </td>
              <td>
                {version.run_id ? (
                  <button
                    className="jp-nbmlops-link"
                    title={trans.__('Open run %1', version.run_id)}
                    onClick={() => actions.openRun(version.run_id as string)}
                  >
                    {version.run_name || version.run_id.slice(0, 8)}
                  </button>
                ) : (
                  <span className="jp-nbmlops-muted">{trans.__('none')}</span>
                )}
              </td>
              <td className="jp-nbmlops-model-class" title={version.model_class ?? ''}>
                {version.model_class ? version.model_class.split('.').pop() : ''}
              </td>
              <td>{version.flavor}</td>
              <td>
                {version.aliases.map(alias => (
                  <ModelAliasChip key={alias} alias={alias} trans={trans} />
                ))}
              </td>
              {metrics.map(key => (
                <td key={key} className="jp-nbmlops-num">
                  {version.metrics[key] === undefined ? '' : formatNumber(version.metrics[key])}
                </td>
              ))}
              <td>
                <button
                  className="jp-mod-styled jp-nbmlops-model-promote"
                  aria-label={trans.__('Promote version %1', version.version)}
                  onClick={() => onPromote(version.version)}
                >
                  {trans.__('Promote')}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
