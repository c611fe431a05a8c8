import { LabIcon } from '@jupyterlab/ui-components';

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M3 20h18v2H3z"/>
    <path d="M5 17l4-6 4 3 6-9 1.6 1.1-7.1 10.6-4-3L6.6 18z"/>
    <circle cx="9" cy="11" r="1.6"/><circle cx="13" cy="14" r="1.6"/><circle cx="19" cy="5" r="1.6"/>
  </g>
</svg>`;

/** The nbmlops icon: the sidebar tab and every nbmlops view. */
export const nbmlopsIcon = new LabIcon({ name: 'nbmlops:experiments', svgstr: svg });
