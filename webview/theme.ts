/** Chart colours from the VS Code theme's CSS variables; rebuilt when the body's theme class changes. */
import { DEFAULT_THEME, type ChartTheme } from '../src/core/chartSpec';

export function readTheme(): ChartTheme {
  const css = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    foreground: v('--vscode-editor-foreground', DEFAULT_THEME.foreground),
    background: v('--vscode-editor-background', DEFAULT_THEME.background),
    grid: v('--vscode-editorWidget-border', v('--vscode-panel-border', DEFAULT_THEME.grid)),
    raw: v('--vscode-charts-blue', DEFAULT_THEME.raw),
    smoothed: v('--vscode-charts-blue', DEFAULT_THEME.smoothed),
    validation: v('--vscode-charts-purple', DEFAULT_THEME.validation),
    steepest: v('--vscode-charts-green', DEFAULT_THEME.steepest),
    minimum: v('--vscode-charts-red', DEFAULT_THEME.minimum),
    recommended: v('--vscode-charts-yellow', DEFAULT_THEME.recommended),
    font: v('--vscode-font-family', DEFAULT_THEME.font),
  };
}

export function onThemeChange(cb: () => void): void {
  new MutationObserver(() => cb()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
}
