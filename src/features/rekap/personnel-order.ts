/** The order of personnel in recaps and workbooks: by Polri rank, highest first, then by name. */

/**
 * Polri ranks from the highest, as Cicero_V2 orders personnel in its workbooks; the common abbreviations
 * name the same rank. A rank not in the list comes after BRIPDA.
 */
const RANKS: readonly (readonly string[])[] = [
  ['JENDERAL POLISI', 'JENDERAL'],
  ['KOMISARIS JENDERAL POLISI', 'KOMJEN', 'KOMJEN POL'],
  ['INSPEKTUR JENDERAL POLISI', 'IRJEN', 'IRJEN POL'],
  ['BRIGADIR JENDERAL POLISI', 'BRIGJEN', 'BRIGJEN POL'],
  ['KOMISARIS BESAR POLISI', 'KOMBES', 'KOMBES POL'],
  ['AJUN KOMISARIS BESAR POLISI', 'AKBP'],
  ['KOMISARIS POLISI', 'KOMPOL'],
  ['AJUN KOMISARIS POLISI', 'AKP'],
  ['INSPEKTUR POLISI SATU', 'IPTU'],
  ['INSPEKTUR POLISI DUA', 'IPDA'],
  ['AJUN INSPEKTUR POLISI SATU', 'AIPTU'],
  ['AJUN INSPEKTUR POLISI DUA', 'AIPDA'],
  ['BRIGADIR POLISI KEPALA', 'BRIPKA'],
  ['BRIGADIR POLISI', 'BRIGPOL', 'BRIGADIR'],
  ['BRIGADIR POLISI SATU', 'BRIPTU'],
  ['BRIGADIR POLISI DUA', 'BRIPDA'],
];
const RANK_ORDER = new Map(RANKS.flatMap((names, order) => names.map((name) => [name, order] as const)));

/** Position of a rank, highest first; unknown ranks after the known ones. */
export function rankOrder(rank: string | null): number {
  const key = (rank ?? '').trim().toUpperCase().replace(/\./g, '').replace(/\s+/g, ' ');
  return RANK_ORDER.get(key) ?? RANKS.length;
}

const collator = new Intl.Collator('id', { sensitivity: 'base', numeric: true });
export const compareText = (a: string, b: string): number => collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
