// Preloaded into the Agents Playground (node --require) by `npm run dev` and the e2e harness.
// The playground calls server.listen(port) with no host, i.e. on every interface, and has no
// option to change that; its connector accepts any activity without authentication, so on a
// shared network anyone could act as any user towards the bot. This pins every listen() that
// names no host to 127.0.0.1.
'use strict';
const net = require('node:net');

const LOOPBACK = '127.0.0.1';
const originalListen = net.Server.prototype.listen;

net.Server.prototype.listen = function listenOnLoopback(...args) {
  const first = args[0];
  if (first !== null && typeof first === 'object' && !Array.isArray(first)) {
    if (
      first.path === undefined &&
      first.fd === undefined &&
      first.handle === undefined &&
      first._handle === undefined &&
      first.host === undefined
    ) {
      args[0] = { ...first, host: LOOPBACK };
    }
  } else if (
    (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) &&
    typeof args[1] !== 'string'
  ) {
    args.splice(1, 0, LOOPBACK);
  } else if (first === undefined || typeof first === 'function') {
    args.unshift(0, LOOPBACK);
  }
  return originalListen.apply(this, args);
};
