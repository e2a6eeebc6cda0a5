/**
 * A command another instance asked of a session this process holds (src/sessions/live-view.ts), carried
 * out on its transport with the same checks and answers the API gives when the session runs locally.
 */
import type { CommandOutcome, SessionCommand } from '../sessions/live-view.js';
import { PairingUnavailable, type Transport } from '../whatsapp/transport.js';

export async function carryOut(transport: Transport, command: SessionCommand, argument: string | null): Promise<CommandOutcome> {
  try {
    if (command === 'pairing_code') {
      if (!transport.requestPairingCode) return { ok: false, status: 409, code: 'not_supported', message: `WA_TRANSPORT=${transport.name} has no pairing` };
      if (!argument || !/^[0-9]{8,15}$/.test(argument)) return { ok: false, status: 400, code: 'invalid_phone', message: 'phone must be 8 to 15 digits with the country code' };
      const code = await transport.requestPairingCode(argument);
      return { ok: true, result: { code, state: transport.status().state } };
    }
    if (!transport.logout) return { ok: false, status: 409, code: 'not_supported', message: `WA_TRANSPORT=${transport.name} has no session to log out` };
    await transport.logout();
    return { ok: true, result: { state: transport.status().state } };
  } catch (err) {
    if (err instanceof PairingUnavailable) return { ok: false, status: 409, code: 'not_waiting_for_pairing', message: err.message };
    return { ok: false, status: 502, code: 'command_failed', message: (err as Error).message };
  }
}
