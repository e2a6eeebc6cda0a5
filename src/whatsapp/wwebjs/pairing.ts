/**
 * Pairing: QR codes (rotated by WhatsApp about every 20 s, for as long as it takes: the service keeps
 * waiting for a scan and says so), or a pairing code when WA_PAIR_PHONE is set; then authenticated.
 * Each becomes a pairing event and a state with the steps in words; the code waiting to be used is kept
 * for `pairing()`. Drawing the QR code in a terminal is a subscriber's business (terminal-qr.ts).
 */
import type { Logger } from '../../lib/logger.js';
import type { PairingEvent, PairingInfo, TransportState } from '../transport.js';
import type { WwebClientLike } from './client.js';

export interface PairingHooks {
  isCurrent(client: WwebClientLike): boolean;
  setState(state: TransportState, reason: string | null): void;
  emit(event: PairingEvent): void;
  /** Waiting for a person, not for WhatsApp: the ready timer pauses; authenticated: it runs again. */
  pauseReadyTimer(): void;
  armReadyTimer(): void;
}

export class Pairing {
  private current: PairingInfo | null = null;
  private codes = 0;
  private waitingSince: Date | null = null;

  constructor(
    private readonly hooks: PairingHooks,
    private readonly logger: Logger,
  ) {}

  /** The code waiting to be used, if any. */
  get info(): PairingInfo | null {
    return this.current;
  }

  /** Paired (ready): nothing to scan any more. */
  done(): void {
    this.current = null;
    this.codes = 0;
    this.waitingSince = null;
  }

  wire(client: WwebClientLike): void {
    const mine = () => this.hooks.isCurrent(client);
    client.on('qr', (qr: string) => {
      if (!mine()) return;
      this.hooks.pauseReadyTimer();
      const at = new Date();
      this.current = { qr, code: null, at };
      this.codes++;
      this.waitingSince ??= at;
      this.hooks.setState('awaiting_qr', 'scan the QR code: WhatsApp > Linked devices > Link a device');
      this.logger.info(
        { codes: this.codes, waitingSince: this.waitingSince },
        'WhatsApp pairing: scan the QR code with the phone (WhatsApp > Linked devices > Link a device); still waiting for a scan',
      );
      this.hooks.emit({ kind: 'qr', qr, at });
    });
    client.on('code', (code: string) => {
      if (!mine()) return;
      this.hooks.pauseReadyTimer();
      const at = new Date();
      this.current = { qr: null, code, at };
      // The code links a device to the number: it goes only to whoever asked for it (the API, full access), never to the log or the state.
      this.hooks.setState('awaiting_qr', 'enter the pairing code on the phone: WhatsApp > Linked devices > Link with phone number');
      this.logger.info('WhatsApp pairing code issued: it is shown only to whoever asked for it (POST /api/sessions/{name}/pairing-code, full access)');
      this.hooks.emit({ kind: 'code', code, at });
    });
    client.on('authenticated', () => {
      if (!mine()) return;
      this.done();
      this.hooks.setState('authenticated', null);
      this.hooks.emit({ kind: 'paired', at: new Date() });
      this.hooks.armReadyTimer();
    });
  }
}
