/**
 * Finding a person in Cicero_V2's `"user"` by WhatsApp number, the one rule every feature uses:
 * `"user".whatsapp` as written (often `0812-…`), digits only, a leading 0 replaced by the country code,
 * equals the sender's number digits.
 */

/** SQL condition on `"user"` (aliased `alias`): its number is `$digits` (country code `$countryCode`). */
export function whatsappNumberIs(alias: string, digitsParam: string, countryCodeParam: string): string {
  return `regexp_replace(regexp_replace(coalesce(${alias}.whatsapp, ''), '\\D', '', 'g'), '^0', ${countryCodeParam}) = ${digitsParam}`;
}
