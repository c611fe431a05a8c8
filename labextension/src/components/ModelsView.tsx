import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { NbmlopsModel } from '../model';
import { Actions } from '../types';

export interface ModelsViewProps {
  model: NbmlopsModel;
  trans: TranslationBundle;
  actions: Actions;
  name: string | null;
}

// Placeholder until the view is written.
export function ModelsView(props: ModelsViewProps): React.ReactElement {
  return <div>{props.trans.__('ModelsView')}</div>;
}
