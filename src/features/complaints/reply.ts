/**
 * The standard reply to a complaint, as Cicero_V2 writes it: a greeting for the time of day in
 * CRON_TIMEZONE, a line saying the report is being followed up, the body (a template's problem and
 * numbered steps, or the complaint's own literal text with placeholders filled in), and a closing.
 *
 * `response_template` is a template key when it is one; a key-like word that is no known template
 * (lower case, digits and underscores) gets the `generic` template; anything else is literal text.
 */
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { greeting } from '../greeting.js';
import { OperatorError } from '../../lib/errors.js';

export interface Template {
  kendala: string;
  steps: string[];
}

export type Templates = Record<string, Template>;

export class TemplateError extends OperatorError {}

const BUILT_IN_FILE = fileURLToPath(new URL('./templates.json', import.meta.url));

function validateTemplate(source: string, key: string, value: unknown): Template {
  const t = value as Partial<Template> | null;
  if (!t || typeof t.kendala !== 'string' || t.kendala.trim() === '') {
    throw new TemplateError(`${source}: template "${key}" needs "kendala", a non-empty string`);
  }
  if (!Array.isArray(t.steps) || t.steps.length === 0 || !t.steps.every((s) => typeof s === 'string' && s.trim() !== '')) {
    throw new TemplateError(`${source}: template "${key}" needs "steps", a list of non-empty strings`);
  }
  return { kendala: t.kendala, steps: t.steps };
}

/**
 * The built-in templates, overridden or extended by `<key>.json` files in `overrideDir`
 * (COMPLAINT_TEMPLATES_DIR), each `{ "kendala": "...", "steps": ["...", ...] }`.
 */
export async function loadTemplates(overrideDir: string | null): Promise<Templates> {
  const builtIn = JSON.parse(readFileSync(BUILT_IN_FILE, 'utf8')) as Record<string, unknown>;
  // No prototype: a key such as "constructor" is a template only if a file defines it.
  const templates: Templates = Object.create(null) as Templates;
  for (const [key, value] of Object.entries(builtIn)) templates[key] = validateTemplate(BUILT_IN_FILE, key, value);
  if (!overrideDir) return templates;
  let files: string[];
  try {
    files = (await fs.readdir(overrideDir)).filter((f) => f.endsWith('.json'));
  } catch (err) {
    throw new TemplateError(`COMPLAINT_TEMPLATES_DIR=${overrideDir} cannot be read: ${(err as Error).message}`);
  }
  for (const file of files) {
    const key = path.basename(file, '.json');
    if (!TEMPLATE_KEY.test(key)) throw new TemplateError(`${path.join(overrideDir, file)}: a template file name must be a key (a-z, 0-9, _)`);
    let value: unknown;
    try {
      value = JSON.parse(await fs.readFile(path.join(overrideDir, file), 'utf8'));
    } catch (err) {
      throw new TemplateError(`${path.join(overrideDir, file)} is not valid JSON: ${(err as Error).message}`);
    }
    templates[key] = validateTemplate(path.join(overrideDir, file), key, value);
  }
  return templates;
}

export const TEMPLATE_KEY = /^[a-z][a-z0-9_]*$/;

/** What is known of the complainant, from Cicero_V2's personnel when the number matches. */
export interface Complainant {
  nomor: string;
  nama: string | null;
  pangkat: string | null;
  nrp: string | null;
  satker: string | null;
}

export interface ReplyResult {
  text: string;
  /** Placeholders in literal text that are not known (kept as written). */
  unknownPlaceholders: string[];
  /** A key-like response_template that is no template (answered with `generic`). */
  unknownKey: string | null;
}

function identity(who: Complainant): string {
  if (!who.nama) return who.nomor;
  return [who.pangkat, who.nama].filter(Boolean).join(' ') + (who.nrp ? ` (NRP ${who.nrp})` : '') + (who.satker ? ` — ${who.satker}` : '');
}

export function composeReply(responseTemplate: string, who: Complainant, templates: Templates, at: Date, timeZone: string, note: string | null = null): ReplyResult {
  const name = who.nama ?? 'Bapak/Ibu';
  const lines = [`${greeting(at, timeZone)}, ${name}.`, '', 'Laporan Anda sedang kami tindak lanjuti.', ...(note ? ['', note] : []), ''];
  const unknownPlaceholders: string[] = [];
  let unknownKey: string | null = null;
  const key = responseTemplate.trim();
  if (TEMPLATE_KEY.test(key)) {
    const known = Object.hasOwn(templates, key);
    const template = known ? templates[key]! : templates.generic!;
    if (!known) unknownKey = key;
    lines.push(`*Pelapor:* ${identity(who)}`, `*Kendala:* ${template.kendala}`, '', '*Solusi/Tindak Lanjut:*');
    template.steps.forEach((step, i) => lines.push(`${i + 1}. ${step}`));
  } else {
    const values: Record<string, string | null> = { nama: who.nama ?? 'Bapak/Ibu', pangkat: who.pangkat, nrp: who.nrp, satker: who.satker, nomor: who.nomor };
    lines.push(
      responseTemplate.trim().replace(/\{([a-z_]+)\}/gi, (whole, placeholder: string) => {
        const name = placeholder.toLowerCase();
        const value = Object.hasOwn(values, name) ? values[name] : undefined;
        if (value === undefined) {
          unknownPlaceholders.push(placeholder);
          return whole;
        }
        return value ?? '-';
      }),
    );
  }
  lines.push('', 'Terima kasih.', '_Pesan otomatis Cicero_');
  return { text: lines.join('\n'), unknownPlaceholders, unknownKey };
}
