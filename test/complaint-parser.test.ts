/**
 * The "Pesan Komplain" parser on real-looking messages (test/fixtures/complaint-messages.json), and its
 * two refusals at their limits: the NRP rule (1 to 30 digits read, 8 to 18 plausible; none or more than 30
 * is missing) on both sides of each bound, and a message without a Kendala header (missing Kendala, however
 * issue-like its lines look).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NRP_DIGITS, parseComplaintMessage, type ParsedComplaint } from '../src/features/complaints/parser.js';
import { COMPLAINT_FIXTURE, complaint } from './helpers/complaints.js';

describe('the Pesan Komplain parser', () => {
  for (const { label, text, expect } of COMPLAINT_FIXTURE.complaints) {
    it(label, () => {
      const result = parseComplaintMessage(text);
      if (expect === null) return assert.deepEqual(result, { kind: 'not_a_complaint' });
      assert.equal(result.kind, 'complaints', JSON.stringify(result));
      const [complaint] = (result as { complaints: ParsedComplaint[] }).complaints;
      const { issues, ...fields } = expect;
      assert.deepEqual({ nrp: complaint!.nrp, name: complaint!.name, unit: complaint!.unit, instagram: complaint!.instagram, tiktok: complaint!.tiktok, knownIssue: complaint!.knownIssue }, fields);
      assert.equal(complaint!.issues.length, issues, JSON.stringify(complaint!.issues));
    });
  }

  it(COMPLAINT_FIXTURE.twoInOne.label, () => {
    const result = parseComplaintMessage(COMPLAINT_FIXTURE.twoInOne.text);
    assert.equal(result.kind, 'complaints');
    const complaints = (result as { complaints: ParsedComplaint[] }).complaints;
    assert.deepEqual(complaints.map((c) => ({ nrp: c.nrp, knownIssue: c.knownIssue })), COMPLAINT_FIXTURE.twoInOne.expect);
  });

  for (const { label, text, missing } of COMPLAINT_FIXTURE.malformed) {
    it(`malformed: ${label}`, () => assert.deepEqual(parseComplaintMessage(text), { kind: 'malformed', missing }));
  }

  it('ignores what is not text worth reading: empty, only spaces, a greeting mentioning komplain', () => {
    for (const text of ['', '   \n  ', 'mau komplain pak', 'Komplain: rekap salah']) assert.deepEqual(parseComplaintMessage(text), { kind: 'not_a_complaint' });
  });

  describe('the NRP rule at its edges', () => {
    const digits = (n: number) => Array.from({ length: n }, (_, i) => String((i + 7) % 10)).join('');
    const nrpOf = (nrp: string) => parseComplaintMessage(complaint(nrp));

    it(`the bounds are 8 to ${NRP_DIGITS.max} digits plausible and 30 read, as the reply's wording says`, () => {
      assert.deepEqual(NRP_DIGITS, { min: 8, max: 18 });
    });

    it('1, 7, 8, 18, 19 and 30 digits are read, each with whether it is plausible', () => {
      for (const [length, plausible] of [[1, false], [7, false], [8, true], [18, true], [19, false], [30, false]] as const) {
        const parsed = nrpOf(digits(length));
        assert.equal(parsed.kind, 'complaints', `${length} digits: ${JSON.stringify(parsed)}`);
        const [c] = (parsed as { complaints: ParsedComplaint[] }).complaints;
        assert.deepEqual([c!.nrp, c!.nrpPlausible], [digits(length), plausible], `${length} digits`);
      }
    });

    it('only digits count: 8 digits written with spaces and dots are plausible, 7 with separators are not', () => {
      const eight = nrpOf('7502.02 01');
      assert.equal(eight.kind, 'complaints');
      assert.deepEqual((eight as { complaints: ParsedComplaint[] }).complaints.map((c) => [c.nrp, c.nrpPlausible]), [['75020201', true]]);
      const seven = nrpOf('750-20-20');
      assert.equal(seven.kind, 'complaints');
      assert.deepEqual((seven as { complaints: ParsedComplaint[] }).complaints.map((c) => [c.nrp, c.nrpPlausible]), [['7502020', false]]);
    });

    it('31 digits (also with separators), no digits at all, or an empty field is a missing NRP', () => {
      for (const nrp of [digits(31), `${digits(16)} ${digits(15)}`, 'tidak ada', '-', '']) {
        assert.deepEqual(nrpOf(nrp), { kind: 'malformed', missing: ['NRP'] }, JSON.stringify(nrp));
      }
    });
  });

  describe('a complaint without a Kendala header', () => {
    it('issue-like lines without the header are no issues: missing Kendala', () => {
      for (const body of ['- like belum tercatat', 'Instagram belum terdata', '1) Sudah like Instagram tapi belum tercatat\n2) TikTok juga']) {
        assert.deepEqual(parseComplaintMessage(`Pesan Komplain\nNRP : 75010001\nNama : Budi\n${body}`), { kind: 'malformed', missing: ['Kendala'] }, body);
      }
    });

    it('a Kendala header with nothing under it is missing Kendala; with no NRP either, both are named', () => {
      assert.deepEqual(parseComplaintMessage('Pesan Komplain\nNRP : 75010001\nKendala\n\n'), { kind: 'malformed', missing: ['Kendala'] });
      assert.deepEqual(parseComplaintMessage('Pesan Komplain\nNama : Budi\n- like belum tercatat'), { kind: 'malformed', missing: ['NRP', 'Kendala'] });
    });

    it('one of two complaints without its header makes the message malformed, not one complaint', () => {
      const text = `${complaint('75010001')}\n\nPesan Komplain\nNRP : 75010002\n- TikTok belum tercatat`;
      assert.deepEqual(parseComplaintMessage(text), { kind: 'malformed', missing: ['Kendala'] });
    });

    it('the same lines under the header are taken', () => {
      const parsed = parseComplaintMessage('Pesan Komplain\nNRP : 75010001\nNama : Budi\nKendala\n- like belum tercatat');
      assert.equal(parsed.kind, 'complaints');
      assert.deepEqual((parsed as { complaints: ParsedComplaint[] }).complaints[0]!.issues, ['like belum tercatat']);
    });
  });
});
