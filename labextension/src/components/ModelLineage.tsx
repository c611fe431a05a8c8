import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { NbmlopsModel } from '../model';
import { Actions, DatasetVersion, ModelDetail } from '../types';
import { ModelAliasChip } from './ModelVersions';

/** Versions whose lineage is shown before "Show all". */
const FIRST_VERSIONS = 8;

/**
 * Where each version came from: the datasets its run used -> the run -> the version -> its
 * aliases. Datasets are fetched once per run (a run's inputs do not change once it is logged).
 */
export function ModelLineage(props: {
  model: NbmlopsModel;
  trans: TranslationBundle;
  actions: Actions;
  detail: ModelDetail;
}): React.ReactElement {
  const { model, trans, actions, detail } = props;
  const [all, setAll] = React.useState(false);
  const [datasets, setDatasets] = React.useState<Record<string, DatasetVersion[] | 'error'>>({});
  const asked = React.useRef(new Set<string>());
  const shown = all ? detail.versions : detail.versions.slice(0, FIRST_VERSIONS);
  const runIds = shown.map(v => v.run_id).filter((id): id is string => !!id);
  const runKey = runIds.join(',');

  React.useEffect(() => {
    let live = true;
    for (const runId of runIds) {
      if (asked.current.has(runId)) {
        continue;
      }
      asked.current.add(runId);
      model.datasets({ runId }).then(
        found => live && setDatasets(previous => ({ ...previous, [runId]: found })),
        () => {
          asked.current.delete(runId); // try again on the next render
          if (live) {
            setDatasets(previous => ({ ...previous, [runId]: 'error' }));
          }
        }
      );
    }
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [model, runKey]);

  return (
    <>
      <ol className="jp-nbmlops-model-lineage" aria-label={trans.__('Lineage of %1', detail.name)}>
        {shown.map(version => {
          const used = version.run_id ? datasets[version.run_id] : undefined;
          return (
            <li key={version.version} className="jp-nbmlops-model-lineage-row">
              <span className="jp-nbmlops-model-lineage-step" aria-label={trans.__('Datasets')}>
                {!version.run_id ? (
                  <span className="jp-nbmlops-muted">{trans.__('no run')}</span>
                ) : used === undefined ? (
                  <span className="jp-nbmlops-muted">…</span>
                ) : used === 'error' ? (
                  <span className="jp-nbmlops-muted">{trans.__('datasets unavailable')}</span>
                ) : used.length === 0 ? (
                  <span className="jp-nbmlops-muted">{trans.__('no datasets logged')}</span>
                ) : (
                  used.map(d => (
                    <span
                      key={`${d.name}:${d.version}`}
                      className="jp-nbmlops-model-node jp-nbmlops-model-node-data"
                      title={trans.__('fingerprint %1', d.fingerprint)}
                    >
                      {d.name} v{d.version}
                      {d.roles.length ? <span className="jp-nbmlops-muted"> ({d.roles.join(', ')})</span> : null}
                    </span>
                  ))
                )}
              </span>
              <span className="jp-nbmlops-model-arrow" aria-hidden="true">
                →
              </span>
              <span className="jp-nbmlops-model-lineage-step">
                {version.run_id ? (
                  <button
                    className="jp-nbmlops-link jp-nbmlops-model-node"
                    title={trans.__('Open run %1', version.run_id)}
                    onClick={() => actions.openRun(version.run_id as string)}
                  >
                    {trans.__('run %1', version.run_name || version.run_id.slice(0, 8))}
                  </button>
                ) : (
                  <span className="jp-nbmlops-muted">{trans.__('logged outside a run')}</span>
                )}
              </span>
              <span className="jp-nbmlops-model-arrow" aria-hidden="true">
                →
              </span>
              <span className="jp-nbmlops-model-node jp-nbmlops-model-node-version">
                {detail.name} v{version.version}
              </span>
              {version.aliases.length ? (
                <>
                  <span className="jp-nbmlops-model-arrow" aria-hidden="true">
                    →
                  </span>
                  <span className="jp-nbmlops-model-lineage-step">
                    {version.aliases.map(alias => (
                      <ModelAliasChip key={alias} alias={alias} trans={trans} />
                    ))}
                  </span>
                </>
              ) : null}
            </li>
          );
        })}
      </ol>
      {detail.versions.length > shown.length ? (
        <button className="jp-mod-styled" onClick={() => setAll(true)}>
          {trans.__('Show the lineage of all %1 versions', detail.versions.length)}
        </button>
      ) : null}
    </>
  );
}
