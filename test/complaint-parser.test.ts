/** The "Pesan Komplain" parser on real-looking messages (test/fixtures/complaint-messages.json). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseComplaintMessage, type ParsedComplaint } from '../src/features/complaints/parser.js';
import { COMPLAINT_FIXTURE } from './helpers/complaints.js';

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
});
