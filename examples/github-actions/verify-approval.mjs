#!/usr/bin/env node
// Checks a Timebox approval token the way a deploy target (or a gate in front of one) would:
// offline, with Timebox's public keys only (its JWKS), no call to the workflow API.
//
//   APPROVAL_TOKEN=… TIMEBOX_URL=https://timebox.contoso.com node verify-approval.mjs <target> [commit]
//
// Exits 0 when the token is valid for <target> (and, when given, was asked for <commit>), 1 when
// it is not. Needs jose 5 (npm install jose@5); Node 20 or later.
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [target, commit] = process.argv.slice(2);
const token = process.env.APPROVAL_TOKEN ?? '';
const issuer = (process.env.TIMEBOX_URL ?? '').replace(/\/+$/, '');

if (!target || !token || !issuer) {
  console.error('usage: APPROVAL_TOKEN=… TIMEBOX_URL=https://… node verify-approval.mjs <target> [commit]');
  process.exit(2);
}

// Cached by jose; an unknown kid (Timebox rotated its key) fetches the set again.
const keys = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));

try {
  const { payload } = await jwtVerify(token, keys, {
    issuer, // Timebox's public URL (TIMEBOX_URL of the bot)
    audience: 'timebox-approval', // no other kind of token passes for an approval
    algorithms: ['ES256'],
    clockTolerance: 30,
  });
  if (payload.target !== target) throw new Error(`it approves "${payload.target}", not "${target}"`);
  if (commit && payload.ctx?.commit !== commit)
    throw new Error(`it was asked for commit ${payload.ctx?.commit ?? '(none)'}, not ${commit}`);
  const approvers = Array.isArray(payload.approvers) ? payload.approvers.length : 0;
  console.log(
    `${payload.jti}: ${payload.target} approved (${approvers} approver${approvers === 1 ? '' : 's'}), ` +
      `valid until ${new Date(payload.exp * 1000).toISOString()}`,
  );
} catch (error) {
  console.error(`not a valid approval: ${error.message}`);
  process.exit(1);
}
