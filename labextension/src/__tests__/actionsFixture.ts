// The panel's actions (open a view, compare, open a notebook) as jest mocks, for the views' tests.
import { Actions } from '../types';

export function actions(): jest.Mocked<Actions> {
  return {
    openRuns: jest.fn(),
    openRun: jest.fn(),
    compare: jest.fn(),
    openModels: jest.fn(),
    openNotebook: jest.fn()
  };
}
