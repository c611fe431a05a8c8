import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { DataChange, EnvironmentDiff, GitDiff } from '../types';
import { formatValue } from './common';
import { DiffLines } from './RunDiffCode';

/** "A -> B" of two values, "—" for a missing one. */
export function Arrow(props: { a: unknown; b: unknown }): React.ReactElement {
  const shown = (value: unknown): React.ReactNode =>
    value === null || value === undefined ? <span className="jp-nbmlops-muted">—</span> : formatValue(value);
  return (
    <>
      <span className="jp-nbmlops-diff-a">{shown(props.a)}</span> →{' '}
      <span className="jp-nbmlops-diff-b">{shown(props.b)}</span>
    </>
  );
}

function rowCounts(added: number | null | undefined, removed: number | null | undefined, trans: TranslationBundle) {
  return trans.__('%1 rows added, %2 removed', added ?? 0, removed ?? 0);
}

/** One dataset role: the versions A and B used and, when they differ, what changed. */
function DatasetChange(props: { entry: DataChange; trans: TranslationBundle }): React.ReactElement {
  const { entry, trans } = props;
  const changes = entry.changes;
  const version = (side: DataChange['a']): string => (side ? `v${side.version}` : trans.__('none'));
  return (
    <li className="jp-nbmlops-diff-dataset">
      <h4>
        <span className="jp-nbmlops-muted">{entry.role}</span> {entry.name}: {version(entry.a)} → {version(entry.b)}{' '}
        {entry.same ? <span className="jp-nbmlops-muted">{trans.__('(same)')}</span> : null}
      </h4>
      {changes ? (
        <ul className="jp-nbmlops-diff-facts">
          {changes.rows && changes.rows.length === 2 ? (
            <li>
              {trans.__('Rows')} <Arrow a={changes.rows[0]} b={changes.rows[1]} />
            </li>
          ) : null}
          {(changes.schema ?? []).map(column => (
            <li key={column.column}>
              {column.change === 'dtype'
                ? trans.__('column %1: %2 → %3', column.column, column.old ?? '', column.new ?? '')
                : column.change === 'added'
                  ? trans.__('column %1 added (%2)', column.column, column.new ?? '')
                  : trans.__('column %1 removed', column.column)}
            </li>
          ))}
          {changes.added !== null && changes.added !== undefined ? (
            <li>
              {changes.changed !== null && changes.changed !== undefined
                ? trans.__('%1, %2 changed', rowCounts(changes.added, changes.removed, trans), changes.changed)
                : rowCounts(changes.added, changes.removed, trans)}
            </li>
          ) : null}
          {(changes.notes ?? []).map(note => (
            <li key={note} className="jp-nbmlops-muted">
              {note}
            </li>
          ))}
        </ul>
      ) : null}
      {changes?.statistics?.length ? (
        <table className="jp-nbmlops-compare-table" aria-label={trans.__('Statistics of %1 that changed', entry.name)}>
          <thead>
            <tr>
              <th scope="col">{trans.__('Column')}</th>
              <th scope="col">{trans.__('Statistic')}</th>
              <th scope="col">A</th>
              <th scope="col">B</th>
            </tr>
          </thead>
          <tbody>
            {changes.statistics.map(stat => (
              <tr key={`${stat.column}\u0000${stat.statistic}`}>
                <td>{stat.column}</td>
                <td>{stat.statistic}</td>
                <td>{formatValue(stat.old)}</td>
                <td className="jp-nbmlops-changed">{formatValue(stat.new)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {changes?.statistics_left_out ? (
        <p className="jp-nbmlops-muted">{trans.__('%1 more statistics differ.', changes.statistics_left_out)}</p>
      ) : null}
    </li>
  );
}

/** Per dataset role, the versions each run used and what changed between them. */
export function DataChanges(props: { data: DataChange[]; trans: TranslationBundle }): React.ReactElement {
  return (
    <ul className="jp-nbmlops-diff-datasets" aria-label={props.trans.__('Datasets')}>
      {props.data.map(entry => (
        <DatasetChange key={`${entry.role}\u0000${entry.name}`} entry={entry} trans={props.trans} />
      ))}
    </ul>
  );
}

/** A table of rows with a key, a change and the values of A and B. */
export function ChangeTable(props: {
  label: string;
  keyTitle: string;
  rows: { key: string; change: string; a: unknown; b: unknown }[];
  trans: TranslationBundle;
}): React.ReactElement {
  const { label, keyTitle, rows, trans } = props;
  return (
    <div className="jp-nbmlops-compare-table-wrap">
      <table className="jp-nbmlops-compare-table jp-nbmlops-diff-table" aria-label={label}>
        <thead>
          <tr>
            <th scope="col">{keyTitle}</th>
            <th scope="col">{trans.__('Change')}</th>
            <th scope="col">A</th>
            <th scope="col">B</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(row => (
            <tr key={row.key} className={`jp-nbmlops-diff-${row.change}`}>
              <th scope="row" title={row.key}>
                {row.key}
              </th>
              <td>{row.change}</td>
              <td title={formatValue(row.a)}>
                {row.change === 'added' ? <span className="jp-nbmlops-muted">—</span> : formatValue(row.a)}
              </td>
              <td title={formatValue(row.b)} className={row.change === 'removed' ? '' : 'jp-nbmlops-changed'}>
                {row.change === 'removed' ? <span className="jp-nbmlops-muted">—</span> : formatValue(row.b)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Python, platform and the packages added, removed or changed. */
export function EnvironmentChanges(props: {
  environment: EnvironmentDiff;
  trans: TranslationBundle;
}): React.ReactElement {
  const { environment, trans } = props;
  return (
    <>
      <ul className="jp-nbmlops-diff-facts">
        {environment.python ? (
          <li>
            {trans.__('Python')} <Arrow a={environment.python[0]} b={environment.python[1]} />
          </li>
        ) : null}
        {environment.platform ? (
          <li>
            {trans.__('Platform')} <Arrow a={environment.platform[0]} b={environment.platform[1]} />
          </li>
        ) : null}
      </ul>
      {environment.packages?.length ? (
        <ChangeTable
          label={trans.__('Package changes')}
          keyTitle={trans.__('Package')}
          rows={environment.packages.map(p => ({ key: p.package, change: p.change, a: p.a, b: p.b }))}
          trans={trans}
        />
      ) : null}
    </>
  );
}

function CommitList(props: { title: string; commits: string[] }): React.ReactElement {
  return (
    <>
      <h4>{props.title}</h4>
      <ul className="jp-nbmlops-diff-commits">
        {props.commits.map(commit => (
          <li key={commit}>
            <code>{commit}</code>
          </li>
        ))}
      </ul>
    </>
  );
}

/** The commits of A and B, the commits between them and each run's uncommitted changes. */
export function GitChanges(props: { git: GitDiff; trans: TranslationBundle }): React.ReactElement {
  const { git, trans } = props;
  const short = (commit: string | null | undefined): string | null => (commit ? commit.slice(0, 10) : null);
  const dirty = (i: number): string => (git.dirty[i] ? trans.__(' (uncommitted changes)') : '');
  return (
    <>
      <ul className="jp-nbmlops-diff-facts">
        <li>
          {trans.__('Commit')}{' '}
          <Arrow
            a={(short(git.commits[0]) ?? '') + dirty(0) || null}
            b={(short(git.commits[1]) ?? '') + dirty(1) || null}
          />
        </li>
        {git.branches[0] !== git.branches[1] ? (
          <li>
            {trans.__('Branch')} <Arrow a={git.branches[0]} b={git.branches[1]} />
          </li>
        ) : null}
      </ul>
      {git.between === null ? (
        <p className="jp-nbmlops-muted">
          {trans.__('The commits between them are unknown: the repository or a commit is not on this machine.')}
        </p>
      ) : git.between !== undefined ? (
        <>
          <CommitList
            title={trans._n('%1 commit in B and not in A', '%1 commits in B and not in A', git.between.length)}
            commits={git.between}
          />
          {git.behind?.length ? (
            <CommitList
              title={trans._n('%1 commit in A and not in B', '%1 commits in A and not in B', git.behind.length)}
              commits={git.behind}
            />
          ) : null}
        </>
      ) : null}
      {(git.diffs ?? []).map((diff, i) => (
        <React.Fragment key={i}>
          <h4>{i === 0 ? trans.__('Uncommitted changes of A') : trans.__('Uncommitted changes of B')}</h4>
          {diff.trim() ? (
            <DiffLines
              files
              lines={diff.replace(/\n$/, '').split('\n')}
              label={i === 0 ? trans.__('git diff of A') : trans.__('git diff of B')}
            />
          ) : (
            <p className="jp-nbmlops-muted">{trans.__('None.')}</p>
          )}
        </React.Fragment>
      ))}
    </>
  );
}

/** The model versions each run registered. */
export function ModelChanges(props: {
  models: { a: string[]; b: string[] };
  trans: TranslationBundle;
}): React.ReactElement {
  const { models, trans } = props;
  const list = (versions: string[]): string => (versions.length ? versions.join(', ') : trans.__('none'));
  return (
    <ul className="jp-nbmlops-diff-facts">
      <li>{trans.__('A registered %1', list(models.a))}</li>
      <li>{trans.__('B registered %1', list(models.b))}</li>
    </ul>
  );
}
