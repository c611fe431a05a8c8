import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { NbmlopsModel } from '../model';
import { Actions, ModelDetail } from '../types';
import { LineageGraph } from './LineageGraph';

/**
 * Where a version came from and what came of it (datasets -> run -> version -> aliases, and the
 * runs that retrained it), as a graph: the latest version unless another one is picked.
 */
export function ModelLineage(props: {
  model: NbmlopsModel;
  trans: TranslationBundle;
  actions: Actions;
  detail: ModelDetail;
}): React.ReactElement {
  const { model, trans, actions, detail } = props;
  const [picked, setPicked] = React.useState<number | null>(null);
  const versions = detail.versions; // newest first
  const version = versions.some(v => v.version === picked) ? (picked as number) : versions[0]?.version;
  if (version === undefined) {
    return <p className="jp-nbmlops-muted">{trans.__('No versions yet.')}</p>;
  }
  return (
    <>
      {versions.length > 1 ? (
        <label className="jp-nbmlops-lineage-pick">
          {trans.__('Lineage of version')}{' '}
          <select className="jp-mod-styled" value={version} onChange={event => setPicked(Number(event.target.value))}>
            {versions.map(v => (
              <option key={v.version} value={v.version}>
                {v.aliases.length ? trans.__('v%1 (%2)', v.version, v.aliases.join(', ')) : trans.__('v%1', v.version)}
              </option>
            ))}
          </select>
        </label>
      ) : null}
      {/* model: keeps a model name that looks like a run id prefix from naming the run */}
      <LineageGraph model={model} trans={trans} actions={actions} subject={`model:${detail.name}/${version}`} />
    </>
  );
}
