/**
 * Reading whatsapp-web.js Message objects as WhatsApp Web builds have shaped them.
 *
 * A message key (`message.id`) was `{ fromMe, remote, id, _serialized }`. From build 2.3000.1042401057
 * (July 2026) WhatsApp Web keeps the serialised key under a minified name (`$1`), and `_serialized` is
 * gone from keys that cross the Puppeteer bridge (whatsapp-web.js #201857, wa-js #3484). A later build
 * may minify it under another name, so every form is tried: `_serialized`, `$1`, any own string shaped
 * like a key, a `toString()` of its own, and last the key rebuilt from its parts.
 */

/** `true_6281234567890@c.us_3EB0…` or `false_1203…@g.us_ABCD…_6281…@c.us`. */
const KEY_SHAPE = /^(true|false)_[^_\s]+@[a-z.]+_[A-Za-z0-9]+(_\S+)?$/;

function widText(value: unknown): string | null {
  if (typeof value === 'string') return value || null;
  if (value && typeof value === 'object') {
    const serialized = (value as { _serialized?: unknown })._serialized;
    if (typeof serialized === 'string' && serialized) return serialized;
    const { user, server } = value as { user?: unknown; server?: unknown };
    if (typeof user === 'string' && typeof server === 'string') return `${user}@${server}`;
  }
  return null;
}

/** The serialised form of a message key, whatever its shape; null when none can be read. */
export function serializedKey(key: unknown): string | null {
  if (typeof key === 'string') return KEY_SHAPE.test(key) ? key : null;
  if (!key || typeof key !== 'object') return null;
  const k = key as Record<string, unknown>;
  for (const name of ['_serialized', '$1']) {
    const value = k[name];
    if (typeof value === 'string' && value) return value;
  }
  for (const value of Object.values(k)) {
    if (typeof value === 'string' && KEY_SHAPE.test(value)) return value;
  }
  if (typeof k.toString === 'function' && k.toString !== Object.prototype.toString) {
    const text = String(k.toString());
    if (KEY_SHAPE.test(text)) return text;
  }
  const remote = widText(k.remote);
  if (typeof k.fromMe === 'boolean' && typeof k.id === 'string' && k.id && remote) {
    const participant = widText(k.participant);
    return [String(k.fromMe), remote, k.id, ...(participant ? [participant] : [])].join('_');
  }
  return null;
}

/** The WhatsApp id of a message (a whatsapp-web.js Message, or what sendMessage resolved to). */
export function messageIdOf(message: unknown): string | null {
  if (!message || typeof message !== 'object') return null;
  return serializedKey((message as { id?: unknown }).id);
}

/** Whether a message was sent by this session. */
export function isFromMe(message: unknown): boolean {
  const m = message as { fromMe?: unknown; id?: { fromMe?: unknown } } | null;
  return m?.fromMe === true || m?.id?.fromMe === true;
}

/** The chat a message of this session is in: its `to`, else its key's remote. */
export function ownMessageChat(message: unknown): string | null {
  const m = message as { to?: unknown; id?: { remote?: unknown } } | null;
  return widText(m?.to) ?? widText(m?.id?.remote);
}

/** whatsapp-web.js's message types that carry media (and so a caption instead of a body). */
const MEDIA_TYPES = new Set(['document', 'image', 'video', 'audio', 'ptt', 'sticker', 'gif']);

/**
 * The text of a message: the caption of a media message. whatsapp-web.js takes a media message's body
 * from its caption only once the upload is done (`hasMedia = Boolean(data.directPath)`); before that its
 * `body` is the page's preview. So for a media type the caption is read from the raw data.
 */
export function messageBody(message: unknown): string {
  const m = message as { body?: unknown; type?: unknown; hasMedia?: unknown; _data?: { caption?: unknown; type?: unknown } } | null;
  const type = m?.type ?? m?._data?.type;
  if (typeof type === 'string' && MEDIA_TYPES.has(type)) {
    const caption = m?._data?.caption;
    if (typeof caption === 'string') return caption;
    return m?.hasMedia === true && typeof m.body === 'string' ? m.body : '';
  }
  const body = m?.body;
  return typeof body === 'string' ? body : '';
}

/**
 * A message someone sent to this number, as far as the Message itself tells: its chat (`from`), the
 * sender (the group participant `author`, else `from`), text, time, media (without downloading it).
 * The sender's phone/LID pair is completed by the caller.
 */
export function inboundMessage(message: unknown): Omit<import('../transport.js').InboundMessage, 'senderPhone' | 'senderLid'> | null {
  const m = message as {
    from?: unknown;
    author?: unknown;
    timestamp?: unknown;
    hasMedia?: unknown;
    isStatus?: unknown;
    _data?: { mimetype?: unknown; filename?: unknown; size?: unknown; notifyName?: unknown };
  } | null;
  const messageId = messageIdOf(message);
  const chatId = widText(m?.from);
  if (!messageId || !chatId) return null;
  const isGroup = chatId.endsWith('@g.us');
  const senderId = (isGroup ? widText(m?.author) : null) ?? chatId;
  const seconds = Number(m?.timestamp);
  const data = m?._data ?? {};
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  const size = Number(data.size);
  return {
    messageId,
    chatId,
    isGroup,
    senderId,
    senderName: text(data.notifyName),
    body: messageBody(message),
    sentAt: Number.isFinite(seconds) && seconds > 0 ? new Date(seconds * 1000) : new Date(),
    media: m?.hasMedia === true ? { mimeType: text(data.mimetype), fileName: text(data.filename), size: Number.isFinite(size) && size > 0 ? size : null } : null,
    isStatus: m?.isStatus === true || chatId === 'status@broadcast',
  };
}
