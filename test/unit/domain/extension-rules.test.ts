import { extensionNeedsApproval, mayApproveOwnExtension } from '../../../src/domain/extension-rules';
import { policyWarnings, validatePolicy, type PolicyInput } from '../../../src/domain/policy';
import type { RequestKind } from '../../../src/domain/request';
import { testPolicy } from '../../helpers/harness';

const rules = (requireApproval: boolean, allowSelfApproval = false) => ({
  extension: { requireApproval, maxTotalMs: 4 * 3_600_000 },
  allowSelfApproval,
});

describe('extensionNeedsApproval: break-glass and auto-approved access never grows without a human (guarantee 7)', () => {
  it.each<[RequestKind, boolean, boolean]>([
    ['standard', true, true],
    ['standard', false, false],
    ['break_glass', true, true],
    ['break_glass', false, true],
    ['auto', true, true],
    ['auto', false, true],
  ])('%s grant, extension.requireApproval %s → needs approval %s', (kind, requireApproval, expected) => {
    expect(extensionNeedsApproval({ kind }, rules(requireApproval))).toBe(expected);
  });

  it('a kind it does not know needs approval', () => {
    expect(extensionNeedsApproval({ kind: 'scheduled' as RequestKind }, rules(false))).toBe(true);
  });

  it('the holder of a break-glass or auto-approved grant never approves its extension; self-approval otherwise follows policy', () => {
    expect(mayApproveOwnExtension({ kind: 'standard' }, rules(true, true))).toBe(true);
    expect(mayApproveOwnExtension({ kind: 'standard' }, rules(true, false))).toBe(false);
    expect(mayApproveOwnExtension({ kind: 'break_glass' }, rules(true, true))).toBe(false);
    expect(mayApproveOwnExtension({ kind: 'auto' }, rules(true, true))).toBe(false);
  });
});

describe('policyWarnings (timebox policy check)', () => {
  const withExtension = (
    defaults: PolicyInput['defaults'],
    adminExtension?: { requireApproval?: boolean },
  ) => {
    const p = testPolicy({ defaults });
    if (adminExtension) (p.groups['prod-admin'] as Record<string, unknown>).extension = adminExtension;
    return validatePolicy(p);
  };

  it('warns about breakGlass or autoApprove with extensions that need no approval, inherited from defaults', () => {
    // prod-admin has both; sandbox and db-read have neither.
    expect(policyWarnings(withExtension({ extension: { requireApproval: false } }))).toEqual([
      {
        path: 'groups.prod-admin',
        message:
          "breakGlass and autoApprove with extension.requireApproval: false (from defaults): extensions of break-glass and auto-approved grants will still need an approver's approval; only grants people approved are extended at once.",
      },
    ]);
  });

  it('names the group as the source when the group sets it, and only the rule it has', () => {
    const p = testPolicy({ defaults: { extension: { requireApproval: true } } });
    const admin = p.groups['prod-admin'] as Record<string, unknown>;
    delete admin.breakGlass;
    admin.extension = { requireApproval: false };
    expect(policyWarnings(validatePolicy(p))).toEqual([
      {
        path: 'groups.prod-admin',
        message:
          "autoApprove with extension.requireApproval: false (on the group): extensions of auto-approved grants will still need an approver's approval; only grants people approved are extended at once.",
      },
    ]);
  });

  it('says nothing where such grants need approval anyway', () => {
    expect(policyWarnings(validatePolicy(testPolicy()))).toEqual([]);
    expect(
      policyWarnings(withExtension({ extension: { requireApproval: false } }, { requireApproval: true })),
    ).toEqual([]);
  });
});
