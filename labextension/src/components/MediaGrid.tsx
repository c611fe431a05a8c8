import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { itemAt, MediaSeries, mediaSteps } from '../media';
import { MediaItem } from '../types';

/** A thumbnail's box in CSS pixels: fixed, so 500 of them lay out once, without waiting for any image. */
export const THUMB_SIZE = 160;

/** The URL an item's picture is loaded from: a figure's SVG where there is one, else its PNG. */
export function pictureUrl(item: MediaItem, url: (path: string) => string): string {
  return url(item.svg_path ?? item.path);
}

/**
 * A slider over `steps` (ascending), labelled `label`, showing the step chosen; the index of the
 * chosen step is the value (steps need not be evenly spaced).
 */
export function StepSlider(props: {
  trans: TranslationBundle;
  label: string;
  steps: number[];
  index: number;
  onChange: (index: number) => void;
}): React.ReactElement | null {
  const { trans, label, steps, index, onChange } = props;
  if (steps.length < 2) {
    return null;
  }
  const step = steps[Math.min(index, steps.length - 1)];
  return (
    <label className="jp-nbmlops-media-slider">
      {label}{' '}
      <input
        type="range"
        min={0}
        max={steps.length - 1}
        step={1}
        value={Math.min(index, steps.length - 1)}
        aria-valuetext={trans.__('step %1', step)}
        onChange={event => onChange(Number(event.target.value))}
      />
      <output>{trans.__('step %1 of %2', step, steps[steps.length - 1])}</output>
    </label>
  );
}

/** The chosen step of a slider over `steps`: the last one until the user moves it. */
export function useStep(steps: number[]): [number | null, number, (index: number) => void] {
  const [chosen, setChosen] = React.useState<number | null>(null);
  const index = chosen === null ? steps.length - 1 : Math.min(chosen, steps.length - 1);
  return [steps.length ? steps[index] : null, index, setChosen];
}

/** One picture: a fixed-size thumbnail loaded lazily; pressing it shows it at full width. */
export function Thumbnail(props: {
  trans: TranslationBundle;
  src: string;
  alt: string;
  caption: React.ReactNode;
}): React.ReactElement {
  const { trans, src, alt, caption } = props;
  const [large, setLarge] = React.useState(false);
  return (
    <figure className={`jp-nbmlops-media-cell${large ? ' jp-mod-large' : ''}`}>
      <button
        className="jp-nbmlops-media-thumb"
        aria-pressed={large}
        title={large ? trans.__('Show %1 small', alt) : trans.__('Show %1 large', alt)}
        onClick={() => setLarge(!large)}
      >
        <img src={src} alt={alt} loading="lazy" decoding="async" width={THUMB_SIZE} height={THUMB_SIZE} />
      </button>
      <figcaption>{caption}</figcaption>
    </figure>
  );
}

/**
 * Images or figures of a run as a grid of fixed-size thumbnails, one per name, with one step slider
 * for all of them: each name shows its picture logged at or last before the chosen step.
 */
export function MediaGrid(props: {
  trans: TranslationBundle;
  label: string;
  series: MediaSeries[];
  url: (path: string) => string;
}): React.ReactElement {
  const { trans, label, series, url } = props;
  const steps = React.useMemo(() => mediaSteps(series), [series]);
  const [step, index, setIndex] = useStep(steps);
  return (
    <div className="jp-nbmlops-media-group" role="group" aria-label={label}>
      <StepSlider trans={trans} label={trans.__('Step')} steps={steps} index={index} onChange={setIndex} />
      <div className="jp-nbmlops-media-grid">
        {series.map(s => {
          const item = itemAt(s.items, step);
          if (!item) {
            return null;
          }
          const at = item.step === null ? '' : trans.__('step %1', item.step);
          return (
            <Thumbnail
              key={s.name}
              trans={trans}
              src={pictureUrl(item, url)}
              alt={at ? trans.__('%1 at %2', s.name, at) : s.name}
              caption={
                <>
                  <span className="jp-nbmlops-media-name" title={s.name}>
                    {s.name}
                  </span>
                  {at ? <span className="jp-nbmlops-muted"> {at}</span> : null}
                </>
              }
            />
          );
        })}
      </div>
    </div>
  );
}
