/**
 * Rows of cells as text columns padded to their widest cell, two spaces apart (the last
 * column unpadded). `paint` may wrap a padded cell in colour codes: it is applied after
 * padding, so the codes never count as width.
 */
export function alignColumns(rows: string[][], paint?: (padded: string, row: number, column: number) => string): string {
  const columns = Math.max(0, ...rows.map((cells) => cells.length));
  const widths = Array.from({ length: columns }, (_, column) => Math.max(...rows.map((cells) => (cells[column] ?? '').length)));
  const lines = rows.map((cells, row) =>
    cells
      .map((cell, column) => {
        const padded = column === cells.length - 1 ? cell : cell.padEnd(widths[column]!);
        return paint ? paint(padded, row, column) : padded;
      })
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}
