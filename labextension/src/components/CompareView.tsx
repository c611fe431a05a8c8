import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { NbmlopsModel } from '../model';
import { Actions } from '../types';

export interface CompareViewProps {
  model: NbmlopsModel;
  trans: TranslationBundle;
  actions: Actions;
  runIds: string[];
}

// Placeholder until the view is written.
export function CompareView(props: CompareViewProps): React.ReactElement {
  return <div>{props.trans.__('CompareView')}</div>;
}
