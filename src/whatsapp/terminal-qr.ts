/**
 * The pairing QR code drawn as a terminal picture (on stderr, beside the log), each time WhatsApp issues
 * one: a subscriber of the transport's pairing events.
 */
import QRCode from 'qrcode';
import type { Logger } from '../lib/logger.js';
import type { Transport } from './transport.js';

export function drawQrCodes(transport: Pick<Transport, 'onPairing'>, write: (text: string) => void, logger: Logger): () => void {
  return transport.onPairing((event) => {
    if (event.kind !== 'qr') return;
    QRCode.toString(event.qr, { type: 'terminal', small: true })
      .then((picture) => write(`\n${picture}\n`))
      .catch((err: Error) => logger.warn({ err: err.message }, 'could not draw the QR code'));
  });
}
