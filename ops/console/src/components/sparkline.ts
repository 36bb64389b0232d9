const SVG = 'http://www.w3.org/2000/svg';

/**
 * A tiny inline SVG line chart of recent samples. The element is created once and its
 * path updated, so live updates cost one attribute write.
 */
export function createSparkline(label: string, testid: string): { element: SVGSVGElement; update(samples: readonly number[], max?: number): void } {
  const width = 120;
  const height = 24;
  const element = document.createElementNS(SVG, 'svg');
  element.setAttribute('viewBox', `0 0 ${width} ${height}`);
  element.setAttribute('width', String(width));
  element.setAttribute('height', String(height));
  element.setAttribute('class', 'sparkline');
  element.setAttribute('data-testid', testid);
  element.setAttribute('role', 'img');
  element.setAttribute('aria-label', label);
  const path = document.createElementNS(SVG, 'polyline');
  path.setAttribute('fill', 'none');
  path.setAttribute('stroke', 'currentColor');
  path.setAttribute('stroke-width', '1.5');
  element.appendChild(path);
  return {
    element,
    update(samples, max) {
      const top = Math.max(max ?? 0, ...samples, 1e-9);
      const step = samples.length > 1 ? width / (samples.length - 1) : width;
      const points = samples.map((value, index) => `${(index * step).toFixed(1)},${(height - 1 - (value / top) * (height - 2)).toFixed(1)}`);
      path.setAttribute('points', points.join(' '));
      element.setAttribute('data-samples', String(samples.length));
    },
  };
}
