import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { NbmlopsModel } from '../model';
import { RunDetail } from '../types';
import { ErrorLine } from './common';
import { RunCopyButton } from './RunDatasets';
import { RunPairs, RunSection } from './RunSection';

/** Tags every run gets from provenance capture (nbmlops/provenance.py SYSTEM_TAGS). */
export const SYSTEM_TAGS = [
  'python',
  'platform',
  'source',
  'git.commit',
  'git.root',
  'git.dirty',
  'git.branch',
  'git.remote',
  'jupyter.kernel'
];

export const ENVIRONMENT_ARTIFACT = 'provenance/environment.json';
export const DIFF_ARTIFACT = 'provenance/git.diff';

/** Characters of a diff shown before the rest is left to the download. */
const MAX_DIFF_CHARS = 200_000;

interface Environment {
  python?: string;
  implementation?: string;
  platform?: string;
  executable?: string;
  packages?: Record<string, string>;
}

interface Details {
  environment: Environment | null;
  diff: string | null;
}

/** Python, platform and git from the run's tags; packages and the diff fetched when asked for. */
export function RunEnvironment(props: {
  model: NbmlopsModel;
  run: RunDetail;
  trans: TranslationBundle;
}): React.ReactElement {
  const { model, run, trans } = props;
  const tags = run.tags;
  const hasEnvironment = run.artifacts.some(a => a.path === ENVIRONMENT_ARTIFACT);
  const hasDiff = run.artifacts.some(a => a.path === DIFF_ARTIFACT);
  const [open, setOpen] = React.useState(false);
  const [details, setDetails] = React.useState<Details | null>(null);
  const [error, setError] = React.useState<unknown>(null);
  const detailsId = React.useId();

  React.useEffect(() => {
    setDetails(null);
    setError(null);
  }, [run.run_id]);

  React.useEffect(() => {
    if (!open || details) {
      return;
    }
    let cancelled = false;
    const text = async (path: string, present: boolean): Promise<string | null> =>
      present ? (await model.artifact(run.run_id, path)).text() : null;
    Promise.all([text(ENVIRONMENT_ARTIFACT, hasEnvironment), text(DIFF_ARTIFACT, hasDiff)])
      .then(([environment, diff]) => {
        if (!cancelled) {
          setDetails({ environment: environment ? (JSON.parse(environment) as Environment) : null, diff });
        }
      })
      .catch(reason => {
        if (!cancelled) {
          setError(reason);
        }
      });
    return () => {
      cancelled = true;
    };
  }, [open, details, model, run.run_id, hasEnvironment, hasDiff]);

  const dirty = tags['git.dirty'];
  const facts: [string, React.ReactNode][] = [];
  const add = (label: string, value: React.ReactNode | undefined): void => {
    if (value !== undefined && value !== null && value !== '') {
      facts.push([label, value]);
    }
  };
  add(
    trans.__('Python'),
    details?.environment?.implementation && tags['python']
      ? `${details.environment.implementation} ${tags['python']}`
      : (tags['python'] ?? details?.environment?.python)
  );
  add(trans.__('Platform'), tags['platform'] ?? details?.environment?.platform);
  add(trans.__('Executable'), details?.environment?.executable);
  add(trans.__('Source'), tags['source']);
  add(
    trans.__('Git commit'),
    tags['git.commit'] ? (
      <>
        <code title={tags['git.commit']}>{tags['git.commit'].slice(0, 12)}</code>{' '}
        <RunCopyButton text={tags['git.commit']} label={trans.__('Copy the git commit')} trans={trans} />
      </>
    ) : undefined
  );
  add(trans.__('Git branch'), tags['git.branch']);
  add(
    trans.__('Uncommitted changes'),
    dirty === undefined ? undefined : dirty === 'true' ? (
      <span className="jp-nbmlops-run-dirty">{trans.__('yes: the working tree differed from the commit')}</span>
    ) : (
      trans.__('no')
    )
  );
  add(trans.__('Git remote'), tags['git.remote']);
  add(trans.__('Git root'), tags['git.root']);

  return (
    <RunSection
      id="environment"
      title={trans.__('Environment and git')}
      actions={
        hasEnvironment || hasDiff ? (
          <button
            className="jp-mod-styled jp-nbmlops-run-toggle"
            aria-expanded={open}
            aria-controls={detailsId}
            onClick={() => setOpen(!open)}
          >
            {open
              ? trans.__('Hide packages and diff')
              : hasDiff
                ? trans.__('Show packages and diff')
                : trans.__('Show packages')}
          </button>
        ) : undefined
      }
    >
      {facts.length ? (
        <RunPairs label={trans.__('Environment and git')} rows={facts} />
      ) : (
        <p className="jp-nbmlops-muted">{trans.__('No environment was recorded for this run.')}</p>
      )}
      <div id={detailsId} hidden={!open}>
        {open ? (
          error ? (
            <ErrorLine error={error} />
          ) : !details ? (
            <p className="jp-nbmlops-muted">{trans.__('Loading…')}</p>
          ) : (
            <>
              {details.environment?.packages ? (
                <RunPackages packages={details.environment.packages} trans={trans} />
              ) : null}
              {details.diff !== null ? <RunDiff diff={details.diff} trans={trans} /> : null}
            </>
          )
        ) : null}
      </div>
    </RunSection>
  );
}

function RunPackages(props: { packages: Record<string, string>; trans: TranslationBundle }): React.ReactElement {
  const { packages, trans } = props;
  const [search, setSearch] = React.useState('');
  const all = Object.entries(packages).sort(([a], [b]) => a.toLowerCase().localeCompare(b.toLowerCase()));
  const needle = search.trim().toLowerCase();
  const shown = needle
    ? all.filter(([name, version]) => name.toLowerCase().includes(needle) || version.includes(needle))
    : all;
  return (
    <div className="jp-nbmlops-run-packages">
      <h4>{trans.__('Packages')}</h4>
      <input
        type="search"
        className="jp-mod-styled jp-nbmlops-run-search"
        aria-label={trans.__('Search packages')}
        placeholder={trans.__('Search %1 packages', all.length)}
        value={search}
        onChange={event => setSearch(event.target.value)}
      />
      {shown.length ? (
        <RunPairs
          label={trans.__('Packages')}
          head={[trans.__('Package'), trans.__('Version')]}
          rows={shown.map(([name, version]) => [name, <code key={name}>{version}</code>])}
        />
      ) : (
        <p className="jp-nbmlops-muted">{trans.__('No package matches "%1".', search)}</p>
      )}
    </div>
  );
}

function RunDiff(props: { diff: string; trans: TranslationBundle }): React.ReactElement {
  const { diff, trans } = props;
  const cut = diff.length > MAX_DIFF_CHARS;
  return (
    <div className="jp-nbmlops-run-diff">
      <h4>{trans.__('Uncommitted changes (git diff)')}</h4>
      {diff.trim() ? (
        <pre tabIndex={0} aria-label={trans.__('git diff')}>
          {cut ? diff.slice(0, MAX_DIFF_CHARS) : diff}
        </pre>
      ) : (
        <p className="jp-nbmlops-muted">{trans.__('The diff is empty.')}</p>
      )}
      {cut ? (
        <p className="jp-nbmlops-muted">
          {trans.__(
            'The diff is cut at %1 characters: download %2 from Artifacts for all of it.',
            MAX_DIFF_CHARS,
            DIFF_ARTIFACT
          )}
        </p>
      ) : null}
    </div>
  );
}
