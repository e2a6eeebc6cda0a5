/**
 * Splits a text longer than WhatsApp accepts into ordered parts: at the last line break that fits,
 * else the last space, else (one very long word) at the limit. Nothing is dropped or changed:
 * `parts.join('') === text`, and the split is deterministic, so a retry can resume after the parts
 * already sent. Lengths count Unicode code points, and a part never ends inside a surrogate pair.
 */

export const WHATSAPP_MAX_TEXT = 4096;

export function splitText(text: string, max: number = WHATSAPP_MAX_TEXT): string[] {
  const chars = Array.from(text);
  if (chars.length <= max) return [text];
  const parts: string[] = [];
  let start = 0;
  while (chars.length - start > max) {
    const window = chars.slice(start, start + max);
    let cut = window.lastIndexOf('\n') + 1;
    if (cut <= 0) cut = window.lastIndexOf(' ') + 1;
    if (cut <= 0) cut = max;
    parts.push(window.slice(0, cut).join(''));
    start += cut;
  }
  parts.push(chars.slice(start).join(''));
  return parts;
}
