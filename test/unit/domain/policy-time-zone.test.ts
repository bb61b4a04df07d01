import { validatePolicy } from '../../../src/domain/policy';
import { testPolicy } from '../../helpers/harness';

const withChannelZone = (timeZone: unknown) => {
  const raw = testPolicy();
  const [name] = Object.keys(raw.approverChannels);
  // A copy: testPolicy() shares its channel object between calls.
  raw.approverChannels[name!] = { ...raw.approverChannels[name!]!, timeZone } as never;
  return { raw, name: name! };
};

describe('policy: an approver channel’s timeZone', () => {
  it('is optional (the channel then reads UTC)', () => {
    const policy = validatePolicy(testPolicy());
    for (const channel of Object.values(policy.approverChannels)) expect(channel.timeZone).toBeUndefined();
  });

  it.each(['Europe/Berlin', 'Asia/Kolkata', 'UTC'])('accepts the IANA zone %s', (zone) => {
    const { raw, name } = withChannelZone(zone);
    expect(validatePolicy(raw).approverChannels[name]?.timeZone).toBe(zone);
  });

  it.each(['Mars/Olympus', '../../etc', 'CET+1', ''])('refuses %p, naming the key and an example', (zone) => {
    const { raw, name } = withChannelZone(zone);
    expect(() => validatePolicy(raw, 'timebox.policy.yaml')).toThrow(
      new RegExp(
        `approverChannels\\.${name}\\.timeZone: ".*" is not a time zone \\(use an IANA name such as Europe/Berlin`,
      ),
    );
  });

  it('refuses a zone that is not text', () => {
    const { raw, name } = withChannelZone(1);
    expect(() => validatePolicy(raw)).toThrow(new RegExp(`approverChannels\\.${name}\\.timeZone`));
  });
});
