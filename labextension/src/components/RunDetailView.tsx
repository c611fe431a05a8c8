import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { NbmlopsModel } from '../model';
import { Actions } from '../types';

export interface RunDetailViewProps {
  model: NbmlopsModel;
  trans: TranslationBundle;
  actions: Actions;
  runId: string;
}

// Placeholder until the view is written.
export function RunDetailView(props: RunDetailViewProps): React.ReactElement {
  return <div>{props.trans.__('RunDetailView')}</div>;
}
