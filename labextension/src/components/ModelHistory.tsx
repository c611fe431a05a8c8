import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { AuditEntry } from '../types';
import { timeAgo } from './common';

/** The audit log of a model's aliases, newest first. */
export function ModelHistory(props: {
  name: string;
  history: AuditEntry[];
  trans: TranslationBundle;
  now: number;
}): React.ReactElement {
  const { name, history, trans, now } = props;
  if (history.length === 0) {
    return (
      <p className="jp-nbmlops-muted">{trans.__('No alias was ever set: promote a version to start the history.')}</p>
    );
  }
  const newestFirst = [...history].reverse();
  return (
    <div className="jp-nbmlops-model-scroll">
      <table className="jp-nbmlops-run-table jp-nbmlops-model-table" aria-label={trans.__('Alias history of %1', name)}>
        <thead>
          <tr>
            <th scope="col">{trans.__('Time')}</th>
            <th scope="col">{trans.__('User')}</th>
            <th scope="col">{trans.__('Alias')}</th>
            <th scope="col">{trans.__('Change')}</th>
            <th scope="col">{trans.__('Reason')}</th>
            <th scope="col">{trans.__('Gate')}</th>
          </tr>
        </thead>
        <tbody>
          {newestFirst.map((entry, index) => (
            <tr key={`${entry.changed_at}-${entry.alias}-${index}`}>
              <td title={entry.changed_at}>
                {new Date(entry.changed_at).toLocaleString()}
                <span className="jp-nbmlops-muted"> ({timeAgo(entry.changed_at, now)})</span>
              </td>
              <td>{entry.user ?? ''}</td>
              <td>{entry.alias}</td>
              <td>
                {entry.from_version === null ? trans.__('new') : `v${entry.from_version}`} →{' '}
                {entry.to_version === null ? trans.__('removed') : `v${entry.to_version}`}
              </td>
              <td>{entry.reason ?? ''}</td>
              <td>
                {entry.gate ? (
                  <>
                    <code>{entry.gate}</code>
                    {entry.gate_outcome ? (
                      <div className="jp-nbmlops-model-outcome">{trans.__('passed: %1', entry.gate_outcome)}</div>
                    ) : null}
                  </>
                ) : (
                  <span className="jp-nbmlops-muted">{trans.__('no gate')}</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
