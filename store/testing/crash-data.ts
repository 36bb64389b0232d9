/** The payload the crash writer appends, recomputable by the checker from (writer, seq, index). */
export function crashEventData(writer: number, seq: number, index: number): { w: number; seq: number; i: number; pad: string } {
  return { w: writer, seq, i: index, pad: 'x'.repeat((seq * 31 + index * 7 + writer) % 300) };
}
