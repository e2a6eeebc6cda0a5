/**
 * Recipient normalisation, as Cicero_V2 does it: phone numbers become `<digits>@c.us` with a leading
 * 0 replaced by the country code; WhatsApp ids (`…@c.us`, `…@g.us`, `…@lid`) are kept.
 *
 *   0812-3456-7890, +62 812 3456 7890, 6281234567890  →  6281234567890@c.us
 *   120363012345678901@g.us                           →  unchanged (a group)
 */

export type NormalisedRecipient = { ok: true; chatId: string } | { ok: false; reason: string };

const PHONE_SEPARATORS = /[\s\-.()]/g;

export function normaliseRecipient(raw: string, defaultCountryCode: string): NormalisedRecipient {
  const value = raw.trim();
  if (value === '') return { ok: false, reason: 'recipient is empty' };

  const at = value.lastIndexOf('@');
  if (at !== -1) {
    const local = value.slice(0, at);
    const domain = value.slice(at + 1).toLowerCase();
    if (domain === 'g.us') {
      return /^\d{5,}(-\d+)?$/.test(local) ? { ok: true, chatId: `${local}@g.us` } : { ok: false, reason: `"${raw}" is not a valid group id (digits@g.us)` };
    }
    if (domain === 'lid') {
      return /^\d{5,}$/.test(local) ? { ok: true, chatId: `${local}@lid` } : { ok: false, reason: `"${raw}" is not a valid @lid id` };
    }
    if (domain === 'c.us' || domain === 's.whatsapp.net') {
      return /^\d{8,15}$/.test(local) ? { ok: true, chatId: `${local}@c.us` } : { ok: false, reason: `"${raw}" is not a valid number id (8 to 15 digits@c.us)` };
    }
    return { ok: false, reason: `"${raw}" has an unknown WhatsApp domain "@${domain}" (allowed: @c.us, @g.us, @lid)` };
  }

  let digits = value.replace(PHONE_SEPARATORS, '');
  if (digits.startsWith('+')) digits = digits.slice(1);
  else if (digits.startsWith('00')) digits = digits.slice(2);
  else if (digits.startsWith('0')) digits = defaultCountryCode + digits.slice(1);
  if (!/^\d+$/.test(digits)) return { ok: false, reason: `"${raw}" is not a phone number or WhatsApp id` };
  if (digits.length < 8 || digits.length > 15) {
    return { ok: false, reason: `"${raw}" has ${digits.length} digits with its country code; a phone number has 8 to 15` };
  }
  return { ok: true, chatId: `${digits}@c.us` };
}
