import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { ApiError } from '../api';
import { itemAt, MediaSeries, mediaSeries, mediaSteps } from '../media';
import { NbmlopsModel } from '../model';
import { CompareSection } from './CompareSection';
import { ErrorLine, useLiveData } from './common';
import { pictureUrl, StepSlider, Thumbnail, useStep } from './MediaGrid';

/** A compared run as this section needs it: id, label and color. */
export interface ComparedRun {
  runId: string;
  label: string;
  color: string;
}

/** Each run's image series (an empty list for a run whose media could not be read). */
interface Loaded {
  series: MediaSeries[][];
  errors: string[];
}

/** Each run's images; a run whose media cannot be read adds an error instead (none for a server without the route). */
async function loadImages(model: NbmlopsModel, trans: TranslationBundle, runs: ComparedRun[]): Promise<Loaded> {
  const settled = await Promise.allSettled(runs.map(r => model.media(r.runId)));
  const errors: string[] = [];
  const series = settled.map((result, i) => {
    if (result.status === 'fulfilled') {
      return mediaSeries(result.value, 'image');
    }
    const reason: unknown = result.reason;
    if (!(reason instanceof ApiError && reason.status === 404)) {
      const message = reason instanceof Error ? reason.message : String(reason);
      errors.push(trans.__('The media of %1 cannot be read: %2', runs[i].label, message));
    }
    return [];
  });
  return { series, errors };
}

/**
 * Images of the same name side by side, one column per run, all at the step of one shared slider
 * (each run's image logged at or last before it); nothing at all when no run has images.
 */
export function CompareMedia(props: {
  model: NbmlopsModel;
  trans: TranslationBundle;
  runs: ComparedRun[];
  /** Some compared run is still running. */
  live?: boolean;
}): React.ReactElement | null {
  const { model, trans, runs, live = false } = props;
  const id = React.useId();
  const ids = runs.map(r => r.runId).join(',');

  // refreshed on the model's ticks while a compared run is still running (it may log more images)
  const { data: loaded } = useLiveData(
    model,
    `compare-media:${ids}`,
    () => loadImages(model, trans, runs),
    () => live
  );

  const names = React.useMemo(() => {
    const all = new Set<string>();
    loaded?.series.forEach(list => list.forEach(s => all.add(s.name)));
    return Array.from(all).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  }, [loaded]);
  const steps = React.useMemo(() => mediaSteps((loaded?.series ?? []).flat()), [loaded]);
  const [step, index, setIndex] = useStep(steps);

  if (!loaded || (names.length === 0 && loaded.errors.length === 0)) {
    return null;
  }
  return (
    <CompareSection
      id={`${id}-images`}
      title={trans.__('Images')}
      tools={<StepSlider trans={trans} label={trans.__('Step')} steps={steps} index={index} onChange={setIndex} />}
    >
      {loaded.errors.map(error => (
        <ErrorLine key={error} error={error} />
      ))}
      <div className="jp-nbmlops-compare-table-wrap">
        <table className="jp-nbmlops-compare-media" aria-label={trans.__('Images side by side')}>
          <thead>
            <tr>
              <th scope="col">{trans.__('Image')}</th>
              {runs.map(r => (
                <th scope="col" key={r.runId} title={r.label}>
                  <span className="jp-nbmlops-swatch" style={{ background: r.color }} aria-hidden="true" />
                  <span className="jp-nbmlops-compare-colname">{r.label}</span>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {names.map(name => (
              <tr key={name}>
                <th scope="row" title={name}>
                  {name}
                </th>
                {runs.map((r, i) => {
                  const series = loaded.series[i].find(s => s.name === name);
                  const item = series ? itemAt(series.items, step) : null;
                  const at = item?.step === null || !item ? '' : trans.__('step %1', item.step);
                  return (
                    <td key={r.runId}>
                      {item ? (
                        <Thumbnail
                          trans={trans}
                          src={pictureUrl(item, path => model.artifactUrl(r.runId, path))}
                          alt={trans.__('%1 of %2', at ? `${name} (${at})` : name, r.label)}
                          caption={at}
                        />
                      ) : (
                        <span className="jp-nbmlops-muted">—</span>
                      )}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </CompareSection>
  );
}
