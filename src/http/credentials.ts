/**
 * The QR code and the pairing code are credentials: whoever has one can link a phone to this WhatsApp
 * number. Only full access (API_KEY, a sign-in with it, or the keyless API on loopback) gets them; for
 * anyone else the pairing code is taken out of what the API shows (the session's state reason names it
 * while it waits to be typed in).
 */
import type { Transport } from '../whatsapp/transport.js';
import type { Level } from './auth.js';

/** Whether a caller may see the QR code and the pairing code. */
export function seesPairing(level: Level | null): boolean {
  return level === 'full' || level === 'open';
}

/** The text with the pairing code waiting now (if any) replaced, for a caller who may not see it. */
export function withoutPairingCode(text: string | null, transport: Transport | null, level: Level | null): string | null {
  return hidePairingCode(text, transport?.pairing()?.code ?? null, level);
}

/** The same, for a pairing code known by itself (a session's live view from another instance). */
export function hidePairingCode(text: string | null, code: string | null, level: Level | null): string | null {
  if (text === null || !code || seesPairing(level)) return text;
  return text.split(code).join('(hidden: needs API_KEY)');
}
