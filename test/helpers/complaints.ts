/** Real-looking "Pesan Komplain" messages and what they must parse to (test/fixtures/complaint-messages.json). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ParsedComplaint } from '../../src/features/complaints/parser.js';
import { REPO_ROOT } from './cli.js';

interface Fixture {
  complaints: Array<{ label: string; text: string; expect: (Partial<ParsedComplaint> & { issues: number }) | null }>;
  twoInOne: { label: string; text: string; expect: Array<Partial<ParsedComplaint>> };
  malformed: Array<{ label: string; text: string; missing: string[] }>;
}

export const COMPLAINT_FIXTURE = JSON.parse(readFileSync(path.join(REPO_ROOT, 'test/fixtures/complaint-messages.json'), 'utf8')) as Fixture;


/** A complaint in the default template with this NRP field (as typed) and one issue under its Kendala header. */
export const complaint = (nrp: string, issue = 'Sudah like Instagram tapi belum tercatat') => `Pesan Komplain\nNRP : ${nrp}\nNama : Siapa Saja\n\nKendala\n- ${issue}`;
