import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { NbmlopsModel } from '../model';
import { Actions } from '../types';

export interface RunsViewProps {
  model: NbmlopsModel;
  trans: TranslationBundle;
  actions: Actions;
  experiments: string[] | null;
}

// Placeholder until the view is written.
export function RunsView(props: RunsViewProps): React.ReactElement {
  return <div>{props.trans.__('RunsView')}</div>;
}
