import { promises as fs } from 'node:fs';
import { parseDocument } from 'yaml';
import { DomainError, ErrorCodes } from './domain/errors';
import { validatePolicy, type Policy } from './domain/policy';

/** Reads and validates the policy file; errors name the file, the key path and the problem. */
export async function loadPolicyFile(file: string): Promise<Policy> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new DomainError(
      ErrorCodes.POLICY_INVALID,
      `Cannot read the policy file ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file (set TIMEBOX_POLICY)' : (error as Error).message}`,
    );
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new DomainError(
      ErrorCodes.POLICY_INVALID,
      `${file} is not valid YAML:\n${doc.errors.map((e) => `  - ${e.message.split('\n')[0]}`).join('\n')}`,
    );
  }
  return validatePolicy(doc.toJS(), file);
}
