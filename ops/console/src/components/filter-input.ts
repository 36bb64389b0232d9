import { h, setText } from '../dom.js';

/**
 * A text input for a specifier or filter that can show the server's parse error where it
 * occurred: the message, and a caret under the offending character.
 */
export function createExpressionInput(options: { testid: string; placeholder: string; value?: string; label: string }): {
  element: HTMLElement;
  input: HTMLInputElement;
  showError(message: string, position: number | null): void;
  clearError(): void;
} {
  const input = h('input', { type: 'text', class: 'expression', placeholder: options.placeholder, value: options.value ?? '', testid: options.testid, spellcheck: false, 'aria-label': options.label });
  const caret = h('pre', { class: 'caret', testid: `${options.testid}-caret`, hidden: true });
  const message = h('div', { class: 'error', role: 'alert', testid: `${options.testid}-error`, hidden: true });
  const element = h('label', { class: 'expression-field' }, h('span', { class: 'field-label' }, options.label), input, caret, message);
  return {
    element,
    input,
    showError(text, position) {
      setText(message, text);
      message.hidden = false;
      input.classList.add('invalid');
      if (position !== null) {
        // The caret lines up under the input's text (same monospace font, same padding).
        setText(caret, `${input.value}\n${' '.repeat(Math.max(0, position))}^`);
        caret.hidden = false;
        input.setSelectionRange(position, Math.min(input.value.length, position + 1));
      } else {
        caret.hidden = true;
      }
    },
    clearError() {
      message.hidden = true;
      caret.hidden = true;
      input.classList.remove('invalid');
    },
  };
}
