// DOM helpers shared by the canvas charts (the compare view's scatter, the study's objective over trials): theme colors,
// sizes, HiDPI canvases painted on change, points browsed by pointer and keyboard, their tooltips.
import * as React from 'react';

import { nearestPoint } from '../charts';

/** A JupyterLab CSS variable's current value as seen from `element` (canvas drawing needs literal colors). */
export function cssVar(element: Element | null, name: string, fallback: string): string {
  if (!element || typeof getComputedStyle !== 'function') {
    return fallback;
  }
  const value = getComputedStyle(element).getPropertyValue(name).trim();
  return value || fallback;
}

/** The colors a chart draws its frame with, read from the theme. */
export interface ThemeColors {
  text: string;
  muted: string;
  grid: string;
  axis: string;
  background: string;
}

export function themeColors(element: Element | null): ThemeColors {
  return {
    text: cssVar(element, '--jp-ui-font-color1', '#333'),
    muted: cssVar(element, '--jp-ui-font-color2', '#777'),
    grid: cssVar(element, '--jp-border-color3', '#eee'),
    axis: cssVar(element, '--jp-border-color1', '#bbb'),
    background: cssVar(element, '--jp-layout-color1', '#fff')
  };
}

/**
 * A number that changes whenever JupyterLab switches theme (it sets data-jp-theme-* on <body>), so
 * canvas charts re-read their colors.
 */
export function useThemeVersion(): number {
  const [version, setVersion] = React.useState(0);
  React.useEffect(() => {
    if (typeof MutationObserver === 'undefined') {
      return;
    }
    const observer = new MutationObserver(() => setVersion(v => v + 1));
    observer.observe(document.body, {
      attributes: true,
      attributeFilter: ['data-jp-theme-light', 'data-jp-theme-name']
    });
    return () => observer.disconnect();
  }, []);
  return version;
}

/** The content width of `ref`'s element, kept current with a ResizeObserver (0 until measured). */
export function useWidth(ref: React.RefObject<HTMLElement>): number {
  const [width, setWidth] = React.useState(0);
  React.useEffect(() => {
    const element = ref.current;
    if (!element) {
      return;
    }
    setWidth(element.clientWidth);
    if (typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(entries => {
      const next = Math.floor(entries[0]?.contentRect.width ?? element.clientWidth);
      setWidth(previous => (previous === next ? previous : next));
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}

/**
 * Size `canvas` for the screen's pixel ratio and return its 2-D context scaled to CSS pixels;
 * null where there is no canvas (jsdom), so callers simply skip drawing.
 */
export function prepareCanvas(
  canvas: HTMLCanvasElement | null,
  width: number,
  height: number
): CanvasRenderingContext2D | null {
  if (!canvas || width <= 0 || height <= 0) {
    return null;
  }
  let context: CanvasRenderingContext2D | null = null;
  try {
    context = canvas.getContext('2d');
  } catch {
    context = null;
  }
  if (!context) {
    return null;
  }
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  return context;
}

/**
 * A canvas ref painted by `paint` (sized for the screen's pixel ratio, in the theme's colors and UI
 * font) whenever its size, the theme or `deps` change; nothing is painted where there is no canvas.
 */
export function useCanvasPaint(
  width: number,
  height: number,
  paint: (context: CanvasRenderingContext2D, colors: ThemeColors, font: string) => void,
  deps: React.DependencyList
): React.RefObject<HTMLCanvasElement> {
  const canvas = React.useRef<HTMLCanvasElement>(null);
  const theme = useThemeVersion();
  React.useEffect(() => {
    const context = prepareCanvas(canvas.current, width, height);
    if (context) {
      const font = `11px ${cssVar(canvas.current, '--jp-ui-font-family', 'sans-serif')}`;
      paint(context, themeColors(canvas.current), font);
    }
  }, [width, height, theme, ...deps]); // eslint-disable-line react-hooks/exhaustive-deps -- paint reads what deps name
  return canvas;
}

/** Whether this page can draw on a canvas at all (false in jsdom). */
export function canvasSupported(): boolean {
  try {
    return document.createElement('canvas').getContext('2d') !== null;
  } catch {
    return false;
  }
}

/** `text` cut to `max` characters with an ellipsis (labels on canvases cannot wrap). */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text); // by code point: never split an emoji or a surrogate pair
  return chars.length <= max ? text : chars.slice(0, Math.max(1, max - 1)).join('') + '…';
}

/** What a canvas of points needs to be browsed: the active point, and the canvas's event handlers. */
export interface PointPicker {
  /** The highlighted point's index, or -1. */
  active: number;
  handlers: {
    onMouseMove: (event: React.MouseEvent<HTMLCanvasElement>) => void;
    onMouseLeave: () => void;
    onClick: (event: React.MouseEvent<HTMLCanvasElement>) => void;
    onKeyDown: (event: React.KeyboardEvent) => void;
  };
}

/**
 * Points at (px, py) on a canvas, browsed by pointer (the nearest within `radius` pixels) and by
 * keyboard (arrows go through them, Escape leaves); Enter or a click calls `onActivate` with the index.
 */
export function usePointPicker(
  px: ArrayLike<number>,
  py: ArrayLike<number>,
  radius: number,
  onActivate: (index: number) => void
): PointPicker {
  const [active, setActive] = React.useState(-1);
  const count = px.length;
  const pick = (event: React.MouseEvent<HTMLCanvasElement>): number => {
    const rect = event.currentTarget.getBoundingClientRect();
    return nearestPoint(px, py, event.clientX - rect.left, event.clientY - rect.top, radius);
  };
  const onKeyDown = (event: React.KeyboardEvent): void => {
    if (count === 0) {
      return;
    }
    if (event.key === 'ArrowRight' || event.key === 'ArrowDown') {
      setActive(i => (i + 1) % count);
    } else if (event.key === 'ArrowLeft' || event.key === 'ArrowUp') {
      setActive(i => (i <= 0 ? count - 1 : i - 1));
    } else if (event.key === 'Enter' && active >= 0) {
      onActivate(active);
    } else if (event.key === 'Escape') {
      setActive(-1);
    } else {
      return;
    }
    event.preventDefault();
  };
  return {
    active: active < count ? active : -1,
    handlers: {
      onMouseMove: event => setActive(pick(event)),
      onMouseLeave: () => setActive(-1),
      onClick: event => {
        const index = pick(event);
        if (index >= 0) {
          onActivate(index);
        }
      },
      onKeyDown
    }
  };
}

/** How wide a tooltip may be (.jp-nbmlops-tooltip: max-width 220px plus padding and border), to keep it inside the chart. */
const TOOLTIP_WIDTH = 240;

/** A tooltip beside the point at (x, y) of a chart `width` wide: right of it, or left where that has no room; never over it. */
export function PointTooltip(props: {
  x: number;
  y: number;
  width: number;
  children: React.ReactNode;
}): React.ReactElement {
  return React.createElement(
    'div',
    {
      className: 'jp-nbmlops-tooltip',
      role: 'status',
      style: {
        left: props.x + 12 + TOOLTIP_WIDTH <= props.width ? props.x + 12 : Math.max(0, props.x - 12 - TOOLTIP_WIDTH),
        top: Math.max(0, props.y - 40)
      }
    },
    props.children
  );
}
