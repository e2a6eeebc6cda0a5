/**
 * A request that fails its route's JSON schema, in words an operator reads: one entry per field
 * (`body.text`, `query.limit`) with everything wrong with it, at most MAX_FIELDS of them (the rest are
 * counted), so a body of a thousand unknown fields gets a short answer.
 */

/** The most fields one refusal names. */
export const MAX_FIELDS = 20;

export interface ValidationIssue {
  instancePath: string;
  message?: string;
  keyword: string;
  params: Record<string, unknown>;
}

/** What is wrong, in words an operator reads (ajv's own wording otherwise). */
function issueMessage(issue: ValidationIssue): string {
  const p = issue.params;
  switch (issue.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not a known field';
    case 'minLength':
      return p.limit === 1 ? 'must not be empty' : `must have at least ${String(p.limit)} characters`;
    case 'maxLength':
      return `must have at most ${Number(p.limit).toLocaleString('en')} characters`;
    case 'enum':
      return `must be one of: ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'pattern':
      return p.pattern === '\\S' ? 'must not be blank' : `must match ${String(p.pattern)}`;
    case 'format':
      return FORMAT_HINTS[String(p.format)] ?? `must be a ${String(p.format)}`;
    default:
      return issue.message ?? 'is invalid';
  }
}

const FORMAT_HINTS: Record<string, string> = {
  recipient: 'is not a phone number or WhatsApp id (e.g. 081234567890, +62 812 3456 7890, 6281234567890@c.us, 120363…@g.us)',
  'date-time': 'must be a time with its zone, e.g. 2026-11-25T07:00:00+07:00',
};

/** Ajv's errors as fields (`body.text`, `query.limit`), one entry per field with everything wrong with it. */
function validationFields(issues: ValidationIssue[], context: string | undefined): Array<{ field: string; message: string }> {
  const where = context === 'querystring' ? 'query' : (context ?? 'body');
  const byField = new Map<string, string[]>();
  for (const issue of issues) {
    let path = issue.instancePath.replace(/^\//, '').replace(/\//g, '.');
    if (issue.keyword === 'required') path = [path, String(issue.params.missingProperty)].filter(Boolean).join('.');
    if (issue.keyword === 'additionalProperties') path = [path, String(issue.params.additionalProperty)].filter(Boolean).join('.');
    const field = path ? `${where}.${path}` : where;
    const message = issueMessage(issue);
    const messages = byField.get(field) ?? [];
    if (!messages.includes(message)) messages.push(message);
    byField.set(field, messages);
  }
  return [...byField].map(([field, messages]) => ({ field, message: messages.join('; ') }));
}

/** The 400 answer: the fields (at most MAX_FIELDS), the same in one message, and how many more there were. */
export function validationRefusal(
  issues: ValidationIssue[],
  context: string | undefined,
): { error: 'invalid_request'; message: string; fields: Array<{ field: string; message: string }>; moreFields?: number } {
  const all = validationFields(issues, context);
  const fields = all.slice(0, MAX_FIELDS);
  const more = all.length - fields.length;
  const message = fields.map((f) => `${f.field} ${f.message}`).join('; ') + (more > 0 ? `; and ${more} more` : '');
  return { error: 'invalid_request', message, fields, ...(more > 0 ? { moreFields: more } : {}) };
}
